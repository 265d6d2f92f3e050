package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNodeRefusesBadTaintsAndSpotSettingsWithTheOthers(t *testing.T) {
	args, env := validNodeArgs(t)
	args = append(args, "--log-level", "verbose", "--node-taints", "pool=a:NoSchedule,gpu,x:Never",
		"--spot-strategy", "Cheap", "--spot-price-limit", "0.1234")
	report := runRefused(t, nodeCmd, args, env)
	t.Logf("report:\n%s", report)
	want := map[string]string{
		"--log-level / ECI_VNODE_LOG_LEVEL": `"verbose" is not a log level`,
		"--node-taints / ECI_VNODE_NODE_TAINTS": `"gpu" is not a taint; taint "x:Never": effect "Never" is not NoSchedule, PreferNoSchedule or NoExecute; ` +
			"write each taint as key[=value]:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute, comma-separated",
		"--spot-strategy / ECI_VNODE_SPOT_STRATEGY":       `"Cheap" is not a spot strategy; use SpotAsPriceGo, SpotWithPriceLimit, NoSpot`,
		"--spot-price-limit / ECI_VNODE_SPOT_PRICE_LIMIT": `"0.1234": want a positive price per hour with at most 3 decimals, such as 0.5`,
	}
	expectProblems(t, report, want)
}

func TestNodeSpotPriceLimitGoesWithSpotWithPriceLimitOnly(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--spot-strategy", "SpotWithPriceLimit"}, "required with the spot strategy SpotWithPriceLimit"},
		{[]string{"--spot-strategy", "SpotAsPriceGo", "--spot-price-limit", "0.5"}, "0.5 applies only with the spot strategy SpotWithPriceLimit"},
		{[]string{"--spot-price-limit", "0.5"}, "0.5 applies only with the spot strategy SpotWithPriceLimit"},
	} {
		args, env := validNodeArgs(t)
		report := runRefused(t, nodeCmd, append(append(args, "--log-level", "verbose"), tc.args...), env)
		expectProblems(t, report, map[string]string{
			"--log-level / ECI_VNODE_LOG_LEVEL":               `"verbose" is not a log level`,
			"--spot-price-limit / ECI_VNODE_SPOT_PRICE_LIMIT": tc.want,
		})
	}
}

// Good values pass: only the deliberately bad --log-level is reported, whether
// the new settings come from the command line, the environment or --config.
func TestNodeAcceptsTaintsAndSpotFromEverySource(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("node-taints: [\"pool=a:NoSchedule\", \"gpu:NoExecute\"]\nspot-strategy: SpotWithPriceLimit\nspot-price-limit: \"0.125\"\nauto-match-image-cache: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"command line": {args: []string{"--node-taints=", "--spot-strategy", "SpotAsPriceGo", "--auto-match-image-cache"}},
		"environment": {env: map[string]string{"ECI_VNODE_NODE_TAINTS": "k8s.aliyun.com/vnode=true:NoSchedule,pool:PreferNoSchedule",
			"ECI_VNODE_SPOT_STRATEGY": "SpotWithPriceLimit", "ECI_VNODE_SPOT_PRICE_LIMIT": "1.5", "ECI_VNODE_AUTO_MATCH_IMAGE_CACHE": "true"}},
		"config file": {args: []string{"--config", file}},
	} {
		t.Run(name, func(t *testing.T) {
			args, env := validNodeArgs(t)
			for k, v := range tc.env {
				env[k] = v
			}
			report := runRefused(t, nodeCmd, append(append(args, "--log-level", "verbose"), tc.args...), env)
			expectProblems(t, report, map[string]string{"--log-level / ECI_VNODE_LOG_LEVEL": `"verbose" is not a log level`})
		})
	}
}

// expectProblems wants exactly the problems of want, by label and part of their text.
func expectProblems(t *testing.T, report string, want map[string]string) {
	t.Helper()
	listed := problems(report)
	for label, says := range want {
		found := false
		for _, p := range listed {
			found = found || strings.HasPrefix(p, label+": ") && strings.Contains(p, says)
		}
		if !found {
			t.Errorf("no problem %q ... %q in the report:\n%s", label, says, report)
		}
	}
	if len(listed) != len(want) {
		t.Errorf("%d problems listed, want %d:\n%s", len(listed), len(want), report)
	}
}
