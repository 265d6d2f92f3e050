package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// cappedTokenAPI answers TokenRequests as an API server run with
// --service-account-max-token-expiration=<max> does, on a clock of the test.
type cappedTokenAPI struct {
	clock *emulator.FakeClock
	max   time.Duration

	mu     sync.Mutex
	issued int
	last   string // the last token issued
}

func (a *cappedTokenAPI) react(act k8stesting.Action) (bool, runtime.Object, error) {
	ca, ok := act.(k8stesting.CreateAction)
	if !ok || act.GetSubresource() != "token" {
		return false, nil, nil
	}
	req := ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
	if req.Spec.BoundObjectRef != nil || req.Spec.ExpirationSeconds == nil || *req.Spec.ExpirationSeconds != 365*24*3600 {
		return true, nil, fmt.Errorf("kube-proxy token request %+v: want an unbound one for a year", req.Spec)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.issued++
	now := a.clock.Now()
	a.last = fmt.Sprintf("kube-proxy-token-%d", a.issued)
	req.Status.Token = a.last
	req.CreationTimestamp = metav1.NewTime(now)
	req.Status.ExpirationTimestamp = metav1.NewTime(now.Add(a.max))
	return true, req, nil
}

func (a *cappedTokenAPI) lastToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// kubeProxyCluster gives the rig's fake API server what the kube-proxy
// needs: the API server's endpoints, the CA ConfigMap and a TokenRequest
// API. Call it before the first pod is created.
func kubeProxyCluster(t *testing.T, r *rig, tokens *cappedTokenAPI) {
	t.Helper()
	if _, err := r.kube.DiscoveryV1().EndpointSlices("default").Create(context.Background(), &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "kubernetes", Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"192.168.0.10"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](6443)}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The TokenRequest API on a clientset of its own: a reactor added to the rig's, which the
	// running provider already uses, would race with it.
	tokenAPI := fake.NewClientset()
	tokenAPI.PrependReactor("create", "serviceaccounts", tokens.react)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := idx.Add(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "default"},
		Data: map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}); err != nil {
		t.Fatal(err)
	}
	l := r.p.resolver.(translate.Listers)
	l.ConfigMapLister, l.TokenClient = corev1listers.NewConfigMapLister(idx), tokenAPI.CoreV1()
	r.p.resolver = l
}

// kubeProxyTokenFile is the token file of an instance's kube-proxy volume,
// decoded; and whether the volume still has its kubeconfig.
func kubeProxyTokenFile(t *testing.T, g eci.ContainerGroup) (token string, kubeconfig bool) {
	t.Helper()
	for _, v := range g.Volumes {
		if v.Name != translate.KubeProxyContainer {
			continue
		}
		for _, f := range v.ConfigFileVolumeConfigFileToPaths {
			switch f.Path {
			case "token":
				b, err := base64.StdEncoding.DecodeString(f.Content)
				if err != nil {
					t.Fatalf("token file of %s: %v", g.ContainerGroupID, err)
				}
				token = string(b)
			case "kubeconfig":
				kubeconfig = f.Content != ""
			}
		}
	}
	return token, kubeconfig
}

