package eci_test

import (
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// fastRetry keeps fault tests quick while exercising the real retry loop.
func fastRetry() eci.RetryPolicy {
	return eci.RetryPolicy{
		MaxAttempts:       4,
		BaseDelay:         2 * time.Millisecond,
		ThrottleBaseDelay: 5 * time.Millisecond,
		MaxDelay:          50 * time.Millisecond,
		MaxElapsed:        10 * time.Second,
	}
}

// newEmulatorClient returns a client of e with the default credential and
// fast retries; adjust lets a test change the configuration.
func newEmulatorClient(t testing.TB, e *emulator.Emulator, adjust ...func(*eci.Config)) *eci.Client {
	t.Helper()
	cr := e.Credentials()[0]
	cfg := eci.Config{
		Region:      e.Region(),
		Endpoint:    "http://" + e.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cr.AccessKeyID, AccessKeySecret: cr.AccessKeySecret, SecurityToken: cr.SecurityToken},
		Timeout:     5 * time.Second,
		Retry:       fastRetry(),
		RandomSeed:  1,
		UserAgent:   "eci-client-test",
	}
	for _, f := range adjust {
		f(&cfg)
	}
	c, err := eci.New(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	// Idle keep-alive connections would hold up the emulator's shutdown.
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// serverCalls is how many requests of action reached the emulator.
func serverCalls(e *emulator.Emulator, action string) int {
	return e.Calls()[action].Count
}
