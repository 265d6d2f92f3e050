package main

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

var renderBase = []string{"--cluster-name", "prod", "--region", "cn-hangzhou", "--credentials-secret", "s", "--vnodes", "v1"}

// renderedNodeArgs renders with the base settings and extra, and returns the
// arguments of v1's runtime that start with one of prefixes.
func renderedNodeArgs(t *testing.T, prefixes []string, extra ...string) []string {
	t.Helper()
	out, errOut, code := render(append(append([]string{}, renderBase...), extra...), nil)
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	for _, o := range decode(t, out) {
		if d, ok := o.(*appsv1.Deployment); ok && d.Name == "eci-vnode-v1" {
			var args []string
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				for _, f := range prefixes {
					if strings.HasPrefix(a, f) {
						args = append(args, a)
					}
				}
			}
			return args
		}
	}
	t.Fatal("no Deployment of v1")
	return nil
}

func TestRenderPassesTaintsAndSpotToTheNode(t *testing.T) {
	base := renderBase
	nodeArgs := func(t *testing.T, extra ...string) []string {
		t.Helper()
		return renderedNodeArgs(t, []string{"--node-taints", "--spot-", "--auto-match-image-cache"}, extra...)
	}
	if got := nodeArgs(t); len(got) != 0 {
		t.Errorf("defaults render %q", got)
	}
	if got, want := nodeArgs(t, "--node-taints="), []string{"--node-taints="}; !slices.Equal(got, want) {
		t.Errorf("empty --node-taints: %q, want %q", got, want)
	}
	got := nodeArgs(t, "--node-taints", "a=1:NoSchedule, b:NoExecute", "--spot-strategy", "SpotWithPriceLimit",
		"--spot-price-limit", "0.5", "--auto-match-image-cache")
	want := []string{"--node-taints=a=1:NoSchedule,b:NoExecute", "--spot-strategy=SpotWithPriceLimit", "--spot-price-limit=0.5", "--auto-match-image-cache=true"}
	if !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}

	_, errOut, code := render(append(append([]string{}, base...), "--node-taints", "a:Never", "--spot-strategy", "SpotWithPriceLimit"), nil)
	if code != 2 || !strings.Contains(errOut, `--node-taints / ECI_VNODE_NODE_TAINTS: taint "a:Never": effect "Never"`) ||
		!strings.Contains(errOut, "--spot-price-limit / ECI_VNODE_SPOT_PRICE_LIMIT: required with the spot strategy SpotWithPriceLimit") {
		t.Errorf("bad settings: exit %d\n%s", code, errOut)
	}
}

// The ECI client's limits reach the runtime only when given, and a bad one
// is refused naming its flag.
func TestRenderPassesECIAPILimitsToTheNode(t *testing.T) {
	limits := []string{"--eci-create-", "--eci-read-share"}
	if got := renderedNodeArgs(t, limits); len(got) != 0 {
		t.Errorf("defaults render %q; want no flag, so the runtime keeps its own", got)
	}
	got := renderedNodeArgs(t, limits, "--eci-create-qps", "30", "--eci-create-burst", "150", "--eci-create-per-minute", "3000", "--eci-read-share", "0.25")
	want := []string{"--eci-read-share=0.25", "--eci-create-qps=30", "--eci-create-burst=150", "--eci-create-per-minute=3000"}
	if !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
	_, errOut, code := render(append(append([]string{}, renderBase...), "--eci-create-qps", "-1"), nil)
	if code != 2 || !strings.Contains(errOut, "--eci-create-qps / ECI_VNODE_ECI_CREATE_QPS") {
		t.Errorf("--eci-create-qps -1: exit %d\n%s", code, errOut)
	}
}
