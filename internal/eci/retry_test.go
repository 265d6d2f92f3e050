package eci

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffCeilingDoublesAndCaps(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond,
		3200 * time.Millisecond, 6400 * time.Millisecond, 10 * time.Second, 10 * time.Second}
	for i, w := range want {
		if got := p.ceiling(i+1, ClassTransient); got != w {
			t.Errorf("transient retry %d: ceiling %v, want %v", i+1, got, w)
		}
	}
	if got := p.ceiling(1, ClassThrottled); got != time.Second {
		t.Errorf("throttled base: %v", got)
	}
	if got := p.ceiling(3, ClassThrottled); got != 4*time.Second {
		t.Errorf("throttled retry 3: %v", got)
	}
	if got := p.ceiling(200, ClassTransient); got != 10*time.Second {
		t.Errorf("huge retry number must not overflow: %v", got)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	rng := rand.New(rand.NewPCG(42, 42))
	const n = 20000
	ceil := p.ceiling(3, ClassTransient) // 800ms
	var sum time.Duration
	buckets := make([]int, 4)
	for i := 0; i < n; i++ {
		d := p.backoff(3, ClassTransient, rng.Float64())
		if d < 0 || d >= ceil {
			t.Fatalf("delay %v outside [0, %v)", d, ceil)
		}
		sum += d
		buckets[int(d*4/ceil)]++
	}
	mean := sum / n
	if mean < ceil*45/100 || mean > ceil*55/100 {
		t.Errorf("mean %v; full jitter over [0,%v) should average about half", mean, ceil)
	}
	for i, b := range buckets {
		if b < n/4*85/100 || b > n/4*115/100 {
			t.Errorf("quarter %d holds %d of %d delays; want a uniform spread", i, b, n)
		}
	}
	// Reproducible with the same seed (jitter is per-client, seeded).
	a, b := newJitter(7), newJitter(7)
	for i := 0; i < 10; i++ {
		if a.float64() != b.float64() {
			t.Fatal("same seed, different jitter")
		}
	}
}

func TestRetryDefaults(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 1}.withDefaults()
	if p.MaxAttempts != 1 || p.MaxElapsed != time.Minute || p.BaseDelay != 200*time.Millisecond {
		t.Errorf("defaults: %+v", p)
	}
}
