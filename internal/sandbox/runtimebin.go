package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// runtimePackage is the import path, relative to the repository root, of the runtime binary.
const runtimePackage = "./runtime/cmd/eci-vnode"

// runtimeKey names the cache directory for the eci-vnode binary built from one checkout; the
// checkout path is part of it so two worktrees never overwrite each other's binary.
func runtimeKey(repoRoot string, env goEnv) string {
	sum := sha256.Sum256([]byte(repoRoot))
	return cacheKey("eci-vnode", "src-"+hex.EncodeToString(sum[:6]), env.GOOS, env.GOARCH, env.GOVERSION)
}

// buildRuntime builds eci-vnode from the repository on every call (it is our code and
// changes all the time; Go's build cache makes an unchanged rebuild quick). It builds to a
// temporary name and renames, so running sandboxes never exec a half-written file.
func buildRuntime(ctx context.Context, p progress, cacheRoot, repoRoot string, env goEnv) (string, error) {
	dir := filepath.Join(cacheRoot, runtimeKey(repoRoot, env))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create runtime build dir: %w", err)
	}
	final := filepath.Join(dir, "eci-vnode")
	tmp, err := os.CreateTemp(dir, ".eci-vnode-*")
	if err != nil {
		return "", fmt.Errorf("create temporary runtime binary: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	began := time.Now()
	if _, err := runStep(ctx, "build eci-vnode", repoRoot, []string{"GOWORK=off"}, "go", "build", "-o", tmp.Name(), runtimePackage); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("move eci-vnode into %s: %w", dir, err)
	}
	p.printf("eci-vnode: built from %s in %s", repoRoot, time.Since(began).Round(10*time.Millisecond))
	return final, nil
}
