package sandbox

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"net"
	"slices"
	"testing"
)

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestControlPlaneCertsVerifyWithUsagesAndSANs(t *testing.T) {
	ca, err := newCertAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	svcIP := kubernetesServiceIP()
	certs, err := controlPlaneCerts(ca, svcIP)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())

	server := parseCert(t, certs["apiserver"].CertPEM)
	for _, name := range []string{"localhost", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "127.0.0.1", svcIP.String()} {
		if _, err := server.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("apiserver cert does not verify for %s: %v", name, err)
		}
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("apiserver serving cert must not be usable as a client cert")
	}
	if !svcIP.Equal(net.IPv4(10, 96, 0, 1)) {
		t.Errorf("kubernetes service IP = %s, want 10.96.0.1", svcIP)
	}

	clients := map[string]struct {
		cn     string
		groups []string
	}{
		"admin":                    {adminUser, []string{"system:masters"}},
		"scheduler":                {"system:kube-scheduler", nil},
		"controller-manager":       {"system:kube-controller-manager", nil},
		"apiserver-kubelet-client": {apiserverKubeletUser, []string{"system:masters"}},
	}
	for name, want := range clients {
		c := parseCert(t, certs[name].CertPEM)
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: client cert does not verify: %v", name, err)
		}
		if c.Subject.CommonName != want.cn || !slices.Equal(c.Subject.Organization, want.groups) {
			t.Errorf("%s: subject CN=%q O=%v, want CN=%q O=%v", name, c.Subject.CommonName, c.Subject.Organization, want.cn, want.groups)
		}
		if slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			t.Errorf("%s: client cert has serverAuth", name)
		}
	}
}

func TestNodeCertIsWhatTheNodeAuthorizerExpects(t *testing.T) {
	ca, err := newCertAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := nodeCert(ca, "worker-3")
	if err != nil {
		t.Fatal(err)
	}
	c := parseCert(t, kp.CertPEM)
	if c.Subject.CommonName != "system:node:worker-3" || !slices.Equal(c.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("node cert subject = %v", c.Subject)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM())
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("node cert does not verify: %v", err)
	}
}

func TestCAIsACA(t *testing.T) {
	ca, err := newCertAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	c := parseCert(t, ca.CertPEM())
	if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA cert: IsCA=%v usage=%v", c.IsCA, c.KeyUsage)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Errorf("CA key is not PKCS#8: %v", err)
	}
}

func TestServiceAccountKeyPairMatches(t *testing.T) {
	priv, pub, err := newServiceAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := pem.Decode(priv)
	key, err := x509.ParsePKCS8PrivateKey(pb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ub, _ := pem.Decode(pub)
	pubKey, err := x509.ParsePKIXPublicKey(ub.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("service account key %T is not a signer", key)
	}
	if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pubKey) {
		t.Error("sa.pub does not match sa.key")
	}
}
