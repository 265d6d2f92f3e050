// Package image assembles the eci-vnode runtime's OCI image without a container engine.
//
// The image is an OCI index with one manifest per platform in Platforms. Each manifest has
// two layers: a base layer shared by all platforms (/etc/passwd and /etc/group with the
// non-root user, the build machine's CA bundle, an empty home and /tmp), and a layer holding
// the static eci-vnode binary of that platform. Every input that could differ between two
// builds of the same commit is fixed: tar entries are written in sorted order with fixed
// modes, owners and timestamps (Spec.Created), gzip headers carry no name or time, and the
// config's creation time is Spec.Created. Two builds from the same binaries, CA bundle and
// Spec therefore have the same index digest.
//
// Typical use (internal/image/cmd/eci-image does this for `make image`):
//
//	bins, err := image.Compile(ctx, image.CompileOptions{RepoRoot: root, Version: v, OutDir: tmp})
//	idx, err := image.Assemble(image.Spec{Version: v, Revision: rev, Created: t, Binaries: bins, CABundle: image.HostCABundle})
//	digest, err := image.WriteLayout(idx, "dist/image", v)
//	err = image.WriteTar("dist/image", "dist/eci-vnode-image.tar", t)
package image

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"regexp"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// What the image contains and how it runs. The uid matches the restricted security context
// internal/install gives the runtime's containers (runAsUser 65532, runAsNonRoot).
const (
	UID      = 65532
	GID      = 65532
	UserName = "nonroot"
	// BinaryPath is where the runtime binary lives in the image; it is the entrypoint, and the
	// Deployments internal/install renders pass only args.
	BinaryPath = "/usr/local/bin/eci-vnode"
	// CABundlePath is where Go's crypto/x509 looks first on Linux, so the runtime reaches the
	// ECI API over HTTPS without any setting.
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// HostCABundle is the bundle Debian's ca-certificates package installs on the build machine.
	HostCABundle = "/etc/ssl/certs/ca-certificates.crt"

	// Values of the org.opencontainers.image.* labels that do not change per build.
	Source   = "https://github.com/eci-vnode/terraform-provider-eci"
	Title    = "eci-vnode"
	Licenses = "MPL-2.0"
)

// Platforms the image is built for, in index order.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// tagPattern is the OCI distribution spec's grammar for a tag; the version becomes the tag.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Spec is everything one image build depends on besides the library versions.
type Spec struct {
	// Version is the runtime's version: the image tag and the version label. The binaries
	// must have been built with the same version (Compile does that).
	Version string
	// Revision is the source commit, recorded in the revision label.
	Revision string
	// Created is the timestamp of every file and of the config; use the commit time
	// (SOURCE_DATE_EPOCH) or the zero Unix time, never the build time.
	Created time.Time
	// Binaries maps "os/arch" of every platform in Platforms to a static eci-vnode binary.
	Binaries map[string]string
	// CABundle is the path of the PEM CA bundle copied to CABundlePath.
	CABundle string
}

// Labels returns the OCI labels of the image, set both in each config and on the index.
func (s Spec) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.source":   Source,
		"org.opencontainers.image.version":  s.Version,
		"org.opencontainers.image.revision": s.Revision,
		"org.opencontainers.image.title":    Title,
		"org.opencontainers.image.licenses": Licenses,
		"org.opencontainers.image.created":  s.Created.UTC().Format(time.RFC3339),
	}
}

func (s Spec) validate() error {
	if !tagPattern.MatchString(s.Version) {
		return fmt.Errorf("version %q cannot be an image tag (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')", s.Version)
	}
	if s.Revision == "" {
		return fmt.Errorf("revision is empty: pass the git commit the image is built from")
	}
	for _, p := range Platforms {
		if s.Binaries[p.String()] == "" {
			return fmt.Errorf("no eci-vnode binary for %s", p.String())
		}
	}
	for k := range s.Binaries {
		if !slices.ContainsFunc(Platforms, func(p v1.Platform) bool { return p.String() == k }) {
			return fmt.Errorf("binary given for %s, which is not one of the image's platforms", k)
		}
	}
	if s.CABundle == "" {
		return fmt.Errorf("no CA bundle path given")
	}
	return nil
}

// Assemble builds the image index in memory. Layers are compressed here; nothing is written.
func Assemble(s Spec) (v1.ImageIndex, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("assemble image: %w", err)
	}
	ca, err := os.ReadFile(s.CABundle)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle (install Debian's ca-certificates package, or pass another bundle): %w", err)
	}
	if len(ca) == 0 {
		return nil, fmt.Errorf("CA bundle %s is empty", s.CABundle)
	}
	base, err := baseLayer(ca, s.Created)
	if err != nil {
		return nil, err
	}
	labels := s.Labels()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range Platforms {
		if err := checkBinary(s.Binaries[p.String()], p); err != nil {
			return nil, fmt.Errorf("assemble image: %w", err)
		}
		bin, err := os.ReadFile(s.Binaries[p.String()])
		if err != nil {
			return nil, fmt.Errorf("read the %s eci-vnode binary: %w", p.String(), err)
		}
		img, err := platformImage(p, base, bin, s.Created, labels)
		if err != nil {
			return nil, fmt.Errorf("assemble the %s image: %w", p.String(), err)
		}
		plat := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &plat},
		})
	}
	annotated, ok := mutate.Annotations(idx, labels).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("annotate the image index: go-containerregistry returned %T, not an index", annotated)
	}
	return annotated, nil
}

// checkBinary refuses a binary built for another platform or with cgo (which would need a
// libc the image does not have), reading the build settings Go records in every binary.
// The version cannot be checked this way: with -trimpath Go leaves -ldflags out.
func checkBinary(path string, p v1.Platform) error {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the build settings of %s (the %s eci-vnode binary): %w", path, p.String(), err)
	}
	got := make(map[string]string, len(info.Settings))
	for _, kv := range info.Settings {
		got[kv.Key] = kv.Value
	}
	for _, w := range [][2]string{{"GOOS", p.OS}, {"GOARCH", p.Architecture}, {"CGO_ENABLED", "0"}, {"-trimpath", "true"}} {
		if v, ok := got[w[0]]; !ok || v != w[1] {
			return fmt.Errorf("%s, given as the %s binary, was not built with %s=%s (it records %q): build it with image.Compile", path, p.String(), w[0], w[1], v)
		}
	}
	return nil
}

// platformImage is one platform's manifest: config, base layer, binary layer.
func platformImage(p v1.Platform, base v1.Layer, bin []byte, created time.Time, labels map[string]string) (v1.Image, error) {
	binLayer, err := binaryLayer(bin, created)
	if err != nil {
		return nil, err
	}
	cfg := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Created:      v1.Time{Time: created.UTC()},
		Config: v1.Config{
			Entrypoint: []string{BinaryPath},
			User:       fmt.Sprintf("%d:%d", UID, GID),
			Env: []string{
				"PATH=/usr/local/bin:/usr/bin:/bin",
				"SSL_CERT_FILE=" + CABundlePath,
				"HOME=/home/" + UserName,
			},
			WorkingDir: "/",
			Labels:     labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("set config: %w", err)
	}
	when := v1.Time{Time: created.UTC()}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: when,
			CreatedBy: "eci-vnode image: /etc/passwd, /etc/group, CA certificates, home of " + UserName}},
		mutate.Addendum{Layer: binLayer, History: v1.History{Created: when,
			CreatedBy: "eci-vnode image: static eci-vnode binary at " + BinaryPath}},
	)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	return img, nil
}
