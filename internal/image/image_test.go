package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The binaries are compiled once per test binary run, per version, into workDir; compiling
// eci-vnode for two platforms is by far the slowest part of these tests.
var (
	workDir  string
	binsMu   sync.Mutex
	binsByV  = map[string]map[string]string{}
	built    sync.Once
	builtOut *buildResult
	builtErr error
)

const (
	testVersion  = "v0.0.0-imagetest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

var testCreated = time.Unix(1700000000, 0).UTC()

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "eci-image-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create the test work dir:", err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// compiled returns the binaries of version, compiling them on first use.
func compiled(t *testing.T, version string) map[string]string {
	t.Helper()
	binsMu.Lock()
	defer binsMu.Unlock()
	if b, ok := binsByV[version]; ok {
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	b, err := Compile(ctx, CompileOptions{RepoRoot: repoRoot(t), Version: version, OutDir: filepath.Join(workDir, "bin-"+version)})
	if err != nil {
		t.Fatal(err)
	}
	binsByV[version] = b
	return b
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("find the module root: go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		t.Fatalf("find the module root: the test does not run inside a module")
	}
	return filepath.Dir(mod)
}

func testSpec(t *testing.T, version, revision string) Spec {
	t.Helper()
	if _, err := os.Stat(HostCABundle); err != nil {
		t.Fatalf("the image takes its CA certificates from the build machine: %v (apt-get install -y ca-certificates)", err)
	}
	return Spec{Version: version, Revision: revision, Created: testCreated, Binaries: compiled(t, version), CABundle: HostCABundle}
}

type buildResult struct {
	spec    Spec
	digest  v1.Hash
	layout  string
	tarPath string
}

// build assembles spec and writes it under dir the way eci-image does.
func build(spec Spec, dir string) (*buildResult, error) {
	idx, err := Assemble(spec)
	if err != nil {
		return nil, err
	}
	r := &buildResult{spec: spec, layout: filepath.Join(dir, "image"), tarPath: filepath.Join(dir, "eci-vnode-image.tar")}
	if r.digest, err = WriteLayout(idx, r.layout, spec.Version); err != nil {
		return nil, err
	}
	if err := WriteTar(r.layout, r.tarPath, spec.Created); err != nil {
		return nil, err
	}
	return r, nil
}

// sharedBuild is the build most tests read back; it is made once.
func sharedBuild(t *testing.T) *buildResult {
	t.Helper()
	spec := testSpec(t, testVersion, testRevision)
	built.Do(func() { builtOut, builtErr = build(spec, filepath.Join(workDir, "shared")) })
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	return builtOut
}

// readBack opens the layout the way a consumer would and returns the runtime's index.
func readBack(t *testing.T, r *buildResult) v1.ImageIndex {
	t.Helper()
	p, err := layout.FromPath(r.layout)
	if err != nil {
		t.Fatalf("open the layout: %v", err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatalf("read the layout's index.json: %v", err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 {
		t.Fatalf("index.json lists %d entries, want the one image index", len(tm.Manifests))
	}
	d := tm.Manifests[0]
	if d.MediaType != types.OCIImageIndex || d.Digest != r.digest || d.Annotations[refNameAnnotation] != r.spec.Version {
		t.Fatalf("index.json entry = %s %s %v, want %s %s with %s=%s", d.MediaType, d.Digest, d.Annotations,
			types.OCIImageIndex, r.digest, refNameAnnotation, r.spec.Version)
	}
	idx, err := top.ImageIndex(d.Digest)
	if err != nil {
		t.Fatalf("read the image index %s: %v", d.Digest, err)
	}
	return idx
}

func platformImages(t *testing.T, idx v1.ImageIndex) map[string]v1.Image {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Image{}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatalf("read the %s image: %v", d.Platform, err)
		}
		out[d.Platform.String()] = img
	}
	return out
}

// files flattens an image into path → header and content.
type file struct {
	hdr  *tar.Header
	data []byte
}

func flatten(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]file{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read the image's filesystem: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("read %s from the image: %v", h.Name, err)
		}
		out[strings.TrimSuffix(h.Name, "/")] = file{hdr: h, data: data}
	}
}

func TestBuiltImageReadsBackAsTheRuntimeImage(t *testing.T) {
	r := sharedBuild(t)
	idx := readBack(t, r)

	t.Run("index and every blob are valid OCI", func(t *testing.T) {
		if err := validate.Index(idx); err != nil {
			t.Fatalf("validate the image index: %v", err)
		}
		mt, err := idx.MediaType()
		if err != nil || mt != types.OCIImageIndex {
			t.Fatalf("index media type = %q, %v; want %q", mt, err, types.OCIImageIndex)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(im.Annotations, r.spec.Labels()) {
			t.Fatalf("index annotations = %v, want the labels %v", im.Annotations, r.spec.Labels())
		}
	})

	t.Run("exactly linux/amd64 and linux/arm64", func(t *testing.T) {
		imgs := platformImages(t, idx)
		var got []string
		for p := range imgs {
			got = append(got, p)
		}
		slices.Sort(got)
		if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(got, want) {
			t.Fatalf("platforms = %v, want %v", got, want)
		}
	})

	t.Run("config: entrypoint, non-root user, labels, platform, time", func(t *testing.T) {
		wantLabels := map[string]string{
			"org.opencontainers.image.source":   Source,
			"org.opencontainers.image.version":  testVersion,
			"org.opencontainers.image.revision": testRevision,
			"org.opencontainers.image.title":    "eci-vnode",
			"org.opencontainers.image.licenses": "MPL-2.0",
			"org.opencontainers.image.created":  "2023-11-14T22:13:20Z",
		}
		for p, img := range platformImages(t, idx) {
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatalf("%s: read config: %v", p, err)
			}
			if got := cf.OS + "/" + cf.Architecture; got != p {
				t.Errorf("%s: config platform = %s", p, got)
			}
			if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/eci-vnode"}) || len(cf.Config.Cmd) != 0 {
				t.Errorf("%s: entrypoint %q cmd %q, want [/usr/local/bin/eci-vnode] and no cmd", p, cf.Config.Entrypoint, cf.Config.Cmd)
			}
			if u := cf.Config.User; u != "65532:65532" {
				t.Errorf("%s: user = %q, want 65532:65532 (non-root, numeric so runAsNonRoot can check it)", p, u)
			}
			if !maps.Equal(cf.Config.Labels, wantLabels) {
				t.Errorf("%s: labels = %v, want %v", p, cf.Config.Labels, wantLabels)
			}
			if !cf.Created.Time.Equal(testCreated) {
				t.Errorf("%s: created = %s, want %s", p, cf.Created.Time, testCreated)
			}
			for _, h := range cf.History {
				if !h.Created.Time.Equal(testCreated) {
					t.Errorf("%s: history %q created = %s, want %s", p, h.CreatedBy, h.Created.Time, testCreated)
				}
			}
		}
	})

	t.Run("filesystem: CA bundle, user entries, fixed times and modes", func(t *testing.T) {
		hostCA, err := os.ReadFile(HostCABundle)
		if err != nil {
			t.Fatal(err)
		}
		for p, img := range platformImages(t, idx) {
			fs := flatten(t, img)
			if ca := fs["etc/ssl/certs/ca-certificates.crt"]; !bytes.Equal(ca.data, hostCA) || !bytes.Contains(ca.data, []byte("-----BEGIN CERTIFICATE-----")) {
				t.Errorf("%s: CA bundle in the image (%d bytes) differs from %s (%d bytes)", p, len(ca.data), HostCABundle, len(hostCA))
			}
			if !slices.Contains(strings.Split(string(fs["etc/passwd"].data), "\n"), "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin") {
				t.Errorf("%s: /etc/passwd has no nonroot user with uid 65532:\n%s", p, fs["etc/passwd"].data)
			}
			if !slices.Contains(strings.Split(string(fs["etc/group"].data), "\n"), "nonroot:x:65532:") {
				t.Errorf("%s: /etc/group has no nonroot group 65532:\n%s", p, fs["etc/group"].data)
			}
			if h := fs["home/nonroot"].hdr; h == nil || h.Uid != 65532 || h.Gid != 65532 || h.Typeflag != tar.TypeDir {
				t.Errorf("%s: /home/nonroot = %+v, want a directory owned by 65532:65532", p, h)
			}
			bin := fs["usr/local/bin/eci-vnode"]
			if bin.hdr == nil || bin.hdr.Mode != 0o755 || bin.hdr.Uid != 0 {
				t.Fatalf("%s: binary header = %+v, want mode 0755 owned by root", p, bin.hdr)
			}
			wantBin, err := os.ReadFile(r.spec.Binaries[p])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bin.data, wantBin) {
				t.Errorf("%s: the binary in the image is not the %s build", p, p)
			}
			for name, f := range fs {
				if !f.hdr.ModTime.Equal(testCreated) {
					t.Errorf("%s: %s mtime = %s, want %s", p, name, f.hdr.ModTime, testCreated)
				}
			}
		}
	})

	t.Run("the host platform's binary is static and prints the version", func(t *testing.T) {
		p := "linux/" + runtime.GOARCH
		img, ok := platformImages(t, idx)[p]
		if runtime.GOOS != "linux" || !ok {
			t.Skipf("the image has no %s/%s binary this machine can run", runtime.GOOS, runtime.GOARCH)
		}
		bin := filepath.Join(t.TempDir(), "eci-vnode")
		if err := os.WriteFile(bin, flatten(t, img)["usr/local/bin/eci-vnode"].data, 0o755); err != nil {
			t.Fatal(err)
		}
		ef, err := elf.Open(bin)
		if err != nil {
			t.Fatalf("read the extracted binary as ELF: %v", err)
		}
		for _, prog := range ef.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("the binary asks for a dynamic loader; the image has none")
			}
		}
		_ = ef.Close()
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("eci-vnode version: %v\n%s", err, out)
		}
		want := "eci-vnode " + testVersion + " ("
		if !strings.HasPrefix(string(out), want) || !strings.Contains(string(out), p+")") {
			t.Fatalf("eci-vnode version printed %q, want %q... %s)", out, want, p)
		}
	})

	t.Run("tarball holds the layout, sorted, with fixed headers", func(t *testing.T) {
		f, err := os.Open(r.tarPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tr := tar.NewReader(f)
		var names []string
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("read %s: %v", r.tarPath, err)
			}
			names = append(names, h.Name)
			if !h.ModTime.Equal(testCreated) || h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s: mtime %s uid %d gid %d, want %s and root", h.Name, h.ModTime, h.Uid, h.Gid, testCreated)
			}
			if h.Name == "index.json" {
				data, _ := io.ReadAll(tr)
				var top v1.IndexManifest
				if err := json.Unmarshal(data, &top); err != nil || len(top.Manifests) != 1 || top.Manifests[0].Digest != r.digest {
					t.Errorf("index.json in the tarball = %s (%v), want one entry %s", data, err, r.digest)
				}
			}
		}
		if !slices.IsSorted(names) {
			t.Errorf("tar entries are not sorted: %v", names)
		}
		for _, want := range []string{"oci-layout", "index.json", "blobs/sha256/" + r.digest.Hex} {
			if !slices.Contains(names, want) {
				t.Errorf("tarball lacks %s: %v", want, names)
			}
		}
	})
}

