package node

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corev1listers "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// These tests drive the Provider directly against the ECI emulator: the
// pod lifecycle decisions (retry, fail, refuse) without a control plane.
// The integration test covers the same paths through a real cluster.

type rig struct {
	t      *testing.T
	emu    *emulator.Emulator
	client *eci.Client
	p      *Provider
	kube   *fake.Clientset
	// stop ends the provider's workers and waits for them.
	stop func()
}

func newRig(t *testing.T, cfg emulator.Config, mutate func(*Config), wrap ...func(ECI) ECI) *rig {
	t.Helper()
	return newRigWithClient(t, cfg, mutate, nil, wrap...)
}

// newRigWithClient is newRig with the ECI client's configuration changed by
// client (e.g. no client-side limits, to create many instances quickly).
func newRigWithClient(t *testing.T, cfg emulator.Config, mutate func(*Config), client func(*eci.Config), wrap ...func(ECI) ECI) *rig {
	t.Helper()
	cfg.Logf = func(string, ...any) {}
	if cfg.Lifecycle == (emulator.LifecycleConfig{}) {
		cfg.Lifecycle = emulator.LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1, Terminating: -1}
	}
	emu := emulator.StartForTest(t, cfg)
	cred := emulator.DefaultCredential()
	ecfg := eci.Config{Region: "cn-hangzhou", Endpoint: "http://" + emu.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret},
		Retry:       eci.RetryPolicy{MaxAttempts: 1}}
	if client != nil {
		client(&ecfg)
	}
	eciClient, err := eci.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eciClient.CloseIdleConnections)
	ncfg := Config{NodeName: "vnode-u", ClusterName: "unit", Region: "cn-hangzhou", VSwitchIDs: []string{"vsw-h-1", "vsw-i-1"},
		SecurityGroupID: "sg-emulator0001", StatusPollFast: 50 * time.Millisecond, StatusPollSlow: 200 * time.Millisecond,
		CreateBackoffBase: 20 * time.Millisecond, CreateBackoffMax: 200 * time.Millisecond}
	if mutate != nil {
		mutate(&ncfg)
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	r := &rig{t: t, emu: emu, client: eciClient, kube: fake.NewClientset()}
	// No pod lister: the status writer then reads each pod from the fake
	// API server, which has every status written so far.
	var api ECI = eciClient
	for _, w := range wrap {
		api = w(api)
	}
	r.p = NewProvider(ncfg, ProviderDeps{
		ECI: api, Resolver: translate.Listers{
			ConfigMapLister: corev1listers.NewConfigMapLister(idx), SecretLister: corev1listers.NewSecretLister(idx),
			ServiceLister: corev1listers.NewServiceLister(idx), PersistentVolumeClaimLister: corev1listers.NewPersistentVolumeClaimLister(idx),
			PersistentVolumeLister: corev1listers.NewPersistentVolumeLister(idx),
		},
		Kube: r.kube, PodsSynced: func() bool { return true },
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r.p.Run(ctx)
	r.stop = func() { cancel(); r.p.Wait() }
	return r
}

func unitPod(name string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Annotations: ann,
			CreationTimestamp: metav1.Now()},
		Spec: corev1.PodSpec{NodeName: "vnode-u", Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")}}}}},
	}
}

// create stores the pod in the fake API server, as the scheduler's
// binding would have, and hands it to the provider as virtual-kubelet does.
func (r *rig) create(pod *corev1.Pod) {
	r.t.Helper()
	if _, err := r.kube.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		r.t.Fatal(err)
	}
	if err := r.p.CreatePod(context.Background(), pod); err != nil {
		r.t.Fatal(err)
	}
}

// waitFor polls the pod in the API server until ok.
func (r *rig) waitFor(pod *corev1.Pod, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	r.t.Helper()
	var p *corev1.Pod
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		p, err = r.kube.CoreV1().Pods(pod.Namespace).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err == nil && ok(p) {
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p == nil {
		r.t.Fatalf("pod %s: not in the API server; wanted %s", pod.Name, what)
	}
	r.t.Fatalf("pod %s: wanted %s; last status phase=%s reason=%q message=%q", pod.Name, what, p.Status.Phase, p.Status.Reason, p.Status.Message)
	return nil
}

func running(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }

func (r *rig) instances() []eci.ContainerGroup {
	gs, err := r.client.DescribeAllContainerGroups(context.Background(), &eci.DescribeContainerGroupsRequest{Tags: r.p.ownedTagFilter()})
	if err != nil {
		r.t.Fatal(err)
	}
	return gs
}

func TestThrottledCreatesAreRetriedUntilTheyPass(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	r.emu.SetFault("CreateContainerGroup", emulator.Fault{ErrorRate: 1, Code: "Throttling.User", HTTPStatus: 400, Message: "Request was denied due to user flow control."})
	pod := unitPod("throttled", nil)
	r.create(pod)
	r.waitFor(pod, "pending with the throttling reason", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodPending && p.Status.Reason == ReasonCreateRetrying && strings.Contains(p.Status.Message, "Throttling.User")
	})
	r.emu.ClearFaults()
	r.waitFor(pod, "running after the fault cleared", running)
	if n := len(r.instances()); n != 1 {
		t.Fatalf("%d instances after retries, want exactly 1", n)
	}
}

