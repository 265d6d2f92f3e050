package sandbox

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// watchPods runs an informer on the pods bound to this node (as a kubelet lists them, by
// spec.nodeName) and hands each pod to its pod worker, until ctx ends.
func (n *workerNode) watchPods(ctx context.Context) {
	factory := informers.NewSharedInformerFactoryWithOptions(n.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.name).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { n.onPod(obj) },
		UpdateFunc: func(_, obj any) { n.onPod(obj) },
		DeleteFunc: func(obj any) { n.onPodGone(obj) },
	})
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
}

// onPod starts a worker for a new pod, or passes an updated pod to its worker.
func (n *workerNode) onPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName != n.name {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	pw := n.pods[pod.UID]
	if pw == nil {
		if pod.DeletionTimestamp != nil {
			// Nothing runs for it here (finished before, or never started): just let the
			// deletion complete, as a kubelet does.
			if !n.finalizing[pod.UID] {
				n.finalizing[pod.UID] = true
				go n.finalizeDeletion(pod.DeepCopy())
			}
			return
		}
		if podIsTerminal(pod) {
			return
		}
		pw = newPodWorker(n, pod)
		n.pods[pod.UID] = pw
		go func() {
			pw.run()
			n.mu.Lock()
			delete(n.pods, pod.UID)
			n.mu.Unlock()
		}()
	}
	pw.update(pod)
}

// onPodGone kills what runs for a pod removed without graceful deletion (force delete).
func (n *workerNode) onPodGone(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	n.mu.Lock()
	pw := n.pods[pod.UID]
	delete(n.finalizing, pod.UID)
	n.mu.Unlock()
	if pw != nil {
		pw.kill(0)
	}
}

// finalizeDeletion deletes a gracefully deleted pod that has nothing running here.
func (n *workerNode) finalizeDeletion(pod *corev1.Pod) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.deletePodObject(ctx, pod); err != nil {
		n.pool.s.logf("%s: delete pod %s/%s: %v", n.name, pod.Namespace, pod.Name, err)
	}
}

// deletePodObject removes the pod with grace 0, bound to its UID so a new pod with the same
// name is never hit; this is how a kubelet completes a graceful deletion.
func (n *workerNode) deletePodObject(ctx context.Context, pod *corev1.Pod) error {
	err := n.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: ptr.To(pod.UID)},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// killAll stops every pod worker of the node without API calls (the sandbox is stopping).
func (n *workerNode) killAll(ctx context.Context) error {
	n.mu.Lock()
	workers := make([]*podWorker, 0, len(n.pods))
	for _, pw := range n.pods {
		workers = append(workers, pw)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for _, pw := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw.kill(2 * time.Second)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for _, pw := range workers {
		select {
		case <-pw.done:
		case <-ctx.Done():
			return errors.New("stop pods of " + n.name + ": " + ctx.Err().Error())
		}
	}
	<-done
	return nil
}

func podIsTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}
