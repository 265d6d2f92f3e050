package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook/webhookbench"
)

// WebhookResult is the profile webhook's admission benchmark
// (runtime/webhook BenchmarkAdmissionLatency, runtime/webhook/webhookbench), run by
// the harness so its figures are in the same report: pod CREATEs through the real
// kube-apiserver at fixed rates with no webhook, a no-op webhook, this one and a
// no-op returning this one's patch, in alternating phases.
type WebhookResult struct {
	// Output is what the benchmark printed (its tables).
	Output string `json:"output"`
	// Metrics are its reported metrics by unit, e.g. "100rps-mutating-mean-ratio".
	Metrics map[string]float64 `json:"metrics"`
	// Result is the benchmark's result (WEBHOOK_BENCH_JSON), when it finished.
	Result *webhookbench.Result `json:"result,omitempty"`
	// Error says why it did not run to the end, if it did not.
	Error string `json:"error,omitempty"`
}

// runWebhookBench runs the admission benchmark with `go test` in the module
// at root and returns its figures; its output and result are also kept in dir.
func runWebhookBench(ctx context.Context, root, dir string, log io.Writer) *WebhookResult {
	res := &WebhookResult{Metrics: map[string]float64{}}
	jsonPath, err := filepath.Abs(filepath.Join(dir, "webhook-bench.json"))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	var r webhookbench.Result
	out, found, err := goTestJSON(ctx, root, []string{"WEBHOOK_BENCH_JSON=" + jsonPath}, jsonPath, &r, log,
		"-run", "^$", "-bench", "^BenchmarkAdmissionLatency$", "-benchtime", "1x", "-timeout", "30m", "./runtime/webhook/")
	res.Output = string(out)
	_ = os.WriteFile(filepath.Join(dir, "webhook-bench.txt"), out, 0o644)
	res.Metrics = benchMetrics(res.Output, "BenchmarkAdmissionLatency")
	if found {
		res.Result = &r
	}
	switch {
	case err != nil:
		res.Error = fmt.Sprintf("go test -bench AdmissionLatency: %v", err)
	case res.Result == nil:
		res.Error = "the benchmark wrote no result"
	}
	return res
}

// benchMetrics parses the result line of benchmark name: after the name and
// the iteration count come "value unit" pairs.
func benchMetrics(output, name string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[0], name) {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a log line that starts with the name
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				out[f[i+1]] = v
			}
		}
	}
	return out
}

// webhookSection writes the report's Profile webhook section: the goal's figure per
// rate first, then the benchmark's own tables.
func webhookSection(w io.Writer, wr *WebhookResult) {
	if wr == nil {
		fmt.Fprintln(w, "Not run (`eci-bench run --webhook=false`, or the smoke test). `make bench` runs it.")
		return
	}
	fmt.Fprintln(w, "runtime/webhook's BenchmarkAdmissionLatency, run by the harness: pod CREATEs (dryRun=All) through the sandbox's real kube-apiserver "+
		"at fixed rates, open loop, with no webhook, a no-op webhook, the eci-profile webhook (20 selectors; every pod matched and patched) "+
		"and the no-op returning the eci-profile webhook's patch (no-op+patch), phases alternating. "+
		"The figure is the API server's own timing of each mutating webhook call (mean, apiserver_admission_webhook_admission_duration_seconds), "+
		"eci-profile against the no-op; goal ≤ 1.2. It includes the API server applying the returned patch, which no-op+patch shows apart "+
		"(docs/benchmarks.md, \"Profile webhook\").")
	fmt.Fprintln(w)
	if wr.Error != "" {
		fmt.Fprintf(w, "**Did not finish:** %s\n\n", strings.ReplaceAll(wr.Error, "\n", " "))
	}
	r := wr.Result
	if r == nil {
		fmt.Fprintln(w, "No result; the benchmark's output is in `webhook-bench.txt`.")
		return
	}
	fmt.Fprintln(w, "| req/s | no-op ms | eci-profile ms | eci-profile/no-op | per round (median) | no-op+patch ms | eci-profile/no-op+patch | guard/no-op (validating) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	msf := func(c webhookbench.Timing) float64 { return float64(c.Mean.Microseconds()) / 1000 }
	for _, rt := range r.Rates {
		var rounds []string
		for _, x := range rt.AdmitRoundRatios {
			rounds = append(rounds, num(x, 2))
		}
		patched := "–"
		patchRatio := "–"
		if rt.AdmitVsPatchingNoop.Noop.Count > 0 {
			patched = num(msf(rt.AdmitVsPatchingNoop.Noop), 2)
			patchRatio = num(rt.AdmitVsPatchingNoop.MeanRatio, 2)
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s (%s) | %s | %s | %s |\n", rt.Rate, num(msf(rt.Admit.Noop), 2), num(msf(rt.Admit.ECIVNode), 2),
			num(rt.Admit.MeanRatio, 2), strings.Join(rounds, ", "), num(rt.AdmitMedianRoundRatio, 2), patched, patchRatio, num(rt.Validating.MeanRatio, 2))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The benchmark's tables (its output is in `webhook-bench.txt`, its result in `webhook-bench.json`):")
	fmt.Fprintln(w)
	fmt.Fprint(w, r.Markdown())
}
