package install

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestECIAPILimitsBecomeTheNodesFlagsOnlyWhenSet(t *testing.T) {
	r := testRuntime()
	args := func(v VNode) []string {
		t.Helper()
		return find[*appsv1.Deployment](t, must(t)(r.VNodeObjects(v)), "eci-vnode-"+v.Name).Spec.Template.Spec.Containers[0].Args
	}

	// Unset: no flag, so the runtime keeps its own defaults.
	for _, a := range args(testVNode()) {
		for _, f := range []string{"--eci-create-qps=", "--eci-create-burst=", "--eci-create-per-minute=", "--eci-read-share="} {
			if strings.HasPrefix(a, f) {
				t.Errorf("unset limits render %s", a)
			}
		}
	}

	v := testVNode()
	v.ECICreateQPS, v.ECICreateBurst, v.ECICreatePerMinute, v.ECIReadShare = 40.5, 200, 3000, 0.25
	got := args(v)
	for _, want := range []string{"--eci-create-qps=40.5", "--eci-create-burst=200", "--eci-create-per-minute=3000", "--eci-read-share=0.25"} {
		if !slices.Contains(got, want) {
			t.Errorf("args %q lack %s", got, want)
		}
	}
	// A whole number of calls a second is written as one, not in exponent form.
	v.ECICreateQPS = 100000
	if got := args(v); !slices.Contains(got, "--eci-create-qps=100000") {
		t.Errorf("args %q lack --eci-create-qps=100000", got)
	}
}

func TestECIAPILimitsOutOfRangeAreRefusedWithWhatToGive(t *testing.T) {
	r := testRuntime()
	for _, c := range []struct {
		name    string
		set     func(*VNode)
		setting string
		message string
	}{
		{"negative qps", func(v *VNode) { v.ECICreateQPS = -1 }, "VNode.ECICreateQPS", "-1: want calls a second above 0, such as 19"},
		{"NaN qps", func(v *VNode) { v.ECICreateQPS = math.NaN() }, "VNode.ECICreateQPS", "NaN: want calls a second above 0"},
		{"infinite qps", func(v *VNode) { v.ECICreateQPS = math.Inf(1) }, "VNode.ECICreateQPS", "+Inf: want calls a second above 0"},
		{"negative burst", func(v *VNode) { v.ECICreateBurst = -5 }, "VNode.ECICreateBurst", "-5: want 1 or more calls, such as 95"},
		{"negative per minute", func(v *VNode) { v.ECICreatePerMinute = -1 }, "VNode.ECICreatePerMinute", "-1: want 1 or more calls, such as 1000"},
		{"share above 1", func(v *VNode) { v.ECIReadShare = 1.5 }, "VNode.ECIReadShare", "1.5: want a share above 0 and at most 1, such as 0.5"},
		{"negative share", func(v *VNode) { v.ECIReadShare = -0.1 }, "VNode.ECIReadShare", "-0.1: want a share above 0 and at most 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := testVNode()
			c.set(&v)
			var ps Problems
			if err := r.ValidateVNode(v); !errors.As(err, &ps) {
				t.Fatalf("accepted: %v", err)
			}
			if len(ps) != 1 || ps[0].Setting != c.setting || !strings.HasPrefix(ps[0].Message, c.message) {
				t.Errorf("problems %v; want one for %s starting %q", ps, c.setting, c.message)
			}
		})
	}

	// Zero is each one's "unset", and the largest share is the whole quota.
	v := testVNode()
	v.ECIReadShare = 1
	if err := r.ValidateVNode(v); err != nil {
		t.Errorf("read share 1 and zero create limits refused: %v", err)
	}
}
