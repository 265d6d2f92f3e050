package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func testCertConfig() certConfig {
	return certConfig{
		hosts:         []string{"127.0.0.7", "eci-vnode-webhook.eci-vnode-system.svc"},
		caValidity:    100 * time.Hour,
		certValidity:  10 * time.Hour,
		renewFraction: 0.8,
		caOverlap:     time.Minute,
	}
}

// apply runs plan and returns the state the Secret would then hold.
func apply(t *testing.T, c certConfig, cur *certState, now time.Time) (*certState, []string, time.Time) {
	t.Helper()
	data, issued, next, err := c.plan(cur, now)
	if err != nil {
		t.Fatal(err)
	}
	if data == nil {
		return cur, nil, next
	}
	st, err := parseCertSecret(data)
	if err != nil {
		t.Fatalf("plan wrote an unreadable secret: %v", err)
	}
	return st, issued, next
}

// verifies checks that the serving certificate chains to the bundle for every host, at now.
func verifies(t *testing.T, st *certState, hosts []string, now time.Time) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(st.bundle) {
		t.Fatal("bundle has no certificates")
	}
	for _, h := range hosts {
		if _, err := st.leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("serving certificate does not verify for %s at %s: %v", h, now, err)
		}
	}
}

func TestCertificateLifecycle(t *testing.T) {
	c := testCertConfig()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	st, issued, next := apply(t, c, nil, t0)
	if len(issued) != 2 {
		t.Fatalf("first plan issued %v, want ca and serving", issued)
	}
	verifies(t, st, c.hosts, t0)
	if want := t0.Add(8 * time.Hour); !next.Equal(want) {
		t.Errorf("next check %s, want %s (80%% of the serving lifetime)", next, want)
	}
	if len(st.leaf.IPAddresses) != 1 || st.leaf.IPAddresses[0].String() != "127.0.0.7" {
		t.Errorf("IP SANs %v", st.leaf.IPAddresses)
	}
	ca1, leaf1 := st.cas[0], st.leaf

	// Nothing is due yet.
	if same, issued, _ := apply(t, c, st, t0.Add(7*time.Hour)); issued != nil || same != st {
		t.Errorf("renewed too early: %v", issued)
	}

	// 80% of the serving lifetime: a new serving certificate from the same CA.
	st, issued, _ = apply(t, c, st, t0.Add(8*time.Hour))
	if len(issued) != 1 || issued[0] != "serving" || st.leaf.Equal(leaf1) || !st.cas[0].Equal(ca1) || len(st.cas) != 1 {
		t.Fatalf("serving renewal: issued %v, cas %d", issued, len(st.cas))
	}
	verifies(t, st, c.hosts, t0.Add(8*time.Hour))

	// A new host (the pod got another IP): reissued at once.
	c2 := c
	c2.hosts = []string{"127.0.0.9"}
	st2, issued, _ := apply(t, c2, st, t0.Add(9*time.Hour))
	if len(issued) != 1 || issued[0] != "serving" {
		t.Fatalf("new host: issued %v", issued)
	}
	verifies(t, st2, c2.hosts, t0.Add(9*time.Hour))

	// 80% of the CA's lifetime: a new CA joins the bundle, the serving certificate stays
	// for the overlap, then is reissued by the new CA. The old CA is trusted until it expires.
	tCA := t0.Add(80 * time.Hour)
	st, _, _ = apply(t, c, st, tCA.Add(-time.Hour)) // serving renewals on the way
	leafBefore := st.leaf
	st, issued, next = apply(t, c, st, tCA)
	if len(issued) != 1 || issued[0] != "ca" {
		t.Fatalf("CA renewal issued %v, want only ca", issued)
	}
	if len(st.cas) != 2 || !st.cas[1].Equal(ca1) || st.cas[0].Equal(ca1) {
		t.Fatalf("bundle after CA renewal: %d CAs", len(st.cas))
	}
	if !st.leaf.Equal(leafBefore) {
		t.Errorf("serving certificate changed before the new CA was trusted")
	}
	verifies(t, st, c.hosts, tCA)
	if want := tCA.Add(c.caOverlap); !next.Equal(want) {
		t.Errorf("next check %s, want the end of the overlap %s", next, want)
	}
	if _, issued, _ := apply(t, c, st, tCA.Add(30*time.Second)); issued != nil {
		t.Errorf("reissued during the overlap: %v", issued)
	}
	st, issued, _ = apply(t, c, st, tCA.Add(c.caOverlap))
	if len(issued) != 1 || issued[0] != "serving" || st.issuer() != st.cas[0] {
		t.Fatalf("after the overlap: issued %v", issued)
	}
	verifies(t, st, c.hosts, tCA.Add(c.caOverlap))

	// Once the old CA has expired it leaves the bundle (at the next CA renewal).
	st, _, _ = apply(t, c, st, t0.Add(101*time.Hour))
	for _, ca := range st.cas {
		if ca.Equal(ca1) {
			t.Errorf("expired CA still in the bundle")
		}
	}
}

