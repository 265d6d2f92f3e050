package webhook

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// fakeVNode is a Node object that looks like a VNode (label, taint, large capacity), kept
// Ready by heartbeats, with a stand-in kubelet: pods bound to it are reported Running and
// Ready, and pods being deleted are removed, as the real VNode would once ECI answers.
// The sandbox has no VNode of its own; this is enough for the scheduler, the ReplicaSet
// controller and the webhook, which only look at the API.
type fakeVNode struct {
	name string
	kube kubernetes.Interface
	mu   sync.Mutex
	ips  int
}

func startFakeVNode(t *testing.T, ctx context.Context, kube kubernetes.Interface, name string) *fakeVNode {
	t.Helper()
	v := &fakeVNode{name: name, kube: kube}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			profile.VNodeLabelKey: profile.VNodeLabelValue, "type": "virtual-kubelet",
			"kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
		}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: profile.VNodeTaintKey, Value: profile.VNodeTaintValue, Effect: corev1.TaintEffectNoSchedule}}},
	}
	if _, err := kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("register fake VNode: %v", err)
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error { return v.heartbeat(ctx) }); err != nil {
		t.Fatalf("fake VNode status: %v", err)
	}
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = retry.RetryOnConflict(retry.DefaultRetry, func() error { return v.heartbeat(ctx) })
			}
		}
	}()
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", name).String()
	}))
	pods := f.Core().V1().Pods().Informer()
	_, _ = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { v.syncPod(ctx, obj) },
		UpdateFunc: func(_, obj any) { v.syncPod(ctx, obj) },
	})
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return v
}

func (v *fakeVNode) heartbeat(ctx context.Context) error {
	n, err := v.kube.CoreV1().Nodes().Get(ctx, v.name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods: resource.MustParse("1000"),
	}
	n.Status.Capacity, n.Status.Allocatable = capacity, capacity
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.9.1"}, {Type: corev1.NodeHostName, Address: v.name}}
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "fake VNode", LastHeartbeatTime: now, LastTransitionTime: now}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready.LastTransitionTime = c.LastTransitionTime
		}
	}
	n.Status.Conditions = []corev1.NodeCondition{ready}
	n.Status.NodeInfo.KubeletVersion = "v1.37.2"
	n.Status.NodeInfo.OperatingSystem = "linux"
	n.Status.NodeInfo.Architecture = "amd64"
	if _, err := v.kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	leases := v.kube.CoordinationV1().Leases("kube-node-lease")
	renew := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, v.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: v.name, Namespace: "kube-node-lease"},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(v.name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &renew},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &renew
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (v *fakeVNode) syncPod(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		_ = v.kube.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		return
	}
	if pod.Status.Phase == corev1.PodRunning {
		return
	}
	v.mu.Lock()
	v.ips++
	ip := fmt.Sprintf("127.0.%d.%d", 10+v.ips/250, 1+v.ips%250)
	v.mu.Unlock()
	now := metav1.Now()
	p := pod.DeepCopy()
	p.Status.Phase = corev1.PodRunning
	p.Status.HostIP, p.Status.PodIP = "127.0.9.1", ip
	p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: ptr.To(true),
			ContainerID: "eci://" + string(p.UID) + "/" + c.Name,
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, _ = v.kube.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
}
