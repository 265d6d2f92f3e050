// Package eci is the one Alibaba Cloud Elastic Container Instance (ECI)
// client of this module, used by the Terraform provider and by the eci-vnode
// runtime alike. It wraps alibaba-cloud-sdk-go (v1) with:
//
//   - typed requests and responses for every ECI action we use, including
//     the ones the v1 SDK lacks, all sent as SDK CommonRequests built from
//     our own request model (see model_container_group.go and wire.go);
//   - credentials from configuration, the conventional environment
//     variables, or a source asked before every attempt (e.g. the files of
//     a mounted Kubernetes Secret, re-read when they change), and an
//     explicit endpoint so the SDK never resolves one over the network;
//   - client-side token buckets at the documented per-action quotas;
//   - bounded retries with jittered exponential back-off for throttling,
//     server errors and transport failures, never for validation errors;
//   - errors classified into a small set of classes (ClassOf, errors.Is);
//   - per-action counters and an attempt observer for metrics.
package eci

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
)

// Client calls the ECI API of one region. It is safe for concurrent use.
type Client struct {
	cfg      *resolved // a pointer: %+v of a Client must not print secrets
	limiters *limiterSet
	stats    *statsBook
	jitter   *jitter
}

// New checks cfg, applies defaults and returns a Client. It does not call
// the API.
func New(cfg Config) (*Client, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("eci: configure client: %w", err)
	}
	return &Client{
		cfg:      &r,
		limiters: newLimiterSet(r.limits, knownActions()),
		stats:    newStatsBook(),
		jitter:   newJitter(r.seed),
	}, nil
}

// Region is the region the client calls.
func (c *Client) Region() string { return c.cfg.region }

// Endpoint is the resolved endpoint, e.g. "https://eci.cn-hangzhou.aliyuncs.com".
func (c *Client) Endpoint() string { return c.cfg.endpoint.String() }

// String describes the client without secrets.
func (c *Client) String() string {
	return fmt.Sprintf("eci.Client{region %s, endpoint %s, %s}", c.cfg.region, c.cfg.endpoint, describeSource(c.cfg.credentials))
}

