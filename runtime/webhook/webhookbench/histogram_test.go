package webhookbench

import (
	"testing"
	"time"
)

func TestHistogramOfOnePhase(t *testing.T) {
	bounds := []float64{0.005, 0.025, 0.1}
	before := map[call]histogram{
		{"pods.profile.eci-vnode.io", "admit"}: {bounds: bounds, cum: []uint64{90, 95, 100}, count: 100, sum: 0.5},
	}
	after := map[call]histogram{
		{"pods.profile.eci-vnode.io", "admit"}:    {bounds: bounds, cum: []uint64{1080, 1095, 1100}, count: 1100, sum: 3.5},
		{"pods.guard.eci-vnode.io", "validating"}: {bounds: bounds, cum: []uint64{10, 10, 10}, count: 10, sum: 0.01},
		{"idle.example", "admit"}:                 {bounds: bounds, cum: []uint64{0, 0, 0}},
	}
	keys, phase := callsSince(before, after)
	if len(keys) != 2 || keys[0].name != "pods.guard.eci-vnode.io" || keys[1].name != "pods.profile.eci-vnode.io" {
		t.Fatalf("webhooks called in the phase: %v", keys)
	}
	mutate := phase[keys[1]]
	if mutate.count != 1000 || mutate.sum != 3 {
		t.Errorf("phase count/sum = %d/%v, want 1000/3", mutate.count, mutate.sum)
	}
	if got := mutate.mean(); got != 3*time.Millisecond {
		t.Errorf("mean %v, want 3ms", got)
	}
	if got := mutate.shareWithin(0.005); got != 0.99 {
		t.Errorf("share within 5 ms = %v, want 0.99", got)
	}
	// 990 of 1000 calls within 5 ms: the median is at rank 500 of 990 in [0, 5 ms].
	if got, want := mutate.quantile(0.5), seconds(0.005*500/990); got != want {
		t.Errorf("median %v, want %v", got, want)
	}
	// p99 is rank 990, the last call of the first bucket; p99.5 lies halfway into (5, 25] ms.
	if got := mutate.quantile(0.99); got != 5*time.Millisecond {
		t.Errorf("p99 %v, want 5ms", got)
	}
	if got, want := mutate.quantile(0.995), seconds(0.005+0.020*0.5); got != want {
		t.Errorf("p99.5 %v, want %v", got, want)
	}
	slow := histogram{bounds: bounds, cum: []uint64{0, 0, 0}, count: 4, sum: 1}
	if got := slow.quantile(0.5); got != 100*time.Millisecond {
		t.Errorf("beyond the last bucket: %v, want the last bound", got)
	}
	both := mutate.add(mutate)
	if both.count != 2000 || both.cum[0] != 1980 || both.mean() != mutate.mean() || both.quantile(0.5) != mutate.quantile(0.5) {
		t.Errorf("two phases merged: %+v", both)
	}
}

func TestCompareRatios(t *testing.T) {
	c := compare(Timing{Mean: 2 * time.Millisecond, Median: time.Millisecond, P99: 4 * time.Millisecond},
		Timing{Mean: 3 * time.Millisecond, Median: time.Millisecond, P99: 2 * time.Millisecond})
	if c.MeanRatio != 1.5 || c.MedianRatio != 1 || c.P99Ratio != 0.5 {
		t.Errorf("ratios %+v", c)
	}
	if got := durations([]time.Duration{5, 1, 3, 2, 4}); got.Median != 3 || got.P99 != 5 || got.Mean != 3 || got.Count != 5 {
		t.Errorf("client timing %+v", got)
	}
}
