// Command eci-emulator runs the ECI OpenAPI emulator as a standalone
// server: point an SDK client's Domain at the printed endpoint (plain
// HTTP) and sign with one of the printed credentials.
//
//	go run ./internal/eci/emulator/cmd/eci-emulator [-listen 127.0.0.1:0] [-config file.json] [-fake-clock] [-resident-nodes] [-v]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/resident"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "eci-emulator:", err)
		os.Exit(1)
	}
}

// Info is what the command prints once it listens.
type Info struct {
	Endpoint    string                `json:"endpoint"`
	Region      string                `json:"region"`
	Credentials []emulator.Credential `json:"credentials"`
	Admin       string                `json:"admin"`
}

// run serves until ctx ends; it prints Info as one JSON document first.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("eci-emulator", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	configPath := fs.String("config", "", "JSON configuration file (fields of emulator.Config; durations as \"30s\")")
	fakeClock := fs.Bool("fake-clock", false, "run on a fake clock advanced through POST /_admin/clock")
	verbose := fs.Bool("v", false, "log fault, outage and zone changes (and, with -resident-nodes, the resident nodes' logs)")
	residentNodes := fs.Bool("resident-nodes", false, "run the resident node of every VNode CreateVirtualNode makes in this process: "+
		"it joins the cluster its kubeconfig names, and the VNode is Ready once its Node registered")
	if err := fs.Parse(args); err != nil {
		return err
	}

	var cfg emulator.Config
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		if err := emulator.DecodeJSON(data, &cfg); err != nil {
			return fmt.Errorf("config %s: %w", *configPath, err)
		}
	}
	if *fakeClock {
		cfg.Clock = emulator.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	}
	if *verbose {
		cfg.Logf = log.Printf
	}
	if *residentNodes {
		cfg.ResidentNodes = &resident.Runner{}
	}
	e, err := emulator.New(cfg)
	if err != nil {
		return err
	}
	if err := e.Start(*listen); err != nil {
		return err
	}
	info := Info{Endpoint: e.Endpoint(), Region: e.Region(), Credentials: e.Credentials(), Admin: "http://" + e.Endpoint() + "/_admin/"}
	out, _ := json.MarshalIndent(info, "", "  ")
	if _, err := fmt.Fprintln(stdout, string(out)); err != nil {
		_ = e.Close()
		return fmt.Errorf("print endpoint: %w", err)
	}
	<-ctx.Done()
	if err := e.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
