package webhook

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// mutatePod applies the eci-profile to a new pod: the selector that matches it (by the
// labels of the pod and of its namespace) decides its effects and placement, and the
// pod is annotated with the selector's name. Pods no selector matches pass unchanged.
//
// A pod a VNode cannot run (hostPath, hostNetwork, …) that a fair or normalNodePrefer
// selector matches gets the effects but not the VNode toleration, so it stays on normal
// nodes, and the response warns about it. Under virtualNodeOnly the pod is mutated as
// usual and the validating webhook refuses it with the reason.
func (h *handler) mutatePod(ctx context.Context, req *request) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create || req.SubResource != "" {
		return allow()
	}
	cur := h.profiles.current()
	if cur.matcher.Len() == 0 {
		return allow()
	}
	pod := req.pod
	if pod == nil {
		return h.allowUnreadable(req, req.podErr)
	}
	sel, ok := cur.matcher.Match(pod, h.namespaceLabels(ctx, pod.Namespace))
	if !ok {
		return allow()
	}
	m := profile.Mutate(pod, sel)
	var warnings []string
	if m.Policy != profile.PolicyVirtualNodeOnly && (len(m.Tolerations) > 0 || m.Affinity != nil) {
		if problems := unsupported(pod); len(problems) > 0 {
			m.Tolerations, m.Affinity = nil, nil
			h.metrics.placementDrops.Inc()
			warnings = append(warnings, truncate(fmt.Sprintf(
				"eci-profile selector %q (policy %s) matched, but a VNode cannot run this pod (%s): it gets no VNode toleration and runs on normal nodes only",
				sel.Name, m.Policy, shortProblems(problems)), maxWarning))
		}
	}
	patch, err := m.Patch()
	if err != nil {
		h.log.Error("cannot encode the eci-profile patch; allowing the pod unchanged", "selector", sel.Name, "err", err)
		return allow()
	}
	if patch == nil {
		return &admissionv1.AdmissionResponse{Allowed: true, Warnings: warnings}
	}
	h.metrics.mutations.WithLabelValues(sel.Name, string(m.Policy)).Inc()
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: patch, PatchType: &pt, Warnings: warnings}
}
