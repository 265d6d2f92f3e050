package eci

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// RetryPolicy bounds how a call is retried. Only Throttled and Transient
// failures are retried (Class.Retryable); validation, auth, quota, stock and
// not-found answers are returned at once.
//
// Delays use exponential back-off with full jitter: before retry n (n = 1,
// 2, ...) the client sleeps a uniformly random duration in
// [0, min(MaxDelay, base·2^(n-1))), where base is ThrottleBaseDelay after a
// Throttled answer and BaseDelay otherwise. Full jitter spreads the retries
// of many clients that failed together (the runtime's poller and creates
// hit the same per-account quota), so they do not come back in lock-step.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts including the first
	// (default 5). 1 disables retries.
	MaxAttempts int
	// BaseDelay is the back-off base for transient failures (default 200ms).
	BaseDelay time.Duration
	// ThrottleBaseDelay is the base after a Throttled answer (default 1s):
	// flow control needs the bucket to refill, which takes longer.
	ThrottleBaseDelay time.Duration
	// MaxDelay caps a single sleep (default 10s).
	MaxDelay time.Duration
	// MaxElapsed caps the whole call, attempts and sleeps together (default
	// 60s): no retry starts if its sleep would end past this budget.
	MaxElapsed time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.ThrottleBaseDelay <= 0 {
		p.ThrottleBaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 10 * time.Second
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 60 * time.Second
	}
	return p
}

// ceiling is the upper bound of the jittered sleep before retry n (n ≥ 1).
func (p RetryPolicy) ceiling(n int, class Class) time.Duration {
	base := p.BaseDelay
	if class == ClassThrottled {
		base = p.ThrottleBaseDelay
	}
	// base·2^(n-1), computed in float to avoid overflow for large n.
	d := float64(base) * math.Pow(2, float64(n-1))
	if d > float64(p.MaxDelay) {
		return p.MaxDelay
	}
	return time.Duration(d)
}

// backoff returns the jittered sleep before retry n: uniform in
// [0, ceiling). u is a uniform random number in [0, 1).
func (p RetryPolicy) backoff(n int, class Class, u float64) time.Duration {
	return time.Duration(u * float64(p.ceiling(n, class)))
}

// jitter is a goroutine-safe uniform random source, one per Client.
type jitter struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newJitter(seed uint64) *jitter {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &jitter{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (j *jitter) float64() float64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rng.Float64()
}

// sleepCtx sleeps for d or until ctx is done, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
