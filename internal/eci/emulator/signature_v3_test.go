package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// v3Call is one request signed the way the Tea SDK signs by default
// (ACS3-HMAC-SHA256). The signer below is written from the public
// description of the scheme, independently of the server's code: it
// escapes with url.QueryEscape plus the documented replacements, where the
// server has its own RFC 3986 encoder.
type v3Call struct {
	method  string
	action  string
	version string
	query   map[string]string
	form    map[string]string // sent as an application/x-www-form-urlencoded body
	secret  string
	akID    string
	token   string // x-acs-security-token
	date    time.Time
	nonce   string
	// unsigned leaves these headers out of SignedHeaders.
	unsigned []string
	// after changes the request after it was signed.
	after func(*http.Request)
}

func v3Escape(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// signV3 builds and signs the request for host.
func signV3(t *testing.T, host string, vc v3Call) *http.Request {
	t.Helper()
	if vc.method == "" {
		vc.method = http.MethodPost
	}
	if vc.version == "" {
		vc.version = "2018-08-08"
	}
	if vc.date.IsZero() {
		vc.date = time.Now()
	}
	if vc.nonce == "" {
		vc.nonce = newRequestID()
	}
	keys := make([]string, 0, len(vc.query))
	for k := range vc.query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, v3Escape(k)+"="+v3Escape(vc.query[k]))
	}
	canonQuery := strings.Join(pairs, "&")
	var body []byte
	if vc.form != nil {
		f := url.Values{}
		for k, v := range vc.form {
			f.Set(k, v)
		}
		body = []byte(f.Encode())
	}
	target := "http://" + host + "/"
	if canonQuery != "" {
		target += "?" + canonQuery
	}
	req, err := http.NewRequest(vc.method, target, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{
		"host": host, "x-acs-action": vc.action, "x-acs-version": vc.version,
		"x-acs-date": vc.date.UTC().Format("2006-01-02T15:04:05Z"), "x-acs-signature-nonce": vc.nonce,
		"x-acs-content-sha256": sha256Hex(body),
	}
	if vc.form != nil {
		h["content-type"] = "application/x-www-form-urlencoded"
	}
	if vc.token != "" {
		h["x-acs-security-token"] = vc.token
	}
	var names []string
	for k, v := range h {
		if k != "host" {
			req.Header.Set(k, v)
		}
		skip := false
		for _, u := range vc.unsigned {
			skip = skip || u == k
		}
		if !skip {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, k := range names {
		canonHeaders.WriteString(k + ":" + strings.TrimSpace(h[k]) + "\n")
	}
	signed := strings.Join(names, ";")
	canonical := strings.Join([]string{vc.method, "/", canonQuery, canonHeaders.String(), signed, sha256Hex(body)}, "\n")
	mac := hmac.New(sha256.New, []byte(vc.secret))
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + sha256Hex([]byte(canonical))))
	req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+vc.akID+",SignedHeaders="+signed+",Signature="+hex.EncodeToString(mac.Sum(nil)))
	if vc.after != nil {
		vc.after(req)
	}
	return req
}

// doV3 sends a V3 request to e (credentials default to e's first).
func doV3(t *testing.T, e *Emulator, vc v3Call) apiResult {
	t.Helper()
	cr := e.Credentials()[0]
	if vc.akID == "" {
		vc.akID, vc.secret = cr.AccessKeyID, cr.AccessKeySecret
	}
	if vc.query == nil && vc.form == nil {
		vc.query = map[string]string{"RegionId": e.Region()}
	}
	return send(t, signV3(t, e.Endpoint(), vc))
}

