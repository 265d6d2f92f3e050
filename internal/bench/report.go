package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// ReportSections are the headings report.md always has, each followed by a
// table (or, for Charts, by the chart images).
var ReportSections = []string{
	"## Summary",
	"## Ratios",
	"## Status propagation",
	"## ECI calls by action",
	"## Provider resources",
	"## Runs",
	"## Charts",
}

// Report files in OutDir.
const (
	ReportFile  = "report.md"
	ResultsFile = "results.json"
)

func numCPU() int { return runtime.NumCPU() }

// revision is the VCS revision the binary was built from, when Go recorded one.
func revision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += " (modified)"
	}
	return rev
}

// Charts are the chart files of the last write, in report order.
func (res *Results) Charts() []string { return res.charts }

// write puts results.json, the charts and report.md into dir.
func (res *Results) write(dir string) error {
	if err := writeJSON(filepath.Join(dir, ResultsFile), res); err != nil {
		return err
	}
	sums := res.summaries()
	charts, err := writeCharts(dir, res, sums)
	if err != nil {
		return err
	}
	res.charts = res.charts[:0]
	for _, c := range charts {
		res.charts = append(res.charts, c.File)
	}
	f, err := os.Create(filepath.Join(dir, ReportFile))
	if err != nil {
		return fmt.Errorf("create the report: %w", err)
	}
	defer f.Close()
	res.writeReport(f, sums, charts)
	return f.Close()
}

// WriteSummary prints the Summary and Ratios tables (what `make bench`
// shows when it ends).
func (res *Results) WriteSummary(w io.Writer) {
	sums := res.summaries()
	fmt.Fprintln(w, "## Summary")
	summaryTable(w, sums)
	fmt.Fprintln(w, "\n## Ratios")
	ratioTable(w, res.Settings, sums)
}

