package node

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

func taint(key, value string, effect corev1.TaintEffect) corev1.Taint {
	return corev1.Taint{Key: key, Value: value, Effect: effect}
}

func TestConfigureNodeTaints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		taints []corev1.Taint
		want   []corev1.Taint
	}{
		{"nil: the VNode taint", nil, []corev1.Taint{taint("k8s.aliyun.com/vnode", "true", corev1.TaintEffectNoSchedule)}},
		{"empty: none", []corev1.Taint{}, []corev1.Taint{}},
		{"exactly the configured ones", []corev1.Taint{taint("pool", "burst", corev1.TaintEffectNoExecute)},
			[]corev1.Taint{taint("pool", "burst", corev1.TaintEffectNoExecute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{}
			ConfigureNode(n, Config{NodeName: "vn", Taints: tc.taints}, "dev")
			if !install.SameNodeTaints(n.Spec.Taints, tc.want) || n.Spec.Taints == nil {
				t.Errorf("taints %v, want %v", n.Spec.Taints, tc.want)
			}
			if got := parseManagedTaints(n.Annotations[AnnotationManagedTaints], true); !install.SameNodeTaints(got, tc.want) {
				t.Errorf("annotation %q records %v", n.Annotations[AnnotationManagedTaints], got)
			}
		})
	}
}

func TestSyncTaintsKeepsTaintsOthersSet(t *testing.T) {
	vnodeTaint := DefaultTaints()[0]
	notReady := taint("node.kubernetes.io/not-ready", "", corev1.TaintEffectNoExecute)
	unreachable := taint(TaintECIUnreachable, "true", corev1.TaintEffectNoSchedule)
	user := taint("maintenance", "yes", corev1.TaintEffectNoSchedule)
	pool := taint("pool", "a", corev1.TaintEffectNoSchedule)
	for _, tc := range []struct {
		name       string
		current    []corev1.Taint
		annotation *[]corev1.Taint // nil: none (a Node of an older runtime)
		want       []corev1.Taint  // Config.Taints
		result     []corev1.Taint
	}{
		{"a Node without the annotation had the VNode taint from the runtime",
			[]corev1.Taint{vnodeTaint, notReady, user}, nil, []corev1.Taint{pool},
			[]corev1.Taint{notReady, user, pool}},
		{"a taint dropped from the flags goes, the others' stay",
			[]corev1.Taint{pool, unreachable, vnodeTaint, user}, &[]corev1.Taint{pool, vnodeTaint}, []corev1.Taint{vnodeTaint},
			[]corev1.Taint{unreachable, vnodeTaint, user}},
		{"no taints at all", []corev1.Taint{vnodeTaint, notReady}, &[]corev1.Taint{vnodeTaint}, []corev1.Taint{},
			[]corev1.Taint{notReady}},
		{"a changed value replaces the taint in place",
			[]corev1.Taint{user, pool}, &[]corev1.Taint{pool}, []corev1.Taint{taint("pool", "b", corev1.TaintEffectNoSchedule)},
			[]corev1.Taint{user, taint("pool", "b", corev1.TaintEffectNoSchedule)}},
		{"a user's taint that the flags now name becomes the runtime's",
			[]corev1.Taint{user}, &[]corev1.Taint{}, []corev1.Taint{taint("maintenance", "no", corev1.TaintEffectNoSchedule)},
			[]corev1.Taint{taint("maintenance", "no", corev1.TaintEffectNoSchedule)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vn", Annotations: map[string]string{}}, Spec: corev1.NodeSpec{Taints: tc.current}}
			if tc.annotation != nil {
				n.Annotations[AnnotationManagedTaints] = managedTaintsValue(*tc.annotation)
			}
			kube := fake.NewClientset(n)
			cfg := Config{NodeName: "vn", Taints: tc.want}
			if err := SyncTaints(context.Background(), kube, cfg); err != nil {
				t.Fatal(err)
			}
			got, err := kube.CoreV1().Nodes().Get(context.Background(), "vn", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !install.SameNodeTaints(got.Spec.Taints, tc.result) {
				t.Errorf("taints\n got %v\nwant %v", got.Spec.Taints, tc.result)
			}
			if a := got.Annotations[AnnotationManagedTaints]; a != managedTaintsValue(tc.want) {
				t.Errorf("annotation %q, want %q", a, managedTaintsValue(tc.want))
			}
			// A second run changes nothing.
			before := len(kube.Actions())
			if err := SyncTaints(context.Background(), kube, cfg); err != nil {
				t.Fatal(err)
			}
			for _, a := range kube.Actions()[before:] {
				if a.GetVerb() != "get" {
					t.Errorf("a settled Node was written again: %s", a.GetVerb())
				}
			}
		})
	}
	// A Node that does not exist yet is virtual-kubelet's to create.
	if err := SyncTaints(context.Background(), fake.NewClientset(), Config{NodeName: "vn"}); err != nil {
		t.Errorf("missing Node: %v", err)
	}
}
