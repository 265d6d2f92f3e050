package emulator

import (
	"fmt"
	"time"
)

// Config describes the emulated account and region. The zero value is a
// usable emulator: one region (cn-hangzhou) with three zones, unlimited
// stock, the documented quotas and rate limits, and a real clock.
// Durations that are zero take their documented default; use a negative
// duration where "instantly" is wanted (see each field).
type Config struct {
	// Credentials accepted by the signature check. Empty means one
	// credential, DefaultCredential().
	Credentials []Credential `json:"credentials,omitempty"`
	// Region is the only region served. Requests for another RegionId get
	// InvalidRegionId.NotFound (so a client that sends the wrong region is
	// caught). Default "cn-hangzhou".
	Region string `json:"region,omitempty"`
	// Zones of the region with their vSwitches and stock. Default: zones
	// <region>-h, -i, -j, each with two vSwitches vsw-<zone suffix>-1/-2.
	Zones []ZoneConfig `json:"zones,omitempty"`
	// VpcID of every vSwitch; default vpc-emulator0001.
	VpcID string `json:"vpcId,omitempty"`
	// SecurityGroups that exist; default ["sg-emulator0001"], the first
	// is used when a request omits SecurityGroupId.
	SecurityGroups []string `json:"securityGroups,omitempty"`

	// Clock drives lifecycles, buckets and timestamps; nil = real clock.
	Clock Clock `json:"-"`
	// SignatureClock is what request Timestamps are checked against and
	// what the nonce window runs on. SDKs sign with the wall clock, so it
	// defaults to the real clock even when Clock is fake.
	SignatureClock Clock `json:"-"`

	Lifecycle LifecycleConfig `json:"lifecycle,omitzero"`
	// Images maps an image reference to its behaviour. A key matches the
	// image exactly, or without its tag/digest ("nginx" matches
	// "nginx:1.25"). A configured image's behaviour wins over the
	// container's command. For other images a command the shell
	// interpreter can run decides the process (README.md, "Container
	// processes"); otherwise app containers use DefaultImage, init
	// containers DefaultInitImage.
	Images           map[string]ImageBehaviour `json:"images,omitempty"`
	DefaultImage     *ImageBehaviour           `json:"defaultImage,omitempty"`
	DefaultInitImage *ImageBehaviour           `json:"defaultInitImage,omitempty"`

	// ExtraSpecs adds vCPU/memory specs to the all-regions table used for
	// rounding up (regions such as cn-hangzhou sell finer steps).
	ExtraSpecs []Spec `json:"extraSpecs,omitempty"`
	// InstanceTypes adds or replaces ECS instance types accepted in
	// InstanceType (a built-in set covers c6/g6/r6/c7/g7 and gn6i).
	InstanceTypes map[string]InstanceType `json:"instanceTypes,omitempty"`

	Quotas     QuotaConfig     `json:"quotas,omitzero"`
	RateLimits RateLimitConfig `json:"rateLimits,omitzero"`
	Retention  RetentionConfig `json:"retention,omitzero"`
	Prices     PriceConfig     `json:"prices,omitzero"`

	// FaultSeed seeds the random source of fault injection (error rates)
	// and VSwitchRandom scheduling. Same seed, same request order, same
	// outcome. Default 1.
	FaultSeed int64 `json:"faultSeed,omitempty"`
	// SignatureWindow is the allowed Timestamp skew and the nonce replay
	// window. Default 15 minutes (the documented value).
	SignatureWindow time.Duration `json:"signatureWindow,omitempty"`
	// HostID is the HostId of error bodies; default "eci.aliyuncs.com".
	HostID string `json:"hostId,omitempty"`
	// ReadTimeout bounds, separately, how long a client may take to send
	// a request's headers and its body. A stalled header read closes the
	// connection; a stalled body is answered 408 RequestTimeout and the
	// connection closed. It never cuts short a request the emulator holds
	// (OutageHang, fault latency) nor an exec websocket session.
	// Default 30s; negative = no limit.
	ReadTimeout time.Duration `json:"readTimeout,omitempty"`
	// IdleTimeout closes keep-alive connections that carry no request for
	// this long. Default 2 minutes; negative = no limit.
	IdleTimeout time.Duration `json:"idleTimeout,omitempty"`
	// Logf receives one line per request and notable events; nil = silent.
	Logf func(format string, args ...any) `json:"-"`
	// ResidentNodes, if set, runs the resident node of every VNode
	// CreateVirtualNode makes (resident.go): the VNode is Ready once its
	// node has registered in the cluster its kubeconfig names, and Failed
	// with the reason in its events if it cannot. Nil keeps VNodes records
	// only, Ready after Lifecycle.VirtualNodeReady.
	ResidentNodes ResidentNodeRunner `json:"-"`
}

