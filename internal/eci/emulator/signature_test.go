package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
)

// rawCall sends a hand-built, hand-signed request. It lets tests replay a
// nonce, age a timestamp or tamper with a parameter after signing, which
// the SDK never does.
type rawCall struct {
	method string
	params map[string]string
	secret string
	tamper func(url.Values)
	inBody bool
}

type apiResult struct {
	Status int
	Body   map[string]any
}

func (r apiResult) code() string { s, _ := r.Body["Code"].(string); return s }

func baseParams(e *Emulator, action string) map[string]string {
	cr := e.Credentials()[0]
	return map[string]string{
		"Action": action, "Version": "2018-08-08", "Format": "JSON", "RegionId": e.Region(),
		"AccessKeyId": cr.AccessKeyID, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
		"SignatureType": "", "SignatureNonce": newRequestID(),
		"Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"),
	}
}

func doRaw(t *testing.T, e *Emulator, rc rawCall) apiResult {
	t.Helper()
	return send(t, newRawRequest(t, e, rc))
}

// send sends a hand-built request and decodes the emulator's JSON answer.
func send(t *testing.T, req *http.Request) apiResult {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s request: %v", req.Header.Get("x-acs-action"), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := apiResult{Status: resp.StatusCode}
	if err := json.Unmarshal(body, &out.Body); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return out
}

// newRawRequest builds and signs the request of rc.
func newRawRequest(t *testing.T, e *Emulator, rc rawCall) *http.Request {
	t.Helper()
	if rc.method == "" {
		rc.method = http.MethodPost
	}
	if rc.secret == "" {
		rc.secret = e.Credentials()[0].AccessKeySecret
	}
	// Sign independently of the server code: QueryEscape + the documented
	// replacements, as the SDK does.
	v := url.Values{}
	for k, val := range rc.params {
		v.Set(k, val)
	}
	canon := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(v.Encode())
	sts := rc.method + "&%2F&" + url.QueryEscape(canon)
	v.Set("Signature", hmacSHA1(rc.secret+"&", sts))
	if rc.tamper != nil {
		rc.tamper(v)
	}
	target := "http://" + e.Endpoint() + "/"
	var req *http.Request
	var err error
	if rc.inBody {
		req, err = http.NewRequest(rc.method, target, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, err = http.NewRequest(rc.method, target+"?"+v.Encode(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func serverErr(t *testing.T, err error) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want a server error, got %v", err)
	}
	return se
}

func TestSignatureAcceptsHandSignedPOSTAndGET(t *testing.T) {
	e := StartForTest(t, Config{})
	for _, rc := range []rawCall{{method: "POST"}, {method: "GET"}, {method: "POST", inBody: true}} {
		rc.params = baseParams(e, "DescribeRegions")
		res := doRaw(t, e, rc)
		if res.Status != 200 || res.Body["RequestId"] == "" {
			t.Errorf("%s body=%v: %d %v", rc.method, rc.inBody, res.Status, res.Body)
		}
	}
}

func TestSignatureRejections(t *testing.T) {
	e := StartForTest(t, Config{})

	// Wrong secret through the real SDK: 403 SignatureDoesNotMatch, and the
	// SDK recognises the server's string-to-sign and blames the secret.
	cr := e.Credentials()[0]
	c, _ := eci.NewClientWithAccessKey(e.Region(), cr.AccessKeyID, "wrong-secret")
	c.Domain = e.Endpoint()
	_, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest())
	se := serverErr(t, err)
	if se.ErrorCode() != "SignatureDoesNotMatch" || se.HttpStatus() != 403 || !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
		t.Errorf("wrong secret: %d %s %q", se.HttpStatus(), se.ErrorCode(), se.Recommend())
	}

	// Unknown AccessKeyId.
	c2, _ := eci.NewClientWithAccessKey(e.Region(), "LTAInope", "x")
	c2.Domain = e.Endpoint()
	_, err = c2.DescribeRegions(eci.CreateDescribeRegionsRequest())
	if se := serverErr(t, err); se.ErrorCode() != "InvalidAccessKeyId.NotFound" || se.HttpStatus() != 404 {
		t.Errorf("unknown key: %d %s", se.HttpStatus(), se.ErrorCode())
	}

	// A parameter changed after signing.
	res := doRaw(t, e, rawCall{params: baseParams(e, "DescribeRegions"), tamper: func(v url.Values) { v.Set("RegionId", "cn-hangzhou ") }})
	if res.Status != 403 || res.code() != "SignatureDoesNotMatch" {
		t.Errorf("tampered: %d %v", res.Status, res.Body)
	}
	res = doRaw(t, e, rawCall{params: baseParams(e, "DescribeRegions"), tamper: func(v url.Values) { v.Set("Extra", "1") }})
	if res.code() != "SignatureDoesNotMatch" {
		t.Errorf("added parameter: %v", res.Body)
	}

	// Stale and future timestamps (more than 15 minutes off), and a bad format.
	for _, off := range []time.Duration{-16 * time.Minute, 16 * time.Minute} {
		p := baseParams(e, "DescribeRegions")
		p["Timestamp"] = time.Now().Add(off).UTC().Format("2006-01-02T15:04:05Z")
		if res := doRaw(t, e, rawCall{params: p}); res.Status != 400 || res.code() != "InvalidTimeStamp.Expired" {
			t.Errorf("timestamp %v: %d %v", off, res.Status, res.Body)
		}
	}
	p := baseParams(e, "DescribeRegions")
	p["Timestamp"] = time.Now().Add(-14 * time.Minute).UTC().Format("2006-01-02T15:04:05Z")
	if res := doRaw(t, e, rawCall{params: p}); res.Status != 200 {
		t.Errorf("14 minutes old must pass: %v", res.Body)
	}
	p = baseParams(e, "DescribeRegions")
	p["Timestamp"] = "yesterday"
	if res := doRaw(t, e, rawCall{params: p}); res.code() != "InvalidTimeStamp.Format" {
		t.Errorf("bad timestamp: %v", res.Body)
	}

	// The same nonce twice: the second is refused even though correctly signed.
	p = baseParams(e, "DescribeRegions")
	if res := doRaw(t, e, rawCall{params: p}); res.Status != 200 {
		t.Fatalf("first use: %v", res.Body)
	}
	p["Timestamp"] = time.Now().Add(time.Second).UTC().Format("2006-01-02T15:04:05Z")
	if res := doRaw(t, e, rawCall{params: p}); res.Status != 400 || res.code() != "SignatureNonceUsed" {
		t.Errorf("reused nonce: %d %v", res.Status, res.Body)
	}

	// Missing nonce / signature.
	p = baseParams(e, "DescribeRegions")
	delete(p, "SignatureNonce")
	if res := doRaw(t, e, rawCall{params: p}); res.code() != "MissingParameter" {
		t.Errorf("missing nonce: %v", res.Body)
	}
}

func TestSignatureSTS(t *testing.T) {
	sts := Credential{AccessKeyID: "STS.key1", AccessKeySecret: "sts-secret", SecurityToken: "token-abc"}
	e := StartForTest(t, Config{Credentials: []Credential{DefaultCredential(), sts}})

	c, err := eci.NewClientWithStsToken(e.Region(), sts.AccessKeyID, sts.AccessKeySecret, sts.SecurityToken)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoint()
	if _, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest()); err != nil {
		t.Fatalf("STS client: %v", err)
	}
	// The STS key used as if it were a plain AccessKey: no token.
	c2, _ := eci.NewClientWithAccessKey(e.Region(), sts.AccessKeyID, sts.AccessKeySecret)
	c2.Domain = e.Endpoint()
	_, err = c2.DescribeRegions(eci.CreateDescribeRegionsRequest())
	if se := serverErr(t, err); se.ErrorCode() != "InvalidSecurityToken.MissingParameter" {
		t.Errorf("missing token: %s", se.ErrorCode())
	}
	c3, _ := eci.NewClientWithStsToken(e.Region(), sts.AccessKeyID, sts.AccessKeySecret, "other-token")
	c3.Domain = e.Endpoint()
	_, err = c3.DescribeRegions(eci.CreateDescribeRegionsRequest())
	if se := serverErr(t, err); se.ErrorCode() != "InvalidSecurityToken.Malformed" {
		t.Errorf("wrong token: %s", se.ErrorCode())
	}
}

