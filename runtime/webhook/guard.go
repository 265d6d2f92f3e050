package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// maxWarning is the length the API server keeps of one admission warning.
const maxWarning = 256

// validatePod refuses a new pod that is sent to a VNode but uses what a VNode cannot
// run. The mutating webhook runs first, so the pod carries the placement the profile
// gave it; the profile is consulted as well, so a pod is refused even when the mutation
// was skipped (failurePolicy Ignore).
func (h *handler) validatePod(ctx context.Context, req *request) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create || req.SubResource != "" {
		return allow()
	}
	pod := req.pod
	if pod == nil {
		return h.allowUnreadable(req, req.podErr)
	}
	reasons := h.vnodeReasons(ctx, pod)
	if len(reasons) == 0 {
		return allow()
	}
	var msgs []string
	for _, p := range unsupported(pod) {
		msgs = append(msgs, p.long)
	}
	msgs = append(msgs, invalidECIAnnotations(pod)...)
	if len(msgs) == 0 {
		return allow()
	}
	return deny(fmt.Sprintf("pod cannot run on a VNode, where %s sends it: %s",
		strings.Join(reasons, " and "), strings.Join(msgs, "; ")))
}

// vnodeReasons says why pod can only run on a VNode, or nothing when it may run on a
// normal node: spec.nodeName names a VNode; an eci-profile selector with policy
// virtualNodeOnly routes it there; its nodeSelector k8s.aliyun.com/vnode: "true"; a
// required node affinity that admits only VNodes (the DaemonSet controller pins its pods
// to one node this way).
func (h *handler) vnodeReasons(ctx context.Context, pod *corev1.Pod) []string {
	var reasons []string
	if pod.Spec.NodeName != "" {
		if h.isVNodeName(pod.Spec.NodeName) {
			reasons = append(reasons, fmt.Sprintf("spec.nodeName %q (a VNode)", pod.Spec.NodeName))
		}
		return reasons // a bound pod runs where it is bound, whatever else it says
	}
	nodeSelectorDemands := pod.Spec.NodeSelector[profile.VNodeLabelKey] == profile.VNodeLabelValue
	byProfile := false
	if cur := h.profiles.current(); cur.matcher.Len() > 0 {
		if sel, ok := cur.matcher.Match(pod, h.namespaceLabels(ctx, pod.Namespace)); ok {
			m := profile.Mutate(pod, sel)
			if m.Policy == profile.PolicyVirtualNodeOnly && m.PlacementSkipped == "" &&
				(nodeSelectorDemands || m.NodeSelector[profile.VNodeLabelKey] == profile.VNodeLabelValue) {
				byProfile = true
				reasons = append(reasons, fmt.Sprintf("eci-profile selector %q (policy %s)", sel.Name, profile.PolicyVirtualNodeOnly))
			}
		}
	}
	if nodeSelectorDemands && !byProfile {
		reasons = append(reasons, fmt.Sprintf("nodeSelector %s: %q", profile.VNodeLabelKey, profile.VNodeLabelValue))
	}
	if affinityDemandsVNode(&pod.Spec, h.isVNodeName) {
		reasons = append(reasons, "a required node affinity for VNodes only")
	}
	return reasons
}

// validateService warns when a NodePort Service selects pods that run on VNodes: a node
// port is opened on the cluster's nodes by kube-proxy, and traffic to it does not reach
// an ECI instance. It never refuses.
func (h *handler) validateService(_ context.Context, req *request) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return allow()
	}
	svc := &corev1.Service{}
	if err := json.Unmarshal(req.object, svc); err != nil {
		return h.allowUnreadable(req, fmt.Errorf("decode service: %w", err))
	}
	if svc.Spec.Type != corev1.ServiceTypeNodePort || len(svc.Spec.Selector) == 0 {
		return allow()
	}
	ns := svc.Namespace
	if ns == "" {
		ns = req.Namespace
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	objs, err := h.pods.ByIndex(podsByNamespace, ns)
	if err != nil {
		h.log.Warn("cannot list pods for the NodePort check", "namespace", ns, "err", err)
		return allow()
	}
	count, example, exampleNode := 0, "", ""
	for _, o := range objs {
		pod, ok := o.(*corev1.Pod)
		if !ok || pod.DeletionTimestamp != nil || podFinished(pod) || !sel.Matches(labels.Set(pod.Labels)) || !h.isVNodeName(pod.Spec.NodeName) {
			continue
		}
		if count == 0 || pod.Name < example {
			example, exampleNode = pod.Name, pod.Spec.NodeName
		}
		count++
	}
	if count == 0 {
		return allow()
	}
	name := svc.Name
	if name == "" {
		name = req.Name
	}
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{truncate(fmt.Sprintf(
		"NodePort Service %q selects %d pod(s) running on VNodes (e.g. %s on %s), which a NodePort does not reach: use a Service of type LoadBalancer instead",
		name, count, example, exampleNode), maxWarning)}}
}

