package emulator

import (
	"slices"
	"sync"
	"time"
)

// ActionStats summarises the calls of one action. Latency is measured from
// request arrival to the response being written, including injected
// latency. Percentiles are over the most recent latencyWindow calls.
type ActionStats struct {
	Count        int            `json:"count"`
	ByCode       map[string]int `json:"byCode"` // "Success" for 2xx answers
	TotalLatency time.Duration  `json:"totalLatency"`
	P50          time.Duration  `json:"p50"`
	P90          time.Duration  `json:"p90"`
	P99          time.Duration  `json:"p99"`
	Max          time.Duration  `json:"max"`
}

const latencyWindow = 10000

type actionBook struct {
	count int
	codes map[string]int
	total time.Duration
	max   time.Duration
	ring  []time.Duration
	next  int
}

type statsBook struct {
	mu  sync.Mutex
	per map[string]*actionBook
}

func newStatsBook() *statsBook { return &statsBook{per: map[string]*actionBook{}} }

func (s *statsBook) record(action, code string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.per[action]
	if b == nil {
		b = &actionBook{codes: map[string]int{}}
		s.per[action] = b
	}
	b.count++
	b.codes[code]++
	b.total += d
	if d > b.max {
		b.max = d
	}
	if len(b.ring) < latencyWindow {
		b.ring = append(b.ring, d)
	} else {
		b.ring[b.next] = d
		b.next = (b.next + 1) % latencyWindow
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

func (s *statsBook) snapshot() map[string]ActionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]ActionStats, len(s.per))
	for a, b := range s.per {
		sorted := slices.Clone(b.ring)
		slices.Sort(sorted)
		codes := make(map[string]int, len(b.codes))
		for k, v := range b.codes {
			codes[k] = v
		}
		out[a] = ActionStats{
			Count: b.count, ByCode: codes, TotalLatency: b.total, Max: b.max,
			P50: percentile(sorted, 0.50), P90: percentile(sorted, 0.90), P99: percentile(sorted, 0.99),
		}
	}
	return out
}

// Calls returns per-action call statistics since start or ResetCalls.
func (e *Emulator) Calls() map[string]ActionStats { return e.stats.snapshot() }

// ResetCalls clears the call statistics.
func (e *Emulator) ResetCalls() {
	e.stats.mu.Lock()
	e.stats.per = map[string]*actionBook{}
	e.stats.mu.Unlock()
}
