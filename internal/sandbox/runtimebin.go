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
// changes all the time; Go's caches make an unchanged rebuild about a second). It builds to a
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
	// `go run -exec cp pkg dst` builds through the go command's executable cache (go run
	// caches linked binaries, go build -o does not) and copies the result to dst, so an
	// unchanged runtime costs a cache lookup instead of a multi-second link.
	if _, err := runStep(ctx, "build eci-vnode", repoRoot, []string{"GOWORK=off"}, "go", "run", "-exec", "cp", runtimePackage, tmp.Name()); err != nil {
		return "", err
	}
	// cp keeps the mode of the existing (CreateTemp, 0600) destination.
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", fmt.Errorf("make eci-vnode executable: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", fmt.Errorf("move eci-vnode into %s: %w", dir, err)
	}
	p.printf("eci-vnode: built from %s in %s", repoRoot, time.Since(began).Round(10*time.Millisecond))
	return final, nil
}
