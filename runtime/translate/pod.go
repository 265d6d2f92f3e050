package translate

import (
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// ECI's per-instance limits (docs/design.md, "Quotas").
const (
	maxContainers = 20
	maxVolumes    = 20
	maxVSwitches  = 10
)

// guardPod refuses the pod features a VNode cannot provide, naming what to
// use instead (docs/design.md, "Unsupported on a VNode").
func (t *translator) guardPod() {
	spec := &t.pod.Spec
	if spec.HostNetwork {
		t.c.fail("spec.hostNetwork", ReasonUnsupported,
			"hostNetwork is not supported on a VNode: each ECI instance has its own network interface and there is no node network to share; to expose the pod, use a Service of type LoadBalancer")
	}
	if spec.HostPID {
		t.c.fail("spec.hostPID", ReasonUnsupported,
			"hostPID is not supported on ECI: each instance is an isolated virtual machine with no host process namespace to share (to share processes between the pod's containers, use shareProcessNamespace)")
	}
	if spec.HostIPC {
		t.c.fail("spec.hostIPC", ReasonUnsupported,
			"hostIPC is not supported on ECI: each instance is an isolated virtual machine with no host IPC namespace to share")
	}
	for i, o := range t.pod.OwnerReferences {
		// Any DaemonSet kind (apps/v1, OpenKruise's Advanced DaemonSet, ...)
		// is a per-node agent.
		if o.Kind == "DaemonSet" {
			t.c.fail(index("metadata.ownerReferences", i), ReasonUnsupported,
				"pods of DaemonSet %s cannot run on a VNode: there is no node for a per-node agent to serve; use a sidecar container in the pod instead", o.Name)
		}
	}
	if spec.OS != nil && spec.OS.Name != corev1.Linux {
		t.c.fail("spec.os.name", ReasonUnsupported, "this VNode runs Linux instances only; %s pods are not supported", spec.OS.Name)
	}
	if len(spec.ResourceClaims) > 0 {
		t.c.fail("spec.resourceClaims", ReasonUnsupported,
			"dynamic resource allocation is not supported on ECI; request GPUs with nvidia.com/gpu limits instead")
	}
	if len(spec.EphemeralContainers) > 0 {
		t.c.warn("spec.ephemeralContainers", WarnIgnored, "ECI cannot add debug containers to an instance; ephemeral containers are ignored")
	}
	if spec.RuntimeClassName != nil && *spec.RuntimeClassName != "" {
		t.c.warn("spec.runtimeClassName", WarnIgnored,
			"ECI runs every pod in its own virtual machine with ECI's container runtime; runtime class %s is ignored", *spec.RuntimeClassName)
	}
}

// identity sets the instance name and the idempotency token: the pod UID,
// so a retried create never makes a second instance.
func (t *translator) identity() {
	t.req.ContainerGroupName = InstanceName(t.pod.Namespace, t.pod.Name)
	if t.pod.UID == "" {
		t.c.fail("metadata.uid", ReasonInvalidSpec, "the pod has no UID; only pods read from the API server can be translated")
		return
	}
	t.req.ClientToken = string(t.pod.UID)
}

// placement applies the VNode's defaults; annotations may override them.
func (t *translator) placement() {
	n := t.node
	// Empty owned-tag values would make OwnedTags match other VNodes'
	// instances (an empty tag value filters on the key only).
	if n.ClusterName == "" {
		t.c.fail("vnode.clusterName", ReasonInvalidNodeConfig, "the VNode has no cluster name; it is needed to tell this cluster's instances apart")
	}
	if n.NodeName == "" {
		t.c.fail("vnode.nodeName", ReasonInvalidNodeConfig, "the VNode has no node name; it is needed to tell this VNode's instances apart")
	}
	if len(n.VSwitchIDs) > maxVSwitches {
		t.c.fail("vnode.vSwitchIDs", ReasonInvalidNodeConfig,
			"the VNode has %d vSwitches; ECI accepts at most %d", len(n.VSwitchIDs), maxVSwitches)
	} else if len(n.VSwitchIDs) > 0 {
		t.req.VSwitchIDs = append([]string(nil), n.VSwitchIDs...)
	}
	if len(n.ZoneIDs) == 1 {
		// Several zones are expressed by the vSwitches; one is a hard choice.
		t.req.ZoneID = n.ZoneIDs[0]
	}
	switch n.ScheduleStrategy {
	case "", eci.ScheduleStrategyVSwitchOrdered, eci.ScheduleStrategyVSwitchRandom:
		t.req.ScheduleStrategy = n.ScheduleStrategy
	default:
		t.c.fail("vnode.scheduleStrategy", ReasonInvalidNodeConfig,
			"schedule strategy %s is not VSwitchOrdered or VSwitchRandom", strconv.Quote(n.ScheduleStrategy))
	}
	t.req.SecurityGroupID = n.SecurityGroupID
	t.req.ResourceGroupID = n.ResourceGroupID

	// Spot and image-cache defaults; annotations() replaces them for a pod
	// that sets its own.
	switch {
	case n.SpotStrategy != "" && !slices.Contains(eci.SpotStrategies, n.SpotStrategy):
		t.c.fail("vnode.spotStrategy", ReasonInvalidNodeConfig,
			"spot strategy %s is not SpotAsPriceGo, SpotWithPriceLimit or NoSpot", strconv.Quote(n.SpotStrategy))
	case (n.SpotStrategy == eci.SpotStrategySpotWithPriceLimit) != (n.SpotPriceLimit > 0):
		t.c.fail("vnode.spotPriceLimit", ReasonInvalidNodeConfig,
			"a spot price limit (%g) goes with the spot strategy SpotWithPriceLimit, and only with it (the VNode has %s)",
			n.SpotPriceLimit, strconv.Quote(n.SpotStrategy))
	default:
		t.req.SpotStrategy = n.SpotStrategy
		t.req.SpotPriceLimit = n.SpotPriceLimit
		t.ann.spotStrategy = n.SpotStrategy
	}
	if n.AutoMatchImageCache {
		t.req.AutoMatchImageCache = eci.Ptr(true)
	}
}

// podLevel sets the pod-wide lifecycle settings.
func (t *translator) podLevel() {
	spec := &t.pod.Spec
	switch spec.RestartPolicy {
	case corev1.RestartPolicyAlways, "":
		t.req.RestartPolicy = eci.RestartPolicyAlways
	case corev1.RestartPolicyOnFailure:
		t.req.RestartPolicy = eci.RestartPolicyOnFailure
	case corev1.RestartPolicyNever:
		t.req.RestartPolicy = eci.RestartPolicyNever
	default:
		t.c.fail("spec.restartPolicy", ReasonInvalidSpec, "restart policy %s is not Always, OnFailure or Never", strconv.Quote(string(spec.RestartPolicy)))
	}
	t.req.TerminationGracePeriodSeconds = copyPtr(spec.TerminationGracePeriodSeconds)
	t.req.ActiveDeadlineSeconds = copyPtr(spec.ActiveDeadlineSeconds)
	if isTrue(spec.ShareProcessNamespace) {
		t.req.ShareProcessNamespace = eci.Ptr(true)
	}
}

// checkLimits enforces ECI's per-instance counts on the finished request.
func (t *translator) checkLimits() {
	r := t.req
	proxy := ""
	if t.proxy {
		proxy = fmt.Sprintf(" (one is the kube-proxy this VNode adds; the annotation %s: %q leaves it out)", AnnotationKubeProxy, KubeProxyDisabled)
	}
	if n := len(r.Containers); n > maxContainers {
		t.c.fail("spec.containers", ReasonTooLarge, "the pod has %d containers (sidecars included)%s; ECI runs at most %d per instance", n, proxy, maxContainers)
	}
	if n := len(r.InitContainers); n > maxContainers {
		t.c.fail("spec.initContainers", ReasonTooLarge, "the pod has %d init containers; ECI runs at most %d per instance", n, maxContainers)
	}
	if n := len(r.Volumes); n > maxVolumes {
		t.c.fail("spec.volumes", ReasonTooLarge,
			"the pod has %d volumes%s; ECI allows at most %d per instance: combine ConfigMaps, Secrets and downward API files into one projected volume", n, proxy, maxVolumes)
	}
}
