package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// installDebianPackages installs Debian packages with apt-get (as root), under the tool
// cache's apt lock so that test binaries running at once wait for each other rather than
// fail on dpkg's lock. have reports whether what the packages provide is there already; it is
// asked again once the lock is held, since a sibling may have installed them meanwhile.
func installDebianPackages(ctx context.Context, p progress, cacheRoot, what string, have func() bool, pkgs ...string) error {
	if have() {
		return nil
	}
	if err := os.MkdirAll(cacheRoot, 0o755); err != nil {
		return fmt.Errorf("create tool cache %s: %w", cacheRoot, err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cacheRoot, ".lock-apt"), func() {
		p.printf("waiting for another process that is installing %s ...", what)
	})
	if err != nil {
		return err
	}
	defer unlock()
	if have() {
		return nil
	}
	list := strings.Join(pkgs, " ")
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is not installed and installing it needs root: run `apt-get install -y %s` (Debian) and retry", what, list)
	}
	return p.longStep(ctx, fmt.Sprintf("installing %s (apt-get install -y %s) ...", what, list), 30*time.Second, func() error {
		env := []string{"DEBIAN_FRONTEND=noninteractive"}
		install := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
		if _, err := runStep(ctx, "install "+what, "", env, "apt-get", install...); err == nil {
			return nil
		}
		// A fresh machine has no package lists yet.
		if _, err := runStep(ctx, "update apt package lists", "", env, "apt-get", "update"); err != nil {
			return err
		}
		_, err := runStep(ctx, "install "+what, "", env, "apt-get", install...)
		return err
	})
}
