package bench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook/webhookbench"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = float64(i + 1) // 1..100
	}
	p50, p95, p99 := percentiles(v)
	if p50 != 50 || p95 != 95 || p99 != 99 {
		t.Fatalf("percentiles of 1..100 = %v, %v, %v; want 50, 95, 99", p50, p95, p99)
	}
	if p50, _, p99 := percentiles([]float64{7}); p50 != 7 || p99 != 7 {
		t.Fatalf("one value: p50 %v p99 %v; want 7", p50, p99)
	}
}

func TestMedianOfEvenCountAveragesTheMiddlePair(t *testing.T) {
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Fatalf("median = %v; want 2.5", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Fatal("median of nothing should be NaN, shown as –")
	}
}

func TestQuotaFloorIsTheCreateBucketsTime(t *testing.T) {
	for n, want := range map[int]float64{50: 0, 100: 0, 1000: 45, 5000: 245} {
		if got := quotaFloor(n); got != want {
			t.Errorf("quotaFloor(%d) = %v; want %v", n, got, want)
		}
	}
}

func TestCallCountsKeepThrottledCallsApartAndCountThemOnce(t *testing.T) {
	calls := callCounts(map[string]emulator.ActionStats{
		"CreateContainerGroup":    {Count: 12, ByCode: map[string]int{"Success": 10, "Throttling.User": 2}},
		"DescribeContainerGroups": {Count: 3, ByCode: map[string]int{"Success": 3}},
	})
	if calls["CreateContainerGroup"+throttledSuffix] != 2 {
		t.Fatalf("throttled creates = %d; want 2 (%v)", calls["CreateContainerGroup"+throttledSuffix], calls)
	}
	if total(calls) != 15 || throttled(calls) != 2 {
		t.Fatalf("total %d throttled %d; want 15 and 2", total(calls), throttled(calls))
	}
}

func TestRatiosOfAMissingProviderShowADash(t *testing.T) {
	res := &Results{Settings: Settings{Pods: []int{10}, Providers: []string{Ours, Stock}, Quotas: []bool{false}},
		Runs: []RunResult{
			{scenario: scenario{Provider: Ours, Pods: 10, Rep: 1}, Outcome: "ok", Throughput: 4, P99: 1, Steady: dur(1e9)},
			{scenario: scenario{Provider: Stock, Pods: 10, Rep: 1}, Outcome: "5 of 10 pods Running after 2m"},
		}}
	var b bytes.Buffer
	res.WriteSummary(&b)
	row := ""
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "| off | 10 |") && strings.Count(l, "|") > 12 && !strings.Contains(l, Ours) {
			row = l
		}
	}
	if row == "" || strings.Contains(row, "NaN") || !strings.Contains(row, "| – |") {
		t.Fatalf("ratio row with an unfinished stock should show – and no NaN:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "| off | 10 | stock | 0/1 | – |") {
		t.Fatalf("the unfinished stock's summary row should show 0/1 and –, not zeros:\n%s", b.String())
	}
}

func TestWebhookBenchMetricsAreReadFromTheResultLine(t *testing.T) {
	out := "webhookbench: 100 req/s, none #1: client p50 2.6ms, 0 errors, 100.0 req/s achieved\n" +
		"BenchmarkAdmissionLatency-2   \t       1\t9812345678 ns/op\t 1.10 100rps-client-p50-ratio\t 1.41 100rps-mutating-mean-ratio\t 0.99 100rps-mutating-vs-patching-noop-ratio\n" +
		"PASS\n"
	m := benchMetrics(out, "BenchmarkAdmissionLatency")
	if m["100rps-mutating-mean-ratio"] != 1.41 || m["100rps-mutating-vs-patching-noop-ratio"] != 0.99 || len(m) != 4 { // and ns/op
		t.Fatalf("metrics %v", m)
	}
}

func TestWebhookSectionShowsTheMutatingCallRatiosAndSurvivesJSON(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	timing := func(mean float64) webhookbench.Timing { return webhookbench.Timing{Count: 1000, Mean: ms(mean)} }
	w := &WebhookResult{Result: &webhookbench.Result{KubernetesVersion: "v1.37.2", Phase: 10 * time.Second, Rates: []webhookbench.Rate{{
		Rate:                  100,
		Admit:                 webhookbench.Comparison{Noop: timing(0.9), ECIVNode: timing(1.3), MeanRatio: 1.3 / 0.9},
		Validating:            webhookbench.Comparison{Noop: timing(0.9), ECIVNode: timing(0.9), MeanRatio: 1},
		AdmitRoundRatios:      []float64{1.4, 1.5},
		AdmitMedianRoundRatio: 1.45,
		AdmitVsPatchingNoop:   webhookbench.Comparison{Noop: timing(1.3), ECIVNode: timing(1.3), MeanRatio: 1},
		Handler:               map[string]time.Duration{webhookbench.WebhookNoop: 50 * time.Microsecond, webhookbench.WebhookECIVNode: 52 * time.Microsecond},
	}}}}
	var b bytes.Buffer
	webhookSection(&b, w)
	if !strings.Contains(b.String(), "| 100 | 0.90 | 1.30 | 1.44 | 1.40, 1.50 (1.45) | 1.30 | 1.00 | 1.00 |") {
		t.Fatalf("webhook table:\n%s", b.String())
	}
	raw, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var back WebhookResult
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	webhookSection(&again, &back)
	if again.String() != b.String() {
		t.Fatalf("the section rendered from JSON differs:\n%s\n---\n%s", again.String(), b.String())
	}
}
