package sandbox

import (
	"context"
	"io"
	"os"
)

// kubeProxyEntry is the cache entry holding kube-proxy of the control plane's version, built
// like the control plane (ensureKube) but in an entry of its own: only the test that runs
// the kube-proxy every VNode instance gets needs it, and adding it to the control plane's
// entry would throw that six-minute build away.
func kubeProxyEntry(root string, env goEnv) cachedEntry {
	return cachedEntry{
		root:  root,
		key:   cacheKey("kube-proxy", KubernetesVersion, env.GOOS, env.GOARCH, env.GOVERSION),
		files: []string{"kube-proxy"},
	}
}

// EnsureKubeProxy builds kube-proxy (k8s.io/kubernetes/cmd/kube-proxy at KubernetesVersion)
// from the Go module proxy into the tool cache unless it is there, installs Debian's iptables
// package when the machine lacks the commands it runs, and returns its path.
// cacheDir empty means the default cache; progress may be nil.
func EnsureKubeProxy(ctx context.Context, cacheDir string, progressTo io.Writer) (string, error) {
	root := cacheDir
	if root == "" {
		r, err := defaultCacheRoot(os.Getenv)
		if err != nil {
			return "", err
		}
		root = r
	}
	env, err := readGoEnv(ctx, "")
	if err != nil {
		return "", err
	}
	if progressTo == nil {
		progressTo = io.Discard
	}
	e := kubeProxyEntry(root, env)
	if err := ensureKube(ctx, progress{w: progressTo}, kubeBuild{entry: e, estimate: "about 3 min on 2 cores"}); err != nil {
		return "", err
	}
	// kube-proxy in iptables mode runs the machine's iptables commands.
	have := func() bool { return lookPathAny("iptables-restore") != "" && lookPathAny("iptables-save") != "" }
	if err := installDebianPackages(ctx, progress{w: progressTo}, root, "iptables", have, "iptables"); err != nil {
		return "", err
	}
	return e.path("kube-proxy"), nil
}
