package webhook

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podFields is the part of a pod the pod webhooks read: what the profile matches
// (namespace, labels), what a mutation depends on (annotations, nodeSelector,
// tolerations, affinity, nodeName, owners) and what the guards judge (host namespaces,
// hostPath volumes). The JSON names and Go types are corev1.Pod's, so every field is
// read exactly as a full decode reads it; the rest of the pod — containers with their
// resources and probes, managedFields, status — is skipped rather than built, which is
// most of the work of decoding a pod (docs/design.md, "The eci-profile webhook").
type podFields struct {
	Metadata struct {
		Name            string                  `json:"name"`
		Namespace       string                  `json:"namespace"`
		Labels          map[string]string       `json:"labels"`
		Annotations     map[string]string       `json:"annotations"`
		OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		NodeName     string              `json:"nodeName"`
		NodeSelector map[string]string   `json:"nodeSelector"`
		Tolerations  []corev1.Toleration `json:"tolerations"`
		Affinity     *corev1.Affinity    `json:"affinity"`
		HostNetwork  bool                `json:"hostNetwork"`
		HostPID      bool                `json:"hostPID"`
		HostIPC      bool                `json:"hostIPC"`
		Volumes      []volumeFields      `json:"volumes"`
		// Containers is not read, only checked to be a list: a pod whose containers are
		// not one is not a pod, and is let through unread as before.
		Containers jsonList `json:"containers"`
	} `json:"spec"`
}

// volumeFields is what the guards read of a volume: its name and whether it is a hostPath.
type volumeFields struct {
	Name     string                       `json:"name"`
	HostPath *corev1.HostPathVolumeSource `json:"hostPath"`
}

// jsonList accepts any JSON value without decoding it and notes whether it was
// something else than an array or null. It cannot refuse it by an error: an error of
// UnmarshalJSON ends the decoding of the whole review, not just of the pod.
type jsonList struct{ notList bool }

func (l *jsonList) UnmarshalJSON(b []byte) error {
	l.notList = len(b) == 0 || (b[0] != '[' && b[0] != 'n')
	return nil
}

// pod returns a corev1.Pod with the fields of f and no others; the namespace comes from
// the request when the object lacks it (it usually does).
func (f *podFields) pod(namespace string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: f.Metadata.Name, Namespace: f.Metadata.Namespace, Labels: f.Metadata.Labels,
			Annotations: f.Metadata.Annotations, OwnerReferences: f.Metadata.OwnerReferences,
		},
		Spec: corev1.PodSpec{
			NodeName: f.Spec.NodeName, NodeSelector: f.Spec.NodeSelector, Tolerations: f.Spec.Tolerations,
			Affinity: f.Spec.Affinity, HostNetwork: f.Spec.HostNetwork, HostPID: f.Spec.HostPID, HostIPC: f.Spec.HostIPC,
		},
	}
	if f.Spec.Volumes != nil {
		pod.Spec.Volumes = make([]corev1.Volume, len(f.Spec.Volumes))
		for i, v := range f.Spec.Volumes {
			pod.Spec.Volumes[i] = corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{HostPath: v.HostPath}}
		}
	}
	if pod.Namespace == "" {
		pod.Namespace = namespace
	}
	return pod
}
