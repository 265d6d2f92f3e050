package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// Labels and taint of a VNode (docs/design.md, "Names"): the ones
// Alibaba's own VNodes carry, so manifests written for them work unchanged.
const (
	LabelVNode  = profile.VNodeLabelKey
	TaintKey    = profile.VNodeTaintKey
	TaintValue  = profile.VNodeTaintValue
	LabelType   = "type"
	LabelRegion = corev1.LabelTopologyRegion
	LabelZone   = corev1.LabelTopologyZone
)

// ConfigureNode fills the node virtual-kubelet registers: labels, taint,
// capacity, addresses, daemon endpoint and node info. Ready is True from
// the start (the runtime runs); ECIAPIReachable is Unknown until the first
// check.
func ConfigureNode(n *corev1.Node, cfg Config, version string) {
	cfg.Defaults()
	if n.Labels == nil {
		n.Labels = map[string]string{}
	}
	for k, v := range cfg.Labels {
		n.Labels[k] = v
	}
	n.Labels[LabelVNode] = profile.VNodeLabelValue
	n.Labels[LabelType] = "virtual-kubelet"
	n.Labels[corev1.LabelOSStable] = "linux"
	n.Labels[corev1.LabelArchStable] = "amd64"
	n.Labels[corev1.LabelHostname] = cfg.NodeName
	n.Labels[LabelRegion] = cfg.Region
	if len(cfg.ZoneIDs) > 0 {
		n.Labels[LabelZone] = cfg.ZoneIDs[0]
	}
	n.Spec.Taints = cfg.nodeTaints()
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[AnnotationManagedTaints] = managedTaintsValue(n.Spec.Taints)

	n.Status.Capacity = cfg.Capacity.DeepCopy()
	n.Status.Allocatable = cfg.Capacity.DeepCopy()
	n.Status.Addresses = cfg.nodeAddresses()
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
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: ReasonRuntimeReady, Message: runtimeReadyMessage, LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: ConditionECIAPIReachable, Status: corev1.ConditionUnknown, Reason: "ECIUnchecked", Message: "the ECI API has not been checked yet", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "ECIElastic", Message: "ECI instances bring their own memory", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "ECIElastic", Message: "ECI instances bring their own disk", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "ECIElastic", Message: "ECI instances bring their own PIDs", LastHeartbeatTime: now, LastTransitionTime: now},
		{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse, Reason: "ECIVPC", Message: "ECI instances get their network from the VPC", LastHeartbeatTime: now, LastTransitionTime: now},
	}
	n.Status.Phase = corev1.NodeRunning
}

// The node's health says two different things, as a kubelet's does:
//
//   - Ready: the runtime is alive and in charge of the VNode's instances.
//     It is what the node lifecycle controller acts on — a NotReady node
//     gets the not-ready:NoExecute taint and its pods are evicted — so it
//     never follows the ECI API: instances keep running through an API
//     blip, and evicting their pods would turn a slow API into an outage.
//   - ECIAPIReachable: whether the ECI API answers. It turns False only
//     after ECIUnreachableChecks failed checks in a row spanning at least
//     ECIUnreachableAfter, and True again on the first success; while it
//     is False the node carries the NoSchedule taint TaintECIUnreachable,
//     so no new pod is sent to a VNode that cannot create it, and running
//     pods stay. Throttling is an answer: a throttled API is reachable.
const ConditionECIAPIReachable corev1.NodeConditionType = "ECIAPIReachable"

const (
	TaintECIUnreachable = "eci-vnode.io/eci-api-unreachable"
	ReasonRuntimeReady  = "EciVNodeReady"
	runtimeReadyMessage = "the eci-vnode runtime is running and in charge of this VNode's ECI instances"
)

// Health implements virtual-kubelet's NodeProvider: it checks the ECI API
// and publishes the ECIAPIReachable condition and taint.
type Health struct {
	eci      ECI
	kube     kubernetes.Interface
	cfg      Config
	metrics  *Metrics
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration

	mu           sync.Mutex
	node         *corev1.Node
	cb           func(*corev1.Node)
	failures     int       // failed checks in a row
	firstFailure time.Time // when the current run of failures began
	reachable    corev1.ConditionStatus
	tainted      *bool // what the node's taint was last set to; nil: unknown
}

