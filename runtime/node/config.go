package node

import (
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

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

	// ClusterDNS and ClusterDomain give pods with dnsPolicy ClusterFirst the
	// resolver configuration a kubelet would.
	ClusterDNS    []string
	ClusterDomain string

	// Capacity advertised on the node; Allocatable is the same.
	Capacity corev1.ResourceList
	// NodeIP is the address the node reports (the runtime pod's IP).
	NodeIP string
	// DaemonPort is the kubelet API port the node advertises.
	DaemonPort int32
	// Labels and Taints are added to the DESIGN labels and the VNode taint.
	Labels map[string]string
	Taints []corev1.Taint

	// StatusPollFast is the poll interval while some pod is changing state;
	// StatusPollSlow applies when all pods are steady.
	StatusPollFast time.Duration
	StatusPollSlow time.Duration
	// ECIHealthInterval is how often the node checks that ECI answers.
	ECIHealthInterval time.Duration
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
	// CreateQPS and CreateBurst bound creates per second: ECI's token bucket
	// for CreateContainerGroup refills 20/s with a burst of 100.
	CreateQPS   float64
	CreateBurst int
	// Workers is the number of concurrent create workers.
	Workers int
}

// Defaults fills unset fields with production defaults.
func (c *Config) Defaults() {
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	if c.DaemonPort == 0 {
		c.DaemonPort = 10250
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
	setDur(&c.StatusPollSlow, 10*time.Second)
	setDur(&c.ECIHealthInterval, 15*time.Second)
	setDur(&c.OrphanGracePeriod, 2*time.Minute)
	setDur(&c.InstanceLostGracePeriod, time.Minute)
	setDur(&c.CreateBackoffBase, time.Second)
	setDur(&c.CreateBackoffMax, 5*time.Minute)
	if c.CreateQPS == 0 {
		c.CreateQPS = 20
	}
	if c.CreateBurst == 0 {
		c.CreateBurst = 100
	}
	if c.Workers == 0 {
		c.Workers = 10
	}
}

func setDur(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("node name is required (--node-name)"))
	}
	if c.ClusterName == "" {
		errs = append(errs, errors.New("cluster name is required (--cluster-name): it tags every ECI instance so the runtime can find its own"))
	} else if len(c.ClusterName) > 128 {
		errs = append(errs, fmt.Errorf("cluster name %q is longer than 128 characters, the limit of an ECI tag value", c.ClusterName))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("region is required (--region or ALIBABA_CLOUD_REGION_ID)"))
	}
	if len(c.VSwitchIDs) > 10 {
		errs = append(errs, fmt.Errorf("%d vSwitches given; ECI accepts at most 10", len(c.VSwitchIDs)))
	}
	if s := c.ScheduleStrategy; s != "" && s != "VSwitchOrdered" && s != "VSwitchRandom" {
		errs = append(errs, fmt.Errorf("schedule strategy %q is not valid; use VSwitchOrdered or VSwitchRandom", s))
	}
	for k := range c.Tags {
		if strings.HasPrefix(k, "eci-vnode/") {
			errs = append(errs, fmt.Errorf("tag %q uses the prefix eci-vnode/, which the runtime reserves for its own tags", k))
		}
	}
	if c.StatusPollFast > c.StatusPollSlow {
		errs = append(errs, fmt.Errorf("fast status poll interval %s is longer than the slow one %s", c.StatusPollFast, c.StatusPollSlow))
	}
	return errors.Join(errs...)
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
	}
}
