package webhook

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// TestRuntimeImageDeployment runs `eci-vnode profile-webhook` the way a cluster does: the
// objects internal/install renders for it — its ServiceAccount, the least RBAC (doc.go,
// "Permissions"), its Deployment of the runtime image — which the sandbox runs as a local
// process with its own POD_IP (127.0.0.N) and ServiceAccount token, in URL mode on
// $(POD_IP):9443. The real API server must then call it, so a permission the installation
// forgot fails here and not in a cluster.
func TestRuntimeImageDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	ctx := context.Background()
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: 1, WorkerCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}})
	kube := sb.Client()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: profile.ConfigMapName, Namespace: profile.ConfigMapNamespace},
		Data:       map[string]string{profile.SelectorsKey: `[{"name":"app","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-app"}},"policy":"fair"}]`},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	rt := install.Runtime{
		Version: "dev", Image: sandbox.RuntimeImageRepository + ":dev", Namespace: webhookNamespace,
		Webhook: install.Webhook{DirectURL: true, LogLevel: "debug"},
	}
	objs, err := rt.Objects()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(sb.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := install.Apply(ctx, dyn, objs); err != nil {
		t.Fatal(err)
	}

	var podIP string
	waitUntil(t, 2*time.Minute, "the webhook pod is ready", func() (bool, error) {
		pods, err := kube.CoreV1().Pods(webhookNamespace).List(ctx, metav1.ListOptions{LabelSelector: install.LabelComponent + "=profile-webhook"})
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
	// A sandbox pod's own address in 127.0.0.0/16, never a node's (127.0.1.0/24).
	if !strings.HasPrefix(podIP, "127.0.") || strings.HasPrefix(podIP, "127.0.1.") {
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
