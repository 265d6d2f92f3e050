package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// WebhookResult is the profile webhook's admission benchmark
// (runtime/webhook BenchmarkAdmissionLatency), run by the harness so its
// figures are in the same report: pod CREATEs through the real
// kube-apiserver at fixed rates with no webhook, a no-op webhook and this
// one, in alternating phases.
type WebhookResult struct {
	// Output is what the benchmark printed (its tables).
	Output string `json:"output"`
	// Metrics are its reported metrics by unit, e.g. "100rps-no-op-webhook-1-p99-ms".
	Metrics map[string]float64 `json:"metrics"`
	// Error says why it did not run to the end, if it did not.
	Error string `json:"error,omitempty"`
}

// runWebhookBench runs the admission benchmark with `go test` in the module
// at root and returns its figures; its output is also kept in dir.
func runWebhookBench(ctx context.Context, root, dir string, log io.Writer) *WebhookResult {
	res := &WebhookResult{Metrics: map[string]float64{}}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^$", "-bench", "^BenchmarkAdmissionLatency$",
		"-benchtime", "1x", "-timeout", "30m", "./runtime/webhook/")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = log
	err := cmd.Run()
	res.Output = out.String()
	_ = os.WriteFile(filepath.Join(dir, "webhook-bench.txt"), out.Bytes(), 0o644)
	res.Metrics = benchMetrics(res.Output, "BenchmarkAdmissionLatency")
	if err != nil {
		res.Error = fmt.Sprintf("go test -bench AdmissionLatency: %v", err)
	} else if len(res.Metrics) == 0 {
		res.Error = "the benchmark reported no metrics"
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

// callTimeLine is a line of the benchmark's table of the API server's
// timing of each webhook call: phase, round, webhook, type, calls, mean ms.
var callTimeLine = regexp.MustCompile(`^(no-op webhook|eci-vnode webhook) #(\d+)\s+(\S+)\s+(admit|validating)\s+(\d+)\s+([0-9.]+)\s`)

var rateLine = regexp.MustCompile(`^open loop at (\d+) req/s`)

// callTimes are the API server's mean time per webhook call, in ms, by
// rate, phase ("no-op" or "eci-vnode") and type ("admit" or "validating"),
// each the median over the phase's rounds, read from the benchmark's tables.
func (w *WebhookResult) callTimes() map[int]map[string]float64 {
	rounds := map[int]map[string][]float64{}
	rate := 0
	for _, l := range strings.Split(w.Output, "\n") {
		if m := rateLine.FindStringSubmatch(l); m != nil {
			rate, _ = strconv.Atoi(m[1])
			continue
		}
		m := callTimeLine.FindStringSubmatch(l)
		if m == nil || rate == 0 {
			continue
		}
		ms, err := strconv.ParseFloat(m[6], 64)
		if err != nil {
			continue
		}
		key := strings.TrimSuffix(m[1], " webhook") + " " + m[4]
		if rounds[rate] == nil {
			rounds[rate] = map[string][]float64{}
		}
		rounds[rate][key] = append(rounds[rate][key], ms)
	}
	out := map[int]map[string]float64{}
	for r, byKey := range rounds {
		out[r] = map[string]float64{}
		for k, v := range byKey {
			out[r][k] = median(v)
		}
	}
	return out
}

// webhookRates are the request rates the metrics cover, ascending.
func (w *WebhookResult) webhookRates() []int {
	seen := map[int]bool{}
	for k := range w.Metrics {
		if i := strings.Index(k, "rps-"); i > 0 {
			if n, err := strconv.Atoi(k[:i]); err == nil {
				seen[n] = true
			}
		}
	}
	var out []int
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// val is m[k], NaN when missing.
func val(m map[string]float64, k string) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return math.NaN()
}

// phaseMedian is the median over the rounds of a phase's metric, e.g.
// phase "no-op-webhook", stat "p99-ms".
func (w *WebhookResult) phaseMedian(rate int, phase, stat string) float64 {
	var v []float64
	for round := 1; round <= 9; round++ {
		if x, ok := w.Metrics[fmt.Sprintf("%drps-%s-%d-%s", rate, phase, round, stat)]; ok {
			v = append(v, x)
		}
	}
	return median(v)
}

// webhookSection writes the report's Profile webhook section.
func webhookSection(w io.Writer, wr *WebhookResult) {
	if wr == nil {
		fmt.Fprintln(w, "Not run (`eci-bench run --webhook=false`, or the smoke test). `make bench` runs it.")
		return
	}
	fmt.Fprintln(w, "runtime/webhook's BenchmarkAdmissionLatency, run by the harness: pod CREATEs (dryRun=All) through the sandbox's real kube-apiserver "+
		"at fixed rates, open loop, with no webhook, a no-op webhook and the eci-profile webhook (20 selectors; every pod matched and patched), "+
		"phases alternating. First the API server's own timing of each webhook call (mean ms, apiserver_admission_webhook_admission_duration_seconds): "+
		"the eci-profile mutating webhook against the no-op mutating one, the pod guard (validating) against the no-op validating one; goal ≤ 1.2. "+
		"Then end-to-end pod CREATE latency. Ratios of the medians of the benchmark's rounds.")
	fmt.Fprintln(w)
	times := wr.callTimes()
	fmt.Fprintln(w, "| req/s | no-op admit ms | eci-profile admit ms | eci-profile/no-op | no-op validating ms | guard validating ms | guard/no-op |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	for _, rate := range wr.webhookRates() {
		t := times[rate]
		if t == nil {
			fmt.Fprintf(w, "| %d | – | – | – | – | – | – |\n", rate)
			continue
		}
		na, oa, nv, ov := val(t, "no-op admit"), val(t, "eci-vnode admit"), val(t, "no-op validating"), val(t, "eci-vnode validating")
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s |\n", rate, num(na, 2), num(oa, 2), ratio(oa, na), num(nv, 2), num(ov, 2), ratio(ov, nv))
	}
	fmt.Fprintln(w)
	if wr.Error != "" {
		fmt.Fprintf(w, "**Did not finish:** %s\n\n", strings.ReplaceAll(wr.Error, "\n", " "))
	}
	fmt.Fprintln(w, "| req/s | no webhook p50 ms | no-op p50 ms | eci-profile p50 ms | p50 eci-profile/no-op | no-op p99 ms | eci-profile p99 ms | p99 eci-profile/no-op |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, rate := range wr.webhookRates() {
		none := wr.Metrics[fmt.Sprintf("%drps-no-webhook-p50-ms", rate)]
		n50, o50 := wr.phaseMedian(rate, "no-op-webhook", "p50-ms"), wr.phaseMedian(rate, "eci-vnode-webhook", "p50-ms")
		n99, o99 := wr.phaseMedian(rate, "no-op-webhook", "p99-ms"), wr.phaseMedian(rate, "eci-vnode-webhook", "p99-ms")
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", rate, num(none, 2), num(n50, 2), num(o50, 2), ratio(o50, n50),
			num(n99, 2), num(o99, 2), ratio(o99, n99))
	}
	fmt.Fprintln(w, "\nThe benchmark's output (`webhook-bench.txt`):")
	fmt.Fprintln(w, "\n```")
	for _, l := range strings.Split(strings.TrimRight(wr.Output, "\n"), "\n") {
		if strings.HasPrefix(l, "goos:") || strings.HasPrefix(l, "goarch:") || strings.HasPrefix(l, "pkg:") || strings.HasPrefix(l, "cpu:") {
			continue
		}
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "```")
}
