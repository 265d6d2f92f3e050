package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// Annotations this runtime writes back on a pod once its instance exists,
// with the names Alibaba's own virtual kubelet uses.
const (
	fieldManager = "eci-vnode"

	AnnotationInstanceID   = "k8s.aliyun.com/eci-instance-id"
	AnnotationRequestID    = "k8s.aliyun.com/eci-request-id"
	AnnotationInstanceSpec = "k8s.aliyun.com/eci-instance-spec"
	AnnotationVpc          = "k8s.aliyun.com/eci-vpc"
	AnnotationFailStrategy = "k8s.aliyun.com/eci-fail-strategy"
)

// writtenAnnotations are the annotations this runtime owns on a pod.
var writtenAnnotations = []string{AnnotationInstanceID, AnnotationRequestID, AnnotationInstanceSpec, AnnotationVpc,
	AnnotationKubeProxyTokenIssued, AnnotationKubeProxyTokenExpires}

// runCreateWorker processes queued creates until ctx ends.
func (p *Provider) runCreateWorker(ctx context.Context) {
	for {
		uid, quit := p.queue.Get()
		if quit {
			return
		}
		p.processCreate(ctx, uid)
		p.queue.Done(uid)
	}
}

// processCreate makes one create attempt for the pod with this UID.
func (p *Provider) processCreate(ctx context.Context, uid types.UID) {
	// Creating before the inventory is complete could miss an instance made
	// by a previous run of this runtime; ClientToken would still make ECI
	// return it, but adopting it is cheaper and keeps its attempt number.
	select {
	case <-p.inventory:
	case <-ctx.Done():
		return
	}
	p.mu.Lock()
	t, ok := p.byUID[uid]
	if !ok || t.state != stateQueued {
		p.mu.Unlock()
		p.queue.Forget(uid)
		return
	}
	t.state = stateCreating
	pod := t.pod.DeepCopy()
	token := t.clientToken()
	p.mu.Unlock()

	vnode, err := p.translationVNode(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.retryCreate(t, ReasonCreateRetrying, "cluster IP access: "+err.Error())
		}
		return
	}
	res, err := translate.Pod(ctx, pod, vnode, p.resolver)
	if err != nil {
		p.translationFailed(t, err)
		return
	}
	p.mu.Lock()
	t.failFast = res.Options.FailStrategy == translate.FailFast
	t.spotFallback = res.Options.SpotFallback
	payAsYouGo := t.payAsYouGo
	p.mu.Unlock()
	for _, w := range res.Warnings {
		p.event(t, corev1.EventTypeWarning, "ECI"+string(w.Reason), w.String())
	}
	req := res.Request
	req.ClientToken = token
	if payAsYouGo && req.SpotStrategy != "" && req.SpotStrategy != eci.SpotStrategyNoSpot {
		// k8s.aliyun.com/eci-spot-fallback: spot had no stock, so fall back.
		req.SpotStrategy, req.SpotPriceLimit, req.SpotDuration = eci.SpotStrategyNoSpot, 0, nil
		p.event(t, corev1.EventTypeNormal, "ECISpotFallback", "no spot stock: creating the instance pay-as-you-go, as the pod's k8s.aliyun.com/eci-spot-fallback asks")
	}

	resp, err := p.eci.CreateContainerGroup(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		switch eci.ClassOf(err) {
		case eci.ClassInvalidInput, eci.ClassQuotaExceeded:
			p.queue.Forget(uid)
			p.metrics.creates.WithLabelValues("failed").Inc()
			p.fail(t, ReasonCreateFailed, fmt.Sprintf("ECI refused to create the instance: %v", err))
		default:
			p.metrics.creates.WithLabelValues("retry").Inc()
			if t.failFast {
				p.queue.Forget(uid)
				p.fail(t, ReasonCreateFailed, fmt.Sprintf("creating the ECI instance failed and the pod asks for %s=fail-fast: %v", AnnotationFailStrategy, err))
				return
			}
			p.retryCreate(t, ReasonCreateRetrying, err.Error())
		}
		return
	}
	p.queue.Forget(uid)
	p.metrics.creates.WithLabelValues("created").Inc()

	p.mu.Lock()
	t.instanceID = resp.ContainerGroupID
	t.createdAt = p.now()
	t.transitional = true
	p.readSoon[resp.ContainerGroupID] = true
	deleting := t.state == stateDeleting
	if !deleting {
		t.state = stateCreated
	}
	t.lastReason = ""
	p.mu.Unlock()
	p.log.Info("created ECI instance", "pod", podKey(pod.Namespace, pod.Name), "uid", uid, "instance", resp.ContainerGroupID, "requestID", resp.RequestID)

	if deleting {
		// The pod was deleted while the create was in flight.
		p.deleteInstance(ctx, t)
		return
	}
	p.event(t, corev1.EventTypeNormal, ReasonInstanceCreated, fmt.Sprintf("Created ECI instance %s", resp.ContainerGroupID))
	// The instance's annotations go out with the Pending status below, in one write.
	ann := map[string]string{AnnotationInstanceID: resp.ContainerGroupID, AnnotationRequestID: resp.RequestID}
	maps.Copy(ann, kubeProxyTokenAnnotations(res.KubeProxyToken)) // when to replace it (kubeproxytoken.go)
	p.mu.Lock()
	t.addAnnotations(ann)
	p.mu.Unlock()
	// That write waits instanceStatusDelay: an instance that starts within
	// it goes from the API server's Pending straight to Running in one write.
	// (The status always changes here, its message naming the new instance,
	// so the write is always queued.)
	p.setPendingAfter(t, instanceStatusDelay, ReasonScheduling, fmt.Sprintf("ECI instance %s created; waiting for it to start", resp.ContainerGroupID))
	p.pollSoon()
}

