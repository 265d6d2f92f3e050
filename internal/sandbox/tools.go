package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Versions of the tools the sandbox runs. The control plane and Terraform are pinned so every
// developer and CI run tests against the same thing.
const (
	// KubernetesVersion is the version of kube-apiserver, kube-scheduler and
	// kube-controller-manager.
	KubernetesVersion = "v1.37.2"
	// TerraformVersion is the Terraform CLI the tests use (the newest installable with
	// `go install`; see docs/design.md, "Test ground").
	TerraformVersion = "v1.5.7"
)

// ToolOptions configures EnsureTools.
type ToolOptions struct {
	// Progress receives one line per step and a heartbeat during long builds; nil discards.
	Progress io.Writer
	// CacheDir overrides ${XDG_CACHE_HOME:-$HOME/.cache}/eci-vnode-sandbox.
	CacheDir string
	// Release adds the release tooling (goreleaser) to the tools.
	Release bool
	// MetricsServer adds metrics-server (Options.MetricsServer runs it).
	MetricsServer bool
	// RepoRoot is the module root that holds runtime/cmd/eci-vnode; empty means the module
	// of the current directory (found with `go env GOMOD`).
	RepoRoot string
}

// Tools holds absolute paths of every binary the sandbox needs.
type Tools struct {
	// BinDir holds a link to each tool below under its usual name, for use on PATH
	// (terraform, kubectl, kube-apiserver, kube-scheduler, kube-controller-manager, etcd, eci-vnode).
	BinDir                string
	KubeAPIServer         string
	KubeScheduler         string
	KubeControllerManager string
	// Kubectl is kubectl of KubernetesVersion.
	Kubectl string
	// Goreleaser is set with ToolOptions.Release.
	Goreleaser string
	// MetricsServer is set with ToolOptions.MetricsServer.
	MetricsServer string
	Etcd          string
	Terraform     string
	// ECIVNode is the runtime binary built from this repository on every EnsureTools call.
	ECIVNode string
}

// goEnv is the part of `go env` the tool builds depend on.
type goEnv struct {
	GOVERSION string
	GOOS      string
	GOARCH    string
	GOMOD     string
}

// EnsureTools builds or reuses every tool: the control plane and Terraform from the Go module
// proxy into the version-keyed cache (a cache hit costs a stat), etcd from Debian's
// etcd-server package, and eci-vnode from this repository (always rebuilt; Go's build cache
// keeps that quick).
func EnsureTools(ctx context.Context, opts ToolOptions) (*Tools, error) {
	p := progress{w: opts.Progress}
	root := opts.CacheDir
	if root == "" {
		r, err := defaultCacheRoot(os.Getenv)
		if err != nil {
			return nil, err
		}
		root = r
	}
	env, err := readGoEnv(ctx, opts.RepoRoot)
	if err != nil {
		return nil, err
	}
	repoRoot := opts.RepoRoot
	if repoRoot == "" {
		if env.GOMOD == "" || env.GOMOD == os.DevNull {
			return nil, fmt.Errorf("find the repository root: the current directory is not inside a Go module; set ToolOptions.RepoRoot")
		}
		repoRoot = filepath.Dir(env.GOMOD)
	}

	t := &Tools{BinDir: filepath.Join(root, "bin")}
	kube := kubeEntry(root, env)
	if err := ensureKube(ctx, p, kubeBuild{entry: kube, estimate: "about 6 min on 2 cores"}); err != nil {
		return nil, err
	}
	t.KubeAPIServer = kube.path("kube-apiserver")
	t.KubeScheduler = kube.path("kube-scheduler")
	t.KubeControllerManager = kube.path("kube-controller-manager")
	kubectl := kubectlEntry(root, env)
	if err := ensureKube(ctx, p, kubeBuild{entry: kubectl, estimate: "about 2 min on 2 cores"}); err != nil {
		return nil, err
	}
	t.Kubectl = kubectl.path("kubectl")

	if t.Terraform, err = terraformTool.ensure(ctx, p, root, env); err != nil {
		return nil, err
	}
	if opts.Release {
		if t.Goreleaser, err = goreleaserTool.ensure(ctx, p, root, env); err != nil {
			return nil, err
		}
	}

	if opts.MetricsServer {
		if t.MetricsServer, err = metricsServerTool.ensure(ctx, p, root, env); err != nil {
			return nil, err
		}
	}

	if t.Etcd, err = ensureEtcd(ctx, p, root); err != nil {
		return nil, err
	}
	if t.ECIVNode, err = buildRuntime(ctx, p, root, repoRoot, env); err != nil {
		return nil, err
	}
	if err := linkBinDir(t); err != nil {
		return nil, err
	}
	return t, nil
}

// readGoEnv asks the go command (the one that will do the builds) about itself.
func readGoEnv(ctx context.Context, dir string) (goEnv, error) {
	out, err := runStep(ctx, "read go env", dir, nil, "go", "env", "-json", "GOVERSION", "GOOS", "GOARCH", "GOMOD")
	if err != nil {
		return goEnv{}, err
	}
	var env goEnv
	if err := json.Unmarshal(out, &env); err != nil {
		return goEnv{}, fmt.Errorf("parse go env output %q: %w", out, err)
	}
	return env, nil
}

// linkBinDir points BinDir/<name> at each tool, replacing links atomically so a concurrent
// reader never sees a missing terraform.
func linkBinDir(t *Tools) error {
	if err := os.MkdirAll(t.BinDir, 0o755); err != nil {
		return fmt.Errorf("create tool bin dir: %w", err)
	}
	links := map[string]string{
		"kube-apiserver":          t.KubeAPIServer,
		"kube-scheduler":          t.KubeScheduler,
		"kube-controller-manager": t.KubeControllerManager,
		"kubectl":                 t.Kubectl,
		"etcd":                    t.Etcd,
		"terraform":               t.Terraform,
		"eci-vnode":               t.ECIVNode,
	}
	if t.Goreleaser != "" {
		links["goreleaser"] = t.Goreleaser
	}
	if t.MetricsServer != "" {
		links["metrics-server"] = t.MetricsServer
	}
	for name, target := range links {
		link := filepath.Join(t.BinDir, name)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		tmp := fmt.Sprintf("%s.tmp-%d", link, os.Getpid())
		_ = os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			return fmt.Errorf("link %s into %s: %w", name, t.BinDir, err)
		}
		if err := os.Rename(tmp, link); err != nil {
			return fmt.Errorf("link %s into %s: %w", name, t.BinDir, err)
		}
	}
	return nil
}

// lookPathAny returns the first of names found on PATH or as an absolute path.
func lookPathAny(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			if abs, err := filepath.Abs(p); err == nil {
				return abs
			}
			return p
		}
	}
	return ""
}
