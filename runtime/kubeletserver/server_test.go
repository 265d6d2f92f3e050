package kubeletserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/approver"
	"github.com/eci-vnode/terraform-provider-eci/runtime/approver/approvertest"
)

// TestTheKubeletAPIServesOnlyAuthenticatedAndAuthorizedCallers runs the server as a
// VNode's runtime would against the sandbox: its serving certificate comes from the CSR
// API (approved by runtime/approver, signed by kube-controller-manager); the API server's
// kubelet client certificate and a token allowed nodes/proxy get through; a token without
// that right is forbidden and an anonymous caller is unauthorized. Certificates live
// certLifetime here, so the server also shows it rotates its certificate while serving.
func TestTheKubeletAPIServesOnlyAuthenticatedAndAuthorizedCallers(t *testing.T) {
	const certLifetime = 90 * time.Second
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: -1, CertificateLifetime: certLifetime})
	admin := sb.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns, nodeName = "eci-vnode-system", "vnode-a"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// The installation as the approver recognises it, and the Node with its address.
	approvertest.VNode(t, ctx, admin, ns, nodeName)
	node, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{})
	must(node, err)
	addresses := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: nodeName}}
	node.Status.Addresses = addresses
	must(admin.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}))
	approvertest.Start(t, admin, ns)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The runtime's identity, its node's (package nodeidentity): the Node authorizer
	// lets it ask for certificates and delegate authentication and authorization.
	runtimeCfg := sb.RESTConfig()
	runtimeCfg.Impersonate.UserName = approver.NodeUserPrefix + nodeName
	runtimeCfg.Impersonate.Groups = []string{approver.NodesGroup}
	pki := filepath.Join(sb.Dir(), "pki")
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	must(caPEM, err)
	clientCA, err := dynamiccertificates.NewStaticCAContent("client-ca", caPEM)
	must(clientCA, err)
	routes := http.NewServeMux()
	routes.HandleFunc("/pods", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"items":[]}`) })
	srv, err := New(Config{NodeName: nodeName, Kube: kubernetes.NewForConfigOrDie(runtimeCfg), ClientCA: clientCA,
		Addresses: func() []corev1.NodeAddress { return addresses }, Routes: routes, Log: quiet})
	must(srv, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(ln, err)
	addr := ln.Addr().String()
	runCtx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Run(runCtx, ln) }()
	defer func() { stopServer(); <-served }()

	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return srv.Current() != nil, nil
	}); err != nil {
		t.Fatalf("no serving certificate was issued: %v", err)
	}
	if leaf := srv.Current().Leaf; leaf.Subject.CommonName != "system:node:"+nodeName || leaf.Issuer.CommonName != "eci-sandbox-ca" {
		t.Errorf("serving certificate for %q issued by %q", leaf.Subject.CommonName, leaf.Issuer.CommonName)
	}

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	get := func(clientCert *tls.Certificate, token string) int {
		t.Helper()
		tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"} // verified against the cluster CA, by IP SAN
		if clientCert != nil {
			tc.Certificates = []tls.Certificate{*clientCert}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/pods", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tc}}).Do(req)
		if err != nil {
			t.Fatalf("GET /pods: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	kubeletClient, err := tls.LoadX509KeyPair(filepath.Join(pki, "apiserver-kubelet-client.crt"), filepath.Join(pki, "apiserver-kubelet-client.key"))
	must(kubeletClient, err)
	if code := get(&kubeletClient, ""); code != http.StatusOK {
		t.Errorf("the API server's kubelet client: HTTP %d, want 200", code)
	}
	if code := get(nil, ""); code != http.StatusUnauthorized {
		t.Errorf("an anonymous caller: HTTP %d, want 401", code)
	}
	if code := get(nil, token(t, ctx, admin, "default", "viewer")); code != http.StatusForbidden {
		t.Errorf("a token without nodes/proxy: HTTP %d, want 403", code)
	}
	grant(t, ctx, admin, "test:node-proxy", "system:serviceaccount:default:operator", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes/proxy"}, Verbs: []string{"get"}},
	})
	if code := get(nil, token(t, ctx, admin, "default", "operator")); code != http.StatusOK {
		t.Errorf("a token allowed nodes/proxy get: HTTP %d, want 200", code)
	}

	// Rotation: a new certificate before the first expires, served without a restart.
	first := srv.Current().Leaf
	t.Logf("first certificate valid %s to %s", first.NotBefore.Format(time.RFC3339), first.NotAfter.Format(time.RFC3339))
	if err := wait.PollUntilContextTimeout(ctx, time.Second, certLifetime+30*time.Second, false, func(context.Context) (bool, error) {
		return srv.Current().Leaf.SerialNumber.Cmp(first.SerialNumber) != 0, nil
	}); err != nil {
		t.Fatalf("the serving certificate was not rotated within %s: %v", certLifetime+30*time.Second, err)
	}
	if time.Now().After(first.NotAfter) {
		t.Errorf("rotated only after the first certificate expired (%s)", first.NotAfter)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	must(conn, err)
	presented := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if presented.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Errorf("the server still presents the first certificate after rotation")
	}
	if code := get(&kubeletClient, ""); code != http.StatusOK {
		t.Errorf("after rotation, the API server's kubelet client: HTTP %d, want 200", code)
	}
}

// grant binds a ClusterRole of rules to user.
func grant(t *testing.T, ctx context.Context, kube kubernetes.Interface, name, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// token is a fresh token of a new ServiceAccount ns/name.
func token(t *testing.T, ctx context.Context, kube kubernetes.Interface, ns, name string) string {
	t.Helper()
	if _, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}
