package eci

import (
	"context"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a client-side token bucket for one action: Burst calls at once,
// refilled at PerSecond. A Limit with PerSecond <= 0 is unlimited.
type Limit struct {
	PerSecond float64
	Burst     int
}

// PerMinute returns a bucket that can never exceed n calls in any 60-second
// window, which is how the documented "n calls per minute" quotas read:
// a burst of n/10 plus a refill of 0.9·n per minute. (A bucket of burst n
// refilled at n/min would allow up to 2n calls in a minute's window.)
func PerMinute(n int) Limit {
	burst := n / 10
	if burst < 1 {
		burst = 1
	}
	return Limit{PerSecond: float64(n-burst) / 60, Burst: burst}
}

// undocumentedLimit applies to actions without a documented quota.
func undocumentedLimit() Limit { return PerMinute(1000) }

// DefaultRateLimits returns the client-side limits, chosen to stay under
// the documented per-account quotas (docs/design.md, "ECI API facts",
// "Quotas"). The map is a fresh copy.
//
// CreateContainerGroup and DeleteContainerGroup are documented both as a
// token bucket (burst 100, refill 20/s) and as 1000 calls per 60 s; the
// limit below (burst 90, refill 15/s) satisfies both: at most
// 90 + 15·60 = 990 calls in any minute, and never above the bucket.
//
// Every limit keeps a margin below the server's bucket (a smaller burst and
// a slower refill) because the client admits a call before it travels:
// calls admitted evenly can arrive bunched after uneven network and
// scheduling delays, and the server counts arrivals. Calls admitted within
// a span S arrive within S+J (J = spread of delivery delays), so a client
// bucket (b, r) under a server bucket (B, R) is safe while
// b + r·J <= B, i.e. J <= (B-b)/r: 0.67 s for create/delete, and about
// 54 s for the per-minute limits.
// Quotas are per account, summed over all clients; a process that shares
// an account with others should lower these through Config.RateLimits.
func DefaultRateLimits() map[string]Limit {
	createDelete := Limit{PerSecond: 15, Burst: 90}
	return map[string]Limit{
		"CreateContainerGroup":              createDelete,
		"DeleteContainerGroup":              createDelete,
		"DescribeContainerGroups":           PerMinute(2000),
		"DescribeContainerGroupStatus":      PerMinute(10000),
		"DescribeContainerGroupEvents":      PerMinute(10000),
		"DescribeContainerGroupMetric":      PerMinute(2000),
		"DescribeMultiContainerGroupMetric": PerMinute(2000),
		"DescribeContainerGroupPrice":       PerMinute(1000),
		"DescribeRegions":                   PerMinute(10000),
		"ExecContainerCommand":              PerMinute(500),
		"DescribeContainerLog":              PerMinute(500),
		"RestartContainerGroup":             PerMinute(1000),
		"UpdateContainerGroup":              PerMinute(1000),
		"TagResources":                      PerMinute(1000),
		"UntagResources":                    PerMinute(1000),
		"ListTagResources":                  PerMinute(1000),
		"CreateImageCache":                  PerMinute(200),
	}
}

// limiterSet holds one token bucket per action. The map is built once in
// New and only read afterwards; the limiters synchronise themselves.
type limiterSet struct {
	byAction map[string]*rate.Limiter
	fallback Limit
}

func newLimiterSet(limits map[string]Limit, actions []string) *limiterSet {
	if limits == nil {
		return nil
	}
	ls := &limiterSet{byAction: map[string]*rate.Limiter{}, fallback: undocumentedLimit()}
	for _, a := range actions {
		l, ok := limits[a]
		if !ok {
			l = ls.fallback
		}
		ls.byAction[a] = newRateLimiter(l)
	}
	// Limits configured for actions this client does not know still apply
	// if such an action is ever called through the generic path.
	for a, l := range limits {
		if _, ok := ls.byAction[a]; !ok {
			ls.byAction[a] = newRateLimiter(l)
		}
	}
	return ls
}

func newRateLimiter(l Limit) *rate.Limiter {
	if l.PerSecond <= 0 || math.IsInf(l.PerSecond, 1) {
		return rate.NewLimiter(rate.Inf, 0)
	}
	b := l.Burst
	if b < 1 {
		b = 1
	}
	return rate.NewLimiter(rate.Limit(l.PerSecond), b)
}

// wait blocks until action may be called and reports how long it waited.
// It fails at once if the wait would outlast ctx's deadline.
func (ls *limiterSet) wait(ctx context.Context, action string) (time.Duration, error) {
	if ls == nil {
		return 0, nil
	}
	lim := ls.byAction[action]
	if lim == nil {
		return 0, nil // every known action has a limiter; see newLimiterSet
	}
	start := time.Now()
	err := lim.Wait(ctx)
	return time.Since(start), err
}
