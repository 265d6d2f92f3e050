package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
)

// Heartbeat timing, as a kubelet's defaults: the lease is renewed every 10 s and lasts 40 s;
// the node status is re-posted every 30 s (the kubelet re-posts at least every 5 min).
const (
	leaseDuration       = 40
	leaseRenewInterval  = 10 * time.Second
	statusPostInterval  = 30 * time.Second
	leaseNamespace      = "kube-node-lease"
	sandboxRuntimeLabel = "eci-sandbox/worker"
)

// workerNode is one simulated node: it registers a Node, keeps its Lease and Ready status
// fresh, and runs the pods bound to it.
//
// It talks to the apiserver with its own client certificate (CN system:node:<name>, O
// system:nodes), not the admin identity: the Node authorizer and NodeRestriction then limit it
// exactly as they limit a kubelet (it reads only Secrets and ConfigMaps of its own pods, asks
// for tokens only for them, and edits only its own Node and Lease), so a manifest that works
// here does not rely on privileges a real node would not have.
type workerNode struct {
	pool        *workerPool
	name        string
	ip          string
	capacity    corev1.ResourceList
	client      kubernetes.Interface
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	api         *kubeletAPI // serves `kubectl logs`

	readySince metav1.Time // LastTransitionTime of every node condition

	mu         sync.Mutex
	pods       map[types.UID]*podWorker
	finalizing map[types.UID]bool
}

func newWorkerNode(pool *workerPool, index int, capacity corev1.ResourceList) (*workerNode, error) {
	name := fmt.Sprintf("worker-%d", index)
	ip, err := nodeIP(index)
	if err != nil {
		return nil, err
	}
	kp, err := nodeCert(pool.s.ca, name)
	if err != nil {
		return nil, err
	}
	cfg := &rest.Config{
		Host:            pool.s.server,
		TLSClientConfig: rest.TLSClientConfig{CAData: pool.s.caPEM, CertData: kp.CertPEM, KeyData: kp.KeyPEM},
		UserAgent:       "eci-sandbox-worker/" + name,
		QPS:             50,
		Burst:           100,
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("build client for %s: %w", name, err)
	}
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &workerNode{
		pool:        pool,
		name:        name,
		ip:          ip,
		capacity:    capacity,
		client:      client,
		broadcaster: b,
		recorder:    b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: name}),
		readySince:  metav1.Now(),
		pods:        map[types.UID]*podWorker{},
		finalizing:  map[types.UID]bool{},
	}, nil
}

// register creates the Node (a node may create itself under NodeRestriction), posts its
// status and takes its Lease.
func (n *workerNode) register(ctx context.Context) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.name,
			Labels: map[string]string{
				"kubernetes.io/hostname":  n.name,
				"kubernetes.io/os":        "linux",
				"kubernetes.io/arch":      runtime.GOARCH,
				"beta.kubernetes.io/os":   "linux",
				"beta.kubernetes.io/arch": runtime.GOARCH,
				sandboxRuntimeLabel:       "true",
			},
		},
	}
	_, err := n.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node: %w", err)
	}
	if err := n.postStatus(ctx); err != nil {
		return err
	}
	return n.renewLease(ctx)
}

// run keeps the node alive and runs its pods until ctx ends.
func (n *workerNode) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		n.every(ctx, leaseRenewInterval, "renew lease", n.renewLease)
	}()
	go func() {
		defer wg.Done()
		n.every(ctx, statusPostInterval, "post node status", n.postStatus)
	}()
	n.watchPods(ctx)
	wg.Wait()
}

// every calls fn every interval until ctx ends, logging failures (the next tick retries).
func (n *workerNode) every(ctx context.Context, interval time.Duration, what string, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, interval)
			if err := fn(cctx); err != nil && ctx.Err() == nil {
				n.pool.s.logf("%s: %s: %v", n.name, what, err)
			}
			cancel()
		}
	}
}

// postStatus writes capacity, addresses, node info and fresh Ready conditions. It patches
// (strategic merge) the status rather than updating the whole object, as a kubelet does: a
// full update would carry a stale copy of the taints the node lifecycle controller manages,
// which NodeRestriction rightly refuses.
func (n *workerNode) postStatus(ctx context.Context) error {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, st corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: st, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: n.readySince}
	}
	status := corev1.NodeStatus{
		Capacity:    n.capacity.DeepCopy(),
		Allocatable: n.capacity.DeepCopy(),
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.ip},
			{Type: corev1.NodeHostName, Address: n.name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.api.port())}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               n.name,
			SystemUUID:              n.name,
			BootID:                  n.name,
			KernelVersion:           kernelVersion(),
			OSImage:                 "eci-vnode sandbox worker",
			ContainerRuntimeVersion: "eci-sandbox://" + KubernetesVersion,
			KubeletVersion:          KubernetesVersion,
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
		},
		// The node never stops being healthy, so the transition time is when it registered.
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
		},
	}
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return fmt.Errorf("encode node status: %w", err)
	}
	if _, err := n.client.CoreV1().Nodes().Patch(ctx, n.name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("patch node status: %w", err)
	}
	return nil
}

// renewLease creates or renews the node's Lease in kube-node-lease, which is what the node
// lifecycle controller watches to decide the node is alive.
func (n *workerNode) renewLease(ctx context.Context) error {
	leases := n.client.CoordinationV1().Leases(leaseNamespace)
	now := metav1.NewMicroTime(time.Now())
	lease, err := leases.Get(ctx, n.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err := n.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node for lease owner: %w", err)
		}
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{
				Name:      n.name,
				Namespace: leaseNamespace,
				OwnerReferences: []metav1.OwnerReference{{
					APIVersion: "v1", Kind: "Node", Name: n.name, UID: node.UID,
				}},
			},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(n.name),
				LeaseDurationSeconds: ptr.To[int32](leaseDuration),
				RenewTime:            &now,
			},
		}
		if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create lease: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease: %w", err)
	}
	lease.Spec.RenewTime = &now
	lease.Spec.HolderIdentity = ptr.To(n.name)
	lease.Spec.LeaseDurationSeconds = ptr.To[int32](leaseDuration)
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	return nil
}