func (res *Results) writeReport(w io.Writer, sums []Summary, charts []chart) {
	st := res.Settings
	fmt.Fprintf(w, "# ECI benchmark: ours, ceiling and stock\n\n")
	fmt.Fprintf(w, "Run %s to %s (%s) on %d CPUs", res.Started.Format(time.RFC3339), res.Finished.Format(time.RFC3339),
		res.Finished.Sub(res.Started).Round(time.Second), st.CPUs)
	if st.Revision != "" {
		fmt.Fprintf(w, ", revision %s", st.Revision)
	}
	fmt.Fprintf(w, ". Made by `make bench` (internal/bench; docs/benchmarks.md).\n\n")
	fmt.Fprintf(w, "Figures from one machine shared with other work mean something only next to each other: read the\n"+
		"**Ratios**, medians of %d repetition(s) measured in this run, not the absolute numbers.\n\n", st.Repeat)
	except := ""
	if len(st.OursArgs) > 0 {
		except = fmt.Sprintf(" except `%s`", strings.Join(st.OursArgs, " "))
	}
	fmt.Fprintf(w, "- **ours**: the runtime, `eci-vnode node` built from this checkout, with its default settings%s; with quotas off also `%s`, "+
		"as for an account whose create quota Alibaba lifted (by default its client stays under the documented quota, and that limit, not the runtime, would be measured).\n",
		except, strings.Join(noQuotaArgs, " "))
	fmt.Fprintf(w, "- **ceiling**: a provider on the same virtual-kubelet library (v1.14.1) that marks every pod Running at once and calls no ECI: what the library and this control plane allow here.\n")
	fmt.Fprintf(w, "- **stock**: a provider on the same library configured as stock providers are: default work-queue limits and worker count, CreatePod calling CreateContainerGroup synchronously with no client-side limiter, and one DescribeContainerGroups call per pod every %s (azure-aci's pattern).\n\n", time.Duration(st.StatusInterval))
	fmt.Fprintf(w, "Setup: a sandbox control plane (etcd, kube-apiserver, kube-scheduler, kube-controller-manager v1.37.2, no worker nodes) "+
		"whose **kube-controller-manager and kube-scheduler run with raised client QPS (--kube-api-qps=%g, --kube-api-burst=%g)**, so that the VNode, "+
		"not the ReplicaSet controller's default 20 queries a second, is what is measured; the ECI emulator in process with %s added to every call "+
		"and the instance lifecycle %s. Each provider is a subprocess with its own Node; every provider's Kubernetes client uses 100 QPS, burst 200 "+
		"(the runtime's defaults). Pods: one Deployment of one `nginx` container (250m, 512Mi) per run. "+
		"Quotas on = the emulator enforces ECI's documented per-action limits (docs/design.md, \"Quotas\"); its buckets are refilled before every run. "+
		"Latency = from the pod's ADDED event to its first Running event, as a watch sees them. Steady state: %s with the pods Running and nothing changing.\n\n",
		st.ControlPlaneQPS, 2*st.ControlPlaneQPS, time.Duration(st.CallLatency), st.Lifecycle, time.Duration(st.Steady))
	fmt.Fprintf(w, "Larger runs (not in `make test`; on a machine of its own): `make bench BENCH_PODS=1000` (about 45 minutes) and "+
		"`make bench BENCH_PODS=5000 BENCH_REPEAT=1 BENCH_STEADY=60s` (about an hour); see docs/benchmarks.md.\n\n")

	fmt.Fprintln(w, "## Summary")
	fmt.Fprintln(w)
	summaryTable(w, sums)
	fmt.Fprintln(w, "\n## Ratios")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ratios of the medians above. Throughput: above 1 means ours is faster. Latency, calls, time and RSS: below 1 means ours costs less. "+
		"Quota floor: the least time ECI's documented CreateContainerGroup bucket (burst 100, 20/s) allows for the creates; the goal under quotas is ≤ 1.1.")
	fmt.Fprintln(w)
	ratioTable(w, st, sums)
	fmt.Fprintln(w, "\n## Status propagation")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "After the steady state, the instances of up to %d Running pods are restarted through ECI's RestartContainerGroup (their containers are killed, the instance is Restarting at once); "+
		"the time is from each call until the pod's status in the API server first changes (phase, a condition, a container's readiness, state or restarts), as the watch sees it. "+
		"Medians over the repetitions of each run's p50 and p99. ceiling has no instances.\n\n", st.PropagationN)
	propagationTable(w, sums)
	fmt.Fprintln(w, "\n## ECI calls by action")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Medians. Scale-up and scale-down: calls per pod; steady: calls per minute, and for reads the share of the action's documented per-minute quota (shared by the whole account). \"(throttled)\" rows count the calls of that action ECI refused as throttled (already in its row).")
	fmt.Fprintln(w)
	callsTable(w, sums)
	fmt.Fprintln(w, "\n## Provider resources")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The provider process, read from /proc: RSS when every pod was Running, peak RSS (VmHWM) and CPU seconds (user + system) over the whole run (start, scale-up, steady state, scale-down). ceiling and stock are the bench binary itself; ours is `eci-vnode node`. Pod updates until Running: the harness's watch counts, per pod, the updates of the pod object until it was first Running (the scheduler's binding, then the provider's status writes), what the provider spends of its API client's rate limit.")
	fmt.Fprintln(w)
	resourcesTable(w, sums)
	fmt.Fprintln(w, "\n## A quiet hour (fake clock)")
	fmt.Fprintln(w)
	steadyHourSection(w, res.SteadyHours)
	fmt.Fprintln(w, "\n## Profile webhook")
	fmt.Fprintln(w)
	webhookSection(w, res.Webhook)
	fmt.Fprintln(w, "\n## Runs")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| quotas | pods | provider | run | outcome | scale-up s | pods/s | p99 s | scale-down s | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---:|---|---:|---|---:|---:|---:|---:|---:|")
	for _, r := range res.Runs {
		outcome := r.Outcome
		if r.PropagationNote != "" {
			outcome += "; status propagation: " + r.PropagationNote
		}
		fmt.Fprintf(w, "| %s | %d | %s | %d | %s | %s | %s | %s | %s | %s |\n", onOff(r.Quotas), r.Pods, r.Provider, r.Rep,
			strings.ReplaceAll(outcome, "|", "/"), num(r.ScaleUp.Seconds(), 1), num(r.Throughput, 1), num(r.P99, 2),
			num(r.ScaleDown.Seconds(), 1), num(mib(r.PeakRSS), 0))
	}
	fmt.Fprintln(w, "\n## Charts")
	fmt.Fprintln(w)
	for _, c := range charts {
		fmt.Fprintf(w, "### %s\n\n![%s](%s)\n\n", c.Title, c.Title, c.File)
	}
}

func summaryTable(w io.Writer, sums []Summary) {
	fmt.Fprintln(w, "| quotas | pods | provider | finished | scale-up s | pods/s | p50 s | p95 s | p99 s | ECI calls/pod up | steady calls/min | scale-down s | deletes/s | ECI calls/pod down | throttled | peak RSS MiB | CPU s |")
	fmt.Fprintln(w, "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range sums {
		if s.Finished == 0 {
			fmt.Fprintf(w, "| %s | %d | %s | 0/%d |%s\n", onOff(s.Quotas), s.Pods, s.Provider, s.Runs, strings.Repeat(" – |", 13))
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %s | %d/%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			onOff(s.Quotas), s.Pods, s.Provider, s.Finished, s.Runs,
			num(s.ScaleUp, 1), num(s.Throughput, 1), num(s.P50, 2), num(s.P95, 2), num(s.P99, 2),
			num(s.CallsPerPodUp, 2), num(s.SteadyPerMinute, 0), num(s.ScaleDown, 1), num(s.DeleteThroughput, 1),
			num(s.CallsPerPodDown, 2), num(s.Throttled, 0), num(s.PeakRSSMiB, 0), num(s.CPU, 1))
	}
}

func find(sums []Summary, q bool, n int, prov string) *Summary {
	for i := range sums {
		if sums[i].Quotas == q && sums[i].Pods == n && sums[i].Provider == prov && sums[i].Finished > 0 {
			return &sums[i]
		}
	}
	return nil
}

