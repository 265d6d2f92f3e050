package eci

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// simulate counts how many calls a limiter admits in each sliding 60 s window
// when callers hammer it, using the limiter's own clock arithmetic.
func TestPerMinuteNeverExceedsQuotaInAnyWindow(t *testing.T) {
	for _, n := range []int{200, 500, 1000, 2000, 10000} {
		l := PerMinute(n)
		lim := newRateLimiter(l)
		start := time.Unix(0, 0)
		var admitted []time.Time
		// Try every millisecond for three minutes; admit when allowed.
		for ms := 0; ms < 180000; ms++ {
			now := start.Add(time.Duration(ms) * time.Millisecond)
			for {
				if _, ok := lim.reserve(now, now); !ok {
					break
				}
				admitted = append(admitted, now)
			}
		}
		// Max over all 60 s windows.
		maxInWindow, j := 0, 0
		for i := range admitted {
			for admitted[i].Sub(admitted[j]) >= time.Minute {
				j++
			}
			if c := i - j + 1; c > maxInWindow {
				maxInWindow = c
			}
		}
		if maxInWindow > n {
			t.Errorf("PerMinute(%d) admitted %d calls within 60 s", n, maxInWindow)
		}
		if maxInWindow < n*95/100 {
			t.Errorf("PerMinute(%d) only admits %d per minute; too conservative", n, maxInWindow)
		}
	}
}

// A scale-up of 3000 pods asks for every create at once. The default limit
// must keep the calls under both documented forms of the quota, ECI's
// bucket (burst 100, 20/s) even when each call's delivery is delayed by up
// to a quarter of a second more than another's, and 1000 calls in any
// minute, and still create the first 1000 within 1.1 × the bucket's floor
// ((1000 - 100) / 20 = 45 s).
func TestCreateDeleteLimitFitsBothDocumentedFormsAndTheBucketsPace(t *testing.T) {
	l := DefaultRateLimits()["CreateContainerGroup"]
	if DefaultRateLimits()["DeleteContainerGroup"] != l {
		t.Error("delete should match create")
	}
	lim := newRateLimiter(l)
	start := time.Unix(0, 0)
	at := make([]time.Time, 3000)
	for i := range at {
		var ok bool
		if at[i], ok = lim.reserve(start, time.Time{}); !ok {
			t.Fatalf("call %d found no place", i)
		}
	}
	if took := at[999].Sub(start); took > 49500*time.Millisecond {
		t.Errorf("the 1000th create goes %s after the first; want within 1.1 × 45 s", took)
	}
	for i := 1000; i < len(at); i++ {
		if d := at[i].Sub(at[i-1000]); d < time.Minute {
			t.Fatalf("calls %d and %d are %s apart: 1001 calls within a minute", i-1000, i, d)
		}
	}
	// ECI's bucket counts arrivals: delay each call by 0 to 250 ms.
	rng := rand.New(rand.NewPCG(1, 2))
	arrivals := make([]time.Time, len(at))
	for i, a := range at {
		arrivals[i] = a.Add(time.Duration(rng.Int64N(int64(250 * time.Millisecond))))
	}
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	tokens, last := 100.0, start
	for i, a := range arrivals {
		tokens = min(100, tokens+a.Sub(last).Seconds()*20)
		last = a
		if tokens < 1 {
			t.Fatalf("call %d arrives at %s with ECI's bucket empty: throttled", i, a.Sub(start))
		}
		tokens--
	}
}

// The cap holds back calls the bucket would admit, and they keep their
// order; a call that could go only after its deadline fails at once and
// leaves its place free.
func TestPerMinuteCapHoldsCallsBackInOrder(t *testing.T) {
	lim := newRateLimiter(Limit{PerSecond: 1000, Burst: 10, PerMinuteCap: 5})
	start := time.Unix(0, 0)
	for range 5 {
		a, ok := lim.reserve(start, time.Time{})
		if !ok || !a.Equal(start) {
			t.Fatalf("call within the cap goes at %s (ok %v); want at once", a.Sub(start), ok)
		}
	}
	if a, ok := lim.reserve(start, start.Add(time.Second)); ok {
		t.Fatalf("the sixth call got a place at %s, before its deadline; want it refused", a.Sub(start))
	}
	a, ok := lim.reserve(start, time.Time{})
	if !ok || !a.Equal(start.Add(capWindow)) {
		t.Fatalf("the sixth call goes at %s; want %s, a window after the first", a.Sub(start), capWindow)
	}
	if b, _ := lim.reserve(start, time.Time{}); b.Before(a) {
		t.Fatalf("the seventh call goes at %s, before the sixth (%s)", b.Sub(start), a.Sub(start))
	}
}

func TestEveryActionHasALimiter(t *testing.T) {
	ls := newLimiterSet(DefaultRateLimits(), knownActions())
	for _, a := range knownActions() {
		if ls.byAction[a] == nil {
			t.Errorf("%s has no limiter", a)
		}
	}
	if _, err := ls.wait(context.Background(), "DescribeRegions"); err != nil {
		t.Fatal(err)
	}
	var none *limiterSet
	if d, err := none.wait(context.Background(), "X"); d != 0 || err != nil {
		t.Error("disabled limiter must not wait")
	}
}

func TestLimiterWaitHonoursDeadline(t *testing.T) {
	ls := newLimiterSet(map[string]Limit{"X": {PerSecond: 0.1, Burst: 1}}, []string{"X"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ls.wait(ctx, "X"); err != nil {
		t.Fatalf("first token is free: %v", err)
	}
	start := time.Now()
	if _, err := ls.wait(ctx, "X"); err == nil {
		t.Fatal("second call would wait 10 s, past the deadline; want an error")
	}
	// Sleeping until the deadline would take 5 s; failing at once takes microseconds.
	if time.Since(start) > 2*time.Second {
		t.Error("the limiter should fail at once instead of sleeping into the deadline")
	}
}
