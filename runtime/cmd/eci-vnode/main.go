// Command eci-vnode is the in-cluster runtime: the virtual kubelet of one VNode and the
// eci-profile admission webhook, in one binary.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// version is injected at build time with -ldflags "-X main.version=...".
var version = "dev"

// imageDigest is the digest of the runtime image released with version, injected by the
// release build like version (docs/design.md, "Releases"); render pins the image with it.
var imageDigest = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "eci-vnode %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "node":
		return nodeCommand(args[1:], stdout, stderr, os.Getenv)
	case "profile-webhook":
		return profileWebhookCommand(args[1:], stdout, stderr, os.Getenv)
	case "render":
		return renderCommand(args[1:], stdout, stderr, os.Getenv)
	case "approver":
		return approverCommand(args[1:], stdout, stderr, os.Getenv)
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "eci-vnode: unknown subcommand %q\n\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: eci-vnode <subcommand> [flags]

subcommands:
  node              run the virtual kubelet of one VNode (see eci-vnode node --help)
  profile-webhook   run the eci-profile admission webhook (see eci-vnode profile-webhook --help)
  approver          approve the kubelet certificates of this installation's VNodes (see eci-vnode approver --help)
  render            print the objects that install the runtime as YAML, for kubectl apply (see eci-vnode render --help)
  version           print the runtime version
`)
}
