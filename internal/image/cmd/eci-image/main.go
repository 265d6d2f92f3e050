// Command eci-image builds the eci-vnode runtime's OCI image for `make image`: it compiles the
// runtime for every platform, assembles the index with internal/image, writes an OCI layout
// directory and a tar of it, and prints the tag and the index digest. `eci-image push` uploads
// such a layout to a registry (the release, docs/design.md "Releases"). Neither needs a
// container engine.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/image"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "eci-image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) > 0 && args[0] == "push" {
		return push(ctx, args[1:], stdout)
	}
	fs := flag.NewFlagSet("eci-image", flag.ContinueOnError)
	version := fs.String("version", "", "runtime version: injected into the binary, the image tag and the version label (required)")
	revision := fs.String("revision", "", "git commit the image is built from: the revision label (required)")
	epoch := fs.String("source-date-epoch", getenv("SOURCE_DATE_EPOCH"), "Unix time of every file and of the config (default $SOURCE_DATE_EPOCH, else 0)")
	caBundle := fs.String("ca-bundle", image.HostCABundle, "PEM CA bundle copied into the image")
	out := fs.String("out", "dist/image", "OCI layout directory to (re)create")
	tarPath := fs.String("tar", "dist/eci-vnode-image.tar", "tar of the OCI layout to write")
	repoRoot := fs.String("repo-root", ".", "module root holding "+image.RuntimePackage)
	digestFile := fs.String("digest-file", "", "also write the index digest (sha256:...) to this file, for the release build")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	created, err := parseEpoch(*epoch)
	if err != nil {
		return err
	}

	work, err := os.MkdirTemp("", "eci-image-bin-*")
	if err != nil {
		return fmt.Errorf("create a directory for the binaries: %w", err)
	}
	defer os.RemoveAll(work)
	fmt.Fprintf(stdout, "compiling eci-vnode %s for %d platforms ...\n", *version, len(image.Platforms))
	bins, err := image.Compile(ctx, image.CompileOptions{RepoRoot: *repoRoot, Version: *version, OutDir: work})
	if err != nil {
		return err
	}
	idx, err := image.Assemble(image.Spec{
		Version: *version, Revision: *revision, Created: created, Binaries: bins, CABundle: *caBundle,
	})
	if err != nil {
		return err
	}
	digest, err := image.WriteLayout(idx, *out, *version)
	if err != nil {
		return err
	}
	if err := image.WriteTar(*out, *tarPath, created); err != nil {
		return err
	}
	if *digestFile != "" {
		if err := os.WriteFile(*digestFile, []byte(digest.String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("write the digest file: %w", err)
		}
	}
	fmt.Fprintf(stdout, "layout:  %s\ntarball: %s\ntag:     %s:%s\ndigest:  %s\n",
		filepath.Clean(*out), filepath.Clean(*tarPath), install.ImageRepository, *version, digest)
	return nil
}

// push runs `eci-image push`: the layout's index to the registry under --ref, then the
// digest the registry serves it at.
func push(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("eci-image push", flag.ContinueOnError)
	dir := fs.String("layout", "dist/image", "OCI layout directory written by `make image`")
	ref := fs.String("ref", "", "where to push: registry/repository:tag (default "+install.ImageRepository+":<the layout's tag>)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fmt.Fprintf(stdout, "pushing %s ...\n", filepath.Clean(*dir))
	pushed, digest, err := image.Push(ctx, *dir, *ref)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pushed:  %s@%s\n", pushed, digest)
	return nil
}

// parseEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org): whole seconds since the Unix
// epoch; empty means 0, so an unset variable still gives a reproducible image.
func parseEpoch(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("source date epoch %q is not a non-negative number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
