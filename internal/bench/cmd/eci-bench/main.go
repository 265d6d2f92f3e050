// Command eci-bench runs the benchmark of internal/bench (`make bench`):
//
//	eci-bench run [flags]              the benchmark; report in --out
//	eci-bench report --out DIR         report.md and charts again from DIR/results.json
//	eci-bench provider ceiling|stock   a baseline provider (the benchmark starts these)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/bench"
	"github.com/eci-vnode/terraform-provider-eci/internal/bench/baseline"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: eci-bench run [flags] | eci-bench report --out DIR | eci-bench provider ceiling|stock [flags]")
		return 2
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdout, stderr)
	case "report":
		return reportCommand(args[1:], stdout, stderr)
	case "provider":
		return baseline.Main(args[1:], stderr)
	}
	fmt.Fprintf(stderr, "eci-bench: unknown command %q: want run, report or provider\n", args[0])
	return 2
}

func reportCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eci-bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "bench-results", "directory of an earlier run's results.json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	res, err := bench.Rewrite(*out)
	if err != nil {
		fmt.Fprintf(stderr, "eci-bench: %v\n", err)
		return 1
	}
	res.WriteSummary(stdout)
	fmt.Fprintf(stdout, "\nreport: %s/%s; charts: %s\n", *out, bench.ReportFile, strings.Join(res.Charts(), ", "))
	return 0
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("eci-bench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts                    bench.Options
		pods, providers, quotas string
		latency                 time.Duration
		lifecycle               string
		timeout                 time.Duration
	)
	fs.StringVar(&opts.OutDir, "out", "bench-results", "directory of the report, charts, results.json and logs")
	fs.StringVar(&pods, "pods", "100", "comma-separated pod counts")
	fs.StringVar(&providers, "providers", "ours,ceiling,stock", "comma-separated providers: ours, ceiling, stock")
	fs.StringVar(&quotas, "quotas", "off,on", "comma-separated quota modes: off (no limits) and/or on (ECI's documented limits)")
	fs.IntVar(&opts.Repeat, "repeat", 1, "repetitions of each scenario; the report shows medians")
	fs.DurationVar(&latency, "latency", 50*time.Millisecond, "latency the emulator adds to every ECI call (0 = none)")
	fs.StringVar(&lifecycle, "lifecycle", "fast", "instance lifecycle: fast (about 0.4 s to Running) or eci (the emulator's defaults, about 6 s)")
	fs.DurationVar(&opts.Steady, "steady", 30*time.Second, "how long pods run untouched before the scale-down")
	var qps float64
	fs.Float64Var(&qps, "control-plane-qps", 500, "client QPS of kube-controller-manager and kube-scheduler")
	fs.IntVar(&opts.PropagationSample, "propagation-sample", 20, "pods whose instances are restarted to time status propagation (0 = none)")
	fs.DurationVar(&opts.StatusInterval, "stock-status-interval", 5*time.Second, "stock's per-pod status period")
	var oursArgs string
	fs.StringVar(&oursArgs, "ours-args", "", "extra flags of eci-vnode node for ours, space-separated, e.g. \"--kube-api-qps=300 --create-workers=20\"")
	fs.BoolVar(&opts.SteadyHour, "steady-hour", true, "also run a quiet hour of ours on the emulator's fake clock at each pod count (runtime/node) and report its ECI calls")
	fs.BoolVar(&opts.Webhook, "webhook", true, "also run the profile webhook's admission benchmark (runtime/webhook; WEBHOOK_BENCH_RATES, WEBHOOK_BENCH_SECONDS) and report it")
	fs.DurationVar(&timeout, "timeout", 3*time.Hour, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if opts.Pods, err = ints(pods); err != nil {
		fmt.Fprintf(stderr, "eci-bench: --pods: %v\n", err)
		return 2
	}
	opts.Providers = strings.Split(providers, ",")
	opts.OursArgs = strings.Fields(oursArgs)
	for _, q := range strings.Split(quotas, ",") {
		switch q {
		case "off":
			opts.Quotas = append(opts.Quotas, false)
		case "on":
			opts.Quotas = append(opts.Quotas, true)
		default:
			fmt.Fprintf(stderr, "eci-bench: --quotas: %q: want off or on\n", q)
			return 2
		}
	}
	opts.CallLatency = latency
	if latency == 0 {
		opts.CallLatency = -1
	}
	switch lifecycle {
	case "fast":
	case "eci":
		opts.Lifecycle = &emulator.LifecycleConfig{} // zero: the emulator's defaults
	default:
		fmt.Fprintf(stderr, "eci-bench: --lifecycle: %q: want fast or eci\n", lifecycle)
		return 2
	}
	opts.ControlPlaneQPS = float32(qps)
	if opts.PropagationSample == 0 {
		opts.PropagationSample = -1
	}
	opts.Log = stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := bench.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "eci-bench: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout)
	res.WriteSummary(stdout)
	fmt.Fprintf(stdout, "\nreport: %s/%s; charts: %s\n", opts.OutDir, bench.ReportFile, strings.Join(res.Charts(), ", "))
	return 0
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive integers, e.g. 100,1000", s)
		}
		out = append(out, n)
	}
	return out, nil
}
