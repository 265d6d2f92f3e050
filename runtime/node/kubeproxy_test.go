package node

import (
	"context"
	"strings"
	"testing"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1listers "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The kubelet API is the runtime's, and a caller with nodes/proxy rights can
// reach it without the API server's check of container names; the runtime
// itself knows only the pod's containers, so the kube-proxy it added is
// neither in the status nor reachable for logs or exec.
func TestKubeProxyIsNotOfferedByTheKubeletAPI(t *testing.T) {
	r := newRig(t, emulator.Config{}, func(c *Config) {
		c.ClusterIPAccess = true
		c.KubeProxyImage = "registry.k8s.io/kube-proxy:v1.37.2"
		c.KubeProxyServiceAccount = "eci-vnode-system/eci-vnode-kube-proxy"
	})
	ctx := context.Background()
	// The cluster facts the translation reads: the API server's endpoints,
	// the CA ConfigMap, and a TokenRequest API.
	if _, err := r.kube.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "kubernetes", Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"192.168.0.10"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](6443)}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.kube.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		req := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		req.Status.Token = "token-of-" + a.GetNamespace()
		return true, req, nil
	})
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := idx.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "default"},
		Data: map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}); err != nil {
		t.Fatal(err)
	}
	l := r.p.resolver.(translate.Listers)
	l.ConfigMapLister, l.TokenClient = corev1listers.NewConfigMapLister(idx), r.kube.CoreV1()
	r.p.resolver = l // before the first pod reaches the workers

	pod := shellPod("kp-app", "echo hello; sleep infinity", corev1.RestartPolicyAlways)
	r.create(pod)
	p := r.waitFor(pod, "running", running)
	gs := r.instances()
	if len(gs) != 1 || len(gs[0].Containers) != 2 {
		t.Fatalf("instances %+v; want one with the app and kube-proxy", gs)
	}
	if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].Name != "app" {
		t.Errorf("container statuses %+v; want the app's only", p.Status.ContainerStatuses)
	}
	st, err := r.p.GetPodStatus(ctx, "default", "kp-app")
	if err != nil || len(st.ContainerStatuses) != 1 {
		t.Errorf("GetPodStatus: %v, %d container statuses; want the app's only", err, len(st.ContainerStatuses))
	}
	_, err = r.p.GetContainerLogs(ctx, "default", "kp-app", translate.KubeProxyContainer, api.ContainerLogOpts{})
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "the pod has no such container") {
		t.Errorf("logs of %s: %v; want not found", translate.KubeProxyContainer, err)
	}
	aio := attachIO{stdout: nopWriteCloser{&strings.Builder{}}, stderr: nopWriteCloser{&strings.Builder{}}}
	err = r.p.RunInContainer(ctx, "default", "kp-app", translate.KubeProxyContainer, []string{"iptables-save"}, aio)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "the pod's containers are app") {
		t.Errorf("exec in %s: %v; want not found, naming the pod's containers", translate.KubeProxyContainer, err)
	}
	// The app's own log is still there.
	if got := r.logs(pod, api.ContainerLogOpts{}); got != "hello\n" {
		t.Errorf("app log %q", got)
	}
}

// The default image follows the API server's version; a distribution's suffix is dropped,
// since the upstream image has the plain release only.
func TestKubeProxyImageForTheAPIServersVersion(t *testing.T) {
	for v, want := range map[string]string{
		"v1.37.2":          "registry.k8s.io/kube-proxy:v1.37.2",
		"v1.37.2+k3s1":     "registry.k8s.io/kube-proxy:v1.37.2",
		"v1.36.0-eks-4d2a": "registry.k8s.io/kube-proxy:v1.36.0",
	} {
		if got, err := KubeProxyImageFor(v); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", v, got, err, want)
		}
	}
	if _, err := KubeProxyImageFor("unknown"); err == nil || !strings.Contains(err.Error(), "set --kube-proxy-image") {
		t.Errorf("a version that is not one: %v; want the advice to set --kube-proxy-image", err)
	}
}

// The API server's address is its first ready endpoint, on the https port.
func TestAPIServerURLFromTheKubernetesEndpoints(t *testing.T) {
	slice := discoveryv1.EndpointSlice{
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"192.168.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			{Addresses: []string{"192.168.0.10"}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](6443)}},
	}
	if got, err := apiServerURL([]discoveryv1.EndpointSlice{slice}); err != nil || got != "https://192.168.0.10:6443" {
		t.Errorf("%q, %v; want https://192.168.0.10:6443", got, err)
	}
	if _, err := apiServerURL(nil); err == nil || !strings.Contains(err.Error(), "no ready endpoint") {
		t.Errorf("no endpoints: %v", err)
	}
}
