package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// cacheDirName is the directory under the user cache dir that holds every sandbox tool.
const cacheDirName = "eci-vnode-sandbox"

// defaultCacheRoot returns ${XDG_CACHE_HOME:-$HOME/.cache}/eci-vnode-sandbox. It lives outside
// the repository so `git clean` or a fresh clone never throws away a six-minute build.
func defaultCacheRoot(getenv func(string) string) (string, error) {
	base := getenv("XDG_CACHE_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither XDG_CACHE_HOME nor HOME is set; set ToolOptions.CacheDir")
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, cacheDirName), nil
}

// cacheKey names the cache directory of one tool build. Everything that changes the bytes of
// the binary is in it: the tool, its version, the target platform and, for tools we compile,
// the Go toolchain version (a Go upgrade rebuilds rather than silently reusing old output).
// goVersion is empty for tools we do not compile.
func cacheKey(tool, version, goos, goarch, goVersion string) string {
	parts := []string{tool, version, goos + "-" + goarch}
	if goVersion != "" {
		parts = append(parts, goVersion)
	}
	return sanitizeKey(strings.Join(parts, "-"))
}

// sanitizeKey keeps a key usable as one path element whatever a version string contains.
func sanitizeKey(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == '+':
		default:
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "." || out == ".." || out == "" {
		out = "_" + out
	}
	return out
}

// cachedEntry is one keyed directory in the tool cache holding the named files.
type cachedEntry struct {
	root  string   // cache root
	key   string   // directory name under root
	files []string // file names that must all exist for the entry to count as present
}

func (e cachedEntry) dir() string { return filepath.Join(e.root, e.key) }

func (e cachedEntry) path(file string) string { return filepath.Join(e.dir(), file) }

// present reports whether every file of the entry is in place. Entries only ever appear by
// an atomic rename of a complete directory, so present files are complete files.
func (e cachedEntry) present() bool {
	for _, f := range e.files {
		st, err := os.Stat(e.path(f))
		if err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// fill makes the entry present: under a per-key file lock (so parallel `go test` packages do
// not all start the same build), it calls build with an empty temporary directory next to
// the final one and renames that directory into place when build succeeds. An interrupted
// build leaves only a .tmp-* directory that is never mistaken for a cache hit.
func (e cachedEntry) fill(ctx context.Context, p progress, build func(tmpDir string) error) error {
	if e.present() {
		return nil
	}
	if err := os.MkdirAll(e.root, 0o755); err != nil {
		return fmt.Errorf("create tool cache %s: %w", e.root, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(e.root, ".lock-"+e.key), func() {
		p.printf("waiting for another process that is building %s ...", e.key)
	})
	if err != nil {
		return err
	}
	defer unlock()
	if e.present() { // built by whoever held the lock
		return nil
	}
	tmp, err := os.MkdirTemp(e.root, ".tmp-"+e.key+"-")
	if err != nil {
		return fmt.Errorf("create temporary build directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := build(tmp); err != nil {
		return err
	}
	for _, f := range e.files {
		if _, err := os.Stat(filepath.Join(tmp, f)); err != nil {
			return fmt.Errorf("build of %s did not produce %s: %w", e.key, f, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it private
		return fmt.Errorf("make %s readable: %w", e.key, err)
	}
	// A stale incomplete directory (from an older layout) would make the rename fail.
	if err := os.RemoveAll(e.dir()); err != nil {
		return fmt.Errorf("remove incomplete cache entry %s: %w", e.dir(), err)
	}
	if err := os.Rename(tmp, e.dir()); err != nil {
		return fmt.Errorf("move build of %s into the cache: %w", e.key, err)
	}
	return nil
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel the wait; onWait
// is called once if the lock is busy. The returned func releases it.
func lockFile(ctx context.Context, path string, onWait func()) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	waited := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waited && onWait != nil {
			onWait()
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
