package sandbox

import (
	"context"
	"fmt"
	"time"
)

// goTool is a tool the sandbox installs with `go install <pkg>@<version>` into a cache entry
// of its own, named and versioned so that a new pin builds anew.
type goTool struct {
	name     string // the binary, and the entry's first key part
	pkg      string // the main package, without @version
	version  string
	estimate string // how long a cold build takes here, for the progress line
}

func (g goTool) entry(root string, env goEnv) cachedEntry {
	return cachedEntry{
		root:  root,
		key:   cacheKey(g.name, g.version, env.GOOS, env.GOARCH, env.GOVERSION),
		files: []string{g.name},
	}
}

// ensure installs the tool unless its entry is present and returns the binary's path. A tool
// already on the machine is deliberately not used: tests pin these versions.
func (g goTool) ensure(ctx context.Context, p progress, root string, env goEnv) (string, error) {
	e := g.entry(root, env)
	if e.present() {
		p.printf("%s %s: cached in %s", g.name, g.version, e.dir())
		return e.path(g.name), nil
	}
	err := e.fill(ctx, p, func(out string) error {
		return p.longStep(ctx, fmt.Sprintf("building %s %s from the module proxy (%s) ...", g.name, g.version, g.estimate), 30*time.Second, func() error {
			// GOFLAGS is cleared: a -mod flag from the caller's environment breaks `go install pkg@version`.
			env := []string{"GOBIN=" + out, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0"}
			_, err := runStep(ctx, "install "+g.name, "", env, "go", "install", "-trimpath", "-ldflags", "-s -w", g.pkg+"@"+g.version)
			return err
		})
	})
	return e.path(g.name), err
}
