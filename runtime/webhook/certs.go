package webhook

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Keys of the webhook's TLS Secret (type kubernetes.io/tls). ca.crt holds the CA
// bundle the API server trusts: the signing CA first, then older CAs until they expire.
const (
	SecretKeyCABundle = "ca.crt"
	SecretKeyCAKey    = "ca.key"
)

// backdate is how far before its issue a certificate is valid, for clocks that lag.
const backdate = time.Minute

// certConfig says what certificates the webhook needs and when to renew them.
type certConfig struct {
	hosts        []string      // DNS names and IP addresses the serving certificate covers
	caValidity   time.Duration // lifetime of a new CA
	certValidity time.Duration // lifetime of a new serving certificate
	// renewFraction of a lifetime, after which a certificate is renewed (0.8: when a
	// fifth of it remains).
	renewFraction float64
	// caOverlap is how long a new CA is in the trusted bundle before it signs the
	// serving certificate, so every API server trusts it before it is presented.
	caOverlap time.Duration
}

// renewAt is when a certificate valid until notAfter, issued for lifetime validity, is
// renewed: once less than (1 - renewFraction) of the lifetime remains. It is measured
// against the configured lifetime, not the certificate's, so a changed setting takes
// effect at the next renewal.
func (c certConfig) renewAt(notAfter time.Time, validity time.Duration) time.Time {
	return notAfter.Add(-validity).Add(time.Duration(math.Round(float64(validity) * c.renewFraction)))
}

// certState is the parsed content of the Secret.
type certState struct {
	cas     []*x509.Certificate // trusted bundle, the signing CA first
	caKey   crypto.Signer
	leaf    *x509.Certificate
	pair    *tls.Certificate
	bundle  []byte // ca.crt as stored
	certPEM []byte // tls.crt as stored
	keyPEM  []byte // tls.key as stored
}

// parseCertSecret reads the Secret's data; any missing or broken part is an error and
// makes the manager issue everything anew.
func parseCertSecret(data map[string][]byte) (*certState, error) {
	s := &certState{bundle: data[SecretKeyCABundle], certPEM: data[corev1.TLSCertKey], keyPEM: data[corev1.TLSPrivateKeyKey]}
	rest := s.bundle
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", SecretKeyCABundle, err)
		}
		s.cas = append(s.cas, c)
	}
	if len(s.cas) == 0 {
		return nil, fmt.Errorf("%s holds no certificate", SecretKeyCABundle)
	}
	key, err := parseKey(data[SecretKeyCAKey])
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", SecretKeyCAKey, err)
	}
	if !publicKeysEqual(key.Public(), s.cas[0].PublicKey) {
		return nil, fmt.Errorf("%s does not belong to the first certificate of %s", SecretKeyCAKey, SecretKeyCABundle)
	}
	s.caKey = key
	pair, err := tls.X509KeyPair(data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return nil, fmt.Errorf("parse serving certificate: %w", err)
	}
	s.pair, s.leaf = &pair, pair.Leaf
	return s, nil
}

