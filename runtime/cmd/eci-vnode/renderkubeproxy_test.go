package main

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// `eci-vnode render` passes cluster IP access to the VNode's runtime: nothing by default (the
// runtime's default is on), and --cluster-ip-access=false and --kube-proxy-image when given.
func TestRenderPassesClusterIPAccessToTheNode(t *testing.T) {
	base := []string{"--cluster-name", "prod", "--region", "cn-hangzhou", "--credentials-secret", "s", "--vnodes", "v1"}
	nodeArgs := func(extra ...string) []string {
		t.Helper()
		out, errOut, code := render(append(append([]string{}, base...), extra...), nil)
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, errOut)
		}
		for _, o := range decode(t, out) {
			if d, ok := o.(*appsv1.Deployment); ok && d.Name == "eci-vnode-v1" {
				var args []string
				for _, a := range d.Spec.Template.Spec.Containers[0].Args {
					if strings.HasPrefix(a, "--cluster-ip-access") || strings.HasPrefix(a, "--kube-proxy") {
						args = append(args, a)
					}
				}
				return args
			}
		}
		t.Fatal("no Deployment of v1")
		return nil
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
