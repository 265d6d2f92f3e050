package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// RuntimePackage is the runtime's main package, relative to the module root.
const RuntimePackage = "./runtime/cmd/eci-vnode"

// CompileOptions says how to build the runtime binaries that go into the image.
type CompileOptions struct {
	// RepoRoot is the module root holding RuntimePackage.
	RepoRoot string
	// Version is injected as main.version, as the GNUmakefile's LDFLAGS do for `make build`.
	Version string
	// OutDir receives one binary per platform, named eci-vnode-<os>-<arch>.
	OutDir string
}

// Compile builds a static eci-vnode for every platform in Platforms and returns the paths
// keyed by "os/arch", ready for Spec.Binaries. The flags make the binaries reproducible:
// CGO_ENABLED=0 (static, no host libc), -trimpath (no build directory in the binary), an
// empty -buildid, and -buildvcs=false (the commit is in the image's revision label; whether
// the tree counts as modified would otherwise depend on the checkout). Go's build cache makes a second call with the same inputs a relink at most.
func Compile(ctx context.Context, o CompileOptions) (map[string]string, error) {
	if o.RepoRoot == "" || o.OutDir == "" || o.Version == "" {
		return nil, fmt.Errorf("compile eci-vnode: RepoRoot, OutDir and Version are required")
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("compile eci-vnode: create %s: %w", o.OutDir, err)
	}
	out := make(map[string]string, len(Platforms))
	for _, p := range Platforms {
		bin, err := filepath.Abs(filepath.Join(o.OutDir, "eci-vnode-"+p.OS+"-"+p.Architecture))
		if err != nil {
			return nil, fmt.Errorf("compile eci-vnode for %s: %w", p.String(), err)
		}
		if err := goBuild(ctx, o, p, bin); err != nil {
			return nil, err
		}
		out[p.String()] = bin
	}
	return out, nil
}

func goBuild(ctx context.Context, o CompileOptions, p v1.Platform, bin string) error {
	ldflags := "-X main.version=" + o.Version + " -buildid="
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, RuntimePackage)
	cmd.Dir = o.RepoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("compile eci-vnode for %s (go build in %s): %w: %s", p.String(), o.RepoRoot, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
