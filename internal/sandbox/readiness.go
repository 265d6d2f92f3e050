package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// pollInterval is how often readiness is checked; components come up in 1–5 s here.
const pollInterval = 200 * time.Millisecond

// httpGetOK returns nil if GET url answers 200 and the body contains want (if set).
func httpGetOK(ctx context.Context, client *http.Client, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if want != "" && !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: body %q lacks %q", url, body, want)
	}
	return nil
}

// insecureClient talks to the self-signed health endpoints of the scheduler and the
// controller-manager, which generate their own serving certs.
func insecureClient() *http.Client {
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // loopback health probe of a self-signed component
	}
}

// mtlsClient talks to the apiserver as the holder of kp.
func mtlsClient(caPEM []byte, kp keyPair) (*http.Client, error) {
	cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("load client key pair: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("load CA certificate")
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}, nil
}

// pollUntil calls check every pollInterval until it returns nil, ctx ends, or abort returns
// an error (e.g. the process died). The last check error is included on timeout.
func pollUntil(ctx context.Context, what string, check func(context.Context) error, abort func() error) error {
	var last error
	for {
		if abort != nil {
			if err := abort(); err != nil {
				return err
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last check: %v)", what, ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}