func TestQuotaExceededFailsThePodWithTheReason(t *testing.T) {
	r := newRig(t, emulator.Config{Quotas: emulator.QuotaConfig{MaxCPU: 0.5}}, nil)
	pod := unitPod("too-big", nil)
	r.create(pod)
	p := r.waitFor(pod, "failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != ReasonCreateFailed || !strings.Contains(p.Status.Message, "QuotaExceed") {
		t.Fatalf("reason %q message %q", p.Status.Reason, p.Status.Message)
	}
	if p.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatal("a failed pod's containers must be terminated, or virtual-kubelet thinks they still run")
	}
}

func TestNoStockEverywhereIsRetriedWithANewClientTokenUntilStockReturns(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	for _, z := range []string{"cn-hangzhou-h", "cn-hangzhou-i"} {
		if err := r.emu.SetZoneClosed(z, true); err != nil {
			t.Fatal(err)
		}
	}
	pod := unitPod("stockless", nil)
	r.create(pod)
	r.waitFor(pod, "pending with the ECI schedule failure", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodPending && p.Status.Reason == ReasonScheduleFailed
	})
	_ = r.emu.SetZoneClosed("cn-hangzhou-i", false)
	r.waitFor(pod, "running once a zone has stock", running)
	var live int
	for _, g := range r.instances() {
		if g.Status == eci.StatusRunning {
			live++
			if g.ZoneID != "cn-hangzhou-i" {
				t.Fatalf("instance landed in %s", g.ZoneID)
			}
		}
	}
	if live != 1 {
		t.Fatalf("%d running instances, want 1", live)
	}
}

func TestUnsupportedPodsStayPendingWithTheAlternativeAndReachNoECI(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := unitPod("host-net", nil)
	pod.Spec.HostNetwork = true
	ctrl := true
	ds := unitPod("ds-pod", nil)
	ds.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "node-agent", APIVersion: "apps/v1", Controller: &ctrl, UID: "ds"}}
	for _, p := range []*corev1.Pod{pod, ds} {
		r.create(p)
	}
	hn := r.waitFor(pod, "pending as unsupported", func(p *corev1.Pod) bool { return p.Status.Reason == ReasonUnsupported })
	if hn.Status.Phase != corev1.PodPending || !strings.Contains(hn.Status.Message, "LoadBalancer") {
		t.Fatalf("hostNetwork pod: phase %s message %q; want Pending naming a Service of type LoadBalancer", hn.Status.Phase, hn.Status.Message)
	}
	d := r.waitFor(ds, "pending as unsupported", func(p *corev1.Pod) bool { return p.Status.Reason == ReasonUnsupported })
	if d.Status.Phase != corev1.PodPending || !strings.Contains(d.Status.Message, "sidecar") {
		t.Fatalf("DaemonSet pod: phase %s message %q; want Pending naming a sidecar container", d.Status.Phase, d.Status.Message)
	}
	if n := r.emu.Calls()["CreateContainerGroup"].Count; n != 0 {
		t.Fatalf("%d CreateContainerGroup calls for pods a VNode cannot run", n)
	}
}

