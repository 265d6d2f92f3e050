package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
)

// The API aggregation layer, which an extension API server such as metrics-server needs:
// kube-apiserver proxies /apis/metrics.k8s.io to it with a front-proxy client certificate and
// the caller's identity in request headers, which the extension trusts only when that
// certificate chains to the request-header CA (published in
// kube-system/extension-apiserver-authentication). The names are kubeadm's.
const frontProxyClientUser = "front-proxy-client"

// aggregationEnabled reports whether this sandbox runs the aggregation layer
// (Options.MetricsServer needs it).
func (s *Sandbox) aggregationEnabled() bool { return s.opts.MetricsServer }

// writeAggregationPKI writes the front-proxy CA and the client certificate kube-apiserver
// presents to extension API servers. The CA is its own, as kubeadm makes it: a certificate of
// the cluster CA must never pass for a front proxy.
func (s *Sandbox) writeAggregationPKI() error {
	if !s.aggregationEnabled() {
		return nil
	}
	ca, err := newCertAuthority("eci-sandbox-front-proxy-ca")
	if err != nil {
		return err
	}
	client, err := ca.issue(certRequest{CommonName: frontProxyClientUser, Client: true})
	if err != nil {
		return fmt.Errorf("issue the front-proxy client certificate: %w", err)
	}
	for name, data := range map[string][]byte{
		"front-proxy-ca.crt": ca.CertPEM(), "front-proxy-client.crt": client.CertPEM, "front-proxy-client.key": client.KeyPEM,
	} {
		if err := os.WriteFile(filepath.Join(s.pkiDir(), name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// aggregationArgs are kube-apiserver's flags for the aggregation layer, none without it.
// --enable-aggregator-routing makes kube-apiserver dial an APIService's endpoint (from its
// EndpointSlices) rather than its Service's cluster IP, which nothing routes here (no
// kube-proxy).
func (s *Sandbox) aggregationArgs() []string {
	if !s.aggregationEnabled() {
		return nil
	}
	pki := s.pkiDir()
	return []string{
		"--requestheader-client-ca-file=" + filepath.Join(pki, "front-proxy-ca.crt"),
		"--requestheader-allowed-names=" + frontProxyClientUser,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + filepath.Join(pki, "front-proxy-client.crt"),
		"--proxy-client-key-file=" + filepath.Join(pki, "front-proxy-client.key"),
		"--enable-aggregator-routing=true",
	}
}
