package main

import (
	"slices"
	"testing"
)

// `eci-vnode render` passes cluster IP access to the VNode's runtime: nothing by default (the
// runtime's default is on), and --cluster-ip-access=false and --kube-proxy-image when given.
func TestRenderPassesClusterIPAccessToTheNode(t *testing.T) {
	nodeArgs := func(extra ...string) []string {
		t.Helper()
		return renderedNodeArgs(t, []string{"--cluster-ip-access", "--kube-proxy"}, extra...)
	}
	if got := nodeArgs(); len(got) != 0 {
		t.Errorf("defaults render %q", got)
	}
	got := nodeArgs("--cluster-ip-access=false", "--kube-proxy-image", "mirror.example.com/kube-proxy:v1.37.2")
	if want := []string{"--cluster-ip-access=false", "--kube-proxy-image=mirror.example.com/kube-proxy:v1.37.2"}; !slices.Equal(got, want) {
		t.Errorf("args %q, want %q", got, want)
	}
}

// A malformed kube-proxy ServiceAccount is refused with the other problems; turned off,
// cluster IP access needs none.
func TestNodeChecksTheKubeProxyServiceAccount(t *testing.T) {
	args, env := validNodeArgs(t)
	report := runRefused(t, nodeCmd, append(args, "--log-level", "verbose", "--kube-proxy-service-account", "kube-proxy"), env)
	expectProblems(t, report, map[string]string{
		"--log-level / ECI_VNODE_LOG_LEVEL":                                   `"verbose" is not a log level`,
		"--kube-proxy-service-account / ECI_VNODE_KUBE_PROXY_SERVICE_ACCOUNT": `"kube-proxy" is not namespace/name`,
	})
	args, env = validNodeArgs(t)
	report = runRefused(t, nodeCmd, append(args, "--log-level", "verbose", "--cluster-ip-access=false", "--kube-proxy-service-account", "kube-proxy"), env)
	expectProblems(t, report, map[string]string{"--log-level / ECI_VNODE_LOG_LEVEL": `"verbose" is not a log level`})
}
