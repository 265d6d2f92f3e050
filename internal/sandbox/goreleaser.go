package sandbox

import (
	"context"
	"fmt"
	"time"
)

// GoreleaserVersion is the goreleaser that `make release-check` runs against .goreleaser.yml.
const GoreleaserVersion = "v2.15.1"

// goreleaserEntry is the cache entry holding goreleaser.
func goreleaserEntry(root string, env goEnv) cachedEntry {
	return cachedEntry{
		root:  root,
		key:   cacheKey("goreleaser", GoreleaserVersion, env.GOOS, env.GOARCH, env.GOVERSION),
		files: []string{"goreleaser"},
	}
}

// ensureGoreleaser installs goreleaser with `go install` into the cache unless present. Only
// the release tooling needs it (ToolOptions.Release), so the sandbox's first build does not
// wait for it.
func ensureGoreleaser(ctx context.Context, p progress, e cachedEntry) error {
	if e.present() {
		p.printf("goreleaser %s: cached in %s", GoreleaserVersion, e.dir())
		return nil
	}
	return e.fill(ctx, p, func(out string) error {
		return p.longStep(ctx, fmt.Sprintf("building goreleaser %s from the module proxy (about 4 min on 2 cores) ...", GoreleaserVersion), 30*time.Second, func() error {
			// As for terraform: a -mod flag from the caller's GOFLAGS breaks `go install pkg@version`.
			env := []string{"GOBIN=" + out, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0"}
			_, err := runStep(ctx, "install goreleaser", "", env, "go", "install", "-trimpath", "-ldflags", "-s -w",
				"github.com/goreleaser/goreleaser/v2@"+GoreleaserVersion)
			return err
		})
	})
}
