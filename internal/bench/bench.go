// Package bench measures how the runtime (eci-vnode node) brings pods onto ECI,
// side by side with two baselines on the same virtual-kubelet library
// (internal/bench/baseline), in one run on one sandbox and one ECI emulator:
//
//   - ours: the runtime binary built from this checkout;
//   - ceiling: a provider that marks every pod Running at once;
//   - stock: a provider configured as stock providers are.
//
// For each quota mode (the emulator's documented per-action limits off or on),
// pod count and repetition, every provider in turn gets a fresh Node, a
// Deployment of that many pods is created and scaled back to zero, and the
// harness records create throughput, create-to-Running latency, the ECI calls
// by action (the emulator's own counts), scale-down time and calls, and the
// provider process's peak RSS and CPU seconds. Figures on this noisy machine
// mean something only relative to each other: the report gives ratios of
// medians (ours/ceiling, ours/stock) measured in the same run, never a
// threshold. Run writes report.md, results.json and PNG charts into
// Options.OutDir (see docs/benchmarks.md).
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// Provider names.
const (
	Ours    = "ours"
	Ceiling = "ceiling"
	Stock   = "stock"
)

// Options configure a benchmark run. Zero values take the defaults noted.
type Options struct {
	// OutDir receives report.md, results.json, the charts and the logs. Required.
	OutDir string
	// Pods are the Deployment sizes, in order. Default [100].
	Pods []int
	// Providers to compare, in the order they run within a repetition.
	// Default ours, ceiling, stock.
	Providers []string
	// Quotas are the quota modes: false = the emulator enforces no limits,
	// true = the documented per-action limits. Default [false, true].
	Quotas []bool
	// Repeat is how many times each (quotas, pods, provider) runs; the
	// report shows medians. Default 1.
	Repeat int
	// CallLatency is added to every ECI call by the emulator. Default 50ms;
	// negative = none.
	CallLatency time.Duration
	// Lifecycle is the emulator's instance lifecycle. Zero = FastLifecycle.
	Lifecycle *emulator.LifecycleConfig
	// Steady is how long the pods are left Running before the scale-down,
	// to count the ECI calls of a steady state. Default 30s.
	Steady time.Duration
	// ControlPlaneQPS is the client QPS of kube-controller-manager and
	// kube-scheduler (burst twice it). Default 500.
	ControlPlaneQPS float32
	// PropagationSample is how many pods' instances are restarted to time
	// status propagation. Default 20; negative = not measured.
	PropagationSample int
	// StatusInterval is stock's per-pod status period. Default 5s.
	StatusInterval time.Duration
	// ProviderCommand starts a baseline: it is run with "provider <kind>
	// <flags>" appended. Default: this executable.
	ProviderCommand []string
	// OursArgs are extra flags of `eci-vnode node` for ours (later flags
	// win), to try a setting; the report lists them.
	OursArgs []string
	// SteadyHour also runs a quiet hour of ours on the emulator's fake
	// clock at each pod count (runtime/node, with `go test` in RepoRoot) and
	// puts its ECI calls in the report.
	SteadyHour bool
	// Webhook also runs the profile webhook's admission benchmark
	// (runtime/webhook BenchmarkAdmissionLatency, with `go test` in RepoRoot)
	// after the providers, and puts its figures in the report.
	Webhook bool
	// RepoRoot is the module root for SteadyHour and Webhook; empty = the module of the
	// current directory.
	RepoRoot string
	// Tools are the sandbox's binaries (the runtime among them); nil =
	// sandbox.EnsureTools.
	Tools *sandbox.Tools
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// FastLifecycle is the emulator lifecycle of a benchmark unless Options say
// otherwise: an instance runs about 0.4 s after its create, so what is
// measured is the providers, not the emulator's simulated image pulls.
func FastLifecycle() emulator.LifecycleConfig {
	return emulator.LifecycleConfig{
		Scheduling: 100 * time.Millisecond, ImagePull: 200 * time.Millisecond,
		ContainerStart: 100 * time.Millisecond, Terminating: 200 * time.Millisecond,
		Restarting: 200 * time.Millisecond,
	}
}

func (o *Options) defaults() error {
	if o.OutDir == "" {
		return errors.New("bench: Options.OutDir is required")
	}
	if len(o.Pods) == 0 {
		o.Pods = []int{100}
	}
	for _, n := range o.Pods {
		if n < 1 {
			return fmt.Errorf("bench: pod count %d: want at least 1", n)
		}
	}
	if len(o.Providers) == 0 {
		o.Providers = []string{Ours, Ceiling, Stock}
	}
	for _, p := range o.Providers {
		if p != Ours && p != Ceiling && p != Stock {
			return fmt.Errorf("bench: provider %q: want %s, %s or %s", p, Ours, Ceiling, Stock)
		}
	}
	if len(o.Quotas) == 0 {
		o.Quotas = []bool{false, true}
	}
	if o.Repeat <= 0 {
		o.Repeat = 1
	}
	if o.CallLatency == 0 {
		o.CallLatency = 50 * time.Millisecond
	}
	if o.Lifecycle == nil {
		lc := FastLifecycle()
		o.Lifecycle = &lc
	}
	if o.Steady <= 0 {
		o.Steady = 30 * time.Second
	}
	if o.ControlPlaneQPS <= 0 {
		o.ControlPlaneQPS = 500
	}
	if o.PropagationSample == 0 {
		o.PropagationSample = 20
	}
	if o.StatusInterval <= 0 {
		o.StatusInterval = 5 * time.Second
	}
	if len(o.ProviderCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find this executable to run the baselines: %w", err)
		}
		o.ProviderCommand = []string{exe}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

// Run starts a sandbox (control plane without workers, the emulator in
// process), runs every scenario and writes the report. A scenario that does
// not finish (pods not Running in time) is recorded as such, not an error;
// an error means the harness itself could not run.
func Run(ctx context.Context, opts Options) (*Results, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(opts.OutDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("bench: create %s: %w", opts.OutDir, err)
	}
	res := &Results{Settings: settingsOf(opts), Started: time.Now().UTC()}
	if err := runScenarios(ctx, opts, res); err != nil {
		return nil, err
	}
	if opts.SteadyHour || opts.Webhook {
		root, err := moduleRoot(ctx, opts.RepoRoot)
		if err != nil {
			return nil, err
		}
		opts.RepoRoot = root
	}
	if opts.SteadyHour {
		for _, n := range opts.Pods {
			fmt.Fprintf(opts.Log, "bench: a quiet hour of %d pods on the fake clock (go test -run %s ./runtime/node) ...\n", n, steadyHourTest)
			res.SteadyHours = append(res.SteadyHours, runSteadyHour(ctx, opts.RepoRoot, opts.OutDir, n, opts.Log))
		}
	}
	if opts.Webhook {
		fmt.Fprintf(opts.Log, "bench: the profile webhook's admission benchmark (go test -bench AdmissionLatency ./runtime/webhook) ...\n")
		res.Webhook = runWebhookBench(ctx, opts.RepoRoot, opts.OutDir, opts.Log)
	}
	res.Finished = time.Now().UTC()
	if err := res.write(opts.OutDir); err != nil {
		return nil, err
	}
	return res, nil
}

// moduleRoot is dir, or the root of the module of the current directory.
func moduleRoot(ctx context.Context, dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("bench: find the module root for the quiet hour and the webhook benchmark (go env GOMOD: %q, %v); run from the repository", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

// runScenarios runs every provider scenario on a sandbox of its own, which
// is stopped before Run goes on.
func runScenarios(ctx context.Context, opts Options, res *Results) error {
	tools := opts.Tools
	if tools == nil {
		var err error
		if tools, err = sandbox.EnsureTools(ctx, sandbox.ToolOptions{Progress: opts.Log}); err != nil {
			return fmt.Errorf("bench: tools: %w", err)
		}
	}
	// The account's vCPU quota (1000 by default in the emulator, as in a new
	// account) is lifted: 5000 pods of 250m need 1250, and the quota would
	// fail pods rather than pace calls, which is what "quotas" means here.
	eciComp := &sandbox.ECI{Config: emulator.Config{Lifecycle: *opts.Lifecycle, Quotas: emulator.QuotaConfig{MaxCPU: -1}}}
	sbDir := filepath.Join(opts.OutDir, "sandbox")
	sb, err := sandbox.Start(ctx, sandbox.Options{
		Dir: sbDir, Workers: -1, Tools: tools, Log: opts.Log,
		ControlPlaneQPS: opts.ControlPlaneQPS,
		Components:      []sandbox.Component{eciComp},
	})
	if err != nil {
		return fmt.Errorf("bench: start the sandbox: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = sb.Stop(stopCtx)
	}()
	emu := eciComp.Emulator()
	if opts.CallLatency > 0 {
		emu.SetFault("*", emulator.Fault{Latency: opts.CallLatency})
	}
	info := eciComp.Info()
	client, err := eci.New(eci.Config{
		Region: info.Region, Endpoint: info.Endpoint, DisableRateLimits: true, UserAgent: "eci-bench",
		Credentials: &eci.Credentials{AccessKeyID: info.AccessKeyID, AccessKeySecret: info.AccessKeySecret},
	})
	if err != nil {
		return fmt.Errorf("bench: ECI client of the harness: %w", err)
	}
	h := &harness{opts: opts, sb: sb, emu: emu, eci: info, client: client, runtimeBin: tools.ECIVNode}
	for _, quotas := range opts.Quotas {
		for _, n := range opts.Pods {
			for rep := 1; rep <= opts.Repeat; rep++ {
				for _, p := range opts.Providers {
					if err := ctx.Err(); err != nil {
						return err
					}
					sc := scenario{Provider: p, Pods: n, Quotas: quotas, Rep: rep}
					fmt.Fprintf(opts.Log, "bench: %s ...\n", sc)
					r := h.run(ctx, sc)
					fmt.Fprintf(opts.Log, "bench: %s: %s\n", sc, r.oneLine())
					res.Runs = append(res.Runs, r)
				}
			}
		}
	}
	return nil
}

// writeJSON writes v as indented JSON to path.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Rewrite renders report.md and the charts again from dir's results.json:
// a report format changed, or the figures of an earlier run redrawn.
func Rewrite(dir string) (*Results, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultsFile))
	if err != nil {
		return nil, fmt.Errorf("bench: read the results: %w", err)
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("bench: decode %s: %w", filepath.Join(dir, ResultsFile), err)
	}
	if err := res.write(dir); err != nil {
		return nil, err
	}
	return &res, nil
}