// validateDaemonSet warns when a DaemonSet's pods would land on a VNode: one the cluster
// has matches their nodeSelector and required affinity, and they tolerate every taint
// it carries (with no VNode known yet, the VNode taint every VNode has by default). The
// DaemonSet controller would create a pod for every such VNode, and those pods are
// refused. It never refuses the DaemonSet itself.
func (h *handler) validateDaemonSet(_ context.Context, req *request) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return allow()
	}
	ds := &appsv1.DaemonSet{}
	if err := json.Unmarshal(req.object, ds); err != nil {
		return h.allowUnreadable(req, fmt.Errorf("decode daemonset: %w", err))
	}
	spec := &ds.Spec.Template.Spec
	if keptOffVNodes(spec) {
		return allow()
	}
	vnode, taints, lands := h.landsOnVNode(spec)
	if !lands {
		return allow()
	}
	name := ds.Name
	if name == "" {
		name = req.Name
	}
	what := fmt.Sprintf("can land on VNode %s, which has no taint that keeps it off", vnode)
	switch {
	case len(taints) == 1:
		what = "tolerates the VNode taint " + taintString(taints[0])
	case len(taints) > 1:
		parts := make([]string, len(taints))
		for i, t := range taints {
			parts[i] = taintString(t)
		}
		what = "tolerates the VNode taints " + strings.Join(parts, ", ")
	}
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{truncate(fmt.Sprintf(
		"DaemonSet %q %s, but DaemonSet pods cannot run on a VNode: add node affinity %s NotIn [%q], or use a sidecar container in the pod",
		name, what, profile.VNodeLabelKey, profile.VNodeLabelValue), maxWarning)}}
}

// landsOnVNode finds a VNode the cluster has whose labels satisfy spec's nodeSelector and
// required affinity and whose taints spec tolerates, the first by name; it returns the
// VNode's name and the taints that would otherwise keep the pods off. A VNode's taints
// are its own (eci-vnode node --node-taints): one without taints takes any pod, one with
// an extra NoSchedule taint only pods that tolerate that too. With no VNode known yet it
// answers for the VNode taint every VNode has by default: one may be added later.
func (h *handler) landsOnVNode(spec *corev1.PodSpec) (vnode string, taints []corev1.Taint, ok bool) {
	sel := labels.SelectorFromSet(labels.Set{profile.VNodeLabelKey: profile.VNodeLabelValue})
	vnodes, err := h.nodes.List(sel)
	if err != nil || len(vnodes) == 0 {
		def := corev1.Taint{Key: profile.VNodeTaintKey, Value: profile.VNodeTaintValue, Effect: corev1.TaintEffectNoSchedule}
		return "", []corev1.Taint{def}, toleratesAll(spec.Tolerations, []corev1.Taint{def})
	}
	slices.SortFunc(vnodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	for _, n := range vnodes {
		blocking := schedulingTaints(n.Spec.Taints)
		if nodeFits(spec, n) && toleratesAll(spec.Tolerations, blocking) {
			return n.Name, blocking, true
		}
	}
	return "", nil, false
}

// schedulingTaints are the taints that keep a DaemonSet's pods off a node for good:
// NoSchedule and NoExecute ones, except the passing conditions the DaemonSet controller
// tolerates itself (node.kubernetes.io/*, such as not-ready) and the runtime's own ECI API
// taint, which goes when ECI answers again.
func schedulingTaints(ts []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range ts {
		switch {
		case t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute:
		case strings.HasPrefix(t.Key, "node.kubernetes.io/"), t.Key == taintECIUnreachable:
		default:
			out = append(out, t)
		}
	}
	return out
}

// taintECIUnreachable is runtime/node's TaintECIUnreachable (docs/runtime.md, "Node
// readiness and ECI health"); the webhook does not import the node runtime.
const taintECIUnreachable = "eci-vnode.io/eci-api-unreachable"

// toleratesAll reports whether every taint of ts is tolerated by one of tols, by the
// rule of Kubernetes' Toleration.ToleratesTaint: an empty effect matches every effect,
// an empty key with Exists every taint, Exists any value, Equal (or no operator) the
// same value.
func toleratesAll(tols []corev1.Toleration, ts []corev1.Taint) bool {
	for _, t := range ts {
		if !slices.ContainsFunc(tols, func(tol corev1.Toleration) bool { return tolerates(tol, t) }) {
			return false
		}
	}
	return true
}

func tolerates(tol corev1.Toleration, t corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key == "" {
		return tol.Operator == corev1.TolerationOpExists
	}
	if tol.Key != t.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Value == t.Value
	}
	return false
}

func taintString(t corev1.Taint) string {
	if t.Value == "" {
		return t.Key + ":" + string(t.Effect)
	}
	return t.Key + "=" + t.Value + ":" + string(t.Effect)
}

func podFinished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
