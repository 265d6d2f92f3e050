package sandbox

import (
	"context"
	"fmt"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// TestVNodeRuntimeRunsAsItsNodeAndReadsOnlyItsOwnPodsSecrets installs a VNode as users
// do and checks the runtime is contained as a kubelet is: it gets its identity
// system:node:<name> by TLS bootstrap with the token the approver minted, its own
// ServiceAccount can read no Secret at all, and yet the VNode's pod that mounts a Secret
// runs (the runtime read it as the node). Checked against the API server's real Node
// authorizer: the node may read that Secret, and may not read a Secret referenced only by
// a pod on another node.
func TestVNodeRuntimeRunsAsItsNodeAndReadsOnlyItsOwnPodsSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	ctx := context.Background()
	vs := startVNodeSandbox(t, nil)
	sb := vs.Sandbox
	c := sb.Client()
	rt, vn := vs.Runtime, vs.VNode
	const ns = "default"
	secret := func(name string) {
		t.Helper()
		if _, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
			StringData: map[string]string{"password": name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	secret("mine")
	secret("theirs")
	mounting := func(name, secretName string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "infinity"},
				VolumeMounts: []corev1.VolumeMount{{Name: "secret", MountPath: "/etc/secret"}}}},
			Volumes: []corev1.Volume{{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secretName}}}},
		}}
	}
	onTheVNode := mounting("on-vnode", "mine")
	onTheVNode.Spec = onVNode(onTheVNode.Spec)
	onWorker := mounting("on-worker", "theirs")
	onWorker.Spec.NodeName = "worker-0"
	for _, p := range []*corev1.Pod{onTheVNode, onWorker} {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*time.Minute, "the VNode's pod that mounts Secret mine Running", func() (bool, string) {
		p, err := c.CoreV1().Pods(ns).Get(ctx, onTheVNode.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Spec.NodeName == vn.Name && p.Status.Phase == corev1.PodRunning,
			fmt.Sprintf("node %q, phase %s, %q %q", p.Spec.NodeName, p.Status.Phase, p.Status.Reason, p.Status.Message)
	})

	t.Run("the runtime got its client certificate by TLS bootstrap", func(t *testing.T) {
		csrs, err := c.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		token := "system:bootstrap:" + install.BootstrapTokenID(rt.Namespace, vn.Name)
		var found bool
		for _, csr := range csrs.Items {
			if csr.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName && csr.Spec.Username == token &&
				len(csr.Status.Certificate) > 0 {
				found = true
			}
		}
		if !found {
			t.Errorf("no issued client CSR requested by the VNode's bootstrap token %s", token)
		}
	})

	can := func(user string, groups []string, verb, secretName string) bool {
		t.Helper()
		r, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Resource: "secrets", Name: secretName},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	t.Run("its ServiceAccount reads no Secret", func(t *testing.T) {
		sa := "system:serviceaccount:" + rt.Namespace + ":eci-vnode-" + vn.Name
		groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + rt.Namespace, "system:authenticated"}
		for _, verb := range []string{"get", "list"} {
			if can(sa, groups, verb, "mine") {
				t.Errorf("the runtime's ServiceAccount may %s Secret mine", verb)
			}
		}
	})
	t.Run("as its node it reads its own pod's Secret and not another node's", func(t *testing.T) {
		// The API server's own client, impersonating the node, goes through the same
		// authorizers as the runtime's certificate does.
		cfg := sb.RESTConfig()
		cfg.Impersonate.UserName, cfg.Impersonate.Groups = "system:node:"+vn.Name, []string{"system:nodes", "system:authenticated"}
		asNode := kubernetes.NewForConfigOrDie(cfg)
		if _, err := asNode.CoreV1().Secrets(ns).Get(ctx, "mine", metav1.GetOptions{}); err != nil {
			t.Errorf("the node cannot read the Secret of its own pod: %v", err)
		}
		_, err := asNode.CoreV1().Secrets(ns).Get(ctx, "theirs", metav1.GetOptions{})
		if err == nil {
			t.Errorf("the node read the Secret of a pod on worker-0")
		}
		if _, err := asNode.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err == nil {
			t.Errorf("the node listed every Secret of %s", ns)
		}
		if !can("system:node:worker-0", []string{"system:nodes"}, "get", "theirs") {
			t.Errorf("the control: worker-0 cannot read the Secret of its own pod either, so the check proves nothing")
		}
	})
}
