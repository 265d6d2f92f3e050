package kubeletserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/certificate"

	"github.com/eci-vnode/terraform-provider-eci/runtime/nodeidentity"
)

// Config is one VNode's kubelet API server.
type Config struct {
	// NodeName is the VNode's; the certificate is for system:node:<NodeName>.
	NodeName string
	// Kube is the runtime's client: it asks for the serving certificate and makes the
	// TokenReviews and SubjectAccessReviews.
	Kube kubernetes.Interface
	// ClientCA verifies client certificates (the cluster's client CA, which signs the API
	// server's kubelet client certificate).
	ClientCA dynamiccertificates.CAContentProvider
	// Addresses are the Node's addresses, the serving certificate's SANs. Called for every
	// new certificate, so an address change reaches the next rotation.
	Addresses func() []corev1.NodeAddress
	// Routes serve the kubelet API paths behind authentication and authorization.
	Routes http.Handler
	Log    *slog.Logger
}

// Server is a started kubelet API server.
type Server struct {
	cfg     Config
	certs   certificate.Manager
	handler http.Handler
}

// New checks cfg and prepares the certificate manager and the authenticating handler;
// nothing is requested from the API server before Run.
func New(cfg Config) (*Server, error) {
	if cfg.NodeName == "" || cfg.Kube == nil || cfg.ClientCA == nil || cfg.Addresses == nil || cfg.Routes == nil || cfg.Log == nil {
		return nil, errors.New("kubelet API server: NodeName, Kube, ClientCA, Addresses, Routes and Log are all required")
	}
	auth, err := nodeutil.WebhookAuth(cfg.Kube, cfg.NodeName, func(c *nodeutil.WebhookAuthConfig) error {
		c.AuthnConfig.ClientCertificateCAContentProvider = cfg.ClientCA
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set up the kubelet API's authentication and authorization: %w", err)
	}
	s := &Server{cfg: cfg, handler: nodeutil.WithAuth(auth, cfg.Routes)}
	s.certs, err = certificate.NewManager(&certificate.Config{
		ClientsetFn: func(*tls.Certificate) (kubernetes.Interface, error) { return cfg.Kube, nil },
		GetTemplate: s.template,
		SignerName:  certificatesv1.KubeletServingSignerName,
		GetUsages:   certificate.DefaultKubeletServingGetUsages,
		// Kept in memory: a restarted runtime asks for a new certificate, which costs one
		// CSR and keeps no private key on disk.
		CertificateStore: &nodeidentity.MemoryStore{Name: "serving"},
		Name:             "kubelet-serving",
	})
	if err != nil {
		return nil, fmt.Errorf("set up the serving certificate manager: %w", err)
	}
	return s, nil
}

// template is the CSR of the current addresses; nil (no request yet) while the Node has
// none, as the kubelet does.
func (s *Server) template() *x509.CertificateRequest {
	var ips []net.IP
	var names []string
	for _, a := range s.cfg.Addresses() {
		if ip := net.ParseIP(a.Address); ip != nil {
			ips = append(ips, ip)
		} else if a.Type == corev1.NodeHostName || a.Type == corev1.NodeInternalDNS || a.Type == corev1.NodeExternalDNS {
			names = append(names, a.Address)
		}
	}
	if len(ips)+len(names) == 0 {
		return nil
	}
	return &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "system:node:" + s.cfg.NodeName, Organization: []string{"system:nodes"}},
		IPAddresses: ips, DNSNames: names,
	}
}

// Run asks for the serving certificate, keeps it rotated, and serves on ln until ctx ends;
// it closes ln. TLS handshakes fail until the first certificate is issued (its CSR waits
// for approval). The caller opens ln so that the Node can advertise its port before the
// server runs.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	s.certs.Start()
	defer s.certs.Stop()
	tlsConfig := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequestClientCert, // verified by the authenticator against ClientCA
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := s.certs.Current(); c != nil {
				return c, nil
			}
			return nil, errors.New("no serving certificate yet: its CSR waits for approval")
		},
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: s.handler, TLSConfig: tlsConfig, ReadHeaderTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.cfg.Log.Info("serving the kubelet API once its certificate is issued", "addr", addr)
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		return nil
	case err := <-errc:
		return fmt.Errorf("serve the kubelet API on %s: %w", addr, err)
	}
}

// Current is the serving certificate in use, nil before the first is issued.
func (s *Server) Current() *tls.Certificate { return s.certs.Current() }
