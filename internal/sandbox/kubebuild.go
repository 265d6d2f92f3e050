package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// kubeCommands are the control-plane binaries built from k8s.io/kubernetes.
var kubeCommands = [...]string{"kube-apiserver", "kube-scheduler", "kube-controller-manager"}

// kubeBuild is one cache entry of commands built from k8s.io/kubernetes at KubernetesVersion.
// kubectl has an entry of its own, so adding it did not throw away caches that already
// held the six-minute control-plane build.
type kubeBuild struct {
	entry    cachedEntry
	estimate string // how long a cold build takes here, for the progress line
}

// kubeEntry is the cache entry holding the three control-plane binaries.
func kubeEntry(root string, env goEnv) cachedEntry {
	return cachedEntry{
		root:  root,
		key:   cacheKey("kube", KubernetesVersion, env.GOOS, env.GOARCH, env.GOVERSION),
		files: kubeCommands[:],
	}
}

// kubectlEntry is the cache entry holding kubectl of the same version as the control plane,
// so tests and the quick start drive the sandbox with a client its API server supports.
func kubectlEntry(root string, env goEnv) cachedEntry {
	return cachedEntry{
		root:  root,
		key:   cacheKey("kubectl", KubernetesVersion, env.GOOS, env.GOARCH, env.GOVERSION),
		files: []string{"kubectl"},
	}
}

// stagingVersion maps a Kubernetes version to the version its staging repositories are
// published under (v1.37.2 -> v0.37.2).
func stagingVersion(kubeVersion string) string {
	return "v0" + strings.TrimPrefix(kubeVersion, "v1")
}

// kubeLDFlags stamps the version into both places clients read it from: component-base
// (what /version serves) and client-go (the User-Agent and `kubectl version`).
func kubeLDFlags(kubeVersion string) string {
	v := strings.TrimPrefix(kubeVersion, "v")
	parts := strings.SplitN(v, ".", 3)
	major, minor := parts[0], ""
	if len(parts) > 1 {
		minor = parts[1]
	}
	var flags []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+kubeVersion,
			"-X", pkg+".gitMajor="+major,
			"-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean",
		)
	}
	return "-s -w " + strings.Join(flags, " ")
}

// ensureKube builds the commands of b's entry (k8s.io/kubernetes/cmd/<file>) unless cached.
//
// k8s.io/kubernetes is not meant to be a dependency: its go.mod requires its staging
// repositories at v0.0.0 and replaces them with ./staging/src/k8s.io/X, directories that are
// not in the module zip. A throwaway wrapper module requires k8s.io/kubernetes and replaces
// each of those with the published k8s.io/X at the matching v0 version, which is exactly the
// code in staging at that tag.
func ensureKube(ctx context.Context, p progress, b kubeBuild) error {
	e := b.entry
	what := strings.Join(e.files, ", ")
	if e.present() {
		p.printf("%s %s: cached in %s", what, KubernetesVersion, e.dir())
		return nil
	}
	return e.fill(ctx, p, func(out string) error {
		work, err := os.MkdirTemp("", "eci-sandbox-kubebuild-")
		if err != nil {
			return fmt.Errorf("create wrapper module dir: %w", err)
		}
		defer os.RemoveAll(work)
		buildEnv := []string{"GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0"}

		p.printf("downloading k8s.io/kubernetes %s from the module proxy ...", KubernetesVersion)
		dl, err := runStep(ctx, "download k8s.io/kubernetes", work, buildEnv, "go", "mod", "download", "-json", "k8s.io/kubernetes@"+KubernetesVersion)
		if err != nil {
			return err
		}
		var mod struct{ GoMod, Dir string }
		if err := json.Unmarshal(dl, &mod); err != nil {
			return fmt.Errorf("parse go mod download output: %w", err)
		}
		kubeGoMod, err := os.ReadFile(mod.GoMod)
		if err != nil {
			return fmt.Errorf("read k8s.io/kubernetes go.mod: %w", err)
		}
		wrapper, err := wrapperGoMod(kubeGoMod, KubernetesVersion)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, "go.mod"), wrapper, 0o644); err != nil {
			return fmt.Errorf("write wrapper go.mod: %w", err)
		}
		if err := os.WriteFile(filepath.Join(work, "tools.go"), wrapperToolsGo(e.files), 0o644); err != nil {
			return fmt.Errorf("write wrapper tools.go: %w", err)
		}
		err = p.longStep(ctx, fmt.Sprintf("resolving the dependencies of %s (go mod tidy in a wrapper module) ...", what), 30*time.Second, func() error {
			_, err := runStep(ctx, "resolve the dependencies of "+what, work, buildEnv, "go", "mod", "tidy")
			return err
		})
		if err != nil {
			return err
		}
		args := []string{"build", "-trimpath", "-ldflags", kubeLDFlags(KubernetesVersion), "-o", out + string(filepath.Separator)}
		for _, c := range e.files {
			args = append(args, "k8s.io/kubernetes/cmd/"+c)
		}
		return p.longStep(ctx, fmt.Sprintf("building %s %s from the module proxy (%s) ...", what, KubernetesVersion, b.estimate), 30*time.Second, func() error {
			_, err := runStep(ctx, "build "+what, work, buildEnv, "go", args...)
			return err
		})
	})
}

// wrapperGoMod renders the wrapper module's go.mod from k8s.io/kubernetes' own go.mod:
// require k8s.io/kubernetes, and for every module it replaces with a ./staging directory,
// replace it with the published module at the staging version.
func wrapperGoMod(kubeGoMod []byte, kubeVersion string) ([]byte, error) {
	f, err := modfile.Parse("go.mod", kubeGoMod, nil)
	if err != nil {
		return nil, fmt.Errorf("parse k8s.io/kubernetes go.mod: %w", err)
	}
	sv := stagingVersion(kubeVersion)
	var staged []string
	for _, r := range f.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") {
			staged = append(staged, r.Old.Path)
		}
	}
	if len(staged) == 0 {
		return nil, fmt.Errorf("k8s.io/kubernetes %s go.mod replaces no ./staging modules; the wrapper build does not know this layout", kubeVersion)
	}
	sort.Strings(staged)
	goLine := "1.26.0"
	if f.Go != nil {
		goLine = f.Go.Version
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Generated by internal/sandbox to build the Kubernetes control plane; thrown away after the build.\nmodule eci-vnode-sandbox/kubebuild\n\ngo %s\n\n", goLine)
	fmt.Fprintf(&b, "require k8s.io/kubernetes %s\n\nreplace (\n", kubeVersion)
	for _, m := range staged {
		fmt.Fprintf(&b, "\t%s => %s %s\n", m, m, sv)
	}
	b.WriteString(")\n")
	return []byte(b.String()), nil
}

// wrapperToolsGo makes `go mod tidy` keep what the commands import.
func wrapperToolsGo(commands []string) []byte {
	var b strings.Builder
	b.WriteString("//go:build tools\n\npackage tools\n\nimport (\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "\t_ %q\n", "k8s.io/kubernetes/cmd/"+c)
	}
	b.WriteString(")\n")
	return []byte(b.String())
}
