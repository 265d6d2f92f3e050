package emulator

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Fault is injected into calls of one action (or all). Latency is added
// first; then, with probability ErrorRate, the call fails with Code /
// HTTPStatus / Message instead of running. ErrorRate 1 fails every call.
type Fault struct {
	ErrorRate  float64       `json:"errorRate,omitempty"`
	Code       string        `json:"code,omitempty"`       // default ServiceUnavailable
	HTTPStatus int           `json:"httpStatus,omitempty"` // default 503
	Message    string        `json:"message,omitempty"`
	Latency    time.Duration `json:"latency,omitempty"`
}

// OutageMode simulates the endpoint being unreachable.
type OutageMode int

const (
	// OutageNone serves normally.
	OutageNone OutageMode = iota
	// OutageRefuse drops every API connection without an answer (the
	// client sees a connection reset / EOF). The admin endpoint stays up.
	OutageRefuse
	// OutageHang reads requests and never answers until the outage is
	// cleared (then the held requests are served) or the client gives up.
	OutageHang
)

func (m OutageMode) String() string {
	switch m {
	case OutageRefuse:
		return "refuse"
	case OutageHang:
		return "hang"
	}
	return "none"
}

// ParseOutageMode is the inverse of OutageMode.String.
func ParseOutageMode(s string) (OutageMode, bool) {
	switch s {
	case "", "none":
		return OutageNone, true
	case "refuse":
		return OutageRefuse, true
	case "hang":
		return OutageHang, true
	}
	return OutageNone, false
}

// faultSet holds the switchable faults. Its random source is separate
// from scheduling's so adding a fault does not change placement.
type faultSet struct {
	mu      sync.Mutex
	byAct   map[string]Fault
	rng     *rand.Rand
	outage  OutageMode
	cleared chan struct{} // closed when an outage ends
}

func newFaultSet(seed int64) *faultSet {
	return &faultSet{
		byAct:   map[string]Fault{},
		rng:     rand.New(rand.NewPCG(uint64(seed), 0xda3e39cb94b95bdb)),
		cleared: make(chan struct{}),
	}
}

// SetFault installs f for action ("" or "*" = every action). A zero Fault
// removes it.
func (e *Emulator) SetFault(action string, f Fault) {
	if action == "" {
		action = "*"
	}
	e.logf("fault for %s: %+v", action, f)
	fs := e.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f == (Fault{}) {
		delete(fs.byAct, action)
		return
	}
	fs.byAct[action] = f
}

// Faults returns the installed faults by action.
func (e *Emulator) Faults() map[string]Fault {
	fs := e.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make(map[string]Fault, len(fs.byAct))
	for k, v := range fs.byAct {
		out[k] = v
	}
	return out
}

// SetOutage switches the simulated outage.
func (e *Emulator) SetOutage(mode OutageMode) {
	fs := e.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if mode != fs.outage {
		e.logf("outage %s -> %s", fs.outage, mode)
	}
	if mode == fs.outage {
		return
	}
	if fs.outage == OutageHang {
		close(fs.cleared) // release held requests
		fs.cleared = make(chan struct{})
	}
	fs.outage = mode
}

// Outage returns the current outage mode.
func (e *Emulator) Outage() OutageMode {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	return e.faults.outage
}

// ClearFaults removes every fault and ends any outage.
func (e *Emulator) ClearFaults() {
	e.SetOutage(OutageNone)
	e.faults.mu.Lock()
	e.faults.byAct = map[string]Fault{}
	e.faults.mu.Unlock()
}

func (fs *faultSet) outageState() (OutageMode, <-chan struct{}) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.outage, fs.cleared
}

// pick returns the latency to add and the error to answer for one call of
// action. An action-specific fault wins over the "*" fault.
func (fs *faultSet) pick(action string) (time.Duration, *apiError) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, ok := fs.byAct[action]
	if !ok {
		f, ok = fs.byAct["*"]
	}
	if !ok {
		return 0, nil
	}
	if f.ErrorRate <= 0 || fs.rng.Float64() >= f.ErrorRate {
		return f.Latency, nil
	}
	code, status, msg := f.Code, f.HTTPStatus, f.Message
	if code == "" {
		code = "ServiceUnavailable"
	}
	if status == 0 {
		status = http.StatusServiceUnavailable
		if code != "ServiceUnavailable" {
			status = http.StatusBadRequest
		}
	}
	if msg == "" {
		msg = "The request has failed due to a temporary failure of the server. (injected fault)"
	}
	return f.Latency, &apiError{Status: status, Code: code, Message: msg}
}
