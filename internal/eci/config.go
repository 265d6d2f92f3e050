package eci

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// API identity sent with every call.
const (
	apiProduct = "Eci"
	apiVersion = "2018-08-08"
)

// Config configures a Client. Only Region and Credentials are essential, and
// both fall back to the conventional environment variables.
type Config struct {
	// Region, e.g. "cn-hangzhou". Empty: ALIBABA_CLOUD_REGION_ID or
	// ALICLOUD_REGION.
	Region string

	// Endpoint overrides the API host: "127.0.0.1:8080" for the emulator,
	// "eci-vpc.cn-hangzhou.aliyuncs.com" for the VPC endpoint. It may carry
	// a scheme ("http://127.0.0.1:8080"), which then wins over Scheme.
	// Empty: the documented regional endpoint eci.<region>.aliyuncs.com
	// (eci-vpc.<region>.aliyuncs.com with UseVPCEndpoint). The endpoint is
	// always set explicitly on every request so the SDK never asks the
	// remote Location service (docs/design.md, "ECI API facts", "Wire format
	// and signing").
	Endpoint string
	// UseVPCEndpoint selects eci-vpc.<region>.aliyuncs.com when Endpoint is
	// empty: calls stay inside the VPC.
	UseVPCEndpoint bool
	// Scheme is "HTTPS" (default) or "HTTP".
	Scheme string

	// Credentials are fixed for the life of the Client. With neither
	// Credentials nor CredentialSource, they are read once from the
	// environment (CredentialsFromEnv): changing the variables later needs
	// a new Client.
	Credentials *Credentials
	// CredentialSource is asked for the credentials before every attempt,
	// for credentials that change while the Client lives: rotated keys,
	// STS tokens that expire (see FileCredentialSource). Set it or
	// Credentials, not both.
	CredentialSource CredentialSource

	// Timeout bounds one HTTP attempt (default 10s). The whole call is
	// bounded by the context and Retry.MaxElapsed.
	Timeout time.Duration

	// Retry is the retry policy; zero fields take defaults (see RetryPolicy).
	Retry RetryPolicy

	// RateLimits overrides the client-side limit of individual actions
	// (keys are action names, e.g. "DescribeContainerGroups"); actions not
	// listed use DefaultRateLimits. DisableRateLimits turns them all off.
	RateLimits        map[string]Limit
	DisableRateLimits bool

	// UserAgent is appended to the SDK's User-Agent, e.g. "eci-vnode/1.2.3".
	UserAgent string

	// Observer, if set, is told about every attempt (for metrics/logging).
	// Counters are also kept by the client itself, see Client.Stats.
	Observer Observer

	// Transport is the base HTTP transport; nil uses a dedicated clone of
	// http.DefaultTransport so connections are pooled per Client.
	Transport http.RoundTripper

	// Getenv looks up environment variables for the fallbacks above;
	// nil uses os.Getenv. Tests pass a map lookup.
	Getenv func(string) string

	// RandomSeed seeds the jitter of retry back-off; 0 picks a random seed.
	// Tests set it to get reproducible delays.
	RandomSeed uint64
}

// endpoint is a resolved API address.
type endpoint struct {
	scheme string // "HTTP" or "HTTPS", as the SDK spells it
	host   string // host[:port]
}

func (e endpoint) String() string { return strings.ToLower(e.scheme) + "://" + e.host }

