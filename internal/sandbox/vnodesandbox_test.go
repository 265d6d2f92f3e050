package sandbox

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// vnodeSandbox is a sandbox that runs a VNode as the demo does: the ECI emulator, and the
// installation internal/install renders, whose runtime pods run on one worker.
type vnodeSandbox struct {
	*Sandbox
	ECI *ECI
	// Runtime and VNode are what was installed, the namespace filled in.
	Runtime install.Runtime
	VNode   install.VNode
}

// startVNodeSandbox starts a vnodeSandbox for t; edit, if set, adds to its options.
func startVNodeSandbox(t *testing.T, edit func(*Options)) vnodeSandbox {
	t.Helper()
	eci := &ECI{}
	vnode := &VNode{ECI: eci}
	opts := Options{
		Workers:        1,
		WorkerCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")},
		Components:     []Component{eci, vnode},
	}
	if edit != nil {
		edit(&opts)
	}
	sb := StartForTest(t, opts)
	rt, vn := vnode.Installation()
	if rt.Namespace == "" {
		rt.Namespace = install.DefaultNamespace
	}
	return vnodeSandbox{Sandbox: sb, ECI: eci, Runtime: rt, VNode: vn}
}

// onVNode makes spec land on the sandbox's VNode: the VNode label as node selector and a
// toleration of its taint, as the eci-profile webhook would add them.
func onVNode(spec corev1.PodSpec) corev1.PodSpec {
	spec.NodeSelector = map[string]string{profile.VNodeLabelKey: profile.VNodeLabelValue}
	spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: profile.VNodeTaintKey, Operator: corev1.TolerationOpEqual,
		Value: profile.VNodeLabelValue, Effect: corev1.TaintEffectNoSchedule})
	return spec
}
