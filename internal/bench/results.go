package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// Duration is a time.Duration that reads as seconds in JSON.
type Duration time.Duration

func dur(d time.Duration) Duration { return Duration(d) }

// Seconds is d in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// MarshalJSON writes seconds.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Seconds()) }

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// RunResult is what one scenario measured.
type RunResult struct {
	scenario
	// Outcome is "ok", or what kept the scenario from finishing.
	Outcome string `json:"outcome"`
	// Running is how many pods were Running when the scale-up ended.
	Running int `json:"running"`
	// ScaleUp is from the Deployment's creation until the last pod was seen Running.
	ScaleUp    Duration `json:"scaleUpSeconds"`
	Throughput float64  `json:"podsPerSecond"`
	// P50, P95, P99 of the create-to-Running latencies, in seconds.
	P50 float64 `json:"latencyP50"`
	P95 float64 `json:"latencyP95"`
	P99 float64 `json:"latencyP99"`
	// RunningAt: seconds from the Deployment's creation until each pod was
	// Running, sorted; Latencies: each pod's create-to-Running, sorted.
	RunningAt []float64 `json:"runningAt"`
	Latencies []float64 `json:"latencies"`
	// UpdatesUntilRunning is the mean number of updates of a pod object
	// until it was Running (the scheduler's binding and the provider's
	// status writes), from the harness's watch.
	UpdatesUntilRunning float64 `json:"updatesUntilRunning"`
	// Steady is how long the pods ran untouched; CallsSteady are the ECI
	// calls of that window.
	Steady Duration `json:"steadySeconds"`
	// Status propagation: of PropagationSample restarted instances,
	// PropagationSeen pods showed a status change; p50 and p99 of the
	// times, in seconds. PropagationNote says what went wrong, if anything.
	PropagationSample int     `json:"propagationSample,omitempty"`
	PropagationSeen   int     `json:"propagationSeen,omitempty"`
	PropagationP50    float64 `json:"propagationP50,omitempty"`
	PropagationP99    float64 `json:"propagationP99,omitempty"`
	PropagationNote   string  `json:"propagationNote,omitempty"`
	// ScaleDown is from replicas 0 until the last pod object was gone.
	ScaleDown        Duration `json:"scaleDownSeconds"`
	DeleteThroughput float64  `json:"deletesPerSecond"`
	// ECI calls by action in each phase; "<action> (throttled)" counts the
	// calls of that action ECI refused as throttled.
	CallsUp     map[string]int `json:"callsUp"`
	CallsSteady map[string]int `json:"callsSteady"`
	CallsDown   map[string]int `json:"callsDown"`
	// Provider process: RSS at the end of the scale-up, peak RSS (VmHWM)
	// and CPU seconds over the whole scenario.
	RSSAfterUp int64   `json:"rssAfterUpBytes"`
	PeakRSS    int64   `json:"peakRssBytes"`
	CPUSeconds float64 `json:"cpuSeconds"`
}

func (r RunResult) ok() bool { return r.Outcome == "ok" }

func (r RunResult) oneLine() string {
	if !r.ok() {
		return "did not finish: " + r.Outcome
	}
	return fmt.Sprintf("up %.1fs (%.1f pods/s, p50 %.2fs p99 %.2fs, %.2f calls/pod), down %.1fs, peak RSS %.0f MiB, CPU %.1fs",
		r.ScaleUp.Seconds(), r.Throughput, r.P50, r.P99, perPod(total(r.CallsUp), r.Pods), r.ScaleDown.Seconds(), mib(r.PeakRSS), r.CPUSeconds)
}

// Results is a whole run.
type Results struct {
	Settings Settings    `json:"settings"`
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Runs     []RunResult `json:"runs"`
	// SteadyHours are ours' quiet hours on the fake clock, one per pod
	// count, when they ran.
	SteadyHours []SteadyHourResult `json:"steadyHours,omitempty"`
	// Webhook is the profile webhook's admission benchmark, when it ran.
	Webhook *WebhookResult `json:"webhook,omitempty"`

	charts []string
}

