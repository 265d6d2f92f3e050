package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestRenderKubeconfigLoadsWithClientcmd(t *testing.T) {
	ca, err := newCertAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.issue(certRequest{CommonName: adminUser, Organizations: []string{mastersGroup}, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := renderKubeconfig(kubeconfigSpec{Server: "https://127.0.0.1:6443", CAPEM: ca.CertPEM(), CertPEM: kp.CertPEM, KeyPEM: kp.KeyPEM, User: adminUser})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if cfg.CurrentContext != contextName {
		t.Errorf("current context = %q", cfg.CurrentContext)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		t.Fatalf("rest config: %v", err)
	}
	if rc.Host != "https://127.0.0.1:6443" {
		t.Errorf("host = %q", rc.Host)
	}
	if string(rc.CAData) != string(ca.CertPEM()) || string(rc.CertData) != string(kp.CertPEM) || string(rc.KeyData) != string(kp.KeyPEM) {
		t.Error("embedded CA, cert or key differ from the inputs")
	}
}

func TestRenderKubeconfigWithTokenFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := renderKubeconfig(kubeconfigSpec{Server: "https://127.0.0.1:1234", CAPEM: []byte("ca"), TokenFile: tokenFile, User: "system:serviceaccount:ns:sa", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Load the way a process would with KUBECONFIG set.
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, nil)
	ns, _, err := loader.Namespace()
	if err != nil || ns != "ns" {
		t.Errorf("namespace = %q, %v", ns, err)
	}
	rc, err := loader.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if rc.BearerTokenFile != tokenFile {
		t.Errorf("token file = %q, want %q", rc.BearerTokenFile, tokenFile)
	}
}

func TestRenderKubeconfigNeedsServer(t *testing.T) {
	if _, err := renderKubeconfig(kubeconfigSpec{}); err == nil {
		t.Fatal("expected an error without a server")
	}
}