// NewHealth returns a node provider for the node n (as configured).
func NewHealth(e ECI, kube kubernetes.Interface, n *corev1.Node, cfg Config, m *Metrics, log *slog.Logger) *Health {
	cfg.Defaults()
	if log == nil {
		log = slog.Default()
	}
	return &Health{eci: e, kube: kube, node: n.DeepCopy(), cfg: cfg, interval: cfg.ECIHealthInterval,
		metrics: m, log: log, now: time.Now, reachable: corev1.ConditionUnknown}
}

// Ping reports the runtime alive; ECI health is a condition of its own.
func (h *Health) Ping(ctx context.Context) error { return ctx.Err() }

// NotifyNodeStatus registers virtual-kubelet's node status callback. A
// check that ran before it (the first one runs while the node registers)
// is passed on at once rather than at the next check.
func (h *Health) NotifyNodeStatus(_ context.Context, cb func(*corev1.Node)) {
	h.mu.Lock()
	h.cb = cb
	checked := h.reachable != corev1.ConditionUnknown
	out := h.node.DeepCopy()
	h.mu.Unlock()
	if checked {
		go cb(out)
	}
}

// Run checks ECI every interval and publishes the condition when it changes.
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

// check makes one cheap authenticated call (DescribeRegions) and updates
// the condition and the taint.
func (h *Health) check(ctx context.Context) {
	// A check never outlasts the interval: the client's retries inside a
	// check would otherwise stretch a failing run of checks far beyond it.
	timeout := 10 * time.Second
	if h.interval < timeout {
		timeout = h.interval
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	_, err := h.eci.DescribeRegions(cctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := h.now()
	status, reason, msg := corev1.ConditionTrue, "ECIAPIAnswers", "the ECI API answers authenticated calls"
	if err != nil && eci.ClassOf(err) == eci.ClassThrottled {
		reason, msg = "ECIAPIThrottled", "the ECI API answers but throttles calls: "+oneLine(err)
		err = nil
	}

	h.mu.Lock()
	if err == nil {
		h.failures = 0
	} else {
		if h.failures == 0 {
			h.firstFailure = now
		}
		h.failures++
		status = h.reachable
		if status == corev1.ConditionUnknown {
			status = corev1.ConditionTrue
		}
		reason, msg = "ECIAPIFailing", fmt.Sprintf("%d checks failed in a row since %s: %s", h.failures, h.firstFailure.UTC().Format(time.RFC3339), oneLine(err))
		if h.failures >= h.cfg.ECIUnreachableChecks && now.Sub(h.firstFailure) >= h.cfg.ECIUnreachableAfter {
			status, reason = corev1.ConditionFalse, "ECIAPIUnreachable"
			msg = fmt.Sprintf("the ECI API has failed every check since %s (%d in a row); no new pods are scheduled here until it answers, running pods stay: %s",
				h.firstFailure.UTC().Format(time.RFC3339), h.failures, oneLine(err))
		}
	}
	changed := h.reachable != status
	if changed {
		h.log.Info("ECI API reachability changed", "node", h.cfg.NodeName, "reachable", status, "reason", reason, "detail", msg)
	}
	h.reachable = status
	meta := metav1.NewTime(now)
	for i := range h.node.Status.Conditions {
		c := &h.node.Status.Conditions[i]
		c.LastHeartbeatTime = meta
		if c.Type != ConditionECIAPIReachable {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = meta
		}
		c.Status, c.Reason, c.Message = status, reason, msg
	}
	out := h.node.DeepCopy()
	cb := h.cb
	wantTaint := status == corev1.ConditionFalse
	needTaint := h.tainted == nil || *h.tainted != wantTaint
	h.mu.Unlock()

	h.metrics.eciHealthy.Set(map[bool]float64{true: 0, false: 1}[wantTaint])
	if cb != nil {
		cb(out)
	}
	if needTaint {
		err := h.setTaint(ctx, wantTaint)
		switch {
		case apierrors.IsNotFound(err):
			// The first check runs while the node registers.
			h.log.Debug("node not registered yet; its ECI API taint is set at the next check", "node", h.cfg.NodeName)
			return
		case err != nil:
			h.log.Warn("could not update the ECI API taint of the node; retrying at the next check", "node", h.cfg.NodeName, "err", oneLine(err))
			return
		}
		h.mu.Lock()
		h.tainted = &wantTaint
		h.mu.Unlock()
	}
}

// setTaint adds or removes TaintECIUnreachable on the Node. virtual-kubelet
// only patches the node's status, so the spec's taints are the runtime's to
// keep; a taint left by a previous run is removed at the first success.
func (h *Health) setTaint(ctx context.Context, on bool) error {
	if h.kube == nil {
		return nil
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := h.kube.CoreV1().Nodes().Get(ctx, h.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		has := false
		var taints []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key == TaintECIUnreachable {
				has = true
				continue
			}
			taints = append(taints, t)
		}
		if has == on {
			return nil
		}
		if on {
			now := metav1.Now()
			taints = append(taints, corev1.Taint{Key: TaintECIUnreachable, Value: "true", Effect: corev1.TaintEffectNoSchedule, TimeAdded: &now})
		}
		n.Spec.Taints = taints
		_, err = h.kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	})
}

// AnnotationManagedTaints records on the Node the taints the runtime set from
// its configuration (a JSON list of key, value and effect). virtual-kubelet
// creates the Node with its taints but, for a Node that already exists,
// patches only its status, labels and annotations (node.NodeController in
// virtual-kubelet v1.14.1: updateNodeStatus patches the status subresource),
// so the taints of a restarted runtime whose --node-taints changed are
// SyncTaints' job; the annotation tells it which taints were its own, so a
// taint dropped from the configuration is removed and taints others set are
// kept.
const AnnotationManagedTaints = "eci-vnode.io/managed-taints"

// managedTaintsValue is the annotation's value for ts.
func managedTaintsValue(ts []corev1.Taint) string {
	type taint struct {
		Key    string             `json:"key"`
		Value  string             `json:"value,omitempty"`
		Effect corev1.TaintEffect `json:"effect"`
	}
	out := make([]taint, len(ts))
	for i, t := range ts {
		out[i] = taint{t.Key, t.Value, t.Effect}
	}
	b, _ := json.Marshal(out) // cannot fail: strings only
	return string(b)
}

// parseManagedTaints reads the annotation. A Node without it (registered by
// a runtime that did not write it) or with an unreadable one counts as
// carrying DefaultTaints from the runtime: that is what runtimes before
// the annotation always set.
func parseManagedTaints(v string, ok bool) []corev1.Taint {
	var ts []corev1.Taint
	if !ok || json.Unmarshal([]byte(v), &ts) != nil {
		return DefaultTaints()
	}
	return ts
}

// SyncTaints brings the taints of an existing Node to the configuration
// (see AnnotationManagedTaints) and records them in the annotation. It
// runs before virtual-kubelet starts, whose first status patch writes the
// same annotation: run after it, a failed sync would leave the annotation
// claiming taints the Node does not have. A Node that does not exist yet
// is left to virtual-kubelet, which creates it as ConfigureNode says. Labels
// need nothing of the kind: virtual-kubelet's three-way patch of the Node's
// metadata adds and removes the labels it last applied and keeps others'.
func SyncTaints(ctx context.Context, kube kubernetes.Interface, cfg Config) error {
	want := cfg.nodeTaints()
	value := managedTaintsValue(want)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := kube.CoreV1().Nodes().Get(ctx, cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		prev, ok := n.Annotations[AnnotationManagedTaints]
		taints := install.MergeNodeTaints(n.Spec.Taints, parseManagedTaints(prev, ok), want)
		if ok && prev == value && install.SameNodeTaints(taints, n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = taints
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[AnnotationManagedTaints] = value
		// Update carries the resourceVersion read above: a concurrent
		// change (the lifecycle controller's taint) is a conflict, retried
		// on the newer Node, never overwritten.
		_, err = kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: fieldManager})
		return err
	})
}

// nodeAddresses are the Node's addresses: its IP (the runtime pod's) when known, and its
// name. The kubelet API's serving certificate names exactly these.
func (cfg Config) nodeAddresses() []corev1.NodeAddress {
	addrs := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: cfg.NodeName}}
	if cfg.NodeIP != "" {
		addrs = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.NodeIP}}, addrs...)
	}
	return addrs
}
