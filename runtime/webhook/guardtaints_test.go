package webhook

import (
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// The DaemonSet warning follows the taints the VNodes really carry (eci-vnode node
// --node-taints), not the default VNode taint.
func TestValidateDaemonSetFollowsTheVNodesTaints(t *testing.T) {
	ds := func(tol ...corev1.Toleration) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "agent"}}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "a", Image: "agent"}}
		d.Spec.Template.Spec.Tolerations = tol
		return d
	}
	gpu := corev1.Taint{Key: "gpu", Value: "a100", Effect: corev1.TaintEffectNoExecute}
	pool := corev1.Taint{Key: "pool", Effect: corev1.TaintEffectPreferNoSchedule}
	notReady := corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute}
	eciDown := corev1.Taint{Key: "eci-vnode.io/eci-api-unreachable", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	const tail = `, but DaemonSet pods cannot run on a VNode: add node affinity k8s.aliyun.com/vnode NotIn ["true"], or use a sidecar container in the pod`
	for _, tc := range []struct {
		name   string
		taints []corev1.Taint
		ds     *appsv1.DaemonSet
		want   string // "" for no warning
	}{
		{"a VNode without taints takes a DaemonSet that tolerates nothing", nil, ds(),
			`DaemonSet "agent" can land on VNode vnode-1, which has no taint that keeps it off` + tail},
		{"PreferNoSchedule, passing conditions and the ECI API taint keep nothing off", []corev1.Taint{pool, notReady, eciDown}, ds(),
			`DaemonSet "agent" can land on VNode vnode-1, which has no taint that keeps it off` + tail},
		{"an extra taint must be tolerated too",
			[]corev1.Taint{{Key: profile.VNodeTaintKey, Value: profile.VNodeTaintValue, Effect: corev1.TaintEffectNoSchedule}, gpu},
			ds(vnodeToleration), ""},
		{"both tolerated",
			[]corev1.Taint{{Key: profile.VNodeTaintKey, Value: profile.VNodeTaintValue, Effect: corev1.TaintEffectNoSchedule}, gpu},
			ds(vnodeToleration, corev1.Toleration{Key: "gpu", Operator: corev1.TolerationOpExists}),
			`DaemonSet "agent" tolerates the VNode taints k8s.aliyun.com/vnode=true:NoSchedule, gpu=a100:NoExecute` + tail},
		{"a VNode with only its own taint, tolerated", []corev1.Taint{gpu}, ds(corev1.Toleration{Key: "gpu", Value: "a100"}),
			`DaemonSet "agent" tolerates the VNode taint gpu=a100:NoExecute` + tail},
		{"the VNode toleration alone does not pass another taint", []corev1.Taint{gpu}, ds(vnodeToleration), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "")
			f.setTaints("vnode-1", tc.taints...)
			resp := call(t, f.h, f.h.validateDaemonSet, admissionv1.Create, tc.ds)
			if !resp.Allowed {
				t.Fatal("a DaemonSet is never refused")
			}
			switch {
			case tc.want == "" && len(resp.Warnings) != 0:
				t.Errorf("unexpected warnings %q", resp.Warnings)
			case tc.want != "" && (len(resp.Warnings) != 1 || resp.Warnings[0] != tc.want):
				t.Errorf("warnings %q\nwant %q", resp.Warnings, tc.want)
			}
		})
	}

	// One VNode it would land on is enough, whichever the lister returns first.
	f := newFixture(t, "")
	f.setTaints("vnode-1", gpu)
	f.addNode("vnode-2", true)
	f.setTaints("vnode-2")
	resp := call(t, f.h, f.h.validateDaemonSet, admissionv1.Create, ds())
	if want := `DaemonSet "agent" can land on VNode vnode-2, which has no taint that keeps it off` + tail; len(resp.Warnings) != 1 || resp.Warnings[0] != want {
		t.Errorf("warnings %q\nwant %q", resp.Warnings, want)
	}
}