func TestProtocolErrors(t *testing.T) {
	e := StartForTest(t, Config{})
	p := baseParams(e, "DescribeRegions")
	p["Version"] = "2014-05-26"
	if res := doRaw(t, e, rawCall{params: p}); res.Status != 400 || res.code() != "InvalidVersion" ||
		res.Body["Message"] != "Specified parameter Version is not valid." {
		t.Errorf("version: %d %v", res.Status, res.Body)
	}
	p = baseParams(e, "RunInstances")
	if res := doRaw(t, e, rawCall{params: p}); res.Status != 404 || res.code() != "InvalidAction.NotFound" {
		t.Errorf("action: %d %v", res.Status, res.Body)
	}
	p = baseParams(e, "DescribeRegions")
	p["RegionId"] = "cn-beijing"
	if res := doRaw(t, e, rawCall{params: p}); res.code() != "InvalidRegionId.NotFound" {
		t.Errorf("region: %v", res.Body)
	}
	// Error envelope: every field the SDK reads, an upper-case UUID RequestId.
	res := doRaw(t, e, rawCall{params: baseParams(e, "RunInstances")})
	for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if s, _ := res.Body[k].(string); s == "" {
			t.Errorf("error body lacks %s: %v", k, res.Body)
		}
	}
	id := res.Body["RequestId"].(string)
	if len(id) != 36 || strings.ToUpper(id) != id || strings.Count(id, "-") != 4 {
		t.Errorf("request id %q", id)
	}
}
