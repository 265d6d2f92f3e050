package node

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// Config is everything `eci-vnode node` needs to run one VNode. The command
// fills it from flags, environment and an optional file; tests fill it
// directly.
type Config struct {
	// NodeName is the Kubernetes node this runtime registers and serves.
	NodeName string
	// ClusterName identifies the cluster in the tags of every instance, so
	// several clusters can share one Alibaba Cloud account safely.
	ClusterName string

	// Placement defaults for every pod; pod annotations win.
	Region           string
	ZoneIDs          []string
	VSwitchIDs       []string
	SecurityGroupID  string
	ResourceGroupID  string
	ScheduleStrategy string
	// Tags are added to every instance of this VNode (cost split per VNode / team).
	Tags map[string]string
	// CostTagKeys are the tag keys the cost metrics split the instances'
	// cost by (cost.go); nil means the keys of Tags.
	CostTagKeys []string
	// ManagedVNodeID is set when this runtime is the resident node of a VNode
	// made with ECI's VirtualNode API (CreateVirtualNode): ECI bills that
	// resident node like a 2 vCPU / 8 GiB instance for as long as it is Ready
	// (docs/design.md, "Cost"). Empty for a VNode the bundled runtime serves.
	ManagedVNodeID string

	// ClusterDNS and ClusterDomain give pods with dnsPolicy ClusterFirst the
	// resolver configuration a kubelet would.
	ClusterDNS    []string
	ClusterDomain string

	// ClusterIPAccess adds a kube-proxy container to every instance, so
	// pods reach ClusterIP Services and the cluster DNS (kubeproxy.go).
	// KubeProxyImage replaces the upstream image of the API server's
	// version; KubeProxyServiceAccount (namespace/name) is the kube-proxy's
	// identity, bound to the ClusterRole system:node-proxier.
	ClusterIPAccess         bool
	KubeProxyImage          string
	KubeProxyServiceAccount string

	// Capacity advertised on the node; Allocatable is the same.
	Capacity corev1.ResourceList
	// NodeIP is the address the node reports (the runtime pod's IP).
	NodeIP string
	// DaemonPort is the kubelet API port the node advertises; Run sets it
	// to the port of RunOptions.KubeletAPIAddr. Zero advertises none (no
	// kubelet API): an advertised port that refuses connections would make
	// `kubectl logs` fail with a connection error instead of saying why.
	DaemonPort int32
	// Labels are added to the VNode labels every VNode carries
	// (docs/design.md, "Names").
	Labels map[string]string
	// Taints are the Node's taints: nil means DefaultTaints (the VNode
	// taint only), an empty non-nil list no taints. The runtime keeps them
	// on an existing Node too (SyncTaints); the ECI API taint
	// TaintECIUnreachable is not among them: Health manages it.
	Taints []corev1.Taint

	// SpotStrategy and SpotPriceLimit (with SpotWithPriceLimit only) are
	// the spot settings of a pod without k8s.aliyun.com/eci-spot-strategy;
	// AutoMatchImageCache that of a pod without k8s.aliyun.com/eci-auto-imc
	// (runtime/translate, "Defaults from the VNode").
	SpotStrategy        string
	SpotPriceLimit      float64
	AutoMatchImageCache bool

	// StatusPollFast is how often ECI is asked which instances changed
	// (DescribeContainerGroupStatus with SinceSecond); StatusPollSlow is
	// how often every instance of the VNode is listed, at least.
	StatusPollFast time.Duration
	StatusPollSlow time.Duration
	// ReadBudgetShare is the share of the account's documented read quotas
	// (DescribeContainerGroups, DescribeContainerGroupStatus) this runtime
	// may spend: the quotas are per account, shared by every VNode and
	// every other tool of the account.
	ReadBudgetShare float64
	// StatsCachePeriod is how long one answer of ECI's metrics serves
	// /stats/summary and /metrics/resource; StatsMaxStale how long the last
	// good answer is served while ECI's metrics fail (runtime/node/stats.go).
	// They have no flags: the defaults suit metrics-server's scrapes.
	StatsCachePeriod time.Duration
	StatsMaxStale    time.Duration
	// ECIHealthInterval is how often the node checks that ECI answers.
	ECIHealthInterval time.Duration
	// ECIUnreachableAfter is how long ECI must fail every check (and at
	// least ECIUnreachableChecks checks in a row) before the node says the
	// ECI API is unreachable and takes no new pods. One success clears it.
	ECIUnreachableAfter  time.Duration
	ECIUnreachableChecks int
	// OrphanGracePeriod is how long an instance with our tags but no pod is
	// left alone before it is deleted; it protects pods that are still being
	// created or whose informer event is late.
	OrphanGracePeriod time.Duration
	// InstanceLostGracePeriod is how long a created instance may be missing
	// from listings (eventual consistency) before its pod is failed.
	InstanceLostGracePeriod time.Duration
	// CreateBackoffBase and CreateBackoffMax bound the retry delay of
	// creates that failed with a retryable error (throttling, 5xx, NoStock).
	CreateBackoffBase time.Duration
	CreateBackoffMax  time.Duration
	// CreateQPS, CreateBurst and CreatePerMinute bound the
	// CreateContainerGroup and DeleteContainerGroup calls of the ECI client
	// (RateLimits) and the create queue's retries. The defaults are the
	// client's (eci.DefaultRateLimits: 19/s after a burst of 95, and at most
	// 1000 in any minute, under ECI's documented bucket of 20/s and 100 and
	// its 1000 a minute); an account whose quota Alibaba raised may raise
	// them. A negative CreatePerMinute means no per-minute cap.
	CreateQPS       float64
	CreateBurst     int
	CreatePerMinute int
	// Workers is the number of concurrent instance creations, and of
	// virtual-kubelet's pod workers (DefaultWorkers).
	Workers int
}

