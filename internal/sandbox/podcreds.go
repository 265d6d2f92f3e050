package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// podCredentials stands in for the projected service-account volume a kubelet mounts: a
// token for the pod's ServiceAccount, bound to the pod (TokenRequest, as the kubelet asks for
// it with the node's identity), the CA and the namespace, under <podDir>/serviceaccount, and
// a kubeconfig that reads that token file, since a local process cannot use in-cluster paths.
type podCredentials struct {
	client     kubernetes.Interface
	pod        *corev1.Pod
	dir        string // <podDir>/serviceaccount
	kubeconfig string // <podDir>/kubeconfig
	server     string
	caPEM      []byte
	audiences  []string
	expiration int64
}

// tokenProjection finds the projected service-account token the ServiceAccount admission
// plugin added to the pod; none means automounting is off for this pod.
func tokenProjection(pod *corev1.Pod) (*corev1.ServiceAccountTokenProjection, bool) {
	for _, v := range pod.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return src.ServiceAccountToken, true
			}
		}
	}
	return nil, false
}

func newPodCredentials(client kubernetes.Interface, pod *corev1.Pod, podDir, server string, caPEM []byte, proj *corev1.ServiceAccountTokenProjection) *podCredentials {
	pc := &podCredentials{
		client:     client,
		pod:        pod,
		dir:        filepath.Join(podDir, "serviceaccount"),
		kubeconfig: filepath.Join(podDir, "kubeconfig"),
		server:     server,
		caPEM:      caPEM,
		expiration: 3607, // what the admission plugin projects
	}
	if proj.ExpirationSeconds != nil {
		pc.expiration = *proj.ExpirationSeconds
	}
	if proj.Audience != "" {
		pc.audiences = []string{proj.Audience}
	}
	return pc
}

// refresh requests a new token and (re)writes the files; it returns when the token should be
// refreshed next (at 80% of its life, as the kubelet does).
func (pc *podCredentials) refresh(ctx context.Context) (time.Time, error) {
	sa := pc.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	tr := &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         pc.audiences,
			ExpirationSeconds: &pc.expiration,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pc.pod.Name, UID: pc.pod.UID},
		},
	}
	now := time.Now()
	got, err := pc.client.CoreV1().ServiceAccounts(pc.pod.Namespace).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err != nil {
		return time.Time{}, fmt.Errorf("request a token for service account %s/%s: %w", pc.pod.Namespace, sa, err)
	}
	if err := os.MkdirAll(pc.dir, 0o755); err != nil {
		return time.Time{}, fmt.Errorf("create service account dir: %w", err)
	}
	files := map[string][]byte{"token": []byte(got.Status.Token), "ca.crt": pc.caPEM, "namespace": []byte(pc.pod.Namespace)}
	for name, data := range files {
		if err := writeFileAtomic(filepath.Join(pc.dir, name), data, 0o600); err != nil {
			return time.Time{}, err
		}
	}
	if _, err := os.Stat(pc.kubeconfig); os.IsNotExist(err) {
		data, err := renderKubeconfig(kubeconfigSpec{
			Server: pc.server, CAPEM: pc.caPEM, TokenFile: filepath.Join(pc.dir, "token"),
			User: "system:serviceaccount:" + pc.pod.Namespace + ":" + sa, Namespace: pc.pod.Namespace,
		})
		if err != nil {
			return time.Time{}, err
		}
		if err := writeFileAtomic(pc.kubeconfig, data, 0o600); err != nil {
			return time.Time{}, err
		}
	}
	life := got.Status.ExpirationTimestamp.Sub(now)
	return now.Add(life * 8 / 10), nil
}
