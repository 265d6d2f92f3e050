// Package steadyhour is the result format of the runtime's steady-hour
// simulation (runtime/node TestAQuietHourCostsAFewCallsPerStatusCycle): the
// ECI calls a VNode's runtime makes in an hour on the emulator's fake clock
// while its pods run untouched. The test writes it (STEADY_HOUR_JSON) and the
// benchmark harness (internal/bench) reads it into its report.
package steadyhour

import "time"

// Result is one simulated hour.
type Result struct {
	// Pods is the number of running pods, each with its instance.
	Pods int `json:"pods"`
	// Duration is the simulated time (an hour).
	Duration time.Duration `json:"duration"`
	// StatusCycle is the poller's period (--status-poll-fast): one cycle is
	// one chance to notice a change of every pod.
	StatusCycle time.Duration `json:"statusCycle"`
	// ListingInterval is the time between complete listings the runtime chose
	// for this many instances (--status-poll-slow, or longer to fit its share
	// of the read budget).
	ListingInterval time.Duration `json:"listingInterval"`
	// ReadShare is --eci-read-share.
	ReadShare float64 `json:"readShare"`
	// Calls are the ECI calls of the hour, by action.
	Calls map[string]int `json:"calls"`
	// Quotas are ECI's documented per-account quotas of the budgeted read
	// actions, calls a minute.
	Quotas map[string]float64 `json:"quotas"`
}

// Cycles is the number of status cycles in the hour.
func (r Result) Cycles() float64 { return float64(r.Duration) / float64(r.StatusCycle) }

// PerMinute is the calls a minute of action.
func (r Result) PerMinute(action string) float64 {
	return float64(r.Calls[action]) / r.Duration.Minutes()
}

// PerPodCycle is the calls of action per pod per status cycle; all actions
// when action is "". A stock provider that reads each pod every cycle makes 1.
func (r Result) PerPodCycle(action string) float64 {
	n := r.Calls[action]
	if action == "" {
		n = 0
		for _, c := range r.Calls {
			n += c
		}
	}
	return float64(n) / (float64(r.Pods) * r.Cycles())
}

// QuotaShare is the share of action's account quota the hour used; 0 for an
// action without a documented quota.
func (r Result) QuotaShare(action string) float64 {
	q := r.Quotas[action]
	if q <= 0 {
		return 0
	}
	return r.PerMinute(action) / q
}
