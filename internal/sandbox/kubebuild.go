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

// kubeEntry is the cache entry holding the three control-plane binaries.
func kubeEntry(root string, env goEnv) cachedEntry {
	return cachedEntry{
		root:  root,
		key:   cacheKey("kube", KubernetesVersion, env.GOOS, env.GOARCH, env.GOVERSION),
		files: kubeCommands[:],
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

// ensureKube builds kube-apiserver, kube-scheduler and kube-controller-manager unless cached.
//
// k8s.io/kubernetes is not meant to be a dependency: its go.mod requires its staging
// repositories at v0.0.0 and replaces them with ./staging/src/k8s.io/X, directories that are
// not in the module zip. A throwaway wrapper module requires k8s.io/kubernetes and replaces
// each of those with the published k8s.io/X at the matching v0 version, which is exactly the
// code in staging at that tag.
func ensureKube(ctx context.Context, p progress, e cachedEntry, env goEnv) error {
	if e.present() {
		p.printf("kube-apiserver, kube-scheduler, kube-controller-manager %s: cached in %s", KubernetesVersion, e.dir())
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
		if err := os.WriteFile(filepath.Join(work, "tools.go"), wrapperToolsGo(), 0o644); err != nil {
			return fmt.Errorf("write wrapper tools.go: %w", err)
		}
		err = p.longStep(ctx, "resolving the control plane's dependencies (go mod tidy in a wrapper module) ...", 30*time.Second, func() error {
			_, err := runStep(ctx, "resolve control plane dependencies", work, buildEnv, "go", "mod", "tidy")
			return err
		})
		if err != nil {
			return err
		}
		args := []string{"build", "-trimpath", "-ldflags", kubeLDFlags(KubernetesVersion), "-o", out + string(filepath.Separator)}
		for _, c := range kubeCommands {
			args = append(args, "k8s.io/kubernetes/cmd/"+c)
		}
		return p.longStep(ctx, fmt.Sprintf("building kube-apiserver, kube-scheduler, kube-controller-manager %s from the module proxy (about 6 min on 2 cores) ...", KubernetesVersion), 30*time.Second, func() error {
			_, err := runStep(ctx, "build the control plane", work, buildEnv, "go", args...)
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

// wrapperToolsGo makes `go mod tidy` keep what the control-plane commands import.
func wrapperToolsGo() []byte {
	var b strings.Builder
	b.WriteString("//go:build tools\n\npackage tools\n\nimport (\n")
	for _, c := range kubeCommands {
		fmt.Fprintf(&b, "\t_ %q\n", "k8s.io/kubernetes/cmd/"+c)
	}
	b.WriteString(")\n")
	return []byte(b.String())
}