// Settings are the options a run used, as the report states them.
type Settings struct {
	Pods            []int    `json:"pods"`
	Providers       []string `json:"providers"`
	Quotas          []bool   `json:"quotas"`
	Repeat          int      `json:"repeat"`
	CallLatency     Duration `json:"callLatencySeconds"`
	Lifecycle       string   `json:"lifecycle"`
	Steady          Duration `json:"steadySeconds"`
	ControlPlaneQPS float32  `json:"controlPlaneQps"`
	StatusInterval  Duration `json:"stockStatusIntervalSeconds"`
	PropagationN    int      `json:"propagationSample"`
	OursArgs        []string `json:"oursArgs,omitempty"`
	CPUs            int      `json:"cpus"`
	Revision        string   `json:"revision,omitempty"`
}

func settingsOf(o Options) Settings {
	lc := o.Lifecycle
	return Settings{
		Pods: o.Pods, Providers: o.Providers, Quotas: o.Quotas, Repeat: o.Repeat,
		CallLatency: dur(max(o.CallLatency, 0)),
		Lifecycle:   lifecycleText(*lc),
		Steady:      dur(o.Steady), PropagationN: o.PropagationSample, OursArgs: o.OursArgs, ControlPlaneQPS: o.ControlPlaneQPS, StatusInterval: dur(o.StatusInterval),
		CPUs: numCPU(), Revision: revision(),
	}
}

// Summary is the median of the repetitions of one (quotas, pods, provider).
type Summary struct {
	Provider string
	Pods     int
	Quotas   bool
	// Finished counts the repetitions that finished; medians are over them.
	Finished, Runs                 int
	ScaleUp, Throughput            float64
	P50, P95, P99                  float64
	CallsPerPodUp, CallsPerPodDown float64
	SteadyPerMinute, SteadySeconds float64
	ScaleDown, DeleteThroughput    float64
	PeakRSSMiB, RSSAfterUpMiB, CPU float64
	Throttled                      float64
	UpdatesUntilRunning            float64
	// Status propagation medians over the runs that measured it (NaN: none).
	PropP50, PropP99                float64
	PropSample, PropSeen            int
	CallsUp, CallsSteady, CallsDown map[string]float64 // medians per action
	RunningAt                       []float64          // of the repetition with the median scale-up
	Latencies                       []float64          // of the same repetition
}

// key identifies a Summary.
type key struct {
	quotas bool
	pods   int
	prov   string
}

// summaries groups the runs and takes medians, in Settings order.
func (res *Results) summaries() []Summary {
	groups := map[key][]RunResult{}
	for _, r := range res.Runs {
		k := key{r.Quotas, r.Pods, r.Provider}
		groups[k] = append(groups[k], r)
	}
	var out []Summary
	for _, q := range res.Settings.Quotas {
		for _, n := range res.Settings.Pods {
			for _, p := range res.Settings.Providers {
				runs := groups[key{q, n, p}]
				if len(runs) == 0 {
					continue
				}
				out = append(out, summarize(p, n, q, runs))
			}
		}
	}
	return out
}

