package emulator

import "time"

// state is everything the emulated account holds. It is guarded by
// Emulator.mu; handlers run with the lock held.
type state struct {
	cfg *Config
}

func newState(cfg *Config) *state { return &state{cfg: cfg} }

// advance applies every lifecycle transition due at or before now.
func (s *state) advance(now time.Time) {}

func (s *state) zones() []ZoneConfig { return s.cfg.Zones }
