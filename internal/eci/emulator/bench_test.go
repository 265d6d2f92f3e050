package emulator

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDescribeStatusWith1000Groups measures a status poll of a
// region holding 1000 running groups, the hot path of the runtime.
func BenchmarkDescribeStatusWith1000Groups(b *testing.B) {
	clk := NewFakeClock(t0)
	e := StartForTest(b, Config{Clock: clk, RateLimits: RateLimitConfig{Disabled: true}, Quotas: QuotaConfig{MaxCPU: -1}, Logf: func(string, ...any) {}})
	c := newClient(b, e)
	for i := 0; i < 1000; i++ {
		createGroup(b, c, e, fmt.Sprintf("bench-%d", i), map[string]string{"Tag.1.Key": "node", "Tag.1.Value": fmt.Sprint(i % 10)})
	}
	clk.Advance(time.Minute)
	q := map[string]string{"Tag.1.Key": "node", "Tag.1.Value": "3", "Limit": "200"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mustAPI(b, c, e, "DescribeContainerGroupStatus", q, nil)
	}
	b.StopTimer()
	st := e.Calls()["DescribeContainerGroupStatus"]
	b.ReportMetric(float64(st.P99.Microseconds()), "p99-µs")
}

func BenchmarkCreateContainerGroup(b *testing.B) {
	e := StartForTest(b, Config{Clock: NewFakeClock(t0), RateLimits: RateLimitConfig{Disabled: true}, Quotas: QuotaConfig{MaxCPU: -1}, Logf: func(string, ...any) {}})
	c := newClient(b, e)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		createGroup(b, c, e, "bench", nil)
	}
}