// The example request of Alibaba Cloud's V3 signature documentation
// (RunInstances on ecs.cn-shanghai.aliyuncs.com, key YourAccessKeyId /
// YourAccessKeySecret) and the Authorization its pages print for it, e.g.
// https://help.aliyun.com/zh/model-studio/user-guide/roa-style-request-body-signature-mechanism.
func TestV3CanonicalisationMatchesDocumentedExample(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost,
		"http://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai", nil)
	for k, v := range map[string]string{
		"x-acs-action": "RunInstances", "x-acs-version": "2014-05-26", "x-acs-date": "2023-10-26T09:01:01Z",
		"x-acs-signature-nonce": "d410180a5abf7fe235dd9b74aca91fc0",
		"x-acs-content-sha256":  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	} {
		r.Header.Set(k, v)
	}
	signed := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
	canonical := v3CanonicalRequest(r, r.URL.Query(), signed, nil)
	got := hmacSHA256Hex("YourAccessKeySecret", v3StringToSign(canonical))
	if want := "e521358f7776c97df52e6b2891a8bc73026794a071b50c3323388c4e0df64804"; got != want {
		t.Fatalf("signature %s, want %s; canonical request:\n%s", got, want, canonical)
	}
}

func TestV3SignedRequestsAreServed(t *testing.T) {
	e := StartForTest(t, Config{Clock: NewFakeClock(t0)})
	if res := doV3(t, e, v3Call{action: "DescribeRegions"}); res.Status != 200 || res.Body["Regions"] == nil {
		t.Fatalf("query parameters: %d %v", res.Status, res.Body)
	}
	if res := doV3(t, e, v3Call{method: http.MethodGet, action: "DescribeRegions"}); res.Status != 200 {
		t.Fatalf("GET: %d %v", res.Status, res.Body)
	}
	// Parameters in a form body (covered by x-acs-content-sha256), values
	// that need escaping in the query.
	res := doV3(t, e, v3Call{action: "CreateContainerGroup",
		query: map[string]string{"RegionId": e.Region(), "ContainerGroupName": "v3-web", "Tag.1.Key": "team", "Tag.1.Value": "a b*c~d/é"},
		form:  map[string]string{"Container.1.Name": "app", "Container.1.Image": "nginx:1.25"}})
	id, _ := res.Body["ContainerGroupId"].(string)
	if res.Status != 200 || !strings.HasPrefix(id, "eci-") {
		t.Fatalf("create: %d %v", res.Status, res.Body)
	}
	var out struct {
		ContainerGroups []struct {
			ContainerGroupName string
			Tags               []struct{ Key, Value string }
			Containers         []struct{ Image string }
		}
	}
	res = doV3(t, e, v3Call{action: "DescribeContainerGroups", query: map[string]string{"RegionId": e.Region(), "ContainerGroupIds": `["` + id + `"]`}})
	raw, _ := json.Marshal(res.Body)
	_ = json.Unmarshal(raw, &out)
	if len(out.ContainerGroups) != 1 || out.ContainerGroups[0].Tags[0].Value != "a b*c~d/é" || out.ContainerGroups[0].Containers[0].Image != "nginx:1.25" {
		t.Fatalf("describe: %s", raw)
	}
}