// ZoneConfig is one availability zone.
type ZoneConfig struct {
	ID         string   `json:"id"`
	VSwitchIDs []string `json:"vSwitchIds"`
	// Closed makes the zone refuse new instances (NoStock), as an
	// operator closing a zone would; existing instances keep running.
	Closed bool `json:"closed,omitempty"`
	// Stock is the number of instances of each spec the zone can still
	// host. Keys are "<cpu>-<mem>Gi" (e.g. "2-4Gi") or an ECS instance
	// type, or "*" for any spec not listed. Nil = unlimited. Stock is
	// taken when an instance is placed and returned when it ends.
	Stock map[string]int `json:"stock,omitempty"`
}

// LifecycleConfig sets how long each phase takes. Zero = default;
// negative = instantaneous.
type LifecycleConfig struct {
	Scheduling     time.Duration `json:"scheduling,omitempty"`     // Scheduling -> Pending (default 2s)
	ImagePull      time.Duration `json:"imagePull,omitempty"`      // per container, unless the image sets its own (default 3s)
	ContainerStart time.Duration `json:"containerStart,omitempty"` // Created -> Running (default 1s)
	Restarting     time.Duration `json:"restarting,omitempty"`     // RestartContainerGroup: Restarting -> Pending (default 2s)
	Updating       time.Duration `json:"updating,omitempty"`       // UpdateContainerGroup: Updating -> back (default 2s)
	// Terminating caps the graceful termination time; the instance's
	// TerminationGracePeriodSeconds is used when shorter. Default 2s.
	Terminating time.Duration `json:"terminating,omitempty"`
	// CrashBackoff is the first restart back-off; it doubles per restart
	// up to CrashBackoffMax, like the kubelet (defaults 10s / 5m).
	CrashBackoff     time.Duration `json:"crashBackoff,omitempty"`
	CrashBackoffMax  time.Duration `json:"crashBackoffMax,omitempty"`
	VirtualNodeReady time.Duration `json:"virtualNodeReady,omitempty"` // Pending -> Ready (default 10s)
	ImageCacheReady  time.Duration `json:"imageCacheReady,omitempty"`  // Preparing -> Creating -> Ready (default 20s in total)
	// MaxPendingMinuteDefault is how long an instance may stay Pending
	// (e.g. unpullable image) before it fails; request MaxPendingMinute
	// overrides. Default 240 minutes.
	MaxPendingDefault time.Duration `json:"maxPendingDefault,omitempty"`
}

// QuotaConfig are account-level limits.
type QuotaConfig struct {
	// MaxCPU is the regional vCPU quota over live instances
	// (ListUsage MaxCpu). Default 1000; negative = unlimited.
	MaxCPU float64 `json:"maxCpu,omitempty"`
	// MaxImageCaches default 50; negative = unlimited.
	MaxImageCaches int `json:"maxImageCaches,omitempty"`
	// MaxVirtualNodes default 100; negative = unlimited.
	MaxVirtualNodes int `json:"maxVirtualNodes,omitempty"`
}

// RateLimitConfig configures per-action token buckets.
type RateLimitConfig struct {
	// Disabled turns every limit off.
	Disabled bool `json:"disabled,omitempty"`
	// Override replaces the documented limit of an action; a Limit with
	// Burst 0 turns that action's limit off.
	Override map[string]RateLimit `json:"override,omitempty"`
}

// RateLimit is a token bucket: Burst tokens, refilled at Burst per Per
// spread evenly (so 2000 per minute refills one token every 30 ms), or at
// Refill per second when Refill is set.
type RateLimit struct {
	Burst  int           `json:"burst"`
	Per    time.Duration `json:"per,omitempty"`
	Refill float64       `json:"refill,omitempty"`
}

// RetentionConfig: terminal instances (Succeeded, Failed, ScheduleFailed,
// Expired) are kept in full for Keep after finishing, then only the newest
// KeepLast of them. Defaults 1h / 100, as documented.
type RetentionConfig struct {
	Keep     time.Duration `json:"keep,omitempty"`
	KeepLast int           `json:"keepLast,omitempty"`
}

// PriceConfig sets the unit prices DescribeContainerGroupPrice returns.
// Defaults are the China-site list prices (CNY).
type PriceConfig struct {
	Currency             string             `json:"currency,omitempty"`           // default CNY
	VCPUPerSecond        float64            `json:"vcpuPerSecond,omitempty"`      // default 0.000049
	MemoryGiBPerSecond   float64            `json:"memoryGiBPerSecond,omitempty"` // default 0.00000613
	EconomyVCPUPerSecond float64            `json:"economyVcpuPerSecond,omitempty"`
	InstanceTypes        map[string]float64 `json:"instanceTypes,omitempty"` // per-second price of an ECS type
	// SpotDiscount is the fraction of the pay-as-you-go price a spot
	// instance costs (default 0.2).
	SpotDiscount float64 `json:"spotDiscount,omitempty"`
}

