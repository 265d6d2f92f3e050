package baseline

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// ceiling runs nothing: a pod is Running as soon as virtual-kubelet hands it
// over, and gone as soon as it is deleted.
type ceiling struct{ *pods }

func newCeiling() *ceiling { return &ceiling{pods: newPods()} }

// ceilingIP is the address every ceiling pod reports; nothing listens on it.
const ceilingIP = "10.255.0.1"

func (c *ceiling) CreatePod(_ context.Context, pod *corev1.Pod) error {
	c.publish(withPhase(pod, corev1.PodRunning, ceilingIP))
	return nil
}

func (c *ceiling) DeletePod(_ context.Context, pod *corev1.Pod) error {
	c.publish(withPhase(pod, corev1.PodSucceeded, ceilingIP))
	c.remove(pod.Namespace, pod.Name)
	return nil
}