// DefaultWorkers is the default of Config.Workers. Creates wait on ECI's
// answer (50 ms to seconds) and on the client's create limiter (a burst of
// 95, then 19 a second), so with 10 workers a scale-up used the burst at 10
// calls per round trip; 50 drain it at once, and the limiter, not the
// workers, paces what follows (docs/benchmarks.md).
const DefaultWorkers = 50

// Defaults fills unset fields with production defaults.
func (c *Config) Defaults() {
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	if c.Capacity == nil {
		c.Capacity = corev1.ResourceList{}
	}
	for name, q := range map[corev1.ResourceName]string{
		corev1.ResourceCPU:              "1000",
		corev1.ResourceMemory:           "4Ti",
		corev1.ResourcePods:             "1000",
		corev1.ResourceEphemeralStorage: "10Ti",
	} {
		if _, ok := c.Capacity[name]; !ok {
			c.Capacity[name] = resource.MustParse(q)
		}
	}
	setDur(&c.StatusPollFast, time.Second)
	setDur(&c.StatusPollSlow, 30*time.Second)
	if c.ReadBudgetShare == 0 {
		c.ReadBudgetShare = 0.5
	}
	// Under 15 s, both ECI's sampling interval and metrics-server's
	// default scrape interval: each of metrics-server's scrapes asks ECI
	// again and can see a new sample (the same sample twice gives it no
	// interval to compute a rate over), while scrapes that come together
	// (several metrics-servers, Prometheus, kubectl get --raw) share one
	// read. Reads per minute stay at most 6 per 20 running pods.
	setDur(&c.StatsCachePeriod, 10*time.Second)
	// Four scrape intervals: a short ECI hiccup does not blank
	// `kubectl top` or the HPA, a longer one is reported instead of
	// serving old numbers as current.
	setDur(&c.StatsMaxStale, time.Minute)
	setDur(&c.ECIHealthInterval, 15*time.Second)
	setDur(&c.ECIUnreachableAfter, time.Minute)
	if c.ECIUnreachableChecks == 0 {
		c.ECIUnreachableChecks = 3
	}
	setDur(&c.OrphanGracePeriod, 2*time.Minute)
	setDur(&c.InstanceLostGracePeriod, time.Minute)
	setDur(&c.CreateBackoffBase, time.Second)
	setDur(&c.CreateBackoffMax, 5*time.Minute)
	createDelete := c.createLimit()
	c.CreateQPS, c.CreateBurst = createDelete.PerSecond, createDelete.Burst
	c.CreatePerMinute = cmp.Or(c.CreatePerMinute, createDelete.PerMinuteCap) // a negative one (no cap) stays
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
}

func setDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// FlagRef names a setting the way an operator gives it: the flag of
// `eci-vnode node` and its environment variable (ECI_VNODE_ + the flag name
// in upper case, dashes as underscores).
func FlagRef(flag string) string {
	return "--" + flag + " / ECI_VNODE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Validate reports every problem of the configuration at once, each with
// the flag and environment variable that set it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", FlagRef(flag), fmt.Sprintf(format, a...)))
	}
	if c.NodeName == "" {
		bad("node-name", "required (or NODE_NAME, as the runtime's Deployment sets it)")
	}
	if c.ClusterName == "" {
		bad("cluster-name", "required: it tags every ECI instance so the runtime can find its own")
	} else if len(c.ClusterName) > 128 {
		bad("cluster-name", "%q is longer than 128 characters, the limit of an ECI tag value", c.ClusterName)
	}
	if c.Region == "" {
		bad("region", "required (or ALIBABA_CLOUD_REGION_ID / ALICLOUD_REGION), e.g. cn-hangzhou")
	}
	if len(c.VSwitchIDs) > 10 {
		bad("vswitch-ids", "%d vSwitches given; ECI accepts at most 10", len(c.VSwitchIDs))
	}
	if s := c.ScheduleStrategy; s != "" && s != "VSwitchOrdered" && s != "VSwitchRandom" {
		bad("schedule-strategy", "%q is not valid; use VSwitchOrdered or VSwitchRandom", s)
	}
	for k := range c.Tags {
		if strings.HasPrefix(k, "eci-vnode/") {
			bad("tags", "tag %q uses the prefix eci-vnode/, which the runtime reserves for its own tags", k)
		}
	}
	for _, p := range cost.TagKeyProblems(c.CostTagKeys) {
		bad("cost-tag-keys", "%s", p)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"status-poll-fast", c.StatusPollFast}, {"status-poll-slow", c.StatusPollSlow},
		{"eci-health-interval", c.ECIHealthInterval}, {"eci-unreachable-after", c.ECIUnreachableAfter},
		{"orphan-grace-period", c.OrphanGracePeriod},
	} {
		if d.v < 0 {
			bad(d.flag, "%s is negative", d.v)
		}
	}
	if c.StatusPollFast > c.StatusPollSlow {
		bad("status-poll-fast", "%s is longer than --status-poll-slow %s", c.StatusPollFast, c.StatusPollSlow)
	}
	if c.ReadBudgetShare < 0 || c.ReadBudgetShare > 1 {
		bad("eci-read-share", "%g is not a share between 0 and 1 (0.5 = half the account's read quota)", c.ReadBudgetShare)
	}
	if c.ECIUnreachableChecks < 0 {
		bad("eci-unreachable-checks", "%d is negative", c.ECIUnreachableChecks)
	}
	if c.Workers < 0 {
		bad("create-workers", "%d is negative", c.Workers)
	}
	if c.CreateQPS < 0 {
		bad("eci-create-qps", "%g is negative", c.CreateQPS)
	}
	if c.CreateBurst < 0 {
		bad("eci-create-burst", "%d is negative", c.CreateBurst)
	}
	if c.ClusterIPAccess {
		if err := KubeProxyServiceAccountRef(c.KubeProxyServiceAccount); err != nil {
			bad("kube-proxy-service-account", "%v: the kube-proxy's ServiceAccount is needed with --cluster-ip-access (default $POD_NAMESPACE/eci-vnode-kube-proxy)", err)
		}
	}
	return errors.Join(errs...)
}

