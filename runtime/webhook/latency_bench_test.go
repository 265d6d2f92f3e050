package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook/webhookbench"
)

// BenchmarkAdmissionLatency measures pod creation through the sandbox's real
// kube-apiserver with no webhook, a no-op webhook and this webhook, and compares this
// webhook's call time with the no-op's as the API server times it
// (runtime/webhook/webhookbench). It ignores b.N and runs each phase once:
//
//	go test -run '^$' -bench AdmissionLatency -benchtime 1x ./runtime/webhook/
//
// WEBHOOK_BENCH_RATES (requests per second, comma-separated, default 100,250,500),
// WEBHOOK_BENCH_SECONDS (per phase, default 10) and WEBHOOK_BENCH_ROUNDS (default 2)
// change the load. Each round also has a phase with the no-op webhook returning this
// webhook's patch (webhookbench.Options.PatchingNoop); WEBHOOK_BENCH_PATCHING_NOOP=0
// leaves it out. WEBHOOK_BENCH_JSON names a file to write the result to, as JSON (make
// bench reads it).
func BenchmarkAdmissionLatency(b *testing.B) {
	sb := sandbox.StartForTest(b, sandbox.Options{Workers: -1})
	o := webhookbench.Options{Config: sb.RESTConfig(), Rates: envInts("WEBHOOK_BENCH_RATES"), Progress: os.Stdout,
		PatchingNoop: os.Getenv("WEBHOOK_BENCH_PATCHING_NOOP") != "0"}
	if s := envInts("WEBHOOK_BENCH_SECONDS"); len(s) > 0 {
		o.Phase = time.Duration(s[0]) * time.Second
	}
	if r := envInts("WEBHOOK_BENCH_ROUNDS"); len(r) > 0 {
		o.Rounds = r[0]
	}
	b.ResetTimer()
	res, err := webhookbench.Run(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// Printed, not logged: a benchmark's log is cut after a few lines.
	fmt.Println(res.Markdown())
	if path := os.Getenv("WEBHOOK_BENCH_JSON"); path != "" {
		raw, err := json.MarshalIndent(res, "", "  ")
		if err == nil {
			err = os.WriteFile(path, raw, 0o644)
		}
		if err != nil {
			b.Fatalf("write %s: %v", path, err)
		}
	}
	for _, r := range res.Rates {
		b.ReportMetric(r.Admit.MeanRatio, fmt.Sprintf("%drps-mutating-mean-ratio", r.Rate))
		b.ReportMetric(r.AdmitMedianRoundRatio, fmt.Sprintf("%drps-mutating-round-median-ratio", r.Rate))
		if o.PatchingNoop {
			b.ReportMetric(r.AdmitVsPatchingNoop.MeanRatio, fmt.Sprintf("%drps-mutating-vs-patching-noop-ratio", r.Rate))
		}
		b.ReportMetric(r.Validating.MeanRatio, fmt.Sprintf("%drps-validating-mean-ratio", r.Rate))
		b.ReportMetric(r.Client.MedianRatio, fmt.Sprintf("%drps-client-p50-ratio", r.Rate))
	}
}

func envInts(name string) []int {
	var out []int
	for _, f := range strings.Split(os.Getenv(name), ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v > 0 {
			out = append(out, v)
		}
	}
	return out
}