func TestV3SignatureRejections(t *testing.T) {
	sts := Credential{AccessKeyID: "STS.v3key", AccessKeySecret: "sts-v3-secret", SecurityToken: "tok-v3"}
	e := StartForTest(t, Config{Credentials: []Credential{DefaultCredential(), sts}})
	cr := e.Credentials()[0]
	for _, tc := range []struct {
		name   string
		vc     v3Call
		status int
		code   string
	}{
		{"unknown key", v3Call{akID: "LTAInope", secret: "x"}, 404, "InvalidAccessKeyId.NotFound"},
		{"wrong secret", v3Call{akID: cr.AccessKeyID, secret: "wrong"}, 403, "SignatureDoesNotMatch"},
		{"STS key without token", v3Call{akID: sts.AccessKeyID, secret: sts.AccessKeySecret}, 400, "InvalidSecurityToken.MissingParameter"},
		{"STS key with another token", v3Call{akID: sts.AccessKeyID, secret: sts.AccessKeySecret, token: "other"}, 400, "InvalidSecurityToken.Malformed"},
		{"date 16 minutes old", v3Call{date: time.Now().Add(-16 * time.Minute)}, 400, "InvalidTimeStamp.Expired"},
		{"date 16 minutes ahead", v3Call{date: time.Now().Add(16 * time.Minute)}, 400, "InvalidTimeStamp.Expired"},
		{"malformed date", v3Call{after: func(r *http.Request) { r.Header.Set("x-acs-date", "yesterday") }}, 400, "InvalidTimeStamp.Format"},
		{"query changed after signing", v3Call{after: func(r *http.Request) { r.URL.RawQuery = "RegionId=" + url.QueryEscape(e.Region()) + "&Extra=1" }}, 403, "SignatureDoesNotMatch"},
		{"body changed after signing", v3Call{form: map[string]string{"RegionId": e.Region()}, after: func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader("RegionId=" + e.Region() + "&Extra=1"))
			r.ContentLength = -1
		}}, 403, "SignatureDoesNotMatch"},
		{"action header changed after signing", v3Call{after: func(r *http.Request) { r.Header.Set("x-acs-action", "DescribeContainerGroups") }}, 403, "SignatureDoesNotMatch"},
		{"action not signed", v3Call{unsigned: []string{"x-acs-action"}}, 400, "IncompleteSignature"},
		{"content hash not signed", v3Call{unsigned: []string{"x-acs-content-sha256"}}, 400, "IncompleteSignature"},
		{"no nonce", v3Call{unsigned: []string{"x-acs-signature-nonce"}, after: func(r *http.Request) { r.Header.Del("x-acs-signature-nonce") }}, 400, "MissingParameter"},
		{"other algorithm", v3Call{after: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", 1))
		}}, 400, "InvalidSignatureMethod"},
		{"no credential", v3Call{after: func(r *http.Request) { r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Signature=00") }}, 400, "IncompleteSignature"},
		{"wrong version", v3Call{version: "2014-05-26"}, 400, "InvalidVersion"},
		{"no action", v3Call{after: func(r *http.Request) { r.Header.Del("x-acs-action") }}, 400, "MissingParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.vc.action == "" {
				tc.vc.action = "DescribeRegions"
			}
			res := doV3(t, e, tc.vc)
			if res.Status != tc.status || res.code() != tc.code {
				t.Fatalf("got %d %s, want %d %s: %v", res.Status, res.code(), tc.status, tc.code, res.Body["Message"])
			}
		})
	}

	// An STS credential with its token is accepted.
	if res := doV3(t, e, v3Call{action: "DescribeRegions", akID: sts.AccessKeyID, secret: sts.AccessKeySecret, token: sts.SecurityToken}); res.Status != 200 {
		t.Fatalf("STS: %d %v", res.Status, res.Body)
	}
	// A nonce is single-use across both signature versions; a rejected
	// request does not consume it.
	nonce := newRequestID()
	if res := doV3(t, e, v3Call{action: "DescribeRegions", akID: cr.AccessKeyID, secret: "wrong", nonce: nonce}); res.code() != "SignatureDoesNotMatch" {
		t.Fatalf("forged: %v", res.Body)
	}
	if res := doV3(t, e, v3Call{action: "DescribeRegions", nonce: nonce}); res.Status != 200 {
		t.Fatalf("first use: %d %v", res.Status, res.Body)
	}
	if res := doV3(t, e, v3Call{action: "DescribeRegions", nonce: nonce}); res.Status != 400 || res.code() != "SignatureNonceUsed" {
		t.Fatalf("reused nonce: %d %v", res.Status, res.Body)
	}
	p := baseParams(e, "DescribeRegions")
	p["SignatureNonce"] = nonce
	if res := doRaw(t, e, rawCall{params: p}); res.code() != "SignatureNonceUsed" {
		t.Fatalf("nonce reused by an RPC request: %v", res.Body)
	}
}