// regionPattern is what the SDK itself accepts as a region ID.
var regionPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*[a-z0-9]$`)

// resolved is a Config with every default applied and every input checked.
type resolved struct {
	region   string
	endpoint endpoint
	// credentials is an interface holding a pointer, so that printing a
	// resolved config (or a Client) with %+v shows an address, never the
	// secret.
	credentials CredentialSource
	timeout     time.Duration
	retry       RetryPolicy
	limits      map[string]Limit // nil = no client-side limits
	userAgent   string
	observer    Observer
	transport   http.RoundTripper
	seed        uint64
}

func (cfg Config) resolve() (resolved, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	r := resolved{
		region:    cfg.Region,
		timeout:   cfg.Timeout,
		retry:     cfg.Retry.withDefaults(),
		userAgent: cfg.UserAgent,
		observer:  cfg.Observer,
		transport: cfg.Transport,
		seed:      cfg.RandomSeed,
	}
	if r.region == "" {
		r.region = RegionFromEnv(getenv)
	}
	if r.region == "" {
		return r, fmt.Errorf("no region: set the region in the configuration (Config.Region) or the environment variable %s (or %s)", envRegion, envRegionLegacy)
	}
	if err := CheckRegion(r.region); err != nil {
		return r, err
	}

	switch {
	case cfg.Credentials != nil && cfg.CredentialSource != nil:
		return r, errors.New("credentials: set Config.Credentials or Config.CredentialSource, not both")
	case cfg.CredentialSource != nil:
		r.credentials = cfg.CredentialSource
	case cfg.Credentials != nil:
		c := *cfg.Credentials // a private copy: later changes by the caller do not apply
		if err := c.validate(); err != nil {
			return r, err
		}
		r.credentials = StaticCredentials(c)
	default:
		c, err := CredentialsFromEnv(getenv)
		if err != nil {
			return r, err
		}
		if err := c.validate(); err != nil {
			return r, err
		}
		r.credentials = StaticCredentials(c)
	}

	ep, err := resolveEndpoint(cfg.Endpoint, cfg.Scheme, r.region, cfg.UseVPCEndpoint)
	if err != nil {
		return r, err
	}
	r.endpoint = ep

	if r.timeout <= 0 {
		r.timeout = 10 * time.Second
	}
	if !cfg.DisableRateLimits {
		r.limits = DefaultRateLimits()
		for action, l := range cfg.RateLimits {
			r.limits[action] = l
		}
	}
	if r.transport == nil {
		r.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return r, nil
}

// CheckRegion reports whether region is a well-formed region ID such as
// cn-hangzhou; it does not ask the API whether the region exists.
func CheckRegion(region string) error {
	if !regionPattern.MatchString(region) {
		return fmt.Errorf("region %q is not a region ID such as cn-hangzhou", region)
	}
	return nil
}

// CheckEndpoint reports whether endpoint and scheme would be accepted as
// Config.Endpoint and Config.Scheme, so a program can check its settings
// before it has the rest of a Config.
func CheckEndpoint(endpoint, scheme string) error {
	_, err := resolveEndpoint(endpoint, scheme, "cn-hangzhou", false)
	return err
}

// resolveEndpoint picks the host and scheme. The regional endpoints
// eci.<region>.aliyuncs.com / eci-vpc.<region>.aliyuncs.com are the ones the
// ECI endpoint table documents for every region; the SDK's bundled resolver
// would map a few regions to eci.aliyuncs.com and ask the Location service
// for the rest, which needs Internet access, so we never let it resolve.
func resolveEndpoint(raw, scheme, region string, vpc bool) (endpoint, error) {
	ep := endpoint{scheme: strings.ToUpper(scheme)}
	if raw == "" {
		if vpc {
			ep.host = "eci-vpc." + region + ".aliyuncs.com"
		} else {
			ep.host = "eci." + region + ".aliyuncs.com"
		}
	} else if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return ep, fmt.Errorf("endpoint %q: %w", raw, err)
		}
		if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return ep, fmt.Errorf("endpoint %q: want scheme://host[:port] with no path", raw)
		}
		ep.scheme = strings.ToUpper(u.Scheme)
		ep.host = u.Host
	} else {
		if strings.ContainsAny(raw, "/?# ") {
			return ep, fmt.Errorf("endpoint %q: want host[:port]", raw)
		}
		ep.host = raw
	}
	switch ep.scheme {
	case "":
		ep.scheme = "HTTPS"
	case "HTTP", "HTTPS":
	default:
		return ep, errors.New("scheme must be HTTP or HTTPS, not " + ep.scheme)
	}
	return ep, nil
}
