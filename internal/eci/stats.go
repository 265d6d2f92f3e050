package eci

import (
	"sync"
	"time"
)

// Observer is told about every attempt the client makes. Implementations
// must be fast and goroutine-safe; the runtime adapts this to Prometheus.
type Observer interface {
	ObserveAttempt(AttemptEvent)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(AttemptEvent)

// ObserveAttempt calls f.
func (f ObserverFunc) ObserveAttempt(e AttemptEvent) { f(e) }

// AttemptEvent describes one HTTP attempt of a call.
type AttemptEvent struct {
	Action      string
	Attempt     int           // 1 for the first attempt
	LimiterWait time.Duration // time spent waiting for the client-side bucket
	Duration    time.Duration // the HTTP exchange itself
	Err         error         // nil on success; *APIError otherwise
	Class       Class         // class of Err (ClassUnknown when Err is nil)
	WillRetry   bool          // another attempt follows
	Backoff     time.Duration // sleep before that attempt
}

// ActionStats are cumulative counters for one action.
type ActionStats struct {
	Calls           uint64           // calls started (one per method invocation)
	Attempts        uint64           // HTTP attempts, including retries
	Retries         uint64           // attempts after the first
	Failures        uint64           // calls that ended in an error
	ServerThrottled uint64           // attempts answered with a Throttled error
	LimiterDelayed  uint64           // attempts that had to wait for the client-side bucket
	LimiterWait     time.Duration    // total time waited for the bucket
	ErrorsByClass   map[Class]uint64 // failed attempts by class
}

// statsBook keeps ActionStats per action for one Client.
type statsBook struct {
	mu  sync.Mutex
	per map[string]*ActionStats
}

func newStatsBook() *statsBook { return &statsBook{per: map[string]*ActionStats{}} }

func (s *statsBook) get(action string) *ActionStats {
	st := s.per[action]
	if st == nil {
		st = &ActionStats{ErrorsByClass: map[Class]uint64{}}
		s.per[action] = st
	}
	return st
}

func (s *statsBook) callStarted(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(action).Calls++
}

func (s *statsBook) callFailed(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(action).Failures++
}

func (s *statsBook) attempt(e AttemptEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.get(e.Action)
	st.Attempts++
	if e.Attempt > 1 {
		st.Retries++
	}
	if e.LimiterWait > time.Millisecond {
		st.LimiterDelayed++
	}
	st.LimiterWait += e.LimiterWait
	if e.Err != nil {
		st.ErrorsByClass[e.Class]++
		if e.Class == ClassThrottled {
			st.ServerThrottled++
		}
	}
}

func (s *statsBook) snapshot() map[string]ActionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]ActionStats, len(s.per))
	for a, st := range s.per {
		cp := *st
		cp.ErrorsByClass = make(map[Class]uint64, len(st.ErrorsByClass))
		for k, v := range st.ErrorsByClass {
			cp.ErrorsByClass[k] = v
		}
		out[a] = cp
	}
	return out
}
