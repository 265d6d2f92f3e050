package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Credential is one AccessKey pair the emulator accepts. A non-empty
// SecurityToken makes it an STS credential: requests signed with its key
// must carry exactly that token.
type Credential struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	// Expiration, when set, makes requests after it fail with
	// InvalidSecurityToken.Expired (STS) or InvalidAccessKeyId.Inactive.
	Expiration time.Time `json:",omitzero"`
}

// DefaultCredential is the pair used when Config.Credentials is empty.
func DefaultCredential() Credential {
	return Credential{AccessKeyID: "LTAI5tEmulatorKey0001", AccessKeySecret: "emulator-secret-0001"}
}

// timestampLayout is the only Timestamp format the SDK sends.
const timestampLayout = "2006-01-02T15:04:05Z"

// percentEncode applies the POP canonical encoding: RFC 3986 unreserved
// characters stay, everything else becomes %XX with upper-case hex.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// stringToSign builds "METHOD&%2F&" + encode(sorted k=v pairs joined by &)
// over every parameter except Signature.
func stringToSign(method string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = percentEncode(k) + "=" + percentEncode(params[k])
	}
	return method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
}

func hmacSHA1(key, msg string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// nonceCache remembers SignatureNonce values for the replay window.
type nonceCache struct {
	mu     sync.Mutex
	seen   map[string]time.Time
	window time.Duration
	sweep  time.Time
}

func newNonceCache(window time.Duration) *nonceCache {
	return &nonceCache{seen: map[string]time.Time{}, window: window}
}

// use records a nonce and reports false if it was used within the window.
func (c *nonceCache) use(nonce string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.sweep) > c.window/4 {
		for k, t := range c.seen {
			if now.Sub(t) > c.window {
				delete(c.seen, k)
			}
		}
		c.sweep = now
	}
	if t, ok := c.seen[nonce]; ok && now.Sub(t) <= c.window {
		return false
	}
	c.seen[nonce] = now
	return true
}

// verifySignature authenticates a request the way the POP gateway does:
// known AccessKeyId, matching STS token, fresh Timestamp, valid HMAC-SHA1
// signature, then an unused nonce. Order matters for which error a caller
// sees; the nonce is only consumed by a correctly signed request so a
// forged request cannot burn a legitimate caller's nonce.
func (e *Emulator) verifySignature(method string, flat map[string]string, now time.Time) *apiError {
	if flat["SignatureMethod"] != "" && flat["SignatureMethod"] != "HMAC-SHA1" {
		return newErr(http.StatusBadRequest, "InvalidSignatureMethod", "Specified signature method is not valid.")
	}
	if v := flat["SignatureVersion"]; v != "" && v != "1.0" {
		return newErr(http.StatusBadRequest, "InvalidSignatureVersion", "Specified signature version is not valid.")
	}
	akID := flat["AccessKeyId"]
	if akID == "" {
		return errMissing("AccessKeyId")
	}
	tok, sent := flat["SecurityToken"]
	cred, ae := e.checkCredential(akID, tok, sent, now)
	if ae != nil {
		return ae
	}
	if ae := e.checkTimestamp("Timestamp", flat["Timestamp"], now); ae != nil {
		return ae
	}
	sig, ok := flat["Signature"]
	if !ok || sig == "" {
		return errMissing("Signature")
	}
	nonce, ok := flat["SignatureNonce"]
	if !ok || nonce == "" {
		return errMissing("SignatureNonce")
	}
	sts := stringToSign(method, flat)
	want := hmacSHA1(cred.AccessKeySecret+"&", sts)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		// The SDK recognises this phrase and prints a client/server
		// string-to-sign comparison.
		return newErr(http.StatusForbidden, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:%s", sts)
	}
	if !e.nonces.use(nonce, now) {
		return errNonceUsed()
	}
	return nil
}

func errNonceUsed() *apiError {
	return newErr(http.StatusBadRequest, "SignatureNonceUsed", "Specified signature nonce was used already.")
}

// checkCredential finds the credential of an AccessKeyId and checks its
// security token (tok, and whether one was sent at all) and expiry.
func (e *Emulator) checkCredential(akID, tok string, sent bool, now time.Time) (Credential, *apiError) {
	cred, ok := e.credentials[akID]
	if !ok {
		return cred, newErr(http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	if cred.SecurityToken != "" {
		switch {
		case !sent || tok == "":
			return cred, newErr(http.StatusBadRequest, "InvalidSecurityToken.MissingParameter", "SecurityToken is mandatory for this AccessKeyId.")
		case tok != cred.SecurityToken:
			return cred, newErr(http.StatusBadRequest, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed or does not match the AccessKeyId.")
		case !cred.Expiration.IsZero() && now.After(cred.Expiration):
			return cred, newErr(http.StatusBadRequest, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
		}
	} else if !cred.Expiration.IsZero() && now.After(cred.Expiration) {
		return cred, newErr(http.StatusBadRequest, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
	}
	return cred, nil
}

// checkTimestamp checks a request time (the RPC Timestamp parameter or the
// V3 x-acs-date header, both UTC "2006-01-02T15:04:05Z") against the
// signature window.
func (e *Emulator) checkTimestamp(name, ts string, now time.Time) *apiError {
	if ts == "" {
		return errMissing(name)
	}
	t, err := time.Parse(timestampLayout, ts)
	if err != nil {
		return newErr(http.StatusBadRequest, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	if skew := now.Sub(t); skew > e.cfg.SignatureWindow || skew < -e.cfg.SignatureWindow {
		return newErr(http.StatusBadRequest, "InvalidTimeStamp.Expired",
			"Specified time stamp or date value is expired. The request timestamp %s differs from the server time %s by more than %s.",
			ts, now.UTC().Format(timestampLayout), e.cfg.SignatureWindow)
	}
	return nil
}
