package webhook

import (
	"context"
	"reflect"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

func TestWebhookConfigurations(t *testing.T) {
	ctx := context.Background()
	kube := fake.NewClientset()
	o, err := Options{Kube: kube, Namespace: "eci-vnode-system", URLHost: "127.0.0.5:9443"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if err := applyWebhookConfigs(ctx, kube, &o, []byte("bundle-1")); err != nil {
		t.Fatal(err)
	}
	mwc, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, DefaultConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, DefaultConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(mwc.Webhooks) != 1 || len(vwc.Webhooks) != 3 {
		t.Fatalf("webhooks: %d mutating, %d validating", len(mwc.Webhooks), len(vwc.Webhooks))
	}
	podNS := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: profile.NamespaceNameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system", "eci-vnode-system"}}}}
	ownNS := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: profile.NamespaceNameLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"eci-vnode-system"}}}}
	m := mwc.Webhooks[0]
	if m.Name != WebhookMutatePods || *m.ClientConfig.URL != "https://127.0.0.5:9443/mutate/pods" || string(m.ClientConfig.CABundle) != "bundle-1" ||
		*m.FailurePolicy != admissionregistrationv1.Ignore || *m.TimeoutSeconds != 5 || *m.SideEffects != admissionregistrationv1.SideEffectClassNone ||
		!reflect.DeepEqual(m.AdmissionReviewVersions, []string{"v1"}) || !reflect.DeepEqual(m.NamespaceSelector, podNS) ||
		!reflect.DeepEqual(m.Rules[0].Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}) ||
		!reflect.DeepEqual(m.Rules[0].Resources, []string{"pods"}) {
		t.Errorf("mutating webhook %+v", m)
	}
	want := map[string]struct {
		path   string
		policy admissionregistrationv1.FailurePolicyType
		ns     *metav1.LabelSelector
		res    string
	}{
		WebhookValidatePods:       {"/validate/pods", admissionregistrationv1.Ignore, podNS, "pods"},
		WebhookValidateServices:   {"/validate/services", admissionregistrationv1.Ignore, ownNS, "services"},
		WebhookValidateDaemonSets: {"/validate/daemonsets", admissionregistrationv1.Ignore, ownNS, "daemonsets"},
	}
	for _, w := range vwc.Webhooks {
		x := want[w.Name]
		if *w.ClientConfig.URL != "https://127.0.0.5:9443"+x.path || *w.FailurePolicy != x.policy || !reflect.DeepEqual(w.NamespaceSelector, x.ns) ||
			w.Rules[0].Resources[0] != x.res || *w.TimeoutSeconds != 5 || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("validating webhook %s: %+v", w.Name, w)
		}
	}

	// Service mode with failurePolicy Fail: the pod webhooks fail closed, the warning ones never.
	o2, err := Options{Kube: kube, Namespace: "eci", FailurePolicy: admissionregistrationv1.Fail, TimeoutSeconds: 3}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if err := applyWebhookConfigs(ctx, kube, &o2, []byte("bundle-2")); err != nil {
		t.Fatal(err)
	}
	mwc, _ = kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, DefaultConfigurationName, metav1.GetOptions{})
	vwc, _ = kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, DefaultConfigurationName, metav1.GetOptions{})
	svc := mwc.Webhooks[0].ClientConfig.Service
	if svc == nil || svc.Namespace != "eci" || svc.Name != DefaultServiceName || *svc.Port != 443 || *svc.Path != PathMutatePods ||
		mwc.Webhooks[0].ClientConfig.URL != nil || string(mwc.Webhooks[0].ClientConfig.CABundle) != "bundle-2" ||
		*mwc.Webhooks[0].FailurePolicy != admissionregistrationv1.Fail || *mwc.Webhooks[0].TimeoutSeconds != 3 {
		t.Errorf("service mode mutating webhook %+v", mwc.Webhooks[0])
	}
	for _, w := range vwc.Webhooks {
		wantPolicy := admissionregistrationv1.Ignore
		if w.Name == WebhookValidatePods {
			wantPolicy = admissionregistrationv1.Fail
		}
		if *w.FailurePolicy != wantPolicy {
			t.Errorf("%s: failure policy %s, want %s", w.Name, *w.FailurePolicy, wantPolicy)
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	kube := fake.NewClientset()
	for name, o := range map[string]Options{
		"no client":       {},
		"timeout too big": {Kube: kube, TimeoutSeconds: 10},
		"bad policy":      {Kube: kube, FailurePolicy: "Sometimes"},
		"url with scheme": {Kube: kube, URLHost: "https://x"},
	} {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o, err := Options{Kube: kube, URLHost: "[::1]:9443"}.withDefaults()
	if err != nil || !reflect.DeepEqual(o.servingHosts(), []string{"::1"}) {
		t.Errorf("IPv6 URL host: %v %v", o.servingHosts(), err)
	}
	o, _ = Options{Kube: kube, Namespace: "ns"}.withDefaults()
	if want := []string{"eci-vnode-webhook", "eci-vnode-webhook.ns", "eci-vnode-webhook.ns.svc", "eci-vnode-webhook.ns.svc.cluster.local"}; !reflect.DeepEqual(o.servingHosts(), want) {
		t.Errorf("service hosts %v", o.servingHosts())
	}
}

func TestDeletionCostOnVNodePods(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pod := func(name, node string, annotations map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), Annotations: annotations},
			Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	}
	node := func(name string, vnode bool) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
		if vnode {
			n.Labels[profile.VNodeLabelKey] = "true"
		}
		return n
	}
	kube := fake.NewClientset(
		node("vnode-1", true), node("worker-1", false), node("later", false),
		pod("on-vnode", "vnode-1", nil),
		pod("on-worker", "worker-1", nil),
		pod("own-cost", "vnode-1", map[string]string{DeletionCostAnnotation: "7"}),
		pod("on-later", "later", nil),
	)
	f := informers.NewSharedInformerFactory(kube, 0)
	pods := f.Core().V1().Pods().Informer()
	_ = pods.SetTransform(trimPod)
	_ = pods.AddIndexers(cache.Indexers{podsByNode: indexPodsByNode})
	nodes := f.Core().V1().Nodes().Informer()
	m := NewMetrics(nil)
	c, err := newDeletionCoster(kube, pods, nodes, -100, m, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	go c.run(ctx, 1)

	cost := func(name string) string {
		p, err := kube.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Annotations[DeletionCostAnnotation]
	}
	waitFor(t, 10*time.Second, func() bool { return cost("on-vnode") == "-100" }, "cost on the VNode pod")
	// A node that becomes a VNode: its pods get the cost too.
	n, _ := kube.CoreV1().Nodes().Get(ctx, "later", metav1.GetOptions{})
	n.Labels = map[string]string{profile.VNodeLabelKey: "true"}
	if _, err := kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return cost("on-later") == "-100" }, "cost on the pod of the new VNode")
	if got := cost("on-worker"); got != "" {
		t.Errorf("pod on a normal node got cost %q", got)
	}
	if got := cost("own-cost"); got != "7" {
		t.Errorf("the pod's own cost was changed to %q", got)
	}
	if got := counterValue(t, m.deletionCost.WithLabelValues("patched")); got != 2 {
		t.Errorf("patched = %v", got)
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
