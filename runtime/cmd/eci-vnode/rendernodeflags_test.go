package main

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestRenderPassesTaintsAndSpotToTheNode(t *testing.T) {
	base := []string{"--cluster-name", "prod", "--region", "cn-hangzhou", "--credentials-secret", "s", "--vnodes", "v1"}
	nodeArgs := func(t *testing.T, extra ...string) []string {
		t.Helper()
		out, errOut, code := render(append(append([]string{}, base...), extra...), nil)
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, errOut)
		}
		for _, o := range decode(t, out) {
			if d, ok := o.(*appsv1.Deployment); ok && d.Name == "eci-vnode-v1" {
				var args []string
				for _, a := range d.Spec.Template.Spec.Containers[0].Args {
					for _, f := range []string{"--node-taints", "--spot-", "--auto-match-image-cache"} {
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
