package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// The V3 request signature (ACS3-HMAC-SHA256), what the current Tea SDK
// (darabonba-openapi v2) sends by default. It is specified in "V3 request
// structure and signature"
// (https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature):
//
//	Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2;...>,Signature=<hex>
//
//	CanonicalRequest = METHOD + "\n" + CanonicalURI + "\n" + CanonicalQueryString + "\n" +
//	                   CanonicalHeaders + "\n" + SignedHeaders + "\n" + HashedRequestPayload
//	StringToSign     = "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))
//	Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//
// CanonicalURI is the path ("/" for RPC-style APIs such as ECI), each
// segment percent-encoded. CanonicalQueryString is the query parameters
// sorted by name, name and value each percent-encoded (RFC 3986: only
// A-Z a-z 0-9 - _ . ~ stay; space is %20), joined as k=v with "&".
// CanonicalHeaders is one "name:value\n" line per signed header, names
// lower-case and sorted, values trimmed (several values sorted and joined
// with ","). HashedRequestPayload is hex(sha256(body)), which the client
// also sends as x-acs-content-sha256. Parameters in a form body are covered
// by that hash, not by the query string.
const v3Algorithm = "ACS3-HMAC-SHA256"

// v3CommonHeaders are the V3 common request headers. The documentation
// asks for each of them (Authorization aside) to be signed whenever it is
// sent; all but the security token are required.
var v3CommonHeaders = []struct {
	name     string
	required bool
}{
	{"host", true}, {"x-acs-action", true}, {"x-acs-version", true}, {"x-acs-date", true},
	{"x-acs-signature-nonce", true}, {"x-acs-content-sha256", true}, {"x-acs-security-token", false},
}

// isV3Request reports whether a request is signed with the V3 scheme.
func isV3Request(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "ACS3-")
}

// v3Auth is a parsed V3 Authorization header.
type v3Auth struct {
	algorithm     string
	accessKeyID   string
	signedHeaders []string // as sent
	signature     string
}

func errIncompleteSignature(format string, args ...any) *apiError {
	return newErr(http.StatusBadRequest, "IncompleteSignature",
		"The request signature does not conform to Alibaba Cloud standards. "+format, args...)
}

// parseV3Authorization splits "ALG Credential=..,SignedHeaders=..,Signature=..".
func parseV3Authorization(h string) (v3Auth, *apiError) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return v3Auth{}, errIncompleteSignature("The Authorization header has no credential.")
	}
	a := v3Auth{algorithm: alg}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] {
			return v3Auth{}, errIncompleteSignature("Malformed Authorization element %q.", truncate(part, 64))
		}
		seen[k] = true
		switch k {
		case "Credential":
			a.accessKeyID = v
		case "SignedHeaders":
			if v != "" {
				a.signedHeaders = strings.Split(v, ";")
			}
		case "Signature":
			a.signature = v
		}
	}
	switch {
	case a.accessKeyID == "":
		return v3Auth{}, errIncompleteSignature("Credential is missing from the Authorization header.")
	case len(a.signedHeaders) == 0:
		return v3Auth{}, errIncompleteSignature("SignedHeaders is missing from the Authorization header.")
	case a.signature == "":
		return v3Auth{}, errIncompleteSignature("Signature is missing from the Authorization header.")
	}
	return a, nil
}

// v3CanonicalURI encodes each segment of the (decoded) request path.
func v3CanonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = percentEncode(s)
	}
	return strings.Join(segs, "/")
}

// v3CanonicalQuery renders the query parameters in canonical order.
func v3CanonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			pairs = append(pairs, percentEncode(k)+"="+percentEncode(v))
		}
	}
	return strings.Join(pairs, "&")
}

// v3CanonicalHeaders returns the canonical header block and the signed
// header list (lower-case, sorted, ";"-joined) for the named headers.
// "host" is the request's Host, which Go keeps out of r.Header.
func v3CanonicalHeaders(r *http.Request, names []string) (string, string) {
	lower := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n != "" && !slices.Contains(lower, n) {
			lower = append(lower, n)
		}
	}
	sort.Strings(lower)
	var b strings.Builder
	for _, n := range lower {
		var vals []string
		if n == "host" {
			vals = []string{r.Host}
		} else {
			for _, v := range r.Header.Values(n) {
				vals = append(vals, strings.TrimSpace(v))
			}
			sort.Strings(vals)
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals, ","))
		b.WriteByte('\n')
	}
	return b.String(), strings.Join(lower, ";")
}

// v3CanonicalRequest builds the canonical request of r with body.
func v3CanonicalRequest(r *http.Request, query url.Values, signedHeaders []string, body []byte) string {
	headers, signed := v3CanonicalHeaders(r, signedHeaders)
	sum := sha256.Sum256(body)
	return r.Method + "\n" + v3CanonicalURI(r.URL.Path) + "\n" + v3CanonicalQuery(query) + "\n" +
		headers + "\n" + signed + "\n" + hex.EncodeToString(sum[:])
}

// v3StringToSign hashes a canonical request.
func v3StringToSign(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return v3Algorithm + "\n" + hex.EncodeToString(sum[:])
}

func hmacSHA256Hex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// verifyV3 authenticates a V3-signed request in the same order as the RPC
// check: the Authorization header's form, a known AccessKeyId, the
// security token (x-acs-security-token), a fresh x-acs-date, the signed
// header set and nonce, the signature, then an unused nonce (consumed only
// by a correctly signed request). It returns the AccessKeyId.
func (e *Emulator) verifyV3(r *http.Request, query url.Values, body []byte, now time.Time) (string, *apiError) {
	auth, ae := parseV3Authorization(r.Header.Get("Authorization"))
	if ae != nil {
		return "", ae
	}
	if auth.algorithm != v3Algorithm {
		return "", newErr(http.StatusBadRequest, "InvalidSignatureMethod",
			"Specified signature method is not valid. The emulator verifies %s only.", v3Algorithm)
	}
	tok := r.Header.Get("x-acs-security-token")
	cred, ae := e.checkCredential(auth.accessKeyID, tok, tok != "", now)
	if ae != nil {
		return "", ae
	}
	if ae := e.checkTimestamp("x-acs-date", r.Header.Get("x-acs-date"), now); ae != nil {
		return "", ae
	}
	signed := map[string]bool{}
	for _, h := range auth.signedHeaders {
		signed[strings.ToLower(strings.TrimSpace(h))] = true
	}
	for _, h := range v3CommonHeaders {
		present := h.name == "host" || r.Header.Get(h.name) != ""
		if !present && h.required {
			return "", errMissing(h.name)
		}
		if present && !signed[h.name] {
			return "", errIncompleteSignature("The header %s must be signed (listed in SignedHeaders).", h.name)
		}
	}
	canonical := v3CanonicalRequest(r, query, auth.signedHeaders, body)
	sts := v3StringToSign(canonical)
	if sum := sha256.Sum256(body); !strings.EqualFold(r.Header.Get("x-acs-content-sha256"), hex.EncodeToString(sum[:])) {
		return "", newErr(http.StatusForbidden, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation: x-acs-content-sha256 is not the SHA-256 of the request body.")
	}
	want := hmacSHA256Hex(cred.AccessKeySecret, sts)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(auth.signature))) {
		return "", newErr(http.StatusForbidden, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:%s; server canonical request is:%q", sts, canonical)
	}
	if !e.nonces.use(r.Header.Get("x-acs-signature-nonce"), now) {
		return "", errNonceUsed()
	}
	return auth.accessKeyID, nil
}
