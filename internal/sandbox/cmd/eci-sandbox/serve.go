package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/resident"
)

// stopWait bounds the supervisor's orderly stop; `down` waits a little longer than this.
const stopWait = 45 * time.Second

// demoVNode is the VNode `up` starts along with the ECI emulator.
const demoVNode = "vnode-demo"

// cmdServe is the background supervisor `up` starts: it runs the sandbox until SIGTERM or
// SIGINT (ctx), then stops it. Its children die with it even if it is SIGKILLed (Pdeathsig).
func cmdServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(serveVerb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "state directory")
	workers := fs.Int("workers", 2, "number of worker nodes")
	withECI := fs.Bool("eci", true, "also start the ECI emulator")
	withVNode := fs.Bool("vnode", true, "with --eci, also start the VNode "+demoVNode+" (needs at least one worker); `demo` leaves VNodes to Terraform")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, err := absDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox serve: %v\n", err)
		return 2
	}
	pidFile := filepath.Join(dir, pidFileName)
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintf(stderr, "eci-sandbox serve: write pid file: %v\n", err)
		return 1
	}
	defer os.Remove(pidFile)
	tools, err := readTools(dir)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox serve: read tools (run `up`, not `serve`): %v\n", err)
		return 1
	}
	n := *workers
	if n == 0 {
		n = -1 // the flag says "0 workers"; the API spells that as negative
	}
	opts := sandbox.Options{Dir: dir, Workers: n, Log: stderr, Tools: tools}
	// Managed VNodes (CreateVirtualNode) register in the sandbox for real: the
	// emulator runs their resident nodes in this process.
	eci := &sandbox.ECI{Config: emulator.Config{ResidentNodes: &resident.Runner{}}}
	if *withECI {
		// The sandbox's ECI: the emulator, and for `up` one VNode whose runtime runs on a
		// worker.
		opts.Components = []sandbox.Component{eci}
		if *withVNode {
			opts.Components = append(opts.Components, &sandbox.VNode{NodeName: demoVNode, ECI: eci})
		}
	}
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox serve: %v\n", err)
		return 1
	}
	readyFile := filepath.Join(dir, readyFileName)
	info := readyInfo{PID: os.Getpid(), Kubeconfig: sb.Kubeconfig(), Server: sb.Server(), Ports: sb.Ports(), BinDir: tools.BinDir, Workers: max(*workers, 0)}
	if *withECI {
		info.ECIEndpoint = eci.Info().Endpoint
	}
	if *withECI && *withVNode {
		info.VNode = demoVNode
	}
	if err := writeJSON(readyFile, info); err != nil {
		fmt.Fprintf(stderr, "eci-sandbox serve: write ready file: %v\n", err)
		_ = sb.Stop(context.Background())
		return 1
	}
	fmt.Fprintf(stderr, "eci-sandbox serve: ready; waiting for SIGTERM\n")
	<-ctx.Done()
	os.Remove(readyFile)
	fmt.Fprintf(stderr, "eci-sandbox serve: stopping\n")
	sctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	if err := sb.Stop(sctx); err != nil {
		fmt.Fprintf(stderr, "eci-sandbox serve: stop: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "eci-sandbox serve: stopped\n")
	return 0
}
