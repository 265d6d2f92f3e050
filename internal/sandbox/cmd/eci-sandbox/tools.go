package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

func cmdTools(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tools", flag.ContinueOnError)
	fs.SetOutput(stderr)
	printBinDir := fs.Bool("print-bin-dir", false, "print only the directory holding terraform and the other tools")
	release := fs.Bool("release", false, "also goreleaser "+sandbox.GoreleaserVersion+", for make release-check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// With --print-bin-dir stdout carries only the directory (it goes into PATH), so
	// progress goes to stderr either way.
	tools, err := sandbox.EnsureTools(ctx, sandbox.ToolOptions{Progress: stderr, Release: *release})
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox tools: %v\n", err)
		return 1
	}
	if *printBinDir {
		fmt.Fprintln(stdout, tools.BinDir)
		return 0
	}
	fmt.Fprintf(stdout, "tools ready in %s\n", tools.BinDir)
	return 0
}
