package webhook

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// webhookRBAC is the least the webhook needs (doc.go, "Permissions"); the test runs the
// webhook with exactly this, so a missing permission fails here and not in a cluster.
func webhookRBAC(namespace, serviceAccount string) (*rbacv1.ClusterRole, *rbacv1.Role, *rbacv1.Role) {
	cluster := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode:profile-webhook"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces", "nodes"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "patch"}},
			{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"},
				Verbs: []string{"create"}},
			{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"},
				ResourceNames: []string{DefaultConfigurationName}, Verbs: []string{"get", "patch"}},
		},
	}
	profileRole := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode:profile-webhook", Namespace: profile.ConfigMapNamespace},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{profile.ConfigMapName}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		},
	}
	ownRole := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode:profile-webhook", Namespace: namespace},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{DefaultSecretName}, Verbs: []string{"get", "list", "watch", "update"}},
		},
	}
	return cluster, profileRole, ownRole
}

// TestRuntimeImageDeployment runs `eci-vnode profile-webhook` the way a cluster does: a
// Deployment of the runtime image, which the sandbox runs as a local process with its
// own POD_IP (127.0.0.N) and ServiceAccount token, with the least RBAC, in URL mode on
// $(POD_IP):9443. The real API server must then call it.
func TestRuntimeImageDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	ctx := context.Background()
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: 1, WorkerCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}})
	kube := sb.Client()
	const sa = "eci-vnode-webhook"
	for _, ns := range []string{webhookNamespace, appNS} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kube.CoreV1().ServiceAccounts(webhookNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cluster, profileRole, ownRole := webhookRBAC(webhookNamespace, sa)
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: webhookNamespace}}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, cluster, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: cluster.Name}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: cluster.Name},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*rbacv1.Role{profileRole, ownRole} {
		if _, err := kube.RbacV1().Roles(r.Namespace).Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := kube.RbacV1().RoleBindings(r.Namespace).Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace}, Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: r.Name},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kube.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: profile.ConfigMapName, Namespace: profile.ConfigMapNamespace},
		Data:       map[string]string{profile.SelectorsKey: `[{"name":"app","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-app"}},"policy":"fair"}]`},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: webhookNamespace, Name: "eci-vnode-webhook"}}
	d.Spec.Replicas = ptr.To[int32](1)
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "eci-vnode-webhook"}}
	d.Spec.Template.Labels = map[string]string{"app": "eci-vnode-webhook"}
	d.Spec.Template.Spec.ServiceAccountName = sa
	d.Spec.Template.Spec.Containers = []corev1.Container{{
		Name:  "webhook",
		Image: sandbox.RuntimeImageRepository + ":dev",
		Args:  []string{"profile-webhook", "--webhook-url-host=$(POD_IP):9443", "--log-level=debug"},
		Env: []corev1.EnvVar{
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}}},
	}}
	if _, err := kube.AppsV1().Deployments(webhookNamespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var podIP string
	waitUntil(t, 2*time.Minute, "the webhook pod is ready", func() (bool, error) {
		pods, err := kube.CoreV1().Pods(webhookNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=eci-vnode-webhook"})
		if err != nil || len(pods.Items) != 1 {
			return false, err
		}
		podIP = pods.Items[0].Status.PodIP
		return podReady(&pods.Items[0]), nil
	})
	mwc, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, DefaultConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *mwc.Webhooks[0].ClientConfig.URL, "https://"+podIP+":9443"+PathMutatePods; got != want {
		t.Errorf("webhook URL %s, want %s", got, want)
	}
	if !strings.HasPrefix(podIP, "127.0.0.") {
		t.Errorf("pod IP %q", podIP)
	}
	if sec, err := kube.CoreV1().Secrets(webhookNamespace).Get(ctx, DefaultSecretName, metav1.GetOptions{}); err != nil || len(sec.Data[SecretKeyCABundle]) == 0 {
		t.Errorf("TLS secret: %v", err)
	}
	waitUntil(t, time.Minute, "the API server calls the webhook pod", func() (bool, error) {
		p, err := kube.CoreV1().Pods(appNS).Create(ctx, newPod(appNS, "p", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && p.Annotations[profile.SelectorAnnotation] == "app" && hasToleration(p.Spec.Tolerations, vnodeToleration), err
	})
	// The guard answers from the pod too.
	p := newPod(appNS, "host", nil)
	p.Spec.HostNetwork = true
	p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
	if _, err := kube.CoreV1().Pods(appNS).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil ||
		!strings.Contains(err.Error(), "hostNetwork is not supported on a VNode") {
		t.Errorf("guard through the pod: %v", err)
	}
}
