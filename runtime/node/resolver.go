package node

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

var everything = labels.Everything()

// listerResolver reads what a pod refers to from informer caches, and
// issues service account tokens through the TokenRequest API.
type listerResolver struct {
	configMaps corev1listers.ConfigMapLister
	secrets    corev1listers.SecretLister
	services   corev1listers.ServiceLister
	pvcs       corev1listers.PersistentVolumeClaimLister
	pvs        corev1listers.PersistentVolumeLister
	kube       kubernetes.Interface
}

var _ translate.Resolver = (*listerResolver)(nil)

func (r *listerResolver) ConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	return r.configMaps.ConfigMaps(ns).Get(name)
}

func (r *listerResolver) Secret(ns, name string) (*corev1.Secret, error) {
	return r.secrets.Secrets(ns).Get(name)
}

func (r *listerResolver) PersistentVolumeClaim(ns, name string) (*corev1.PersistentVolumeClaim, error) {
	return r.pvcs.PersistentVolumeClaims(ns).Get(name)
}

func (r *listerResolver) PersistentVolume(name string) (*corev1.PersistentVolume, error) {
	return r.pvs.Get(name)
}

func (r *listerResolver) Services(ns string) ([]*corev1.Service, error) {
	return r.services.Services(ns).List(everything)
}

func (r *listerResolver) ServiceAccountToken(ctx context.Context, ns, sa string, audiences []string, expirationSeconds int64, pod *corev1.Pod) (string, time.Time, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}
	if expirationSeconds > 0 {
		req.Spec.ExpirationSeconds = &expirationSeconds
	}
	if pod != nil {
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}
	}
	out, err := r.kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("request a token for service account %s/%s: %w", ns, sa, err)
	}
	return out.Status.Token, out.Status.ExpirationTimestamp.Time, nil
}