func durOr(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// withDefaults returns a copy of cfg with every default filled in and
// validates what cannot work.
func (cfg Config) withDefaults() (Config, error) {
	c := cfg
	if len(c.Credentials) == 0 {
		c.Credentials = []Credential{DefaultCredential()}
	}
	if c.Region == "" {
		c.Region = "cn-hangzhou"
	}
	if len(c.Zones) == 0 {
		for _, s := range []string{"h", "i", "j"} {
			c.Zones = append(c.Zones, ZoneConfig{
				ID:         c.Region + "-" + s,
				VSwitchIDs: []string{"vsw-" + s + "-1", "vsw-" + s + "-2"},
			})
		}
	} else {
		c.Zones = append([]ZoneConfig(nil), c.Zones...)
	}
	if c.VpcID == "" {
		c.VpcID = "vpc-emulator0001"
	}
	if len(c.SecurityGroups) == 0 {
		c.SecurityGroups = []string{"sg-emulator0001"}
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.SignatureClock == nil {
		c.SignatureClock = realClock{}
	}
	l := &c.Lifecycle
	l.Scheduling = durOr(l.Scheduling, 2*time.Second)
	l.ImagePull = durOr(l.ImagePull, 3*time.Second)
	l.ContainerStart = durOr(l.ContainerStart, time.Second)
	l.Restarting = durOr(l.Restarting, 2*time.Second)
	l.Updating = durOr(l.Updating, 2*time.Second)
	l.Terminating = durOr(l.Terminating, 2*time.Second)
	l.CrashBackoff = durOr(l.CrashBackoff, 10*time.Second)
	l.CrashBackoffMax = durOr(l.CrashBackoffMax, 5*time.Minute)
	l.VirtualNodeReady = durOr(l.VirtualNodeReady, 10*time.Second)
	l.ImageCacheReady = durOr(l.ImageCacheReady, 20*time.Second)
	l.MaxPendingDefault = durOr(l.MaxPendingDefault, 240*time.Minute)
	if c.Quotas.MaxCPU == 0 {
		c.Quotas.MaxCPU = 1000
	}
	if c.Quotas.MaxImageCaches == 0 {
		c.Quotas.MaxImageCaches = 50
	}
	if c.Quotas.MaxVirtualNodes == 0 {
		c.Quotas.MaxVirtualNodes = 100
	}
	if c.Retention.Keep == 0 {
		c.Retention.Keep = time.Hour
	}
	if c.Retention.KeepLast == 0 {
		c.Retention.KeepLast = 100
	}
	p := &c.Prices
	if p.Currency == "" {
		p.Currency = "CNY"
	}
	if p.VCPUPerSecond == 0 {
		p.VCPUPerSecond = 0.000049
	}
	if p.MemoryGiBPerSecond == 0 {
		p.MemoryGiBPerSecond = 0.00000613
	}
	if p.EconomyVCPUPerSecond == 0 {
		p.EconomyVCPUPerSecond = 0.000027
	}
	if p.SpotDiscount == 0 {
		p.SpotDiscount = 0.2
	}
	if c.FaultSeed == 0 {
		c.FaultSeed = 1
	}
	if c.SignatureWindow == 0 {
		c.SignatureWindow = 15 * time.Minute
	}
	if c.HostID == "" {
		c.HostID = "eci.aliyuncs.com"
	}
	c.ReadTimeout = durOr(c.ReadTimeout, 30*time.Second)
	c.IdleTimeout = durOr(c.IdleTimeout, 2*time.Minute)
	seenAK := map[string]bool{}
	for _, cr := range c.Credentials {
		if cr.AccessKeyID == "" || cr.AccessKeySecret == "" {
			return c, fmt.Errorf("credential %q: AccessKeyID and AccessKeySecret are required", cr.AccessKeyID)
		}
		if seenAK[cr.AccessKeyID] {
			return c, fmt.Errorf("credential %q configured twice", cr.AccessKeyID)
		}
		seenAK[cr.AccessKeyID] = true
	}
	seenVsw := map[string]bool{}
	for i, z := range c.Zones {
		if z.ID == "" {
			return c, fmt.Errorf("zone %d: ID is required", i)
		}
		if len(z.VSwitchIDs) == 0 {
			return c, fmt.Errorf("zone %s: at least one vSwitch is required", z.ID)
		}
		for _, v := range z.VSwitchIDs {
			if seenVsw[v] {
				return c, fmt.Errorf("zone %s: vSwitch %s configured twice", z.ID, v)
			}
			seenVsw[v] = true
		}
		if z.Stock != nil {
			cp := make(map[string]int, len(z.Stock))
			for k, v := range z.Stock {
				cp[k] = v
			}
			c.Zones[i].Stock = cp
		}
	}
	return c, nil
}