func parseKey(p []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(p)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// issuer returns the CA of s's bundle that signed its serving certificate, or nil.
func (s *certState) issuer() *x509.Certificate {
	for _, ca := range s.cas {
		if s.leaf.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

// covers reports whether the serving certificate names every host.
func (s *certState) covers(hosts []string) bool {
	for _, h := range hosts {
		if s.leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// plan decides what the Secret must become at now: nil data when nothing changes, else
// the new data and which certificates were issued ("ca", "serving"). It also returns when
// to look again. cur is nil when the Secret is missing or unreadable.
func (c certConfig) plan(cur *certState, now time.Time) (data map[string][]byte, issued []string, next time.Time, err error) {
	var (
		cas    []*x509.Certificate
		caKey  crypto.Signer
		caPEMs [][]byte
		leaf   *x509.Certificate
	)
	if cur != nil {
		cas, caKey, leaf = cur.cas, cur.caKey, cur.leaf
	}
	// The signing CA: renewed when it is missing or due; the old one stays trusted.
	renewCA := cur == nil || !now.Before(c.renewAt(cas[0].NotAfter, c.caValidity)) || now.Before(cas[0].NotBefore)
	pruned := false
	if renewCA {
		ca, key, err := newCA(now, c.caValidity)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		kept := slices.DeleteFunc(slices.Clone(cas), func(x *x509.Certificate) bool { return !now.Before(x.NotAfter) })
		cas, caKey = append([]*x509.Certificate{ca}, kept...), key
		issued = append(issued, "ca")
	} else {
		// Older CAs stay trusted until they expire, then leave the bundle.
		kept := slices.DeleteFunc(slices.Clone(cas[1:]), func(x *x509.Certificate) bool { return !now.Before(x.NotAfter) })
		pruned = len(kept) != len(cas)-1
		cas = append([]*x509.Certificate{cas[0]}, kept...)
	}
	// The serving certificate.
	var issuerCA *x509.Certificate
	if cur != nil && !renewCA {
		issuerCA = cur.issuer()
	} else if cur != nil {
		for _, ca := range cas[1:] {
			if leaf.CheckSignatureFrom(ca) == nil {
				issuerCA = ca
			}
		}
	}
	signingCA := cas[0]
	caTrustedAt := signingCA.NotBefore.Add(backdate).Add(c.caOverlap)
	renewLeaf := cur == nil || issuerCA == nil || !cur.covers(c.hosts) ||
		!now.Before(c.renewAt(leaf.NotAfter, c.certValidity)) || now.Before(leaf.NotBefore) ||
		(issuerCA != signingCA && !now.Before(caTrustedAt))
	next = c.renewAt(cas[0].NotAfter, c.caValidity)
	if renewLeaf {
		certPEM, keyPEM, l, err := issueServing(signingCA, caKey, c.hosts, now, c.certValidity)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		leaf = l
		issued = append(issued, "serving")
		if data == nil {
			data = map[string][]byte{}
		}
		data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey] = certPEM, keyPEM
	} else if issuerCA != signingCA {
		next = earliest(next, caTrustedAt)
	}
	next = earliest(next, c.renewAt(leaf.NotAfter, c.certValidity))
	for _, ca := range cas[1:] {
		next = earliest(next, ca.NotAfter)
	}
	if !renewCA && !renewLeaf && !pruned {
		return nil, nil, next, nil
	}
	if data == nil {
		data = map[string][]byte{}
	}
	if _, ok := data[corev1.TLSCertKey]; !ok {
		data[corev1.TLSCertKey], data[corev1.TLSPrivateKeyKey] = cur.certPEM, cur.keyPEM
	}
	for _, ca := range cas {
		caPEMs = append(caPEMs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}))
	}
	data[SecretKeyCABundle] = bytes.Join(caPEMs, nil)
	keyDER, err := x509.MarshalPKCS8PrivateKey(caKey)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("encode CA key: %w", err)
	}
	data[SecretKeyCAKey] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return data, issued, next, nil
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func newCA(now time.Time, validity time.Duration) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("eci-vnode-webhook-ca@%d", now.Unix())},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return ca, key, nil
}

func issueServing(ca *x509.Certificate, caKey crypto.Signer, hosts []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, leaf *x509.Certificate, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "eci-vnode-profile-webhook"},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create serving certificate: %w", err)
	}
	if leaf, err = x509.ParseCertificate(der); err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode serving key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), leaf, nil
}

// certManager keeps the webhook's CA and serving certificate in a Secret of its
// namespace: it creates them when missing, renews them before they expire, serves the
// current certificate to every TLS handshake and tells when the CA bundle changed. Every
// replica runs one; they agree through the Secret (optimistic concurrency on its
// resourceVersion), and each serves what the Secret holds.
type certManager struct {
	kube      kubernetes.Interface
	namespace string
	name      string
	cfg       certConfig
	metrics   *Metrics
	log       *slog.Logger
	now       func() time.Time
	// onBundle is called with the CA bundle whenever it changes (and the first time).
	onBundle func(bundle []byte)

	cert   atomic.Pointer[tls.Certificate]
	mu     sync.Mutex
	bundle []byte
	kick   chan struct{}
}

func newCertManager(kube kubernetes.Interface, namespace, name string, cfg certConfig, m *Metrics, log *slog.Logger, onBundle func([]byte)) *certManager {
	return &certManager{
		kube: kube, namespace: namespace, name: name, cfg: cfg, metrics: m, log: log, now: time.Now,
		onBundle: onBundle, kick: make(chan struct{}, 1),
	}
}