func TestDeletingAPodDeletesItsInstanceAndReportsATerminalStatus(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := unitPod("doomed", nil)
	r.create(pod)
	r.waitFor(pod, "running", running)
	del := pod.DeepCopy()
	now := metav1.Now()
	grace := int64(30)
	del.DeletionTimestamp, del.DeletionGracePeriodSeconds = &now, &grace
	if err := r.p.DeletePod(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	p := r.waitFor(pod, "terminal after delete", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Terminated == nil {
			t.Fatalf("container %s not terminated after delete", cs.Name)
		}
	}
	if _, err := r.p.GetPod(context.Background(), "default", "doomed"); err == nil {
		t.Fatal("a deleted pod must be forgotten")
	}
	for _, g := range r.instances() {
		if g.Status != eci.StatusTerminating {
			t.Fatalf("instance %s still %s after the pod was deleted", g.ContainerGroupID, g.Status)
		}
	}
}

func TestAPodGoneFromTheAPIServerWithoutGraceDeletesItsInstanceWithForce(t *testing.T) {
	// Terminating lasts up to the instance's grace period (an hour here), so an instance
	// deleted without Force is still listed, Terminating, while a forced one is gone.
	r := newRig(t, emulator.Config{Lifecycle: emulator.LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1,
		Terminating: time.Hour}}, nil)
	ctx := context.Background()
	graceful, forced := unitPod("graceful", nil), unitPod("forced", nil)
	for _, pod := range []*corev1.Pod{graceful, forced} {
		pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](3600)
		r.create(pod)
		r.waitFor(pod, "running", running)
	}
	del := graceful.DeepCopy()
	now := metav1.Now()
	del.DeletionTimestamp, del.DeletionGracePeriodSeconds = &now, ptr.To[int64](3600)
	if err := r.p.DeletePod(ctx, del); err != nil {
		t.Fatal(err)
	}
	// kubectl delete --force --grace-period=0: the API server removes the pod at once, and
	// virtual-kubelet, finding it gone, hands over the provider's own copy.
	if err := r.kube.CoreV1().Pods("default").Delete(ctx, forced.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	own, err := r.p.GetPod(ctx, "default", forced.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.p.DeletePod(ctx, own); err != nil {
		t.Fatal(err)
	}
	left := map[types.UID]string{}
	for _, g := range r.instances() {
		uid, _ := translate.PodUIDFromTags(g.Tags)
		left[uid] = g.Status
	}
	if st := left[graceful.UID]; st != eci.StatusTerminating {
		t.Errorf("the gracefully deleted pod's instance is %q, want %s for its grace period", st, eci.StatusTerminating)
	}
	if st, ok := left[forced.UID]; ok {
		t.Errorf("the force-deleted pod's instance is still listed (%s): it was deleted without Force", st)
	}
}

func TestAnInstanceDeletedBehindOurBackFailsThePod(t *testing.T) {
	r := newRig(t, emulator.Config{}, func(c *Config) { c.InstanceLostGracePeriod = 100 * time.Millisecond })
	pod := unitPod("vanishing", nil)
	r.create(pod)
	r.waitFor(pod, "running", running)
	for _, g := range r.instances() {
		if err := r.client.DeleteContainerGroup(context.Background(), &eci.DeleteContainerGroupRequest{ContainerGroupID: g.ContainerGroupID, Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	p := r.waitFor(pod, "failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != ReasonInstanceNotFound {
		t.Fatalf("reason %q, want %s", p.Status.Reason, ReasonInstanceNotFound)
	}
}

// hidingECI answers complete listings without one instance, as an
// eventually consistent listing may; reads by ID still find it.
type hidingECI struct {
	ECI
	mu   sync.Mutex
	hide string
}

func (h *hidingECI) DescribeAllContainerGroups(ctx context.Context, req *eci.DescribeContainerGroupsRequest) ([]eci.ContainerGroup, error) {
	gs, err := h.ECI.DescribeAllContainerGroups(ctx, req)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(req.ContainerGroupIDs) > 0 || h.hide == "" {
		return gs, err
	}
	var out []eci.ContainerGroup
	for _, g := range gs {
		if g.ContainerGroupID != h.hide {
			out = append(out, g)
		}
	}
	return out, err
}

func TestAnInstanceMissingFromAListingIsCheckedByIDBeforeThePodFails(t *testing.T) {
	var hiding *hidingECI
	r := newRig(t, emulator.Config{}, func(c *Config) { c.InstanceLostGracePeriod = 10 * time.Millisecond },
		func(e ECI) ECI { hiding = &hidingECI{ECI: e}; return hiding })
	pod := unitPod("flaky-listing", nil)
	r.create(pod)
	r.waitFor(pod, "running", running)
	for _, g := range r.instances() {
		hiding.mu.Lock()
		hiding.hide = g.ContainerGroupID
		hiding.mu.Unlock()
	}
	// Several complete listings miss the instance (--status-poll-slow 200ms).
	time.Sleep(time.Second)
	p := r.waitFor(pod, "still running", func(*corev1.Pod) bool { return true })
	if p.Status.Phase != corev1.PodRunning {
		t.Fatalf("phase %s reason %q after listings missed a live instance; a read by ID finds it, so the pod must keep running", p.Status.Phase, p.Status.Reason)
	}
}

func TestAPodForceDeletedAfterItsGracefulDeleteCostsOneForcedCallMore(t *testing.T) {
	r := newRig(t, emulator.Config{Lifecycle: emulator.LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1,
		Terminating: time.Hour}}, nil)
	ctx := context.Background()
	pod := unitPod("slow-to-go", nil)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](3600)
	r.create(pod)
	r.waitFor(pod, "running", running)
	now := metav1.Now()
	graceful := pod.DeepCopy()
	graceful.DeletionTimestamp, graceful.DeletionGracePeriodSeconds = &now, ptr.To[int64](3600)
	// When the grace period ends before the pod is terminal, virtual-kubelet deletes
	// the pod object with grace period 0 and hands it over again, more than once.
	forced := pod.DeepCopy()
	forced.DeletionTimestamp, forced.DeletionGracePeriodSeconds = &now, ptr.To[int64](0)
	for _, handover := range []*corev1.Pod{graceful, graceful, forced, forced, graceful} {
		if err := r.p.DeletePod(ctx, handover); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.emu.Calls()["DeleteContainerGroup"].Count; n != 2 {
		t.Errorf("DeleteContainerGroup called %d times; want 2, the graceful delete and one with Force", n)
	}
	for _, g := range r.instances() {
		if uid, _ := translate.PodUIDFromTags(g.Tags); uid == pod.UID {
			t.Errorf("the instance is still listed (%s) after the forced delete", g.Status)
		}
	}
}

// statusWrites are the status patches of the pod named name so far.
func (r *rig) statusWrites(name string) []*corev1.Pod {
	r.t.Helper()
	var out []*corev1.Pod
	for _, a := range r.kube.Actions() {
		pa, ok := a.(k8stesting.PatchAction)
		if !ok || a.GetSubresource() != "status" || pa.GetName() != name {
			continue
		}
		var p corev1.Pod
		if err := json.Unmarshal(pa.GetPatch(), &p); err != nil {
			r.t.Fatalf("status patch of %s: %v", name, err)
		}
		out = append(out, &p)
	}
	return out
}

// A pod whose instance starts within instanceStatusDelay costs one status
// write, straight to Running with the instance's annotations; one whose
// instance takes longer shows its instance once the delay is over, then
// Running.
func TestStatusOfANewInstanceWaitsBrieflyForItToStart(t *testing.T) {
	t.Run("instance starts at once", func(t *testing.T) {
		r := newRig(t, emulator.Config{}, nil)
		pod := unitPod("quick", nil)
		began := time.Now()
		r.create(pod)
		got := r.waitFor(pod, "running", running)
		if got.Annotations[AnnotationInstanceID] == "" {
			t.Fatalf("Running pod without its instance ID annotation: %v", got.Annotations)
		}
		// The instance runs at once and the poller reads it within 100 ms or
		// so: Running waits for nothing, least of all the delay meant for the
		// status it replaces.
		if took := time.Since(began); took >= instanceStatusDelay {
			t.Errorf("Running written %s after the create; want it as soon as it is read, not held %s", took, instanceStatusDelay)
		}
		time.Sleep(instanceStatusDelay + 500*time.Millisecond) // a delayed write would land by now
		if w := r.statusWrites(pod.Name); len(w) != 1 || w[0].Status.Phase != corev1.PodRunning {
			t.Fatalf("%d status writes (%v); want one, Running", len(w), phases(w))
		}
	})
	t.Run("instance takes its time", func(t *testing.T) {
		r := newRig(t, emulator.Config{Lifecycle: emulator.LifecycleConfig{
			Scheduling: 4 * time.Second, ImagePull: -1, ContainerStart: -1, Terminating: -1}}, nil)
		pod := unitPod("slow", nil)
		began := time.Now()
		r.create(pod)
		got := r.waitFor(pod, "Pending, naming its instance", func(p *corev1.Pod) bool {
			return p.Status.Reason == ReasonScheduling && p.Annotations[AnnotationInstanceID] != ""
		})
		if waited := time.Since(began); waited < instanceStatusDelay {
			t.Errorf("the status naming instance %s was written %s after the create; want it held %s for the instance to start",
				got.Annotations[AnnotationInstanceID], waited, instanceStatusDelay)
		}
		r.waitFor(pod, "running", running)
		if w := r.statusWrites(pod.Name); len(w) != 2 {
			t.Fatalf("%d status writes (%v); want two: the instance, then Running", len(w), phases(w))
		}
	})
}

func phases(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, string(p.Status.Phase)+"/"+p.Status.Reason)
	}
	return out
}
