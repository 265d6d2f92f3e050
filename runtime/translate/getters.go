package translate

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Getters is the Resolver of a runtime that runs as its node (system:node:<name>): it
// reads each ConfigMap, Secret, PVC and PV a pod references by name, when the pod is
// translated, as the kubelet's "Get" strategy does. The Node authorizer lets a node read
// exactly these objects — those referenced by pods bound to it — and no list of them, so
// informers over them cannot run. Services (read by every node) and tokens come from the
// embedded Listers. A Forbidden answer (the Node authorizer has not yet seen the pod
// bound) is an ordinary lookup error, which the runtime retries.
type Getters struct {
	Client kubernetes.Interface
	// Timeout bounds each read; 0 means 30 seconds.
	Timeout time.Duration
	Listers
}

var _ Resolver = Getters{}

func (g Getters) ctx() (context.Context, context.CancelFunc) {
	t := g.Timeout
	if t <= 0 {
		t = 30 * time.Second
	}
	return context.WithTimeout(context.Background(), t)
}

// ConfigMap implements Resolver.
func (g Getters) ConfigMap(namespace, name string) (*corev1.ConfigMap, error) {
	ctx, cancel := g.ctx()
	defer cancel()
	return g.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Secret implements Resolver.
func (g Getters) Secret(namespace, name string) (*corev1.Secret, error) {
	ctx, cancel := g.ctx()
	defer cancel()
	return g.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// PersistentVolumeClaim implements Resolver.
func (g Getters) PersistentVolumeClaim(namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	ctx, cancel := g.ctx()
	defer cancel()
	return g.Client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, name, metav1.GetOptions{})
}

// PersistentVolume implements Resolver.
func (g Getters) PersistentVolume(name string) (*corev1.PersistentVolume, error) {
	ctx, cancel := g.ctx()
	defer cancel()
	return g.Client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
}
