package eci_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

func TestDescribeRegionsAgainstEmulator(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	c := newEmulatorClient(t, e)
	resp, err := c.DescribeRegions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if resp.RequestID == "" || len(resp.Regions) != 1 || resp.Regions[0].RegionID != e.Region() || len(resp.Regions[0].Zones) == 0 {
		t.Fatalf("unexpected answer %+v", resp)
	}
	if got := c.Stats()["DescribeRegions"]; got.Calls != 1 || got.Attempts != 1 || got.Failures != 0 {
		t.Errorf("stats %+v", got)
	}
}

func TestWrongSecretIsAuthAndNotRetried(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	c := newEmulatorClient(t, e, func(cfg *eci.Config) { cfg.Credentials.AccessKeySecret = "wrong-secret-value" })
	_, err := c.DescribeRegions(context.Background())
	if !errors.Is(err, eci.ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
	if n := serverCalls(e, "DescribeRegions"); n != 1 {
		t.Errorf("auth failure sent %d times; must not be retried", n)
	}
	var ae *eci.APIError
	if !errors.As(err, &ae) || ae.RequestID == "" || ae.Code == "" {
		t.Errorf("want an APIError with code and request id, got %#v", err)
	}
	if containsAny(err.Error(), "wrong-secret-value", "emulator-secret") {
		t.Errorf("error leaks a secret: %v", err)
	}
}

func TestSTSCredentials(t *testing.T) {
	sts := emulator.Credential{AccessKeyID: "STS.emulatorkey", AccessKeySecret: "sts-secret", SecurityToken: "sts-token-1"}
	e := emulator.StartForTest(t, emulator.Config{Credentials: []emulator.Credential{sts}})
	c := newEmulatorClient(t, e)
	if _, err := c.DescribeRegions(context.Background()); err != nil {
		t.Fatalf("STS call: %v", err)
	}
	// A transport error must not print the request URL: the SDK puts the
	// security token and signature in the query string.
	e.SetOutage(emulator.OutageRefuse)
	_, err := c.DescribeRegions(context.Background())
	if err == nil || containsAny(err.Error(), "sts-token-1", "sts-secret", "Signature=", "SecurityToken") {
		t.Fatalf("transport error leaks request parameters: %v", err)
	}
	if u := errors.Unwrap(err); u == nil || containsAny(u.Error(), "sts-token-1", "Signature=") {
		t.Fatalf("unwrapped transport error leaks request parameters: %v", u)
	}
	e.SetOutage(emulator.OutageNone)

	// A wrong secret: the server echoes its string to sign, which holds
	// the security token; the error must not.
	wrong := newEmulatorClient(t, e, func(cfg *eci.Config) { cfg.Credentials.AccessKeySecret = "not-the-secret" })
	_, err = wrong.DescribeRegions(context.Background())
	if !errors.Is(err, eci.ErrAuth) || containsAny(err.Error(), "sts-token-1", "string to sign is") {
		t.Fatalf("wrong secret: want ErrAuth without the token, got %v", err)
	}
	if !strings.Contains(err.Error(), "AccessKeySecret is wrong") {
		t.Errorf("wrong secret: the error should say the secret is wrong: %v", err)
	}
	t.Logf("wrong secret: %v", err)

	noToken := newEmulatorClient(t, e, func(cfg *eci.Config) { cfg.Credentials.SecurityToken = "" })
	if _, err := noToken.DescribeRegions(context.Background()); !errors.Is(err, eci.ErrAuth) {
		t.Fatalf("STS key without its token: want ErrAuth, got %v", err)
	}
}

func TestCredentialsFromEnvironmentAgainstEmulator(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	cr := emulator.DefaultCredential()
	env := map[string]string{
		"ALICLOUD_ACCESS_KEY": cr.AccessKeyID, "ALICLOUD_SECRET_KEY": cr.AccessKeySecret, "ALICLOUD_REGION": e.Region(),
	}
	c, err := eci.New(eci.Config{Endpoint: e.Endpoint(), Scheme: "HTTP", Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeRegions(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestThrottlingIsRetriedThenSucceeds(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	e.SetFault("DescribeRegions", emulator.Fault{ErrorRate: 1, Code: "Throttling.User", HTTPStatus: 400})
	var events []eci.AttemptEvent
	var mu sync.Mutex
	c := newEmulatorClient(t, e, func(cfg *eci.Config) {
		cfg.Observer = eci.ObserverFunc(func(ev eci.AttemptEvent) {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
			if ev.Attempt == 2 {
				e.ClearFaults() // the flow-control window passes
			}
		})
	})
	resp, err := c.DescribeRegions(context.Background())
	if err != nil {
		t.Fatalf("want success after retries, got %v", err)
	}
	if resp.RequestID == "" {
		t.Error("no request id")
	}
	if n := serverCalls(e, "DescribeRegions"); n != 3 {
		t.Errorf("server saw %d calls, want 3 (2 throttled + 1 success)", n)
	}
	st := c.Stats()["DescribeRegions"]
	if st.Attempts != 3 || st.Retries != 2 || st.ServerThrottled != 2 || st.Failures != 0 || st.Calls != 1 {
		t.Errorf("stats %+v", st)
	}
	for i, ev := range events[:2] {
		if ev.Class != eci.ClassThrottled || !ev.WillRetry || ev.Backoff < 0 || ev.Backoff >= 5*time.Millisecond<<i {
			t.Errorf("attempt %d event %+v: want a throttled retry with back-off below %v", i+1, ev, 5*time.Millisecond<<i)
		}
	}
	// Each retry carried a fresh signature nonce: the emulator rejects a
	// replayed nonce with SignatureNonceUsed, and it answered Success.
	if codes := e.Calls()["DescribeRegions"].ByCode; codes["Success"] != 1 || codes["Throttling.User"] != 2 {
		t.Errorf("server codes %v", codes)
	}
}

func TestValidationErrorIsNotRetried(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	e.SetFault("DescribeRegions", emulator.Fault{ErrorRate: 1, Code: "InvalidParameter", HTTPStatus: 400, Message: "The specified parameter is not valid."})
	c := newEmulatorClient(t, e)
	_, err := c.DescribeRegions(context.Background())
	if !errors.Is(err, eci.ErrInvalidInput) {
		t.Fatalf("want ErrInvalidInput, got %v", err)
	}
	if n := serverCalls(e, "DescribeRegions"); n != 1 {
		t.Errorf("validation error sent %d times; must be sent once", n)
	}
	want := "eci: DescribeRegions: InvalidParameter: The specified parameter is not valid. (request id "
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("error text %q should start %q", got, want)
	}
}

func TestServerErrorsRetriedUpToMaxAttempts(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	e.SetFault("DescribeRegions", emulator.Fault{ErrorRate: 1, Code: "ServiceUnavailable", HTTPStatus: 503})
	c := newEmulatorClient(t, e)
	_, err := c.DescribeRegions(context.Background())
	var ae *eci.APIError
	if !errors.As(err, &ae) || ae.Class != eci.ClassTransient || ae.HTTPStatus != 503 || ae.Attempts != 4 {
		t.Fatalf("want Transient after 4 attempts, got %#v", err)
	}
	if n := serverCalls(e, "DescribeRegions"); n != 4 {
		t.Errorf("server saw %d attempts, want MaxAttempts=4", n)
	}
}

func TestOutageRefuseIsTransientAfterBoundedAttempts(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	e.SetOutage(emulator.OutageRefuse)
	c := newEmulatorClient(t, e)
	start := time.Now()
	_, err := c.DescribeRegions(context.Background())
	took := time.Since(start)
	var ae *eci.APIError
	if !errors.As(err, &ae) || ae.Class != eci.ClassTransient || ae.Attempts != 4 || ae.HTTPStatus != 0 {
		t.Fatalf("want a Transient transport error after 4 attempts, got %#v", err)
	}
	if took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	t.Logf("refused outage: %v after %d attempts in %v", ae.Class, ae.Attempts, took)
	e.SetOutage(emulator.OutageNone)
	if _, err := c.DescribeRegions(context.Background()); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

func TestOutageHangIsBoundedByAttemptTimeout(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	e.SetOutage(emulator.OutageHang)
	t.Cleanup(func() { e.SetOutage(emulator.OutageNone) })
	c := newEmulatorClient(t, e, func(cfg *eci.Config) {
		cfg.Timeout = 100 * time.Millisecond
		cfg.Retry.MaxAttempts = 3
	})
	start := time.Now()
	_, err := c.DescribeRegions(context.Background())
	took := time.Since(start)
	var ae *eci.APIError
	if !errors.As(err, &ae) || ae.Class != eci.ClassTransient || ae.Attempts != 3 {
		t.Fatalf("want Transient after 3 timed-out attempts, got %#v", err)
	}
	if took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("3 attempts of 100ms took %v", took)
	}
	t.Logf("hung outage: %v in %v (%s)", ae.Class, took, err)

	// MaxElapsed also bounds attempts in flight, not only the sleeps.
	slow := newEmulatorClient(t, e, func(cfg *eci.Config) {
		cfg.Timeout = 10 * time.Second
		cfg.Retry.MaxElapsed = 300 * time.Millisecond
	})
	start = time.Now()
	_, err = slow.DescribeRegions(context.Background())
	// Without the bound the single attempt would hang for its 10 s timeout.
	if !errors.Is(err, eci.ErrTransient) || time.Since(start) > 3*time.Second {
		t.Fatalf("MaxElapsed 300ms against a hung server: got %v after %v", err, time.Since(start))
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	e.SetFault("DescribeRegions", emulator.Fault{ErrorRate: 1, Code: "Throttling", HTTPStatus: 400})
	c := newEmulatorClient(t, e, func(cfg *eci.Config) {
		cfg.Retry = eci.RetryPolicy{MaxAttempts: 100, ThrottleBaseDelay: time.Second, MaxDelay: 5 * time.Second, MaxElapsed: time.Minute}
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel) // during a back-off sleep
	start := time.Now()
	_, err := c.DescribeRegions(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want the context error, got %v", err)
	}
	// Ignoring the cancel would mean back-offs of up to 5 s for a minute; 3 s leaves room
	// for a loaded machine while still ruling that out.
	if took > 3*time.Second {
		t.Errorf("cancellation took %v to stop the retries", took)
	}
	calls := serverCalls(e, "DescribeRegions")
	time.Sleep(300 * time.Millisecond)
	if after := serverCalls(e, "DescribeRegions"); after != calls {
		t.Errorf("calls continued after the context ended: %d -> %d", calls, after)
	}
	t.Logf("stopped after %v, %d attempts: %v", took, calls, err)

	// With a deadline the client does not sleep into it: when the next
	// back-off would end past the deadline it returns the last error now.
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer dcancel()
	start = time.Now()
	_, err = c.DescribeRegions(dctx)
	if !errors.Is(err, eci.ErrThrottled) || time.Since(start) > 2*time.Second {
		t.Fatalf("deadline: want the throttling error before the deadline, got %v after %v", err, time.Since(start))
	}
	t.Logf("with a 2s deadline: gave up after %v: %v", time.Since(start).Round(time.Millisecond), err)

	// A hung request is abandoned as soon as the caller cancels.
	e.ClearFaults()
	e.SetOutage(emulator.OutageHang)
	t.Cleanup(func() { e.SetOutage(emulator.OutageNone) })
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel2)
	start = time.Now()
	_, err = c.DescribeRegions(ctx2)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("hung call: want context.Canceled promptly, got %v after %v", err, time.Since(start))
	}
}

func TestMaxElapsedBoundsTheCall(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	e.SetFault("DescribeRegions", emulator.Fault{ErrorRate: 1, Code: "Throttling", HTTPStatus: 400})
	c := newEmulatorClient(t, e, func(cfg *eci.Config) {
		cfg.Retry = eci.RetryPolicy{MaxAttempts: 1000, ThrottleBaseDelay: 50 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxElapsed: 500 * time.Millisecond}
	})
	start := time.Now()
	_, err := c.DescribeRegions(context.Background())
	if !errors.Is(err, eci.ErrThrottled) {
		t.Fatalf("want ErrThrottled, got %v", err)
	}
	// Unbounded, 1000 attempts would take well over a minute; the margin
	// above 500ms is for a loaded machine, not for the client.
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("MaxElapsed 500ms, call took %v", took)
	}
}

// TestClientLimiterKeepsBurstUnderServerQuota fires a burst far beyond an
// action's quota. Without the client-side bucket the emulator throttles;
// with it, not a single call is answered with Throttling.
func TestClientLimiterKeepsBurstUnderServerQuota(t *testing.T) {
	// A scaled-down quota (bucket of 10, 20/s) keeps the test short. The
	// client's limit keeps a margin below it, as DefaultRateLimits does: a
	// smaller burst and a slower refill, so that calls admitted evenly but
	// arriving unevenly cannot overdraw the server's bucket. Calls admitted
	// within a span S arrive within S+J, J being the spread of delivery
	// delays, so the margin tolerates J up to (10-2)/12 s = 670 ms here —
	// the same tolerance as the CreateContainerGroup default, and room for
	// a heavily loaded 2-core test machine (a margin of 120 ms flaked at a
	// load average of 20).
	quota := emulator.RateLimit{Burst: 10, Refill: 20}
	clientLimit := eci.Limit{Burst: 2, PerSecond: 12}
	const calls, workers = 40, 8

	burst := func(c *eci.Client) (throttled int64) {
		var wg sync.WaitGroup
		var next atomic.Int64
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= calls {
					if _, err := c.DescribeRegions(context.Background()); errors.Is(err, eci.ErrThrottled) {
						atomic.AddInt64(&throttled, 1)
					} else if err != nil {
						t.Errorf("unexpected error: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		return throttled
	}

	t.Run("without client limiter the server throttles", func(t *testing.T) {
		e := emulator.StartForTest(t, emulator.Config{RateLimits: emulator.RateLimitConfig{Override: map[string]emulator.RateLimit{"DescribeRegions": quota}}})
		c := newEmulatorClient(t, e, func(cfg *eci.Config) {
			cfg.DisableRateLimits = true
			cfg.Retry.MaxAttempts = 1
		})
		if n := burst(c); n == 0 {
			t.Fatal("expected the emulator to throttle an unlimited burst; the comparison below would prove nothing")
		} else {
			t.Logf("unlimited burst: %d of %d calls throttled", n, calls)
		}
	})

	t.Run("with client limiter nothing is throttled", func(t *testing.T) {
		e := emulator.StartForTest(t, emulator.Config{RateLimits: emulator.RateLimitConfig{Override: map[string]emulator.RateLimit{"DescribeRegions": quota}}})
		c := newEmulatorClient(t, e, func(cfg *eci.Config) {
			cfg.RateLimits = map[string]eci.Limit{"DescribeRegions": clientLimit}
			cfg.Retry.MaxAttempts = 1 // a throttled answer would surface, not be hidden by a retry
		})
		start := time.Now()
		if n := burst(c); n != 0 {
			t.Fatalf("%d calls throttled despite the client-side limiter", n)
		}
		took := time.Since(start)
		codes := e.Calls()["DescribeRegions"].ByCode
		if codes["Success"] != calls || len(codes) != 1 {
			t.Errorf("server answers %v, want %d Success only", codes, calls)
		}
		st := c.Stats()["DescribeRegions"]
		if st.ServerThrottled != 0 || st.LimiterDelayed == 0 {
			t.Errorf("stats %+v: want waits at the client and no throttling", st)
		}
		t.Logf("limited burst: %d calls in %v, %d waited at the client (total wait %v), 0 throttled",
			calls, took.Round(time.Millisecond), st.LimiterDelayed, st.LimiterWait.Round(time.Millisecond))
	})
}

// lossyTransport delivers the first request of one action to the server
// but reports the connection as dropped before the answer arrived: the
// server acted, the client does not know.
type lossyTransport struct {
	base   http.RoundTripper
	action string
	drops  atomic.Int32
}

func (l *lossyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err == nil && r.URL.Query().Get("Action") == l.action && l.drops.Add(1) == 1 {
		resp.Body.Close()
		return nil, &netOpErr{}
	}
	return resp, err
}

// netOpErr is a connection reset as the net package reports it.
type netOpErr struct{}

func (*netOpErr) Error() string {
	return "read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"
}
func (*netOpErr) Timeout() bool   { return false }
func (*netOpErr) Temporary() bool { return true }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
