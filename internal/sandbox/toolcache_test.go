package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCacheKey(t *testing.T) {
	tests := []struct {
		name                             string
		tool, version, goos, goarch, gov string
		want                             string
	}{
		{"built tool", "kube", "v1.37.2", "linux", "amd64", "go1.26.8", "kube-v1.37.2-linux-amd64-go1.26.8"},
		{"go upgrade changes key", "kube", "v1.37.2", "linux", "amd64", "go1.27.0", "kube-v1.37.2-linux-amd64-go1.27.0"},
		{"platform in key", "terraform", "v1.5.7", "linux", "arm64", "go1.26.8", "terraform-v1.5.7-linux-arm64-go1.26.8"},
		{"not built: no go version", "etcd", "3.4.23", "linux", "amd64", "", "etcd-3.4.23-linux-amd64"},
		{"unsafe characters", "x", "v1/../2 beta", "linux", "amd64", "go1.26.8 X:nocoverageredesign", "x-v1_.._2_beta-linux-amd64-go1.26.8_X_nocoverageredesign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cacheKey(tt.tool, tt.version, tt.goos, tt.goarch, tt.gov)
			if got != tt.want {
				t.Errorf("cacheKey = %q, want %q", got, tt.want)
			}
			if strings.ContainsRune(got, filepath.Separator) {
				t.Errorf("key %q is not one path element", got)
			}
		})
	}
}

func TestToolEntriesAreVersionKeyed(t *testing.T) {
	env := goEnv{GOVERSION: "go1.26.8", GOOS: "linux", GOARCH: "amd64"}
	kube := kubeEntry("/cache", env)
	if kube.dir() != "/cache/kube-"+KubernetesVersion+"-linux-amd64-go1.26.8" {
		t.Errorf("kube dir = %s", kube.dir())
	}
	if k := kubectlEntry("/cache", env); k.dir() == kube.dir() || k.path("kubectl") != "/cache/kubectl-"+KubernetesVersion+"-linux-amd64-go1.26.8/kubectl" {
		t.Errorf("kubectl path = %s: want an entry of its own, so a cached control plane is kept", k.path("kubectl"))
	}
	if g := goreleaserTool.entry("/cache", env); g.path("goreleaser") != "/cache/goreleaser-"+GoreleaserVersion+"-linux-amd64-go1.26.8/goreleaser" {
		t.Errorf("goreleaser path = %s", g.path("goreleaser"))
	}
	tf := terraformTool.entry("/cache", env)
	if tf.path("terraform") != "/cache/terraform-"+TerraformVersion+"-linux-amd64-go1.26.8/terraform" {
		t.Errorf("terraform path = %s", tf.path("terraform"))
	}
	if a, b := runtimeKey("/src/a", env), runtimeKey("/src/b", env); a == b {
		t.Errorf("two checkouts share the runtime key %s", a)
	}
}

func TestDefaultCacheRoot(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	got, err := defaultCacheRoot(env(map[string]string{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}))
	if err != nil || got != "/xdg/eci-vnode-sandbox" {
		t.Errorf("with XDG_CACHE_HOME: %q, %v", got, err)
	}
	got, err = defaultCacheRoot(env(map[string]string{"HOME": "/home/u"}))
	if err != nil || got != "/home/u/.cache/eci-vnode-sandbox" {
		t.Errorf("with HOME: %q, %v", got, err)
	}
	if _, err := defaultCacheRoot(env(nil)); err == nil {
		t.Error("expected an error without HOME")
	}
}

func TestCacheFillIsAtomic(t *testing.T) {
	root := t.TempDir()
	e := cachedEntry{root: root, key: "tool-v1-linux-amd64-go1", files: []string{"a", "b"}}
	ctx := context.Background()

	// A build that fails half way leaves nothing that looks cached.
	boom := errors.New("interrupted")
	err := e.fill(ctx, progress{}, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "a"), []byte("half"), 0o755); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fill error = %v", err)
	}
	if e.present() {
		t.Fatal("failed build looks cached")
	}
	if m, _ := filepath.Glob(filepath.Join(root, ".tmp-*")); len(m) != 0 {
		t.Errorf("temporary dirs left: %v", m)
	}

	builds := 0
	build := func(tmp string) error {
		builds++
		for _, f := range e.files {
			if err := os.WriteFile(filepath.Join(tmp, f), []byte(f), 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	if err := e.fill(ctx, progress{}, build); err != nil {
		t.Fatal(err)
	}
	if err := e.fill(ctx, progress{}, build); err != nil {
		t.Fatal(err)
	}
	if builds != 1 || !e.present() {
		t.Errorf("builds = %d, present = %v; want one build, then a cache hit", builds, e.present())
	}
}

func TestWrapperGoModReplacesEveryStagingModule(t *testing.T) {
	kubeMod := []byte(`module k8s.io/kubernetes

go 1.26.0

require (
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0
	github.com/foo/bar v1.2.3
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	github.com/foo/bar => github.com/foo/bar v1.2.4
)
`)
	got, err := wrapperGoMod(kubeMod, "v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		"require k8s.io/kubernetes v1.37.2",
		"k8s.io/api => k8s.io/api v0.37.2",
		"k8s.io/client-go => k8s.io/client-go v0.37.2",
		"go 1.26.0",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("wrapper go.mod lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "foo/bar") {
		t.Errorf("non-staging replace copied:\n%s", s)
	}
	if _, err := wrapperGoMod([]byte("module x\n"), "v1.37.2"); err == nil {
		t.Error("expected an error for a go.mod without staging replaces")
	}
}

func TestKubeLDFlagsStampBothVersionPackages(t *testing.T) {
	f := kubeLDFlags("v1.37.2")
	for _, want := range []string{
		"k8s.io/component-base/version.gitVersion=v1.37.2",
		"k8s.io/component-base/version.gitMajor=1",
		"k8s.io/component-base/version.gitMinor=37",
		"k8s.io/client-go/pkg/version.gitVersion=v1.37.2",
	} {
		if !strings.Contains(f, want) {
			t.Errorf("ldflags lack %q: %s", want, f)
		}
	}
	if stagingVersion("v1.37.2") != "v0.37.2" {
		t.Errorf("stagingVersion = %s", stagingVersion("v1.37.2"))
	}
}
