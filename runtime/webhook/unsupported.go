package webhook

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// The problems a VNode cannot run, each with the alternative docs/design.md names under
// "Unsupported on a VNode". They are the exact texts of the refusals (and of the mutating
// webhook's warnings), so a user who meets one learns what to write instead.
const (
	msgHostNetwork = "hostNetwork is not supported on a VNode: expose the pod with a Service of type LoadBalancer instead"
	msgHostPID     = "hostPID is not supported on a VNode: use shareProcessNamespace to share processes between the pod's containers instead"
	msgHostIPC     = "hostIPC is not supported on a VNode: the pod's containers already share one IPC namespace, remove hostIPC"
	msgHostPath    = "hostPath volume %q is not supported on a VNode: use emptyDir, a cloud disk, or NAS (NFS) instead"
	msgDaemonSet   = "DaemonSet pods cannot run on a VNode: run the agent as a sidecar container in the pod instead"
	msgAnnotation  = "annotation %s: %v"
)

// problem is one thing in a pod that a VNode cannot run: short names it (for warnings,
// which the API server may cut after 256 characters), long also names the alternative.
type problem struct{ short, long string }

// unsupported lists what in pod a VNode cannot run, in a fixed order: host namespaces,
// hostPath volumes in spec order, DaemonSet ownership.
func unsupported(pod *corev1.Pod) []problem {
	var out []problem
	if pod.Spec.HostNetwork {
		out = append(out, problem{"hostNetwork", msgHostNetwork})
	}
	if pod.Spec.HostPID {
		out = append(out, problem{"hostPID", msgHostPID})
	}
	if pod.Spec.HostIPC {
		out = append(out, problem{"hostIPC", msgHostIPC})
	}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil {
			out = append(out, problem{fmt.Sprintf("hostPath volume %q", v.Name), fmt.Sprintf(msgHostPath, v.Name)})
		}
	}
	if profile.IsDaemonSetPod(pod) {
		out = append(out, problem{"DaemonSet pod", msgDaemonSet})
	}
	return out
}

func shortProblems(ps []problem) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.short
	}
	return strings.Join(s, ", ")
}

// invalidECIAnnotations checks the pod's ECI annotations by the rules the profile
// holds effects to (pod annotations win over effects, so they must be as valid), in
// key order. ECI reads them only at creation: a bad value is best refused now.
func invalidECIAnnotations(pod *corev1.Pod) []string {
	keys := make([]string, 0, len(pod.Annotations))
	for k := range pod.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if err := profile.ValidateECIAnnotation(k, pod.Annotations[k]); err != nil {
			out = append(out, fmt.Sprintf(msgAnnotation, k, err))
		}
	}
	return out
}
