package eci

import (
	"context"
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
			for lim.AllowN(now, 1) {
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

func TestCreateDeleteLimitFitsBothDocumentedForms(t *testing.T) {
	l := DefaultRateLimits()["CreateContainerGroup"]
	if l.Burst >= 100 || l.PerSecond >= 20 {
		t.Errorf("no margin below the documented bucket (100, 20/s): %+v", l)
	}
	if float64(l.Burst)+l.PerSecond*60 > 1000 {
		t.Errorf("exceeds the documented 1000/min: %+v", l)
	}
	if DefaultRateLimits()["DeleteContainerGroup"] != l {
		t.Error("delete should match create")
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