// retryCreate puts the pod back in the queue with back-off and says why on
// the pod; an Event is emitted only when the reason changes, so a long
// NoStock spell does not flood the pod's events.
func (p *Provider) retryCreate(t *tracked, reason, msg string) {
	p.mu.Lock()
	if t.state == stateDeleting {
		p.mu.Unlock()
		return
	}
	t.state = stateQueued
	uid := t.pod.UID
	newReason := t.lastReason != reason+msg
	t.lastReason = reason + msg
	p.mu.Unlock()
	delay := p.queue.NumRequeues(uid)
	p.queue.AddRateLimited(uid)
	full := fmt.Sprintf("%s (attempt %d; retrying with back-off)", msg, delay+1)
	if newReason {
		p.event(t, corev1.EventTypeWarning, reason, full)
	}
	p.setPending(t, reason, full)
}

// translationFailed decides what a refused translation means for the pod:
// a missing ConfigMap/Secret/PVC may appear, so the pod waits (as a kubelet
// waits with CreateContainerConfigError); a feature a VNode cannot offer
// keeps the pod Pending with the alternative, never Failed, so controllers
// such as DaemonSets do not replace it in a loop; anything else is an error
// in the pod that only a change can fix, so the pod fails with the message.
func (p *Provider) translationFailed(t *tracked, err error) {
	problems := translate.Problems(err)
	switch {
	case translate.IsRetryable(err):
		p.retryCreate(t, ReasonWaitingForObjects, err.Error())
		return
	case len(problems) > 0 && allUnsupported(problems):
		p.queue.Forget(t.pod.UID)
		p.refuse(t, ReasonUnsupported, err.Error())
		return
	}
	p.queue.Forget(t.pod.UID)
	p.fail(t, ReasonInvalidSpec, err.Error())
}

func allUnsupported(es translate.Errors) bool {
	for _, e := range es {
		if e.Reason != translate.ReasonUnsupported {
			return false
		}
	}
	return true
}

// annotate merges annotations into the pod with a JSON merge patch. It is
// best effort: the instance is already running and the status says so. The
// pod's UID in the patch is a precondition: the API server refuses it for
// a pod recreated under the same name, which must not carry another pod's
// instance ID.
func (p *Provider) annotate(ctx context.Context, pod *corev1.Pod, ann map[string]string) {
	if p.kube == nil {
		return
	}
	for k, v := range ann {
		if v == "" {
			delete(ann, k)
		}
	}
	p.mu.Lock()
	if t, ok := p.byUID[pod.UID]; ok {
		if t.pod.Annotations == nil {
			t.pod.Annotations = map[string]string{}
		}
		for k, v := range ann {
			t.pod.Annotations[k] = v
		}
	}
	p.mu.Unlock()
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": string(pod.UID), "annotations": ann}})
	if err != nil {
		return
	}
	// Through the status subresource: NodeRestriction lets a node write nothing else
	// of a pod, and the API server keeps the metadata a status write carries.
	_, err = p.kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager}, "status")
	switch {
	case err == nil, apierrors.IsNotFound(err):
	case uidMismatch(err):
		p.log.Info("not annotating a pod recreated under the same name", "pod", podKey(pod.Namespace, pod.Name), "uid", pod.UID)
	default:
		p.log.Warn("could not write back annotations", "pod", podKey(pod.Namespace, pod.Name), "err", oneLine(err))
	}
}

// deleteInstance deletes t's instance; NotFound counts as done.
func (p *Provider) deleteInstance(ctx context.Context, t *tracked) error {
	p.mu.Lock()
	id := t.instanceID
	force := t.pod.DeletionGracePeriodSeconds != nil && *t.pod.DeletionGracePeriodSeconds == 0
	uid := t.pod.UID
	p.mu.Unlock()
	if id == "" {
		return nil
	}
	err := p.eci.DeleteContainerGroup(ctx, &eci.DeleteContainerGroupRequest{
		ContainerGroupID: id,
		ClientToken:      deleteToken(id, force),
		Force:            force,
	})
	switch {
	case err == nil:
		p.metrics.deletes.WithLabelValues("deleted").Inc()
		p.log.Info("deleted ECI instance", "instance", id, "uid", uid, "force", force)
	case errors.Is(err, eci.ErrNotFound):
		p.metrics.deletes.WithLabelValues("gone").Inc()
	default:
		p.metrics.deletes.WithLabelValues("error").Inc()
		return fmt.Errorf("delete ECI instance %s of pod uid %s: %w", id, uid, err)
	}
	p.mu.Lock()
	if t.instanceID == id {
		t.deleted = true
		t.forceDeleted = t.forceDeleted || force
	}
	p.readSoon[id] = true
	p.mu.Unlock()
	p.pollSoon()
	return nil
}

// deleteToken is the ClientToken of a delete of instance id. A forced delete
// has a token of its own: after a graceful one it is another request, not a
// retry of it.
func deleteToken(id string, force bool) string {
	if force {
		return "delete-force-" + id
	}
	return "delete-" + id
}

// pollSoon asks the poller for an early round without blocking.
func (p *Provider) pollSoon() {
	select {
	case p.poke <- struct{}{}:
	default:
	}
}
