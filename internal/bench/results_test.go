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
