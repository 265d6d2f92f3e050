package translate

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// Listers is the Resolver the runtime uses: shared-informer listers for
// objects (cheap, no API round trip per pod) and the TokenRequest API for
// service account tokens. Listers return NotFound errors for missing
// objects, as the Resolver contract requires.
type Listers struct {
	ConfigMapLister             corev1listers.ConfigMapLister
	SecretLister                corev1listers.SecretLister
	PersistentVolumeClaimLister corev1listers.PersistentVolumeClaimLister
	PersistentVolumeLister      corev1listers.PersistentVolumeLister
	ServiceLister               corev1listers.ServiceLister
	// TokenClient issues service account tokens (clientset.CoreV1()).
	TokenClient corev1client.ServiceAccountsGetter
	// UnboundTokenClient, if set, issues the tokens bound to no pod (the
	// kube-proxy's): a runtime that runs as its node cannot, since
	// NodeRestriction refuses a node every token not bound to a pod on it.
	UnboundTokenClient corev1client.ServiceAccountsGetter
}

var _ Resolver = Listers{}

// notConfigured reports a Listers field the runtime left nil.
type notConfigured string

func (n notConfigured) Error() string { return string(n) + " is not configured in translate.Listers" }

// ConfigMap implements Resolver.
func (l Listers) ConfigMap(namespace, name string) (*corev1.ConfigMap, error) {
	if l.ConfigMapLister == nil {
		return nil, notConfigured("ConfigMapLister")
	}
	return l.ConfigMapLister.ConfigMaps(namespace).Get(name)
}

// Secret implements Resolver.
func (l Listers) Secret(namespace, name string) (*corev1.Secret, error) {
	if l.SecretLister == nil {
		return nil, notConfigured("SecretLister")
	}
	return l.SecretLister.Secrets(namespace).Get(name)
}

// PersistentVolumeClaim implements Resolver.
func (l Listers) PersistentVolumeClaim(namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	if l.PersistentVolumeClaimLister == nil {
		return nil, notConfigured("PersistentVolumeClaimLister")
	}
	return l.PersistentVolumeClaimLister.PersistentVolumeClaims(namespace).Get(name)
}

// PersistentVolume implements Resolver.
func (l Listers) PersistentVolume(name string) (*corev1.PersistentVolume, error) {
	if l.PersistentVolumeLister == nil {
		return nil, notConfigured("PersistentVolumeLister")
	}
	return l.PersistentVolumeLister.Get(name)
}

// Services implements Resolver.
func (l Listers) Services(namespace string) ([]*corev1.Service, error) {
	if l.ServiceLister == nil {
		return nil, notConfigured("ServiceLister")
	}
	return l.ServiceLister.Services(namespace).List(labels.Everything())
}

// ServiceAccountToken implements Resolver with a TokenRequest bound to the
// pod, as the kubelet makes for projected token volumes.
func (l Listers) ServiceAccountToken(ctx context.Context, namespace, serviceAccount string, audiences []string,
	expirationSeconds int64, boundPod *corev1.Pod) (Token, error) {
	if l.TokenClient == nil {
		return Token{}, notConfigured("TokenClient")
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         audiences,
		ExpirationSeconds: &expirationSeconds,
	}}
	if boundPod != nil {
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{
			Kind: "Pod", APIVersion: "v1", Name: boundPod.Name, UID: boundPod.UID,
		}
	}
	client := l.TokenClient
	if boundPod == nil && l.UnboundTokenClient != nil {
		client = l.UnboundTokenClient
	}
	res, err := client.ServiceAccounts(namespace).CreateToken(ctx, serviceAccount, req, metav1.CreateOptions{})
	if err != nil {
		return Token{}, fmt.Errorf("create token for service account %s/%s: %w", namespace, serviceAccount, err)
	}
	if res.Status.Token == "" {
		return Token{}, fmt.Errorf("create token for service account %s/%s: the API server returned no token", namespace, serviceAccount)
	}
	// The API server stamps the request it answers with the time it issued
	// the token; with the expiry that gives the lifetime it granted, on its
	// own clock.
	return Token{Value: res.Status.Token, IssuedAt: res.CreationTimestamp.Time, Expiry: res.Status.ExpirationTimestamp.Time}, nil
}