// CloseIdleConnections closes pooled keep-alive connections, e.g. before
// shutdown or after the endpoint changed.
func (c *Client) CloseIdleConnections() {
	if ci, ok := c.cfg.transport.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Stats returns a snapshot of the per-action counters since New.
func (c *Client) Stats() map[string]ActionStats { return c.stats.snapshot() }

// call performs one API action: it waits for the client-side bucket, sends
// the request, retries what is worth retrying, and decodes the JSON answer
// into out (which may be nil).
func (c *Client) call(ctx context.Context, action string, params wireParams, out any) error {
	c.stats.callStarted(action)
	err := c.callWithRetry(ctx, action, params, out)
	if err != nil {
		c.stats.callFailed(action)
	}
	return err
}

func (c *Client) callWithRetry(ctx context.Context, action string, params wireParams, out any) error {
	policy := c.cfg.retry
	// budget bounds the whole call (limiter waits, attempts, sleeps) by
	// MaxElapsed; ctx stays the caller's, to tell "caller gave up" apart
	// from "our budget ran out".
	budget, cancel := context.WithTimeout(ctx, policy.MaxElapsed)
	defer cancel()
	var (
		last      *APIError
		refreshed bool         // the source was asked for newer credentials once
		next      *Credentials // credentials for the next attempt, from that refresh
	)
	for attempt := 1; ; attempt++ {
		wait, err := c.limiters.wait(budget, action)
		if err != nil {
			if ctx.Err() != nil {
				return c.stopped(action, attempt-1, last, ctx.Err())
			}
			if last != nil {
				return last // out of budget while waiting to retry
			}
			// The bucket would not admit the call within the deadline:
			// fail now rather than sleep into it. This is throttling,
			// decided on our side.
			return &APIError{Action: action, Code: "Client.RateLimited", Class: ClassThrottled,
				Message: "the client-side rate limit would delay the call past its deadline",
				Err:     context.DeadlineExceeded}
		}

		var cr Credentials
		if next != nil {
			cr, next = *next, nil
		} else if cr, err = c.credentials(budget, action); err != nil {
			if ctx.Err() != nil {
				return c.stopped(action, attempt-1, last, ctx.Err())
			}
			return err
		}

		t0 := time.Now()
		apiErr := c.attempt(budget, action, params, out, cr)
		ev := AttemptEvent{Action: action, Attempt: attempt, LimiterWait: wait, Duration: time.Since(t0)}
		if apiErr == nil {
			c.observe(ev)
			return nil
		}
		ev.Err, ev.Class = apiErr, apiErr.Class
		if ctx.Err() != nil {
			// The caller gave up; whatever the attempt saw is a consequence.
			c.observe(ev)
			return c.stopped(action, attempt, last, ctx.Err())
		}
		apiErr.Attempts = attempt
		last = apiErr

		// Credentials the server calls stale (an expired STS token, a
		// rotated-out AccessKey) may already be replaced at the source,
		// e.g. a Secret updated after the source last looked: ask once,
		// and retry at once if the answer differs. This retry is not
		// counted against MaxAttempts, which bounds retries of server
		// and network trouble.
		if !refreshed && staleCredentialCode(apiErr.Code) {
			refreshed = true
			if fresh, ok := c.refreshCredentials(budget, cr); ok {
				next = &fresh
				ev.WillRetry = true
				c.observe(ev)
				continue
			}
		}

		if !apiErr.Class.Retryable() || attempt >= policy.MaxAttempts {
			c.observe(ev)
			return apiErr
		}
		delay := policy.backoff(attempt, apiErr.Class, c.jitter.float64())
		if dl, _ := budget.Deadline(); time.Until(dl) <= delay {
			c.observe(ev) // the retry could not even start within MaxElapsed
			return apiErr
		}
		ev.WillRetry, ev.Backoff = true, delay
		c.observe(ev)
		if err := sleepCtx(ctx, delay); err != nil {
			return c.stopped(action, attempt, last, err)
		}
	}
}

// stopped builds the error for a call the context ended. It wraps the
// context error so errors.Is(err, context.Canceled) works, and mentions the
// last API error seen, if any.
func (c *Client) stopped(action string, attempts int, last *APIError, cause error) error {
	if last != nil {
		return fmt.Errorf("eci: %s: stopped after %d attempts (last error: %s): %w", action, attempts, last.summary(), cause)
	}
	return fmt.Errorf("eci: %s: %w", action, cause)
}

func (c *Client) observe(ev AttemptEvent) {
	c.stats.attempt(ev)
	if c.cfg.observer != nil {
		c.cfg.observer.ObserveAttempt(ev)
	}
}

// credentials asks the source for the credentials of one attempt and checks
// they are complete.
func (c *Client) credentials(ctx context.Context, action string) (Credentials, error) {
	cr, err := c.cfg.credentials.Credentials(ctx)
	if err == nil {
		err = cr.validate()
	}
	if err != nil {
		return Credentials{}, &APIError{Action: action, Code: "Client.CredentialsUnavailable", Class: ClassAuth,
			Message: oneLine("get credentials: " + err.Error()), Err: err}
	}
	return cr, nil
}

// refreshCredentials asks a refreshing source for newer credentials than
// used; ok says there are some.
func (c *Client) refreshCredentials(ctx context.Context, used Credentials) (Credentials, bool) {
	r, isRefresher := c.cfg.credentials.(CredentialRefresher)
	if !isRefresher {
		return Credentials{}, false
	}
	fresh, err := r.Refresh(ctx)
	if err != nil || fresh == used || fresh.validate() != nil {
		return Credentials{}, false
	}
	return fresh, true
}

// attempt sends the request once. Each attempt builds a fresh request, so
// it is signed anew with a new Timestamp and SignatureNonce, and uses a
// fresh SDK client: the v1 SDK client mutates its own fields on every call
// (timeouts, TLS settings), which is a data race when shared.
func (c *Client) attempt(ctx context.Context, action string, params wireParams, out any, cr Credentials) *APIError {
	actx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()

	sdkCfg := sdk.NewConfig()
	sdkCfg.AutoRetry = false // we retry, with back-off and classification
	sdkCfg.Scheme = c.cfg.endpoint.scheme
	sdkCfg.Timeout = c.cfg.timeout
	sdkCfg.UserAgent = c.cfg.userAgent
	sdkCfg.Transport = contextTransport{ctx: actx, base: c.cfg.transport}

	cli, err := sdk.NewClientWithOptions(c.cfg.region, sdkCfg, sdkCredential(cr))
	if err != nil {
		return &APIError{Action: action, Message: oneLine("create SDK client: " + err.Error()), Class: ClassInvalidInput, Err: err}
	}

	req := requests.NewCommonRequest()
	req.Method = requests.POST
	req.Scheme = c.cfg.endpoint.scheme
	req.Domain = c.cfg.endpoint.host // explicit: no Location-service lookup
	req.Product = apiProduct
	req.Version = apiVersion
	req.ApiName = action
	for k, v := range params {
		req.QueryParams[k] = v
	}
	req.QueryParams["RegionId"] = c.cfg.region

	resp, err := cli.ProcessCommonRequest(req)
	if err != nil {
		ae := newAPIError(action, err)
		ae.Message = redact(ae.Message, cr)
		return ae
	}
	if out != nil {
		if err := decodeJSON(resp.GetHttpContentBytes(), out); err != nil {
			return &APIError{Action: action, Code: "SDK.JsonUnmarshalError", HTTPStatus: resp.GetHttpStatus(),
				Message: oneLine("decode response: " + err.Error()), Class: ClassUnknown, Err: err}
		}
	}
	return nil
}

// redact removes the secrets of the attempt's credentials from text that came
// back from the server or the transport, in case it echoes request
// parameters.
func redact(text string, cr Credentials) string {
	for _, secret := range []string{cr.SecurityToken, cr.AccessKeySecret} {
		if len(secret) < 4 { // too short to search for safely; and never valid
			continue
		}
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			text = strings.ReplaceAll(text, form, "<redacted>")
		}
	}
	return text
}

// sdkCredential converts one attempt's credentials into the SDK's static
// types; the SDK's own refreshing providers are not used, our source is.
func sdkCredential(cr Credentials) any {
	if cr.SecurityToken != "" {
		return credentials.NewStsTokenCredential(cr.AccessKeyID, cr.AccessKeySecret, cr.SecurityToken)
	}
	return credentials.NewAccessKeyCredential(cr.AccessKeyID, cr.AccessKeySecret)
}

// contextTransport attaches the call's context to every HTTP request the SDK
// makes: the v1 SDK builds its requests without one, so this is how
// cancellation and the per-attempt deadline reach the connection.
type contextTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t contextTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}