func ratioTable(w io.Writer, st Settings, sums []Summary) {
	fmt.Fprintln(w, "| quotas | pods | pods/s ours/ceiling | pods/s ours/stock | p99 ours/ceiling | p99 ours/stock | calls/pod up ours/stock | steady calls ours/stock | scale-down ours/stock | calls/pod down ours/stock | peak RSS ours/stock | status p99 ours/stock | scale-up / quota floor |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, q := range st.Quotas {
		for _, n := range st.Pods {
			o, c, s := find(sums, q, n, Ours), find(sums, q, n, Ceiling), find(sums, q, n, Stock)
			r := func(a, b *Summary, f func(*Summary) float64) string {
				if a == nil || b == nil {
					return "–"
				}
				return ratio(f(a), f(b))
			}
			tp := func(s *Summary) float64 { return s.Throughput }
			p99 := func(s *Summary) float64 { return s.P99 }
			floor := "–"
			if q && o != nil && quotaFloor(n) > 0 {
				floor = ratio(o.ScaleUp, quotaFloor(n))
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", onOff(q), n,
				r(o, c, tp), r(o, s, tp), r(o, c, p99), r(o, s, p99),
				r(o, s, func(s *Summary) float64 { return s.CallsPerPodUp }),
				r(o, s, func(s *Summary) float64 { return s.SteadyPerMinute }),
				r(o, s, func(s *Summary) float64 { return s.ScaleDown }),
				r(o, s, func(s *Summary) float64 { return s.CallsPerPodDown }),
				r(o, s, func(s *Summary) float64 { return s.PeakRSSMiB }),
				r(o, s, func(s *Summary) float64 { return s.PropP99 }), floor)
		}
	}
}

func propagationTable(w io.Writer, sums []Summary) {
	fmt.Fprintln(w, "| quotas | pods | provider | pods restarted | status changed | p50 s | p99 s |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|")
	for _, s := range sums {
		if s.Provider == Ceiling || s.Finished == 0 {
			fmt.Fprintf(w, "| %s | %d | %s | – | – | – | – |\n", onOff(s.Quotas), s.Pods, s.Provider)
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %s | %d | %d | %s | %s |\n", onOff(s.Quotas), s.Pods, s.Provider,
			s.PropSample, s.PropSeen, num(s.PropP50, 2), num(s.PropP99, 2))
	}
}

func callsTable(w io.Writer, sums []Summary) {
	fmt.Fprintln(w, "| quotas | pods | provider | action | scale-up calls/pod | steady calls/min | steady % of the quota | scale-down calls/pod |")
	fmt.Fprintln(w, "|---|---:|---|---|---:|---:|---:|---:|")
	for _, s := range sums {
		if s.Finished == 0 {
			fmt.Fprintf(w, "| %s | %d | %s | – | – | – | – | – |\n", onOff(s.Quotas), s.Pods, s.Provider)
			continue
		}
		actions := map[string]bool{}
		for _, m := range []map[string]float64{s.CallsUp, s.CallsSteady, s.CallsDown} {
			for a := range m {
				actions[a] = true
			}
		}
		names := make([]string, 0, len(actions))
		for a := range actions {
			names = append(names, a)
		}
		slices.Sort(names)
		if len(names) == 0 {
			fmt.Fprintf(w, "| %s | %d | %s | (none) | 0 | 0 | – | 0 |\n", onOff(s.Quotas), s.Pods, s.Provider)
		}
		for _, a := range names {
			share := "–"
			if q, ok := readQuotaPerMinute[a]; ok {
				share = num(perMinute(s.CallsSteady[a], s.SteadySeconds)/q*100, 1)
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", onOff(s.Quotas), s.Pods, s.Provider, a,
				num(s.CallsUp[a]/float64(s.Pods), 3), num(perMinute(s.CallsSteady[a], s.SteadySeconds), 1), share,
				num(s.CallsDown[a]/float64(s.Pods), 3))
		}
	}
}

func resourcesTable(w io.Writer, sums []Summary) {
	fmt.Fprintln(w, "| quotas | pods | provider | RSS when Running MiB | peak RSS MiB | CPU s | pod updates until Running |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|")
	for _, s := range sums {
		if s.Finished == 0 {
			fmt.Fprintf(w, "| %s | %d | %s | – | – | – | – |\n", onOff(s.Quotas), s.Pods, s.Provider)
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", onOff(s.Quotas), s.Pods, s.Provider,
			num(s.RSSAfterUpMiB, 0), num(s.PeakRSSMiB, 0), num(s.CPU, 1), num(s.UpdatesUntilRunning, 2))
	}
}

// num formats v with prec decimals; NaN (nothing finished) as "–".
func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// readQuotaPerMinute are ECI's documented per-minute quotas of the read
// actions a provider calls while its pods run (docs/design.md, "Quotas").
var readQuotaPerMinute = map[string]float64{
	"DescribeContainerGroups":           2000,
	"DescribeContainerGroupStatus":      10000,
	"DescribeContainerGroupEvents":      10000,
	"DescribeRegions":                   10000,
	"DescribeContainerGroupMetric":      2000,
	"DescribeMultiContainerGroupMetric": 2000,
}

func perMinute(calls, seconds float64) float64 {
	if seconds <= 0 {
		return math.NaN()
	}
	return calls / seconds * 60
}
