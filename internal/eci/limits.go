package eci

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a client-side limit of one action: a token bucket of Burst
// calls at once, refilled at PerSecond, and, when PerMinuteCap is above 0,
// at most that many calls in any window of capWindow. A Limit with
// PerSecond <= 0 is unlimited.
type Limit struct {
	PerSecond    float64
	Burst        int
	PerMinuteCap int
}

// capWindow is the window of Limit.PerMinuteCap: a minute plus a second, so
// that calls admitted more than a minute apart still arrive more than a
// minute apart after uneven delays on the way (up to a second).
const capWindow = 61 * time.Second

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
// token bucket (burst 100, refill 20/s) and as 1000 calls per 60 s. The
// limit below keeps under both without giving up the bucket's speed: a
// bucket of burst 95 refilled at 19/s, and at most 1000 calls in any 61 s.
// A scale-up of 1000 pods then takes (1000 - 95) / 19 = 48 s, against the
// bucket's own floor of 45 s; a bucket alone would have to refill at 15/s
// to stay under the per-minute figure (61 s for 1000 pods).
//
// Every limit keeps a margin below the server's bucket (a smaller burst and
// a slower refill) because the client admits a call before it travels:
// calls admitted evenly can arrive bunched after uneven network and
// scheduling delays, and the server counts arrivals. Calls admitted within
// a span S arrive within S+J (J = spread of delivery delays), so a client
// bucket (b, r) under a server bucket (B, R) is safe while
// b + r·J <= B, i.e. J <= (B-b)/r: 0.26 s for create/delete, and about
// 54 s for the per-minute limits.
// Quotas are per account, summed over all clients; a process that shares
// an account with others should lower these through Config.RateLimits.
func DefaultRateLimits() map[string]Limit {
	createDelete := Limit{PerSecond: 19, Burst: 95, PerMinuteCap: 1000}
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

// limiterSet holds one limiter per action. The map is built once in New and
// only read afterwards; the limiters synchronise themselves.
type limiterSet struct {
	byAction map[string]*limiter
	fallback Limit
}

// limiter is one action's Limit: its token bucket and, with a cap, the
// times of the last PerMinuteCap calls.
type limiter struct {
	bucket *rate.Limiter
	mu     sync.Mutex
	recent []time.Time // a ring of the last cap calls' times; nil without a cap
	next   int         // the oldest entry of recent, overwritten next
	last   time.Time   // the latest time handed out, to keep them in order
}

// wait blocks until the call may go. A call that the cap holds back keeps
// its place: its time is taken before it sleeps.
func (l *limiter) wait(ctx context.Context) error {
	now := time.Now()
	deadline, _ := ctx.Deadline()
	at, ok := l.reserve(now, deadline)
	if !ok {
		return fmt.Errorf("eci: the rate limit admits the call only at %s, after its deadline", at.Format(time.RFC3339Nano))
	}
	if at.Equal(now) {
		return nil
	}
	t := time.NewTimer(at.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reserve takes the next place of a call asked at now and says when it may
// go; a place after deadline (unless zero) is not taken, and ok is false.
func (l *limiter) reserve(now, deadline time.Time) (at time.Time, ok bool) {
	r := l.bucket.ReserveN(now, 1)
	if !r.OK() {
		return time.Time{}, false
	}
	at = now.Add(r.DelayFrom(now))
	if l.recent != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if oldest := l.recent[l.next]; !oldest.IsZero() && oldest.Add(capWindow).After(at) {
			at = oldest.Add(capWindow)
		}
		if l.last.After(at) {
			at = l.last
		}
	}
	if !deadline.IsZero() && at.After(deadline) {
		r.CancelAt(now)
		return at, false
	}
	if l.recent != nil {
		l.recent[l.next], l.next, l.last = at, (l.next+1)%len(l.recent), at
	}
	return at, true
}

func newLimiterSet(limits map[string]Limit, actions []string) *limiterSet {
	if limits == nil {
		return nil
	}
	ls := &limiterSet{byAction: map[string]*limiter{}, fallback: undocumentedLimit()}
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

func newRateLimiter(l Limit) *limiter {
	if l.PerSecond <= 0 || math.IsInf(l.PerSecond, 1) {
		return &limiter{bucket: rate.NewLimiter(rate.Inf, 0)}
	}
	b := l.Burst
	if b < 1 {
		b = 1
	}
	lim := &limiter{bucket: rate.NewLimiter(rate.Limit(l.PerSecond), b)}
	if l.PerMinuteCap > 0 {
		lim.recent = make([]time.Time, l.PerMinuteCap)
	}
	return lim
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
	err := lim.wait(ctx)
	return time.Since(start), err
}
