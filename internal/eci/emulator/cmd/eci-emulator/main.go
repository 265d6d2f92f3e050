// Command eci-emulator runs the ECI OpenAPI emulator as a standalone
// server: point an SDK client's Domain at the printed endpoint (plain
// HTTP) and sign with one of the printed credentials.
//
//	go run ./internal/eci/emulator/cmd/eci-emulator [-listen 127.0.0.1:0] [-config file.json] [-fake-clock]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "eci-emulator:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	configPath := flag.String("config", "", "JSON configuration file (fields of emulator.Config; durations as \"30s\")")
	fakeClock := flag.Bool("fake-clock", false, "run on a fake clock advanced through POST /_admin/clock")
	verbose := flag.Bool("v", false, "log notable events")
	flag.Parse()

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
	e, err := emulator.New(cfg)
	if err != nil {
		return err
	}
	if err := e.Start(*listen); err != nil {
		return err
	}
	info := map[string]any{
		"endpoint":    e.Endpoint(),
		"region":      e.Region(),
		"credentials": e.Credentials(),
		"admin":       "http://" + e.Endpoint() + "/_admin/",
	}
	out, _ := json.MarshalIndent(info, "", "  ")
	fmt.Println(string(out))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := e.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