// An API server that caps token lifetimes at 10 minutes: the kube-proxy's token is replaced in
// the running instance (UpdateContainerGroup, against the emulator through the real client) at
// 80 % of its life, not before, nor while the instance is in another transition, with an Event
// and the new times on the pod; neither the pod's containers nor the kube-proxy restart. A pod
// with restartPolicy Never keeps its token (ECI warns its containers may fail on an update). A
// refused update is retried with back-off, with a Warning Event, until it passes.
func TestKubeProxyTokenIsReplacedBeforeItExpires(t *testing.T) {
	r := newRig(t, emulator.Config{Lifecycle: emulator.LifecycleConfig{
		Scheduling: -1, ImagePull: -1, ContainerStart: -1, Terminating: -1, Updating: -1}}, func(c *Config) {
		c.ClusterIPAccess = true
		c.KubeProxyImage = "registry.k8s.io/kube-proxy:v1.37.2"
		c.KubeProxyServiceAccount = "eci-vnode-system/eci-vnode-kube-proxy"
	})
	ctx := context.Background()
	start := time.Now().Truncate(time.Second) // the annotations keep seconds
	tokens := &cappedTokenAPI{clock: emulator.NewFakeClock(start), max: 10 * time.Minute}
	kubeProxyCluster(t, r, tokens)

	web := shellPod("kp-web", "sleep 3600", corev1.RestartPolicyAlways)
	job := shellPod("kp-job", "sleep 3600", corev1.RestartPolicyNever)
	recorded := func(p *corev1.Pod) bool {
		return running(p) && p.Annotations[AnnotationKubeProxyTokenExpires] != ""
	}
	for _, p := range []*corev1.Pod{web, job} {
		r.create(p)
		got := r.waitFor(p, "running, with its kube-proxy token's times", recorded)
		if want := start.Add(10 * time.Minute).UTC().Format(time.RFC3339); got.Annotations[AnnotationKubeProxyTokenExpires] != want ||
			got.Annotations[AnnotationKubeProxyTokenIssued] != start.UTC().Format(time.RFC3339) {
			t.Fatalf("pod %s annotations %v; want the token issued at %s, expiring at %s", p.Name, got.Annotations, start.UTC().Format(time.RFC3339), want)
		}
	}
	// The running runtime (on the real clock) never finds these tokens due; the rest of the test
	// drives a runtime with the same pods, on the test's clock, pass by pass.
	r.stop()
	events := record.NewFakeRecorder(20)
	p := NewProvider(r.p.cfg, ProviderDeps{ECI: r.client, Kube: r.kube, Resolver: r.p.resolver, Recorder: events})
	p.now = tokens.clock.Now
	maps.Copy(p.byUID, r.p.byUID)

	instance := func(pod *corev1.Pod) eci.ContainerGroup {
		t.Helper()
		id := p.byUID[pod.UID].instanceID
		gs, err := r.client.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{id}})
		if err != nil || len(gs) != 1 {
			t.Fatalf("describe %s: %v, %d groups", id, err, len(gs))
		}
		return gs[0]
	}
	jobToken, _ := kubeProxyTokenFile(t, instance(job))
	updates := func() int { return r.emu.Calls()["UpdateContainerGroup"].Count }
	event := func(want ...string) {
		t.Helper()
		select {
		case e := <-events.Events:
			for _, w := range want {
				if !strings.Contains(e, w) {
					t.Errorf("Event %q; want it to contain %q", e, w)
				}
			}
		default:
			t.Errorf("no Event; want one with %q", want)
		}
	}
	expiresOf := func(pod *corev1.Pod) string {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.byUID[pod.UID].pod.Annotations[AnnotationKubeProxyTokenExpires]
	}
	refreshed := func(wantRefreshed float64) {
		t.Helper()
		g := instance(web)
		tok, kubeconfig := kubeProxyTokenFile(t, g)
		if tok != tokens.lastToken() || !kubeconfig {
			t.Errorf("web's kube-proxy volume has token %q (kubeconfig %v); want the last issued, %q, beside the kubeconfig", tok, kubeconfig, tokens.lastToken())
		}
		if g.Status != eci.StatusRunning {
			t.Errorf("web's instance is %s after the update; want Running", g.Status)
		}
		for _, c := range g.Containers {
			if c.RestartCount != 0 {
				t.Errorf("container %s restarted %d times; want the update to leave it running", c.Name, c.RestartCount)
			}
		}
		if want := tokens.clock.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339); expiresOf(web) != want {
			t.Errorf("web records its token expiring at %q; want %s", expiresOf(web), want)
		}
		if got := testutil.ToFloat64(p.metrics.kubeProxyTokenRefreshes.WithLabelValues("refreshed")); got != wantRefreshed {
			t.Errorf("eci_vnode_kube_proxy_token_refreshes_total{result=refreshed} = %g, want %g", got, wantRefreshed)
		}
	}

	// At 7 of its 10 minutes, nothing is due.
	tokens.clock.Advance(7 * time.Minute)
	if n := p.refreshKubeProxyTokens(ctx); n != 0 || updates() != 0 {
		t.Fatalf("at 70 %% of the tokens' life: %d refreshes, %d UpdateContainerGroup calls; want none", n, updates())
	}
	// Past 8 minutes the web pod's is replaced (once its instance is in no other transition); the
	// Never pod's is not.
	tokens.clock.Advance(time.Minute + time.Second)
	p.byUID[web.UID].transitional = true // as the poller marks an instance that is Restarting
	if n := p.refreshKubeProxyTokens(ctx); n != 0 || updates() != 0 {
		t.Fatalf("an instance in transition: %d refreshes, %d UpdateContainerGroup calls; want none", n, updates())
	}
	p.byUID[web.UID].transitional = false
	if n := p.refreshKubeProxyTokens(ctx); n != 1 || updates() != 1 {
		t.Fatalf("at 80 %% of the tokens' life: %d refreshes, %d UpdateContainerGroup calls; want the web pod's only", n, updates())
	}
	event("Normal", ReasonKubeProxyTokenRefreshed, instance(web).ContainerGroupID, tokens.clock.Now().Add(10*time.Minute).UTC().Format(time.RFC3339))
	refreshed(1)
	if tok, _ := kubeProxyTokenFile(t, instance(job)); tok != jobToken {
		t.Errorf("the restartPolicy Never pod's token changed from %q to %q; want it left alone", jobToken, tok)
	}

	// The next refresh is refused by ECI: a Warning, then back-off.
	r.emu.SetFault("UpdateContainerGroup", emulator.Fault{ErrorRate: 1, Code: "Forbidden.RAM", HTTPStatus: 403, Message: "not allowed"})
	tokens.clock.Advance(8*time.Minute + time.Second)
	before := expiresOf(web)
	if n := p.refreshKubeProxyTokens(ctx); n != 1 {
		t.Fatalf("a due token: %d refreshes tried; want 1", n)
	}
	event("Warning", ReasonKubeProxyTokenRefreshFailed, "Forbidden.RAM", "attempt 1, retrying in 30s", "expires at "+before)
	if got := testutil.ToFloat64(p.metrics.kubeProxyTokenRefreshes.WithLabelValues("error")); got != 1 {
		t.Errorf("eci_vnode_kube_proxy_token_refreshes_total{result=error} = %g, want 1", got)
	}
	if expiresOf(web) != before {
		t.Errorf("a failed refresh changed the recorded expiry from %s to %s", before, expiresOf(web))
	}
	tokens.clock.Advance(10 * time.Second)
	if n := p.refreshKubeProxyTokens(ctx); n != 0 {
		t.Errorf("within the back-off: %d refreshes tried; want none", n)
	}
	tokens.clock.Advance(30 * time.Second)
	if n := p.refreshKubeProxyTokens(ctx); n != 1 {
		t.Fatalf("after the back-off: %d refreshes tried; want 1", n)
	}
	event("Warning", ReasonKubeProxyTokenRefreshFailed, "attempt 2, retrying in 1m0s")

	r.emu.ClearFaults()
	tokens.clock.Advance(time.Minute)
	if n := p.refreshKubeProxyTokens(ctx); n != 1 {
		t.Fatalf("ECI accepting updates again: %d refreshes tried; want 1", n)
	}
	event("Normal", ReasonKubeProxyTokenRefreshed)
	refreshed(2)
	p.mu.Lock()
	failures := p.proxyTokens[web.UID].failures
	p.mu.Unlock()
	if failures != 0 {
		t.Errorf("%d failures still counted after a successful refresh", failures)
	}

	// A copy of the pod from a lagging informer, with the first token's times, does not make the
	// token the runtime just sent due again.
	stale := web.DeepCopy()
	stale.Annotations = map[string]string{AnnotationKubeProxyTokenIssued: start.UTC().Format(time.RFC3339),
		AnnotationKubeProxyTokenExpires: start.Add(10 * time.Minute).UTC().Format(time.RFC3339)}
	if err := p.UpdatePod(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if n := p.refreshKubeProxyTokens(ctx); n != 0 {
		t.Errorf("after a stale pod update: %d refreshes tried; want none", n)
	}
}