// getCertificate serves tls.Config.GetCertificate: the certificate in the Secret now,
// so a renewal takes effect at the next handshake without a restart.
func (m *certManager) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := m.cert.Load()
	if c == nil {
		return nil, errors.New("the webhook has no serving certificate yet")
	}
	return c, nil
}

// caBundle returns the CA bundle in use.
func (m *certManager) caBundle() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.bundle)
}

// poke makes the run loop look at the Secret now (it changed, or was deleted).
func (m *certManager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// reconcile brings the Secret to what plan wants and serves it. It returns when to look
// again.
func (m *certManager) reconcile(ctx context.Context) (time.Time, error) {
	secrets := m.kube.CoreV1().Secrets(m.namespace)
	for attempt := 0; ; attempt++ {
		now := m.now()
		sec, err := secrets.Get(ctx, m.name, metav1.GetOptions{})
		missing := apierrors.IsNotFound(err)
		if err != nil && !missing {
			return time.Time{}, fmt.Errorf("read secret %s/%s: %w", m.namespace, m.name, err)
		}
		var cur *certState
		if !missing {
			if cur, err = parseCertSecret(sec.Data); err != nil {
				m.log.Warn("the webhook's TLS secret is unusable; issuing a new CA and certificate", "secret", m.namespace+"/"+m.name, "err", err)
				cur = nil
			}
		}
		data, issued, next, err := m.cfg.plan(cur, now)
		if err != nil {
			return time.Time{}, err
		}
		if data == nil {
			m.serve(cur)
			return next, nil
		}
		if missing {
			sec = &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: m.name, Namespace: m.namespace,
					Labels: map[string]string{"app.kubernetes.io/managed-by": FieldManager}},
				Type: corev1.SecretTypeTLS,
				Data: data,
			}
			sec, err = secrets.Create(ctx, sec, metav1.CreateOptions{FieldManager: FieldManager})
		} else {
			sec = sec.DeepCopy()
			if sec.Type != corev1.SecretTypeTLS && sec.Type != corev1.SecretTypeOpaque && sec.Type != "" {
				return time.Time{}, fmt.Errorf("secret %s/%s has type %s; delete it and the webhook creates it anew", m.namespace, m.name, sec.Type)
			}
			sec.Data = data
			sec, err = secrets.Update(ctx, sec, metav1.UpdateOptions{FieldManager: FieldManager})
		}
		if (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && attempt < 5 {
			continue // another replica wrote it first: read and judge again
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("write secret %s/%s: %w", m.namespace, m.name, err)
		}
		st, err := parseCertSecret(sec.Data)
		if err != nil {
			return time.Time{}, fmt.Errorf("read back secret %s/%s: %w", m.namespace, m.name, err)
		}
		for _, what := range issued {
			m.metrics.certRotations.WithLabelValues(what).Inc()
		}
		m.log.Info("issued webhook certificates", "secret", m.namespace+"/"+m.name, "issued", issued,
			"servingExpires", st.leaf.NotAfter, "caExpires", st.cas[0].NotAfter, "hosts", m.cfg.hosts)
		m.serve(st)
		return next, nil
	}
}

// serve makes st the certificate of new handshakes and publishes a changed bundle.
func (m *certManager) serve(st *certState) {
	m.cert.Store(st.pair)
	m.metrics.certExpiry.WithLabelValues("serving").Set(float64(st.leaf.NotAfter.Unix()))
	m.metrics.certExpiry.WithLabelValues("ca").Set(float64(st.cas[0].NotAfter.Unix()))
	m.mu.Lock()
	changed := !bytes.Equal(m.bundle, st.bundle)
	if changed {
		m.bundle = slices.Clone(st.bundle)
	}
	m.mu.Unlock()
	if changed && m.onBundle != nil {
		m.onBundle(slices.Clone(st.bundle))
	}
}

// run reconciles when a certificate is due, when poked, and at least every recheck,
// until ctx ends. Errors are logged and retried with back-off.
func (m *certManager) run(ctx context.Context, recheck time.Duration) {
	wait := time.Duration(0)
	retry := time.Second
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-m.kick:
			timer.Stop()
		case <-timer.C:
		}
		next, err := m.reconcile(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.log.Error("cannot maintain the webhook's certificates; retrying", "err", err, "retryIn", retry)
			wait, retry = retry, min(2*retry, time.Minute)
			continue
		}
		retry = time.Second
		wait = min(max(time.Until(next), 100*time.Millisecond), recheck)
	}
}