func TestCertificateSecretGarbageIsReplaced(t *testing.T) {
	if _, err := parseCertSecret(map[string][]byte{"tls.crt": []byte("junk")}); err == nil {
		t.Fatal("junk parsed")
	}
	c := testCertConfig()
	st, _, _ := apply(t, c, nil, time.Now())
	other, _, _ := apply(t, c, nil, time.Now())
	data := map[string][]byte{
		SecretKeyCABundle: st.bundle, SecretKeyCAKey: other.mustCAKeyPEM(t),
		corev1.TLSCertKey: st.certPEM, corev1.TLSPrivateKeyKey: st.keyPEM,
	}
	if _, err := parseCertSecret(data); err == nil {
		t.Error("a CA key that does not match the CA parsed")
	}
}

func (s *certState) mustCAKeyPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(s.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func TestCertManagerKeepsTheSecret(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	var bundles [][]byte
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newCertManager(kube, "eci-vnode-system", "tls", testCertConfig(), NewMetrics(nil), discardLog(), func(b []byte) { bundles = append(bundles, b) })
	m.now = func() time.Time { return now }

	if _, err := m.getCertificate(&tls.ClientHelloInfo{}); err == nil {
		t.Error("a certificate before the first reconcile")
	}
	next, err := m.reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := kube.CoreV1().Secrets("eci-vnode-system").Get(ctx, "tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Type != corev1.SecretTypeTLS || len(sec.Data[SecretKeyCABundle]) == 0 || len(sec.Data[SecretKeyCAKey]) == 0 {
		t.Errorf("secret %+v", sec)
	}
	cert1, _ := m.getCertificate(&tls.ClientHelloInfo{})
	if cert1 == nil || len(bundles) != 1 || string(bundles[0]) != string(sec.Data[SecretKeyCABundle]) {
		t.Fatalf("served certificate %v, bundles %d", cert1, len(bundles))
	}
	if want := now.Add(8 * time.Hour); !next.Equal(want) {
		t.Errorf("next %s, want %s", next, want)
	}

	// Another replica's view: same Secret, nothing to write, same bundle.
	other := newCertManager(kube, "eci-vnode-system", "tls", testCertConfig(), NewMetrics(nil), discardLog(), nil)
	other.now = m.now
	if _, err := other.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if string(other.caBundle()) != string(m.caBundle()) {
		t.Error("replicas disagree on the bundle")
	}

	// Renewal of the serving certificate: served at once, bundle unchanged.
	now = now.Add(8 * time.Hour)
	if _, err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	cert2, _ := m.getCertificate(&tls.ClientHelloInfo{})
	if cert2.Leaf.Equal(cert1.Leaf) {
		t.Error("renewed certificate not served")
	}
	if len(bundles) != 1 {
		t.Errorf("bundle changed on a serving renewal")
	}

	// The Secret is deleted: a new CA and certificate, a new bundle to publish.
	if err := kube.CoreV1().Secrets("eci-vnode-system").Delete(ctx, "tls", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 2 {
		t.Errorf("bundles published: %d", len(bundles))
	}
}
