package nodeidentity_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/approver/approvertest"
	"github.com/eci-vnode/terraform-provider-eci/runtime/nodeidentity"
)

// TestTLSBootstrapMakesTheRuntimeItsNodeAndRotatesWithoutARestart runs TLS bootstrap as
// a VNode's runtime does, against the sandbox's kube-apiserver (bootstrap token
// authentication, Node authorizer) and kube-controller-manager (the signer): the
// approver mints the VNode's bootstrap token, the runtime asks with it for its client
// certificate, the approver approves it, and the runtime is then system:node:<name>.
// Certificates live certLifetime here, so the identity also shows that it renews its
// certificate as the node itself, before it expires, and keeps working across it.
func TestTLSBootstrapMakesTheRuntimeItsNodeAndRotatesWithoutARestart(t *testing.T) {
	const certLifetime = 90 * time.Second
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: -1, CertificateLifetime: certLifetime})
	admin := sb.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const ns, nodeName = "eci-vnode-system", "vnode-a"
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// What the installation renders for this: the VNode's runtime Deployment, and the
	// binding that lets bootstrap tokens of its group ask for certificates.
	approvertest.VNode(t, ctx, admin, ns, nodeName)
	must(admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode:node-bootstrapper"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: install.BootstrapGroup}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-bootstrapper"},
	}, metav1.CreateOptions{}))
	approvertest.Start(t, admin, ns)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	var token string
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		s, err := admin.CoreV1().Secrets(ns).Get(ctx, install.BootstrapTokenCopyName(nodeName), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		token = string(s.Data[install.BootstrapTokenKey])
		return true, nil
	}); err != nil {
		t.Fatalf("the approver gave the VNode no bootstrap token: %v", err)
	}
	id := install.BootstrapTokenID(ns, nodeName)
	minted, err := admin.CoreV1().Secrets(metav1.NamespaceSystem).Get(ctx, install.BootstrapTokenSecretName(id), metav1.GetOptions{})
	must(minted, err)
	if minted.Type != "bootstrap.kubernetes.io/token" || string(minted.Data["auth-extra-groups"]) != install.BootstrapGroup ||
		string(minted.Data["usage-bootstrap-authentication"]) != "true" || !strings.HasPrefix(token, id+".") {
		t.Fatalf("minted token Secret: type %s, data keys %v; the runtime's copy starts %q", minted.Type, keys(minted.Data), token[:7])
	}

	t.Run("a token the API server does not know is refused at once, saying what to check", func(t *testing.T) {
		start := time.Now()
		_, err := nodeidentity.Start(ctx, nodeidentity.Config{NodeName: nodeName, Server: sb.RESTConfig(),
			BootstrapToken: "abcdef.0123456789abcdef", Log: quiet})
		if err == nil || !strings.Contains(err.Error(), "--enable-bootstrap-token-auth") || time.Since(start) > 10*time.Second {
			t.Errorf("Start with an unknown token: %v after %s", err, time.Since(start))
		}
	})

	identity, err := nodeidentity.Start(ctx, nodeidentity.Config{NodeName: nodeName, Server: sb.RESTConfig(), BootstrapToken: token, Log: quiet})
	if err != nil {
		t.Fatalf("TLS bootstrap: %v", err)
	}
	defer identity.Stop()
	kube := kubernetes.NewForConfigOrDie(identity.Config())
	whoami := func() authenticationv1.UserInfo {
		t.Helper()
		r, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("who am I, as the node: %v", err)
		}
		return r.Status.UserInfo
	}
	if u := whoami(); u.Username != "system:node:"+nodeName || !slices.Contains(u.Groups, "system:nodes") {
		t.Fatalf("the runtime authenticates as %q in %v, want system:node:%s in system:nodes", u.Username, u.Groups, nodeName)
	}
	// The Node authorizer now applies: the node registers its own Node, and no other.
	if _, err := kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("the node registering itself: %v", err)
	}
	if _, err := kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "someone-else"}}, metav1.CreateOptions{}); err == nil {
		t.Errorf("the node registered another node")
	}

	first := identity.Current().Leaf
	if err := wait.PollUntilContextTimeout(ctx, time.Second, certLifetime+30*time.Second, false, func(context.Context) (bool, error) {
		return identity.Current().Leaf.SerialNumber.Cmp(first.SerialNumber) != 0, nil
	}); err != nil {
		t.Fatalf("the client certificate was not renewed within %s: %v", certLifetime+30*time.Second, err)
	}
	if renewed := identity.Current().Leaf; !renewed.NotBefore.Before(first.NotAfter) {
		t.Errorf("renewed only after the first certificate expired (%s)", first.NotAfter)
	}
	// After the first certificate has expired, the same client still works: its
	// connections were reopened with the new one.
	time.Sleep(time.Until(first.NotAfter) + time.Second)
	if u := whoami(); u.Username != "system:node:"+nodeName {
		t.Errorf("after rotation the runtime is %q", u.Username)
	}
	csrs, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	must(csrs, err)
	var requesters []string
	for _, c := range csrs.Items {
		if c.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName {
			requesters = append(requesters, c.Spec.Username)
		}
	}
	if !slices.Contains(requesters, "system:bootstrap:"+id) || !slices.Contains(requesters, "system:node:"+nodeName) {
		t.Errorf("client CSRs were requested by %v, want the bootstrap token first and then the node itself", requesters)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
