package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// What the kube-proxy's token can be once a runtime acts as its Node (system:node:<name>,
// under the Node authorizer and NodeRestriction, as the sandbox's API server runs them). A node
// may only request tokens bound to a pod on it that runs as the token's ServiceAccount, so:
// the unbound token the runtime requests today is refused, and so is one bound to a user's
// pod; one bound to a pod of the kube-proxy's own account on that node (a per-VNode "kube-proxy
// pod" the installation would create and the runtime would never start), for the audience its
// kube-api-access volume names, is issued, needs no RBAC beyond the Node authorizer, lasts a
// year when asked for 3607 s (as the kube-api-access token does), and carries
// system:node-proxier. This is why the runtime, which runs as its node, asks for the
// kube-proxy's unbound tokens with its own ServiceAccount instead (docs/design.md, "Node
// identity"); the per-VNode pod is the alternative that would need no ServiceAccount right.
func TestKubeProxyTokenUnderTheNodeIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	ctx := context.Background()
	sb := StartForTest(t, Options{Workers: -1})
	admin := sb.Client()
	const node, ns = "vnode-identity", install.DefaultNamespace
	if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []string{install.KubeProxyServiceAccount, "default"} {
		_, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy-identity-test"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: install.KubeProxyServiceAccount, Namespace: ns}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: install.NodeProxierClusterRole},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := func(name, sa string) *corev1.Pod {
		p, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			// The ServiceAccount admission gives it the kube-api-access volume, whose token has the
			// API server's audience: with the audience restriction of NodeRestriction a node may
			// only ask for audiences its pods' volumes name.
			NodeName: node, ServiceAccountName: sa,
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/kube-proxy:" + KubernetesVersion}},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	anchor := pod("kube-proxy-"+node, install.KubeProxyServiceAccount)
	user := pod("user-app", "default")

	cfg := sb.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:node:" + node, Groups: []string{"system:nodes", "system:authenticated"}}
	asNode := kubernetes.NewForConfigOrDie(cfg)
	request := func(bound *corev1.Pod, seconds int64) (*authenticationv1.TokenRequest, error) {
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
		if bound != nil {
			tr.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: bound.Name, UID: bound.UID}
		}
		return asNode.CoreV1().ServiceAccounts(ns).CreateToken(ctx, install.KubeProxyServiceAccount, tr, metav1.CreateOptions{})
	}

	if _, err := request(nil, 365*24*3600); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "not bound to a pod") {
		t.Errorf("an unbound token (what the runtime asks for today) as the node: %v; want NodeRestriction's refusal", err)
	}
	if _, err := request(user, 3607); err == nil {
		t.Errorf("a kube-proxy token bound to a pod running as another account was issued to the node")
	}
	tr, err := request(anchor, 3607)
	if err != nil {
		t.Fatalf("a kube-proxy token bound to the kube-proxy pod on the node: %v", err)
	}
	// The API server answers with the expiry asked for (so a kubelet refreshes hourly) and
	// signs a token that lives a year.
	if life := time.Until(jwtExpiry(t, tr.Status.Token)); life < 360*24*time.Hour {
		t.Errorf("the token lives %s; want about a year (3607 s, pod-bound, extended by the API server)", life.Round(time.Hour))
	}
	proxyCfg := rest.AnonymousClientConfig(sb.RESTConfig())
	proxyCfg.BearerToken = tr.Status.Token
	proxy := kubernetes.NewForConfigOrDie(proxyCfg)
	if _, err := proxy.CoreV1().Services("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the pod-bound kube-proxy token cannot list Services: %v", err)
	}
	if _, err := proxy.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the pod-bound kube-proxy token listing Secrets: %v; want Forbidden", err)
	}
	// The token dies with the pod it is bound to: recreating the kube-proxy pod revokes
	// every instance's token of the VNode at once.
	if err := admin.CoreV1().Pods(ns).Delete(ctx, anchor.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the token refused once its pod is gone", func() (bool, string) {
		_, err := proxy.CoreV1().Services("").List(ctx, metav1.ListOptions{})
		return apierrors.IsUnauthorized(err), "list Services: " + errString(err)
	})
}

// jwtExpiry reads the exp claim of a JWT without verifying it.
func jwtExpiry(t *testing.T, token string) time.Time {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return time.Unix(claims.Exp, 0)
}

func errString(err error) string {
	if err == nil {
		return "allowed"
	}
	return err.Error()
}
