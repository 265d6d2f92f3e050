package webhook

import (
	"context"
	"encoding/json"
	"fmt"
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
func (h *handler) validatePod(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create || req.SubResource != "" {
		return allow()
	}
	pod, err := decodePod(req)
	if err != nil {
		return h.allowUnreadable(req, err)
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
func (h *handler) validateService(_ context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return allow()
	}
	svc := &corev1.Service{}
	if err := json.Unmarshal(req.Object.Raw, svc); err != nil {
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

// validateDaemonSet warns when a DaemonSet tolerates the VNode taint and nothing keeps
// its pods off VNodes: the DaemonSet controller would create a pod for every VNode, and
// those pods are refused. It never refuses the DaemonSet itself.
func (h *handler) validateDaemonSet(_ context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return allow()
	}
	ds := &appsv1.DaemonSet{}
	if err := json.Unmarshal(req.Object.Raw, ds); err != nil {
		return h.allowUnreadable(req, fmt.Errorf("decode daemonset: %w", err))
	}
	spec := &ds.Spec.Template.Spec
	if !profile.ToleratesVNodeTaint(spec.Tolerations) || keptOffVNodes(spec) || !h.someVNodeFits(spec) {
		return allow()
	}
	name := ds.Name
	if name == "" {
		name = req.Name
	}
	return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{truncate(fmt.Sprintf(
		"DaemonSet %q tolerates the VNode taint %s=%s:%s, but DaemonSet pods cannot run on a VNode: add node affinity %s NotIn [%q], or use a sidecar container in the pod",
		name, profile.VNodeTaintKey, profile.VNodeTaintValue, profile.VNodeTaintEffect, profile.VNodeLabelKey, profile.VNodeLabelValue), maxWarning)}}
}

// someVNodeFits reports whether a VNode the cluster has satisfies spec's nodeSelector and
// required affinity. With no VNode known yet it answers true: one may be added later.
func (h *handler) someVNodeFits(spec *corev1.PodSpec) bool {
	sel := labels.SelectorFromSet(labels.Set{profile.VNodeLabelKey: profile.VNodeLabelValue})
	vnodes, err := h.nodes.List(sel)
	if err != nil || len(vnodes) == 0 {
		return true
	}
	for _, n := range vnodes {
		if nodeFits(spec, n) {
			return true
		}
	}
	return false
}

func podFinished(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
