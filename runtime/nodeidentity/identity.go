package nodeidentity

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
	"regexp"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate"
	"k8s.io/client-go/util/connrotation"
)

const (
	// UserPrefix and Group are how the Node authorizer recognises a kubelet: user
	// system:node:<name> in group system:nodes.
	UserPrefix = "system:node:"
	Group      = "system:nodes"
	// BootstrapUserPrefix is the user name the API server gives a bootstrap token:
	// system:bootstrap:<token id>.
	BootstrapUserPrefix = "system:bootstrap:"
)

// tokenFormat is a bootstrap token: <6-character id>.<16-character secret>
// (https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/#token-format).
var tokenFormat = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)

// TokenID returns the id part of a bootstrap token, or an error saying what is wrong with
// it (never the token itself, which is a secret).
func TokenID(token string) (string, error) {
	m := tokenFormat.FindStringSubmatch(token)
	if m == nil {
		return "", errors.New("not a bootstrap token: want <6 characters a-z0-9>.<16 characters a-z0-9>")
	}
	return m[1], nil
}

// Config is what Start needs.
type Config struct {
	// NodeName is the VNode's; the certificate is for system:node:<NodeName>.
	NodeName string
	// Server says how to reach the API server (host, CA, client QPS); any credential in
	// it is not used.
	Server *rest.Config
	// BootstrapToken ("<id>.<secret>") authenticates the first certificate signing
	// request, and any later one made after the certificate has expired.
	BootstrapToken string
	// Lifetime is the lifetime asked for each certificate; 0 leaves it to the signer
	// (kube-controller-manager's --cluster-signing-duration, a year by default).
	Lifetime time.Duration
	// Waiting is how often Start logs that it still waits for approval; 0 means 30s.
	Waiting time.Duration
	Log     *slog.Logger
}

// Identity is a started node identity: Config gives clients that authenticate with the
// current certificate.
type Identity struct {
	manager certificate.Manager
	dialer  *connrotation.Dialer
	config  *rest.Config
	cancel  context.CancelFunc
	done    chan struct{}
}

// Start checks the bootstrap token, asks for the node's client certificate and waits until
// it is issued (its CSR must be approved, then signed). It keeps the certificate rotated
// until Stop. An error says what stopped it: a token the API server refuses, or ctx ending
// while the CSR waited for approval.
func Start(ctx context.Context, cfg Config) (*Identity, error) {
	if cfg.NodeName == "" || cfg.Server == nil || cfg.Log == nil {
		return nil, errors.New("node identity: NodeName, Server and Log are required")
	}
	tokenID, err := TokenID(cfg.BootstrapToken)
	if err != nil {
		return nil, fmt.Errorf("node identity of %s: the bootstrap token is %w", cfg.NodeName, err)
	}
	boot := rest.AnonymousClientConfig(cfg.Server)
	boot.BearerToken = cfg.BootstrapToken
	if err := checkBootstrapToken(ctx, boot, tokenID); err != nil {
		return nil, err
	}

	id := &Identity{done: make(chan struct{})}
	id.config, id.dialer, err = rotatingConfig(cfg.Server, func() *tls.Certificate {
		if id.manager == nil {
			return nil
		}
		return id.manager.Current()
	})
	if err != nil {
		return nil, fmt.Errorf("node identity of %s: %w", cfg.NodeName, err)
	}
	var lifetime *time.Duration
	if cfg.Lifetime > 0 {
		lifetime = &cfg.Lifetime
	}
	id.manager, err = certificate.NewManager(&certificate.Config{
		// A renewal is asked for with the current certificate, as the kubelet does; once
		// it has expired (the runtime could not reach the API server for that long) only
		// the bootstrap token is left.
		ClientsetFn: func(current *tls.Certificate) (kubernetes.Interface, error) {
			if current != nil && current.Leaf != nil && time.Now().Before(current.Leaf.NotAfter) {
				return kubernetes.NewForConfig(id.config)
			}
			return kubernetes.NewForConfig(boot)
		},
		Template: &x509.CertificateRequest{Subject: pkix.Name{
			CommonName: UserPrefix + cfg.NodeName, Organization: []string{Group},
		}},
		SignerName:                   certificatesv1.KubeAPIServerClientKubeletSignerName,
		Usages:                       []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		RequestedCertificateLifetime: lifetime,
		CertificateStore:             &MemoryStore{Name: "node client"},
		Name:                         "node-client",
	})
	if err != nil {
		return nil, fmt.Errorf("node identity of %s: set up the client certificate manager: %w", cfg.NodeName, err)
	}
	id.manager.Start()
	if err := id.waitForFirst(ctx, cfg); err != nil {
		id.manager.Stop()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	id.cancel = cancel
	go id.closeOldConnections(runCtx, cfg.Log)
	return id, nil
}

// checkBootstrapToken asks the API server who the token is, so that a refused token fails
// at once with what to check, rather than as CSR errors retried forever.
func checkBootstrapToken(ctx context.Context, boot *rest.Config, tokenID string) error {
	kube, err := kubernetes.NewForConfig(boot)
	if err != nil {
		return fmt.Errorf("bootstrap client: %w", err)
	}
	review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server refused the bootstrap token %s (401): check that Secret kube-system/bootstrap-token-%s exists and has not expired "+
			"(the eci-vnode approver mints it; for a managed VNode, eci_vnode creates it) and that kube-apiserver runs with --enable-bootstrap-token-auth", tokenID, tokenID)
	case err != nil:
		return fmt.Errorf("check the bootstrap token %s with the API server: %w", tokenID, err)
	}
	if want := BootstrapUserPrefix + tokenID; review.Status.UserInfo.Username != want {
		return fmt.Errorf("the bootstrap token %s authenticates as %q, not %q: is it a bootstrap token?", tokenID, review.Status.UserInfo.Username, want)
	}
	return nil
}