func TestBuildIsReproducibleAndFollowsItsInputs(t *testing.T) {
	first := sharedBuild(t)
	again, err := build(testSpec(t, testVersion, testRevision), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if again.digest != first.digest {
		t.Fatalf("two builds of the same inputs: digests %s and %s", first.digest, again.digest)
	}
	if a, b := fileSum(t, first.tarPath), fileSum(t, again.tarPath); a != b {
		t.Fatalf("two builds of the same inputs: tarballs differ (sha256 %s and %s)", a, b)
	}
	t.Logf("index digest of both builds: %s", first.digest)

	other, err := build(testSpec(t, testVersion+".1", testRevision), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.digest == first.digest {
		t.Fatalf("version %s and %s gave the same digest %s", testVersion, testVersion+".1", first.digest)
	}
	// The other version's binaries differ, not only its labels.
	for _, p := range Platforms {
		if fileSum(t, other.spec.Binaries[p.String()]) == fileSum(t, first.spec.Binaries[p.String()]) {
			t.Errorf("%s: the binaries of two versions are identical; the version is not injected", p.String())
		}
	}
}

func TestAssembleRefusesBadInputs(t *testing.T) {
	bins := map[string]string{"linux/amd64": "/nonexistent/a", "linux/arm64": "/nonexistent/b"}
	good := Spec{Version: "v1.2.3", Revision: testRevision, Binaries: bins, CABundle: HostCABundle}
	swapped := func(s *Spec) {
		b := compiled(t, testVersion)
		s.Binaries = map[string]string{"linux/amd64": b["linux/arm64"], "linux/arm64": b["linux/amd64"]}
	}
	for name, c := range map[string]struct {
		change func(*Spec)
		want   string
	}{
		"version that is no tag": {func(s *Spec) { s.Version = "v1/2" }, "cannot be an image tag"},
		"no revision":            {func(s *Spec) { s.Revision = "" }, "revision is empty"},
		"missing platform":       {func(s *Spec) { s.Binaries = map[string]string{"linux/amd64": "/a"} }, "no eci-vnode binary for linux/arm64"},
		"extra platform": {func(s *Spec) {
			s.Binaries = map[string]string{"linux/amd64": "/a", "linux/arm64": "/b", "linux/s390x": "/c"}
		}, "linux/s390x"},
		"missing CA bundle":      {func(s *Spec) { s.CABundle = filepath.Join(t.TempDir(), "none.crt") }, "read CA bundle"},
		"binary that is missing": {func(s *Spec) {}, "read the build settings of /nonexistent/a"},
		"binaries swapped":       {swapped, "was not built with GOARCH=amd64"},
	} {
		t.Run(name, func(t *testing.T) {
			s := good
			c.change(&s)
			_, err := Assemble(s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Assemble = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

func TestPushedImageIsServedByTagAtTheLayoutsDigest(t *testing.T) {
	r := sharedBuild(t)
	// go-containerregistry's own registry implementation, served over HTTP on loopback
	// (which the library addresses without TLS).
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/eci-vnode/eci-vnode:" + testVersion

	pushed, digest, err := Push(context.Background(), r.layout, ref)
	if err != nil {
		t.Fatal(err)
	}
	if pushed != ref {
		t.Errorf("Push says it pushed to %s, want %s", pushed, ref)
	}
	if digest != r.digest {
		t.Fatalf("Push returned %s, want the layout's digest %s", digest, r.digest)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(tag)
	if err != nil {
		t.Fatalf("pull the pushed tag: %v", err)
	}
	if got, _ := idx.Digest(); got != r.digest {
		t.Errorf("the registry serves %s at %s, want %s", ref, got, r.digest)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("the pulled index is not valid: %v", err)
	}
	if got := slices.Sorted(maps.Keys(platformImages(t, idx))); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("the pulled index has platforms %v", got)
	}

	if _, _, err := Push(context.Background(), r.layout, host+"/eci-vnode/eci-vnode@"+r.digest.String()); err == nil ||
		!strings.Contains(err.Error(), "registry/repository:tag") {
		t.Errorf("pushing to a digest reference: %v, want a refusal naming the form of a reference", err)
	}
	if _, _, err := Push(context.Background(), t.TempDir(), ref); err == nil || !strings.Contains(err.Error(), "OCI layout") {
		t.Errorf("pushing an empty directory: %v, want an error about the layout", err)
	}
}
