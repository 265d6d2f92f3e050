package eci_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// stsPair is two STS credentials the emulator accepts: a expires a minute
// after the start of the emulator's signature clock, b an hour after.
func stsPair(start time.Time) (a, b emulator.Credential) {
	a = emulator.Credential{AccessKeyID: "STS.RotationKeyA", AccessKeySecret: "rotation-secret-a",
		SecurityToken: "rotation-token-a", Expiration: start.Add(time.Minute)}
	b = emulator.Credential{AccessKeyID: "STS.RotationKeyB", AccessKeySecret: "rotation-secret-b",
		SecurityToken: "rotation-token-b", Expiration: start.Add(time.Hour)}
	return a, b
}

func asCredentials(c emulator.Credential) eci.Credentials {
	return eci.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
}

func TestCallsKeepWorkingWhenAnExpiringSTSTokenIsRotatedInTheSecret(t *testing.T) {
	// The emulator checks expiry on its signature clock; a fake one lets
	// the token expire without waiting (the SDK's timestamps stay within
	// the 15-minute window).
	clock := emulator.NewFakeClock(time.Now())
	a, b := stsPair(clock.Now())
	e := emulator.StartForTest(t, emulator.Config{Credentials: []emulator.Credential{a, b}, SignatureClock: clock})
	secret := newSecretDir(t, secretValues(asCredentials(a)))
	src, err := eci.NewFileCredentialSource(secret.dir)
	if err != nil {
		t.Fatal(err)
	}
	c := newEmulatorClient(t, e, func(cfg *eci.Config) { cfg.Credentials, cfg.CredentialSource = nil, src })
	ctx := context.Background()

	if _, err := c.DescribeRegions(ctx); err != nil {
		t.Fatalf("with token A before it expires: %v", err)
	}

	clock.Advance(2 * time.Minute)
	before := serverCalls(e, "DescribeRegions")
	_, err = c.DescribeRegions(ctx)
	var ae *eci.APIError
	if !errors.As(err, &ae) || ae.Code != "InvalidSecurityToken.Expired" || !errors.Is(err, eci.ErrAuth) {
		t.Fatalf("with token A expired and still in the Secret: want InvalidSecurityToken.Expired, got %v", err)
	}
	if n := serverCalls(e, "DescribeRegions") - before; n != 1 {
		t.Errorf("the expired token was sent %d times; re-reading unchanged files gives nothing to retry with", n)
	}

	secret.update(secretValues(asCredentials(b)))
	if _, err := c.DescribeRegions(ctx); err != nil {
		t.Fatalf("the same client after the Secret got token B: %v", err)
	}
	if _, err := c.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{}); err != nil {
		t.Fatalf("another action with token B: %v", err)
	}
}

// laggingSource hands out its old credentials until asked to refresh, like
// a source that has not noticed an update yet.
type laggingSource struct {
	mu              sync.Mutex
	shown, newest   eci.Credentials
	refreshRequests int
}

func (s *laggingSource) Credentials(context.Context) (eci.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shown, nil
}

func (s *laggingSource) Refresh(context.Context) (eci.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshRequests++
	s.shown = s.newest
	return s.shown, nil
}

func TestAnExpiredTokenIsRetriedOnceWithRefreshedCredentials(t *testing.T) {
	clock := emulator.NewFakeClock(time.Now())
	a, b := stsPair(clock.Now())
	alsoExpired := a
	alsoExpired.AccessKeyID, alsoExpired.SecurityToken = "STS.RotationKeyC", "rotation-token-c"
	e := emulator.StartForTest(t, emulator.Config{Credentials: []emulator.Credential{a, b, alsoExpired}, SignatureClock: clock})
	clock.Advance(2 * time.Minute) // A and C have expired
	ctx := context.Background()

	src := &laggingSource{shown: asCredentials(a), newest: asCredentials(b)}
	var mu sync.Mutex
	var events []eci.AttemptEvent
	c := newEmulatorClient(t, e, func(cfg *eci.Config) {
		cfg.Credentials, cfg.CredentialSource = nil, src
		cfg.Retry.MaxAttempts = 1 // retries for server trouble are off; this one is about credentials
		cfg.Observer = eci.ObserverFunc(func(ev eci.AttemptEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() })
	})
	if _, err := c.DescribeRegions(ctx); err != nil {
		t.Fatalf("want the call to succeed after re-reading the credentials: %v", err)
	}
	if src.refreshRequests != 1 || serverCalls(e, "DescribeRegions") != 2 {
		t.Fatalf("refreshes %d, server calls %d; want 1 and 2", src.refreshRequests, serverCalls(e, "DescribeRegions"))
	}
	if len(events) != 2 || !events[0].WillRetry || events[0].Class != eci.ClassAuth || events[1].Err != nil {
		t.Fatalf("attempts seen by the observer: %+v", events)
	}

	// Newer credentials that are just as expired are tried once, not again
	// and again.
	e.ResetCalls()
	stale := &laggingSource{shown: asCredentials(a), newest: asCredentials(alsoExpired)}
	c = newEmulatorClient(t, e, func(cfg *eci.Config) { cfg.Credentials, cfg.CredentialSource = nil, stale })
	var ae *eci.APIError
	if _, err := c.DescribeRegions(ctx); !errors.As(err, &ae) || ae.Code != "InvalidSecurityToken.Expired" {
		t.Fatalf("want InvalidSecurityToken.Expired, got %v", err)
	}
	if stale.refreshRequests != 1 || serverCalls(e, "DescribeRegions") != 2 {
		t.Fatalf("refreshes %d, server calls %d; want 1 and 2", stale.refreshRequests, serverCalls(e, "DescribeRegions"))
	}
}