// readActions are the budgeted read actions and their documented
// per-account quotas, calls per minute (DescribeContainerGroups 2000,
// DescribeContainerGroupStatus 10000 for the status path;
// DescribeMultiContainerGroupMetric 2000 for the stats; see docs/design.md,
// "Quotas").
var readActions = map[string]float64{
	actionDescribeContainerGroups:           2000,
	actionDescribeContainerGroupStatus:      10000,
	actionDescribeMultiContainerGroupMetric: 2000,
}

const (
	actionCreateContainerGroup              = "CreateContainerGroup"
	actionDeleteContainerGroup              = "DeleteContainerGroup"
	actionDescribeContainerGroups           = "DescribeContainerGroups"
	actionDescribeContainerGroupStatus      = "DescribeContainerGroupStatus"
	actionDescribeMultiContainerGroupMetric = "DescribeMultiContainerGroupMetric"
)

// readBudget is how many calls per minute of a read action this runtime
// may make; 0 when the action is not budgeted.
func (c *Config) readBudget(action string) float64 {
	return readActions[action] * c.ReadBudgetShare
}

// createLimit is CreateQPS, CreateBurst and CreatePerMinute, zero ones
// replaced by the client's defaults: a zero limit would be none at all.
func (c *Config) createLimit() eci.Limit {
	def := eci.DefaultRateLimits()[actionCreateContainerGroup]
	return eci.Limit{PerSecond: cmp.Or(c.CreateQPS, def.PerSecond), Burst: cmp.Or(c.CreateBurst, def.Burst),
		PerMinuteCap: max(cmp.Or(c.CreatePerMinute, def.PerMinuteCap), 0)}
}

// RateLimits are the client-side limits that keep the ECI client inside the
// read budget and CreateQPS/CreateBurst; the command gives them to the client
// (eci.Config.RateLimits), which applies them to every attempt, retries
// included. Other actions keep the client's defaults.
func (c *Config) RateLimits() map[string]eci.Limit {
	createDelete := c.createLimit()
	out := map[string]eci.Limit{actionCreateContainerGroup: createDelete, actionDeleteContainerGroup: createDelete}
	for action := range readActions {
		if n := int(c.readBudget(action)); n > 0 {
			out[action] = eci.PerMinute(n)
		}
	}
	return out
}

// transitionRecheck is how long an instance in transition may go without a
// read when the changes feed does not mention it.
func (c *Config) transitionRecheck() time.Duration {
	if d := 5 * c.StatusPollFast; d > 3*time.Second {
		return d
	}
	return 3 * time.Second
}

// vnode is the part of the configuration translation needs.
func (c *Config) vnode() translate.VNode {
	return translate.VNode{
		ClusterName:      c.ClusterName,
		NodeName:         c.NodeName,
		Region:           c.Region,
		ZoneIDs:          c.ZoneIDs,
		VSwitchIDs:       c.VSwitchIDs,
		SecurityGroupID:  c.SecurityGroupID,
		ResourceGroupID:  c.ResourceGroupID,
		ScheduleStrategy: c.ScheduleStrategy,
		Tags:             c.Tags,
		ClusterDNS:       c.ClusterDNS,
		ClusterDomain:    c.ClusterDomain,

		SpotStrategy:        c.SpotStrategy,
		SpotPriceLimit:      c.SpotPriceLimit,
		AutoMatchImageCache: c.AutoMatchImageCache,
	}
}

// DefaultTaints are the taints of a VNode whose Config.Taints is nil: the
// VNode taint k8s.aliyun.com/vnode=true:NoSchedule (docs/design.md, "Names").
func DefaultTaints() []corev1.Taint {
	return []corev1.Taint{{Key: TaintKey, Value: TaintValue, Effect: profile.VNodeTaintEffect}}
}

// nodeTaints are the taints the Node should carry by the configuration.
func (c *Config) nodeTaints() []corev1.Taint {
	if c.Taints == nil {
		return DefaultTaints()
	}
	out := make([]corev1.Taint, len(c.Taints))
	for i, t := range c.Taints {
		out[i] = corev1.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect}
	}
	return out
}
