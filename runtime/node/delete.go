package node

import (
	"context"
	"fmt"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// DeletePod deletes the pod's instance. The pod keeps its status until the
// poller sees the instance gone, then gets a terminal status, which lets
// virtual-kubelet remove the pod object; ECI applies the instance's
// termination grace period. A pod deleted with grace period 0 (kubectl
// delete --force) deletes its instance with Force.
//
// Such a pod never reaches here with its grace period: the API server
// removes a pod deleted with grace period 0 at once, without a deletion
// timestamp first, and virtual-kubelet, finding it gone, hands over the
// runtime's own copy (GetPod). A pod without a deletion timestamp has
// therefore left the API server without a graceful phase, and counts as
// deleted with grace period 0.
func (p *Provider) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	t, ok := p.byUID[pod.UID]
	if !ok {
		p.mu.Unlock()
		return errdefs.NotFoundf("pod %s/%s (uid %s) is not on this VNode", pod.Namespace, pod.Name, pod.UID)
	}
	status := t.pod.Status
	written := t.pod.Annotations
	t.pod = pod.DeepCopy()
	t.pod.Status = status
	keepWritten(t.pod, written)
	if t.pod.DeletionTimestamp == nil {
		t.pod.DeletionGracePeriodSeconds = ptr.To[int64](0)
	}
	force := t.pod.DeletionGracePeriodSeconds != nil && *t.pod.DeletionGracePeriodSeconds == 0
	prev := t.state
	if prev == stateFinished && t.deleted {
		// The instance is deleted and the pod's final status written: the
		// pod object's removal (with grace period 0, removeObject) hands it
		// over once more, and a second delete would cost a call for nothing.
		p.mu.Unlock()
		return nil
	}
	t.state = stateDeleting
	t.transitional = true
	hasInstance := t.instanceID != ""
	forced := t.forceDeleted
	p.mu.Unlock()

	switch {
	case prev == stateDeleting && (!force || forced):
		// virtual-kubelet hands a deleted pod over more than once (and
		// force-deletes the pod object when its grace period ends); the
		// delete is under way. Only the first forced delete is worth a
		// second call.
		return nil
	case prev == stateCreating:
		// processCreate sees stateDeleting when its call returns and deletes
		// the instance it made.
		return nil
	case !hasInstance:
		p.finishDeletion(t, "the pod was deleted before an ECI instance was created")
		return nil
	}
	if err := p.deleteInstance(ctx, t); err != nil {
		p.mu.Lock()
		t.state = prev
		p.mu.Unlock()
		p.event(t, corev1.EventTypeWarning, "ECIDeleteFailed", err.Error())
		return err
	}
	if pod.DeletionTimestamp == nil {
		// Force-deleted: the pod object is gone, so no status waits for the
		// instance to go, and ECI removes a force-deleted instance without a
		// grace period. The pod is done now, as a kubelet drops a force-deleted
		// pod at once (/runningpods no longer lists it); an instance that
		// lingered would be found by the poller as an orphan and deleted.
		p.finishDeletion(t, "the pod was deleted with grace period 0; its instance was deleted with Force")
	}
	return nil
}

// finishDeletion reports the terminal status of a deleted pod; the status
// writer writes it, removes the pod object and forgets the pod.
func (p *Provider) finishDeletion(t *tracked, msg string) {
	now := p.now()
	p.mu.Lock()
	st := t.pod.Status.DeepCopy()
	if !terminal(st.Phase) {
		st.ContainerStatuses = terminatedStatuses(t.pod.Spec.Containers, st.ContainerStatuses, ReasonInstanceDeleted, msg, now)
		st.InitContainerStatuses = terminatedStatuses(t.pod.Spec.InitContainers, st.InitContainerStatuses, ReasonInstanceDeleted, msg, now)
		st.Phase = corev1.PodSucceeded
		for _, cs := range st.ContainerStatuses {
			if cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0 {
				st.Phase = corev1.PodFailed
			}
		}
		for i := range st.Conditions {
			if st.Conditions[i].Type == corev1.PodReady || st.Conditions[i].Type == corev1.ContainersReady {
				st.Conditions[i].Status = corev1.ConditionFalse
			}
		}
	}
	t.report(st)
	t.state = stateFinished
	uid, key := t.pod.UID, podKey(t.pod.Namespace, t.pod.Name)
	p.mu.Unlock()
	p.log.Info("pod deleted", "pod", key, "uid", uid, "detail", msg)
	p.publish(uid)
}

// forgetFinished drops a pod whose final status is written (or that no
// longer exists).
func (p *Provider) forgetFinished(t *tracked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.state != stateFinished {
		return
	}
	if cur, ok := p.byUID[t.pod.UID]; ok && cur == t {
		delete(p.byUID, t.pod.UID)
		if p.byKey[podKey(t.pod.Namespace, t.pod.Name)] == t.pod.UID {
			delete(p.byKey, podKey(t.pod.Namespace, t.pod.Name))
		}
	}
}

// removeObject deletes the object of a pod being deleted once its final
// status is written, as a kubelet does once a pod's containers are gone,
// rather than when virtual-kubelet's grace timer fires. The UID
// precondition keeps a recreated pod of the same name safe.
func (p *Provider) removeObject(ctx context.Context, live *corev1.Pod) {
	if live.DeletionTimestamp == nil || p.kube == nil {
		return
	}
	zero := int64(0)
	err := p.kube.CoreV1().Pods(live.Namespace).Delete(ctx, live.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &live.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		p.log.Warn("could not remove the deleted pod's object", "pod", podKey(live.Namespace, live.Name), "err", err)
	}
}

func instanceGoneMessage(id string) string {
	return fmt.Sprintf("ECI instance %s was deleted with the pod", id)
}
