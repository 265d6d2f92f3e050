package sandbox

import (
	"context"
	"fmt"
	"time"
)

// terraformEntry is the cache entry holding the Terraform CLI.
func terraformEntry(root string, env goEnv) cachedEntry {
	return cachedEntry{
		root:  root,
		key:   cacheKey("terraform", TerraformVersion, env.GOOS, env.GOARCH, env.GOVERSION),
		files: []string{"terraform"},
	}
}

// ensureTerraform installs Terraform with `go install` into the cache unless present. The
// machine's own terraform (if any) is deliberately not used: tests pin this version.
func ensureTerraform(ctx context.Context, p progress, e cachedEntry) error {
	if e.present() {
		p.printf("terraform %s: cached in %s", TerraformVersion, e.dir())
		return nil
	}
	return e.fill(ctx, p, func(out string) error {
		return p.longStep(ctx, fmt.Sprintf("building terraform %s from the module proxy (about 2 min on 2 cores) ...", TerraformVersion), 30*time.Second, func() error {
			// GOFLAGS is cleared: a -mod flag from the caller's environment breaks `go install pkg@version`.
			env := []string{"GOBIN=" + out, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0"}
			_, err := runStep(ctx, "install terraform", "", env, "go", "install", "-trimpath", "-ldflags", "-s -w", "github.com/hashicorp/terraform@"+TerraformVersion)
			return err
		})
	})
}