func summarize(p string, n int, q bool, runs []RunResult) Summary {
	s := Summary{Provider: p, Pods: n, Quotas: q, Runs: len(runs)}
	var ok []RunResult
	for _, r := range runs {
		if r.ok() {
			ok = append(ok, r)
		}
	}
	s.Finished = len(ok)
	if len(ok) == 0 {
		return s // summaryTable shows – for every figure
	}
	m := func(f func(RunResult) float64) float64 {
		v := make([]float64, len(ok))
		for i, r := range ok {
			v[i] = f(r)
		}
		return median(v)
	}
	s.ScaleUp = m(func(r RunResult) float64 { return r.ScaleUp.Seconds() })
	s.Throughput = m(func(r RunResult) float64 { return r.Throughput })
	s.P50 = m(func(r RunResult) float64 { return r.P50 })
	s.P95 = m(func(r RunResult) float64 { return r.P95 })
	s.P99 = m(func(r RunResult) float64 { return r.P99 })
	s.CallsPerPodUp = m(func(r RunResult) float64 { return perPod(total(r.CallsUp), n) })
	s.CallsPerPodDown = m(func(r RunResult) float64 { return perPod(total(r.CallsDown), n) })
	s.SteadyPerMinute = m(func(r RunResult) float64 { return float64(total(r.CallsSteady)) / r.Steady.Seconds() * 60 })
	s.SteadySeconds = m(func(r RunResult) float64 { return r.Steady.Seconds() })
	s.ScaleDown = m(func(r RunResult) float64 { return r.ScaleDown.Seconds() })
	s.DeleteThroughput = m(func(r RunResult) float64 { return r.DeleteThroughput })
	s.PeakRSSMiB = m(func(r RunResult) float64 { return mib(r.PeakRSS) })
	s.RSSAfterUpMiB = m(func(r RunResult) float64 { return mib(r.RSSAfterUp) })
	s.CPU = m(func(r RunResult) float64 { return r.CPUSeconds })
	s.UpdatesUntilRunning = m(func(r RunResult) float64 { return r.UpdatesUntilRunning })
	s.Throttled = m(func(r RunResult) float64 {
		return float64(throttled(r.CallsUp) + throttled(r.CallsSteady) + throttled(r.CallsDown))
	})
	s.PropP50, s.PropP99 = math.NaN(), math.NaN()
	var p50s, p99s []float64
	for _, r := range ok {
		s.PropSample += r.PropagationSample
		s.PropSeen += r.PropagationSeen
		if r.PropagationSeen > 0 {
			p50s, p99s = append(p50s, r.PropagationP50), append(p99s, r.PropagationP99)
		}
	}
	if len(p50s) > 0 {
		s.PropP50, s.PropP99 = median(p50s), median(p99s)
	}
	s.CallsUp = medianCalls(ok, func(r RunResult) map[string]int { return r.CallsUp })
	s.CallsSteady = medianCalls(ok, func(r RunResult) map[string]int { return r.CallsSteady })
	s.CallsDown = medianCalls(ok, func(r RunResult) map[string]int { return r.CallsDown })
	mid := slices.Clone(ok)
	slices.SortFunc(mid, func(a, b RunResult) int { return int(a.ScaleUp - b.ScaleUp) })
	s.RunningAt, s.Latencies = mid[len(mid)/2].RunningAt, mid[len(mid)/2].Latencies
	return s
}

func medianCalls(runs []RunResult, f func(RunResult) map[string]int) map[string]float64 {
	actions := map[string]bool{}
	for _, r := range runs {
		for a := range f(r) {
			actions[a] = true
		}
	}
	out := map[string]float64{}
	for a := range actions {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = float64(f(r)[a])
		}
		out[a] = median(v)
	}
	return out
}

// total is the number of calls, throttled ones included once (they are in
// their action's count already).
func total(calls map[string]int) int {
	n := 0
	for a, c := range calls {
		if !isThrottledKey(a) {
			n += c
		}
	}
	return n
}

func throttled(calls map[string]int) int {
	n := 0
	for a, c := range calls {
		if isThrottledKey(a) {
			n += c
		}
	}
	return n
}

func isThrottledKey(a string) bool {
	return len(a) > len(throttledSuffix) && a[len(a)-len(throttledSuffix):] == throttledSuffix
}

func perPod(calls, pods int) float64 {
	if pods == 0 {
		return 0
	}
	return float64(calls) / float64(pods)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentiles of sorted values, nearest rank.
func percentiles(sorted []float64) (p50, p95, p99 float64) {
	at := func(p float64) float64 {
		if len(sorted) == 0 {
			return 0
		}
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return sorted[min(max(i, 0), len(sorted)-1)]
	}
	return at(0.50), at(0.95), at(0.99)
}

// quotaFloor is the least time the documented CreateContainerGroup bucket
// (burst 100, 20 a second) allows for n creates.
func quotaFloor(n int) float64 {
	if n <= 100 {
		return 0
	}
	return float64(n-100) / 20
}

func lifecycleText(lc emulator.LifecycleConfig) string {
	if lc == (emulator.LifecycleConfig{}) {
		return "of the emulator's defaults (scheduling 2s, image pull 3s, container start 1s, terminating up to 2s)"
	}
	return fmt.Sprintf("scheduling %s, image pull %s, container start %s, terminating %s",
		lc.Scheduling, lc.ImagePull, lc.ContainerStart, lc.Terminating)
}
