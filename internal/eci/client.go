// Package eci is the one Alibaba Cloud Elastic Container Instance (ECI)
// client of this module, used by the Terraform provider and by the eci-vnode
// runtime alike. It wraps alibaba-cloud-sdk-go (v1) with:
//
//   - typed requests and responses for every ECI action we use, including
//     the ones the v1 SDK lacks, all sent as SDK CommonRequests built from
//     our own request model (see model_container_group.go and wire.go);
//   - credentials from configuration or the conventional environment
//     variables, and an explicit endpoint so the SDK never resolves one
//     over the network;
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
	return fmt.Sprintf("eci.Client{region %s, endpoint %s, %s}", c.cfg.region, c.cfg.endpoint, c.cfg.credentials)
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
	var last *APIError
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

		t0 := time.Now()
		apiErr := c.attempt(budget, action, params, out)
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

// attempt sends the request once. Each attempt builds a fresh request, so
// it is signed anew with a new Timestamp and SignatureNonce, and uses a
// fresh SDK client: the v1 SDK client mutates its own fields on every call
// (timeouts, TLS settings), which is a data race when shared.
func (c *Client) attempt(ctx context.Context, action string, params wireParams, out any) *APIError {
	actx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()

	sdkCfg := sdk.NewConfig()
	sdkCfg.AutoRetry = false // we retry, with back-off and classification
	sdkCfg.Scheme = c.cfg.endpoint.scheme
	sdkCfg.Timeout = c.cfg.timeout
	sdkCfg.UserAgent = c.cfg.userAgent
	sdkCfg.Transport = contextTransport{ctx: actx, base: c.cfg.transport}

	cli, err := sdk.NewClientWithOptions(c.cfg.region, sdkCfg, c.sdkCredential())
	if err != nil {
		return &APIError{Action: action, Message: "create SDK client: " + err.Error(), Class: ClassInvalidInput, Err: err}
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
		ae.Message = c.redact(ae.Message)
		return ae
	}
	if out != nil {
		if err := decodeJSON(resp.GetHttpContentBytes(), out); err != nil {
			return &APIError{Action: action, Code: "SDK.JsonUnmarshalError", HTTPStatus: resp.GetHttpStatus(),
				Message: "decode response: " + err.Error(), Class: ClassUnknown, Err: err}
		}
	}
	return nil
}

// redact removes our secrets from text that came back from the server or
// the transport, in case it echoes request parameters.
func (c *Client) redact(text string) string {
	for _, secret := range []string{c.cfg.credentials.SecurityToken, c.cfg.credentials.AccessKeySecret} {
		if len(secret) < 4 { // too short to search for safely; and never valid
			continue
		}
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			text = strings.ReplaceAll(text, form, "<redacted>")
		}
	}
	return text
}

// sdkCredential converts our credentials into the SDK's static types.
func (c *Client) sdkCredential() any {
	cr := *c.cfg.credentials
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
