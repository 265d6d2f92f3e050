package emulator

import (
	"time"
)

// defaultRateLimits are the documented per-account limits: ECI's API
// flow-control page
// (https://help.aliyun.com/en/eci/developer-reference/api-eci-2018-08-08-quota)
// and its limits page (https://help.aliyun.com/en/eci/product-overview/limits).
// CreateContainerGroup and DeleteContainerGroup use the limits page's
// token-bucket figures (burst 100, 20/s); the rest are "calls per 60 s",
// modelled as a bucket of that many tokens refilled evenly over the
// minute. Actions without a documented figure get 1000/min.
func defaultRateLimits() map[string]RateLimit {
	perMin := func(n int) RateLimit { return RateLimit{Burst: n, Per: time.Minute} }
	return map[string]RateLimit{
		"CreateContainerGroup":              {Burst: 100, Refill: 20},
		"DeleteContainerGroup":              {Burst: 100, Refill: 20},
		"DescribeContainerGroups":           perMin(2000),
		"DescribeContainerGroupStatus":      perMin(10000),
		"DescribeContainerGroupEvents":      perMin(10000),
		"DescribeContainerGroupMetric":      perMin(2000),
		"DescribeMultiContainerGroupMetric": perMin(2000),
		"DescribeRegions":                   perMin(10000),
		"ExecContainerCommand":              perMin(500),
		"DescribeContainerLog":              perMin(500),
		"DescribeContainerGroupPrice":       perMin(1000),
		"CreateImageCache":                  perMin(200),
		"RestartContainerGroup":             perMin(1000),
		"UpdateContainerGroup":              perMin(1000),
		"TagResources":                      perMin(1000),
		"UntagResources":                    perMin(1000),
		"ListTagResources":                  perMin(1000),
	}
}

const undocumentedPerMinute = 1000

type bucket struct {
	capacity float64
	perSec   float64
	tokens   float64
	last     time.Time
}

func (b *bucket) take(now time.Time) bool {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens += el * b.perSec
		if b.tokens > b.capacity {
			b.tokens = b.capacity
		}
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limiter holds one bucket per action. Throttling is per account (UID),
// summed over all AccessKeys, so buckets are not keyed by AccessKeyId.
type limiter struct {
	disabled bool
	limits   map[string]RateLimit
	buckets  map[string]*bucket
}

func newLimiter(cfg RateLimitConfig, now time.Time) *limiter {
	l := &limiter{disabled: cfg.Disabled, limits: defaultRateLimits(), buckets: map[string]*bucket{}}
	for a, rl := range cfg.Override {
		l.limits[a] = rl
	}
	return l
}

func (l *limiter) limitFor(action string) RateLimit {
	if rl, ok := l.limits[action]; ok {
		return rl
	}
	return RateLimit{Burst: undocumentedPerMinute, Per: time.Minute}
}

// allow takes a token for action; false means the call is throttled.
func (l *limiter) allow(action string, now time.Time) bool {
	if l.disabled {
		return true
	}
	b := l.buckets[action]
	if b == nil {
		rl := l.limitFor(action)
		if rl.Burst <= 0 {
			return true
		}
		per := rl.Refill
		if per <= 0 {
			p := rl.Per
			if p <= 0 {
				p = time.Minute
			}
			per = float64(rl.Burst) / p.Seconds()
		}
		b = &bucket{capacity: float64(rl.Burst), perSec: per, tokens: float64(rl.Burst), last: now}
		l.buckets[action] = b
	}
	return b.take(now)
}

// SetRateLimit replaces one action's limit at run time (Burst 0 = off)
// and resets its bucket to full.
func (e *Emulator) SetRateLimit(action string, rl RateLimit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limit.limits[action] = rl
	delete(e.limit.buckets, action)
}

// SetRateLimitsEnabled turns all rate limiting on or off at run time.
func (e *Emulator) SetRateLimitsEnabled(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.limit.disabled = !on
	e.limit.buckets = map[string]*bucket{}
}
