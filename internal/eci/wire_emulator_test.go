package eci_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// recordingTransport passes every request through to the server and keeps
// a copy of what was sent.
type recordingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	sent []sentRequest
}

type sentRequest struct {
	method string
	query  url.Values
	header http.Header
	body   string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.sent = append(r.sent, sentRequest{req.Method, req.URL.Query(), req.Header.Clone(), string(body)})
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// TestWireFormatAndResigning checks what goes over the wire: RPC-style POST
// with every parameter in the query, the x-acs-* headers, an explicit
// RegionId, and a new nonce and signature on every retry while the
// business parameters stay identical.
func TestWireFormatAndResigning(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{Lifecycle: instantLifecycle()})
	rec := &recordingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(rec.base.(*http.Transport).CloseIdleConnections)
	e.SetFault("CreateContainerGroup", emulator.Fault{ErrorRate: 1, Code: "Throttling.User", HTTPStatus: 400})
	c := newEmulatorClient(t, e, func(cfg *eci.Config) {
		cfg.Transport = rec
		cfg.Observer = eci.ObserverFunc(func(ev eci.AttemptEvent) {
			if ev.Attempt == 2 {
				e.ClearFaults()
			}
		})
	})
	if _, err := c.CreateContainerGroup(context.Background(), webRequest("wire-0", "uid-wire-0")); err != nil {
		t.Fatal(err)
	}
	if len(rec.sent) != 3 {
		t.Fatalf("sent %d requests, want 3 (2 throttled + 1)", len(rec.sent))
	}
	nonces, signatures := map[string]bool{}, map[string]bool{}
	business := func(q url.Values) string {
		c := url.Values{}
		for k, v := range q {
			switch k {
			case "SignatureNonce", "Signature", "Timestamp":
			default:
				c[k] = v
			}
		}
		return c.Encode()
	}
	firstParams := business(rec.sent[0].query)
	for i, s := range rec.sent {
		q := s.query
		if s.method != http.MethodPost || s.body != "" {
			t.Errorf("request %d: %s with body %q; want POST with an empty body", i, s.method, s.body)
		}
		for k, want := range map[string]string{
			"Action": "CreateContainerGroup", "Version": "2018-08-08", "Format": "JSON", "RegionId": e.Region(),
			"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "AccessKeyId": emulator.DefaultCredential().AccessKeyID,
			"ClientToken": "uid-wire-0", "Container.1.LivenessProbe.Exec.Command.1": "cat",
		} {
			if got := q.Get(k); got != want {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, want)
			}
		}
		if _, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp")); err != nil {
			t.Errorf("request %d: Timestamp %q: %v", i, q.Get("Timestamp"), err)
		}
		// The SDK stores these header names as written (not canonicalised).
		//lint:ignore SA1008 the lower-case keys are what the SDK puts in the map
		if h := s.header; first(h["x-acs-action"]) != "CreateContainerGroup" || first(h["x-acs-version"]) != "2018-08-08" {
			t.Errorf("request %d: x-acs headers %v", i, h)
		}
		if ua := s.header.Get("User-Agent"); ua == "" || !strings.Contains(ua, "eci-client-test") {
			t.Errorf("request %d: User-Agent %q should carry the configured suffix", i, ua)
		}
		for k, v := range q {
			if v[0] == "<[]string Value>" {
				t.Errorf("request %d: junk parameter %s=%s (the v1 SDK bug)", i, k, v[0])
			}
		}
		nonces[q.Get("SignatureNonce")] = true
		signatures[q.Get("Signature")] = true
		if got := business(q); got != firstParams {
			t.Errorf("request %d: business parameters changed between retries", i)
		}
	}
	if len(nonces) != 3 || len(signatures) != 3 {
		t.Errorf("%d distinct nonces and %d distinct signatures over 3 attempts; each retry must be signed anew", len(nonces), len(signatures))
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
