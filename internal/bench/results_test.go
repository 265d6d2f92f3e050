package bench

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
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
	out := "open loop at 100 req/s, 2s per phase\n" +
		"BenchmarkAdmissionLatency-2   \t       1\t9812345678 ns/op\t 1.50 100rps-no-webhook-p50-ms\t 2.00 100rps-no-op-webhook-1-p50-ms\t 2.40 100rps-no-op-webhook-2-p50-ms\t 2.60 100rps-eci-vnode-webhook-1-p50-ms\t 3.00 100rps-eci-vnode-webhook-2-p50-ms\n" +
		"PASS\n"
	w := &WebhookResult{Metrics: benchMetrics(out, "BenchmarkAdmissionLatency")}
	if got := w.Metrics["100rps-no-webhook-p50-ms"]; got != 1.5 {
		t.Fatalf("no-webhook p50 = %v; want 1.5 (%v)", got, w.Metrics)
	}
	if r := w.webhookRates(); len(r) != 1 || r[0] != 100 {
		t.Fatalf("rates %v; want [100]", r)
	}
	if n, o := w.phaseMedian(100, "no-op-webhook", "p50-ms"), w.phaseMedian(100, "eci-vnode-webhook", "p50-ms"); n != 2.2 || o != 2.8 {
		t.Fatalf("medians no-op %v, eci-vnode %v; want 2.2 and 2.8", n, o)
	}
	var b bytes.Buffer
	webhookSection(&b, w)
	if !strings.Contains(b.String(), "| 100 | 1.50 | 2.20 | 2.80 | 1.27 |") {
		t.Fatalf("webhook table:\n%s", b.String())
	}
}

func TestWebhookCallTimesAreMediansOfTheAPIServersTable(t *testing.T) {
	w := &WebhookResult{Output: strings.Join([]string{
		"open loop at 250 req/s, 10s per phase, pod CREATE with dryRun=All",
		"phase                  webhook                          type         calls  mean ms  <= 5 ms          p99",
		"no-op webhook #1       noop.bench.eci-vnode.io          admit          500     0.80   100.0%       ≤ 5 ms",
		"eci-vnode webhook #1   pods.profile.eci-vnode.io        admit          500     1.60    96.5%      ≤ 25 ms",
		"no-op webhook #2       noop.bench.eci-vnode.io          admit          500     0.60   100.0%       ≤ 5 ms",
		"eci-vnode webhook #2   pods.profile.eci-vnode.io        admit          500     1.20   100.0%       ≤ 5 ms",
	}, "\n")}
	ct := w.callTimes()[250]
	if ct["no-op admit"] != 0.7 || ct["eci-vnode admit"] != 1.4 {
		t.Fatalf("call times %v; want no-op admit 0.7 and eci-vnode admit 1.4", ct)
	}
}
