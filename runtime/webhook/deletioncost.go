package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// DeletionCostAnnotation is what a ReplicaSet consults when it scales down: pods with a
// lower cost are deleted first.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// podsByNode indexes the pod informer by spec.nodeName.
const podsByNode = "byNode"

func indexPodsByNode(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return nil, nil
	}
	return []string{pod.Spec.NodeName}, nil
}

// trimPod keeps of a pod what the webhook reads from its cache — names, labels, the
// deletion-cost annotation, node, phase — so watching every pod of a large cluster costs
// little memory.
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
			Labels: pod.Labels, DeletionTimestamp: pod.DeletionTimestamp,
		},
		Spec:   corev1.PodSpec{NodeName: pod.Spec.NodeName},
		Status: corev1.PodStatus{Phase: pod.Status.Phase},
	}
	if v, ok := pod.Annotations[DeletionCostAnnotation]; ok {
		out.Annotations = map[string]string{DeletionCostAnnotation: v}
	}
	return out, nil
}

// deletionCoster gives pods that run on VNodes a low pod-deletion-cost, so a ReplicaSet
// that scales down removes its ECI pods before those on normal nodes (and the cluster
// stops paying for them first). A pod's node is known only once it is scheduled, so this
// is a controller over bound pods, not part of admission. A cost the pod already has —
// set by its owner or a person — is left alone.
type deletionCoster struct {
	kube    kubernetes.Interface
	pods    cache.Indexer
	nodes   corelisters.NodeLister
	cost    string
	queue   workqueue.TypedRateLimitingInterface[string]
	metrics *Metrics
	log     *slog.Logger
	// awaiting holds the UIDs of pods patched here that the informer has not yet
	// shown with the annotation: a sync from that stale copy must not patch again.
	awaiting sync.Map // types.UID -> struct{}
}

func newDeletionCoster(kube kubernetes.Interface, pods cache.SharedIndexInformer, nodes cache.SharedIndexInformer,
	cost int32, m *Metrics, log *slog.Logger) (*deletionCoster, error) {
	c := &deletionCoster{
		kube: kube, pods: pods.GetIndexer(), nodes: corelisters.NewNodeLister(nodes.GetIndexer()),
		cost: strconv.Itoa(int(cost)), metrics: m, log: log,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "pod-deletion-cost"}),
	}
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueuePod,
		UpdateFunc: func(_, obj any) { c.enqueuePod(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				c.awaiting.Delete(pod.UID)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("watch pods for the deletion cost: %w", err)
	}
	if _, err := nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueueNode,
		UpdateFunc: func(old, obj any) {
			o, _ := old.(*corev1.Node)
			if n, ok := obj.(*corev1.Node); ok && !isVNode(o) && isVNode(n) {
				c.enqueueNode(obj)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("watch nodes for the deletion cost: %w", err)
	}
	return c, nil
}

// wants reports whether pod should get the annotation now.
func (c *deletionCoster) wants(pod *corev1.Pod) bool {
	if pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil || podFinished(pod) {
		return false
	}
	if _, ok := pod.Annotations[DeletionCostAnnotation]; ok {
		return false
	}
	if _, patched := c.awaiting.Load(pod.UID); patched {
		return false
	}
	n, err := c.nodes.Get(pod.Spec.NodeName)
	return err == nil && isVNode(n)
}

func (c *deletionCoster) enqueuePod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if _, ok := pod.Annotations[DeletionCostAnnotation]; ok {
		c.awaiting.Delete(pod.UID) // the informer has caught up with our patch
	}
	if !c.wants(pod) {
		return
	}
	c.queue.Add(pod.Namespace + "/" + pod.Name)
}

func (c *deletionCoster) enqueueNode(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok || !isVNode(n) {
		return
	}
	objs, err := c.pods.ByIndex(podsByNode, n.Name)
	if err != nil {
		return
	}
	for _, o := range objs {
		c.enqueuePod(o)
	}
}

// run processes the queue with workers until ctx ends.
func (c *deletionCoster) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
}

func (c *deletionCoster) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.sync(ctx, key); err != nil {
		c.metrics.deletionCost.WithLabelValues("error").Inc()
		if c.queue.NumRequeues(key) < 10 {
			c.log.Warn("cannot set the pod deletion cost; retrying", "pod", key, "err", err)
			c.queue.AddRateLimited(key)
			return true
		}
		c.log.Error("giving up setting the pod deletion cost", "pod", key, "err", err)
	}
	c.queue.Forget(key)
	return true
}

func (c *deletionCoster) sync(ctx context.Context, key string) error {
	obj, exists, err := c.pods.GetByKey(key)
	if err != nil || !exists {
		return err
	}
	pod := obj.(*corev1.Pod)
	if !c.wants(pod) {
		return nil
	}
	// The UID precondition makes sure a pod recreated under the same name is not
	// annotated on behalf of its predecessor.
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":         pod.UID,
		"annotations": map[string]string{DeletionCostAnnotation: c.cost},
	}})
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Marked before the call: the informer may deliver the patched copy (which
	// clears the mark) before Patch returns.
	c.awaiting.Store(pod.UID, struct{}{})
	_, err = c.kube.CoreV1().Pods(pod.Namespace).Patch(pctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		c.awaiting.Delete(pod.UID)
	}
	switch {
	case apierrors.IsNotFound(err), apierrors.IsConflict(err), apierrors.IsInvalid(err):
		// Gone, or replaced by a pod of the same name (the UID in the patch differs).
		c.metrics.deletionCost.WithLabelValues("gone").Inc()
		return nil
	case err != nil:
		return fmt.Errorf("patch pod %s: %w", key, err)
	}
	c.metrics.deletionCost.WithLabelValues("patched").Inc()
	c.log.Debug("set pod deletion cost", "pod", key, "node", pod.Spec.NodeName, "cost", c.cost)
	return nil
}