// rotatingConfig is server's API server and CA with a client certificate that current
// returns at each TLS handshake. The dialer closes every connection on demand, so that
// once the certificate rotates, the next requests open connections that present it.
func rotatingConfig(server *rest.Config, current func() *tls.Certificate) (*rest.Config, *connrotation.Dialer, error) {
	c := rest.AnonymousClientConfig(server)
	tlsConfig, err := rest.TLSConfigFor(c)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS settings for the API server: %w", err)
	}
	if tlsConfig == nil {
		return nil, nil, fmt.Errorf("the API server %s is not reached over HTTPS, so it cannot authenticate a client certificate", c.Host)
	}
	tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if cert := current(); cert != nil {
			return cert, nil
		}
		// No certificate yet: the handshake goes on without one, and the API
		// server answers 401, which is what the caller should see.
		return &tls.Certificate{}, nil
	}
	dialer := connrotation.NewDialer((&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	c.Transport = utilnet.SetTransportDefaults(&http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     tlsConfig,
		MaxIdleConnsPerHost: 25,
		DialContext:         dialer.DialContext,
		IdleConnTimeout:     90 * time.Second,
	})
	// The transport carries the TLS settings now; client-go refuses both.
	c.TLSClientConfig = rest.TLSClientConfig{}
	return c, dialer, nil
}

func (id *Identity) waitForFirst(ctx context.Context, cfg Config) error {
	every := cfg.Waiting
	if every <= 0 {
		every = 30 * time.Second
	}
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	started := time.Now()
	nextLog := started.Add(every)
	cfg.Log.Info("asking for the node's client certificate (TLS bootstrap)", "node", cfg.NodeName,
		"user", UserPrefix+cfg.NodeName, "signer", certificatesv1.KubeAPIServerClientKubeletSignerName)
	for {
		if c := id.manager.Current(); c != nil {
			cfg.Log.Info("the node's client certificate is issued", "node", cfg.NodeName, "expires", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node identity of %s: no client certificate after %s: its CSR (kubectl get csr) was not approved and signed; "+
				"is the eci-vnode approver running (for a managed VNode: kube-controller-manager's csrapproving controller, and the VNode's approval bindings)?: %w", cfg.NodeName, time.Since(started).Round(time.Second), ctx.Err())
		case now := <-poll.C:
			if now.After(nextLog) {
				nextLog = now.Add(every)
				cfg.Log.Warn("still waiting for the node's client certificate: its CSR awaits approval (kubectl get csr) by the eci-vnode approver, or for a managed VNode by kube-controller-manager",
					"node", cfg.NodeName, "waited", time.Since(started).Round(time.Second).String())
			}
		}
	}
}

// closeOldConnections closes the connections made with a certificate once a newer one is
// in use, so that no request goes on with a certificate that is about to expire.
func (id *Identity) closeOldConnections(ctx context.Context, log *slog.Logger) {
	defer close(id.done)
	last := id.manager.Current()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c := id.manager.Current()
		if c == nil || c == last {
			continue
		}
		last = c
		log.Info("the node's client certificate rotated; reconnecting with it", "expires", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
		id.dialer.CloseAll()
	}
}

// Config returns a client configuration that authenticates as the node with its current
// certificate. Clients made from it share one transport.
func (id *Identity) Config() *rest.Config { return rest.CopyConfig(id.config) }

// Current is the client certificate in use.
func (id *Identity) Current() *tls.Certificate { return id.manager.Current() }

// Stop ends the rotation.
func (id *Identity) Stop() {
	id.cancel()
	<-id.done
	id.manager.Stop()
}
