// Command eci-sandbox builds the sandbox's tools, runs a sandbox in the background, and
// runs the quick start on it: `make tools`, `make demo`, `make demo-down` and `make docs`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "tools":
		return cmdTools(ctx, args[1:], stdout, stderr)
	case "up":
		return cmdUp(ctx, args[1:], stdout, stderr)
	case "down":
		return cmdDown(ctx, args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "demo-down":
		return cmdDemoDown(ctx, args[1:], stdout, stderr)
	case serveVerb:
		return cmdServe(ctx, args[1:], stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "eci-sandbox: unknown verb %q\n\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: eci-sandbox <verb> [flags]

verbs:
  tools [--print-bin-dir] [--release] build or reuse every tool (control plane, kubectl, etcd, terraform,
                                      eci-vnode; with --release also goreleaser)
  up --state-dir DIR [--workers N]    start a sandbox in the background and print its kubeconfig
  down --state-dir DIR                stop the sandbox running in DIR
  demo --state-dir DIR [--workers N]  a sandbox without VNodes, examples/quickstart applied to it by
                                      Terraform, its sample Deployment on the VNodes, a table of its pods
  demo-down --state-dir DIR           terraform destroy of what demo applied, then down
`)
}
