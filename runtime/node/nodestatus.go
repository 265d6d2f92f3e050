package node

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and taint of a VNode (DESIGN §2): the ones Alibaba's own VNodes
// carry, so manifests written for them work unchanged.
const (
	LabelVNode  = "k8s.aliyun.com/vnode"
	TaintKey    = "k8s.aliyun.com/vnode"
	TaintValue  = "true"
	LabelType   = "type"
	LabelRegion = "topology.kubernetes.io/region"
	LabelZone   = "topology.kubernetes.io/zone"
)

// ConfigureNode fills the node virtual-kubelet registers: labels, taint,
// capacity, addresses, daemon endpoint and node info. Ready starts False
// until the first ECI health check passes.
func ConfigureNode(n *corev1.Node, cfg Config, version string) {
	cfg.Defaults()
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	for k, v := range cfg.Labels {
		n.Labels[k] = v
	}
	n.Labels[LabelVNode] = "true"
	n.Labels[LabelType] = "virtual-kubelet"
	n.Labels[corev1.LabelOSStable] = "linux"
	n.Labels[corev1.LabelArchStable] = "amd64"
	n.Labels[corev1.LabelHostname] = cfg.NodeName
	n.Labels[LabelRegion] = cfg.Region
	if len(cfg.ZoneIDs) > 0 {
		n.Labels[LabelZone] = cfg.ZoneIDs[0]
	}
	n.Spec.Taints = append([]corev1.Taint{{Key: TaintKey, Value: TaintValue, Effect: corev1.TaintEffectNoSchedule}}, cfg.Taints...)

	n.Status.Capacity = cfg.Capacity.DeepCopy()
	n.Status.Allocatable = cfg.Capacity.DeepCopy()
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: cfg.NodeName}}
	if cfg.NodeIP != "" {
		n.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.NodeIP}}, n.Status.Addresses...)
	}
	n.Status.DaemonEndpoints = corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: cfg.DaemonPort}}
	n.Status.NodeInfo = corev1.NodeSystemInfo{
		OperatingSystem:         "linux",
		Architecture:            "amd64",
		KubeletVersion:          "v1.37.2-eci-vnode-" + version,
		ContainerRuntimeVersion: "eci://2018-08-08",
		OSImage:                 "Alibaba Cloud Elastic Container Instance",
		KernelVersion:           runtime.Version(),
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "ECIUnchecked", Message: "the ECI API has not been checked yet", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "ECIElastic", Message: "ECI instances bring their own memory", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "ECIElastic", Message: "ECI instances bring their own disk", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "ECIElastic", Message: "ECI instances bring their own PIDs", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "ECIVPC", Message: "ECI instances get their network from the VPC", LastHeartbeatTime: now, LastTransitionTime: now},
	}
	n.Status.Phase = corev1.NodeRunning
}

// Health implements virtual-kubelet's NodeProvider. The node stays alive
// (its Lease is renewed) while ECI is down — the runtime itself is fine —
// but its Ready condition turns False with the failing call's error, so the
// scheduler stops sending pods to a VNode that cannot create them.
type Health struct {
	eci      ECI
	interval time.Duration
	metrics  *Metrics

	mu   sync.Mutex
	node *corev1.Node
	cb   func(*corev1.Node)
}

// NewHealth returns a node provider for the node n (as configured).
func NewHealth(e ECI, n *corev1.Node, interval time.Duration, m *Metrics) *Health {
	return &Health{eci: e, node: n.DeepCopy(), interval: interval, metrics: m}
}

// Ping reports the runtime alive; ECI health is reported in conditions.
func (h *Health) Ping(ctx context.Context) error { return ctx.Err() }

// NotifyNodeStatus registers virtual-kubelet's node status callback.
func (h *Health) NotifyNodeStatus(_ context.Context, cb func(*corev1.Node)) {
	h.mu.Lock()
	h.cb = cb
	h.mu.Unlock()
}

// Run checks ECI every interval and publishes Ready changes.
func (h *Health) Run(ctx context.Context) {
	for {
		h.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(h.interval):
		}
	}
}

// check makes one cheap authenticated call (DescribeRegions) and sets Ready.
func (h *Health) check(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err := h.eci.DescribeRegions(cctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	status, reason, msg := corev1.ConditionTrue, "ECIReachable", "the ECI API answers authenticated calls"
	h.metrics.eciHealthy.Set(1)
	if err != nil {
		status, reason = corev1.ConditionFalse, "ECIUnreachable"
		msg = fmt.Sprintf("the ECI API does not answer: %v", err)
		h.metrics.eciHealthy.Set(0)
	}
	h.mu.Lock()
	now := metav1.Now()
	for i := range h.node.Status.Conditions {
		c := &h.node.Status.Conditions[i]
		c.LastHeartbeatTime = now
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = now
		}
		c.Status, c.Reason, c.Message = status, reason, msg
	}
	out := h.node.DeepCopy()
	cb := h.cb
	h.mu.Unlock()
	if cb != nil {
		cb(out)
	}
}
