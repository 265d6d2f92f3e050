package node

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/util/workqueue"
)

// The runtime writes pod statuses itself instead of handing them to
// virtual-kubelet. virtual-kubelet's writer sends the whole pod object with
// UpdateStatus from the copy the provider last notified, so it can erase
// conditions another controller set since (readiness gates), send stale
// metadata, rewrite an immutable field such as qosClass, and, when the pod
// changes under it, write an old status back. Here every write is a
// strategic merge patch of the status subresource computed against the
// live object: conditions merge by type, so those of others survive; the
// QoS class is the API server's; a patch that changes nothing is not sent;
// and a UID in the patch makes the API server refuse it for a recreated
// pod of the same name. The queue never processes one pod twice at once
// and each write reads the pod's newest state, so a newer status is never
// overwritten by an older one.

// ownedConditions are the pod conditions this runtime sets. Every other
// condition (readiness gates, DisruptionTarget, ...) belongs to its writer.
var ownedConditions = map[corev1.PodConditionType]bool{
	corev1.PodScheduled:               true,
	ConditionContainerInstanceCreated: true,
	corev1.PodInitialized:             true,
	corev1.ContainersReady:            true,
	corev1.PodReady:                   true,
}

// newStatusQueue is the queue of pods whose status should be written.
func newStatusQueue() workqueue.TypedRateLimitingInterface[types.UID] {
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](100*time.Millisecond, 30*time.Second)
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: queueStatus})
}

// publish asks for the status of these pods to be written. It never blocks.
func (p *Provider) publish(uids ...types.UID) {
	for _, uid := range uids {
		p.statusQueue.Add(uid)
	}
}

func (p *Provider) runStatusWriter(ctx context.Context) {
	for {
		uid, quit := p.statusQueue.Get()
		if quit {
			return
		}
		if err := p.writeStatus(ctx, uid); err != nil {
			if ctx.Err() == nil {
				p.log.Warn("could not write pod status; retrying", "uid", uid, "err", err)
			}
			p.statusQueue.AddRateLimited(uid)
		} else {
			p.statusQueue.Forget(uid)
		}
		p.statusQueue.Done(uid)
	}
}

// writeStatus brings the live pod's status to what the runtime reports.
func (p *Provider) writeStatus(ctx context.Context, uid types.UID) error {
	p.mu.Lock()
	t, ok := p.byUID[uid]
	if !ok {
		p.mu.Unlock()
		return nil
	}
	if wait := t.holdUntil.Sub(p.now()); wait > 0 {
		p.mu.Unlock()
		p.statusQueue.AddAfter(uid, wait)
		return nil
	}
	ns, name := t.pod.Namespace, t.pod.Name
	want := t.pod.Status.DeepCopy()
	finished := t.state == stateFinished
	seenAt := t.seenAt
	t.seenAt = time.Time{}
	p.mu.Unlock()
	// A write that fails leaves the change unwritten: its lag goes on.
	written := false
	defer func() {
		if written || seenAt.IsZero() {
			return
		}
		p.mu.Lock()
		if t.seenAt.IsZero() {
			t.seenAt = seenAt
		}
		p.mu.Unlock()
	}()

	live, err := p.livePod(ns, name)
	switch {
	case apierrors.IsNotFound(err):
		p.forgetFinished(t)
		return nil
	case apierrors.IsForbidden(err) && finished:
		// Under the Node authorizer a node may read only the pods bound to it,
		// and a pod deleted from the API server is bound to nothing: its read
		// is Forbidden, not NotFound. Only a finished pod is taken as gone; a
		// pod just bound may be Forbidden for a moment too, until the
		// authorizer's graph sees the binding, and its status must still be
		// written.
		p.forgetFinished(t)
		return nil
	case err != nil:
		return fmt.Errorf("read pod %s/%s: %w", ns, name, err)
	case live.UID != uid:
		p.forgetFinished(t)
		return nil
	}
	if terminal(live.Status.Phase) {
		// The API server refuses to leave a terminal phase; the final
		// status is already written.
		p.forgetFinished(t)
		if finished {
			p.removeObject(ctx, live)
		}
		return nil
	}

	now := metaNow(p.now())
	p.mu.Lock()
	st := mergeStatus(want, live, t.written, now)
	t.written = conditionTimes(st)
	// Write-backs (the instance ID at create, what the poller finds) ride on
	// the status write: at a scale-up of hundreds of pods a write of their own
	// would cost each pod one more call under the client's rate limit.
	ann := missingAnnotations(live, t.annotations)
	t.annotations = nil
	p.mu.Unlock()

	statusChanged := !equality.Semantic.DeepEqual(st, &live.Status)
	if statusChanged || len(ann) > 0 {
		patch, err := statusPatch(live, st, ann)
		if err != nil {
			p.requeueAnnotations(t, ann)
			return fmt.Errorf("build status patch for pod %s/%s: %w", ns, name, err)
		}
		_, err = p.kube.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch,
			metav1.PatchOptions{FieldManager: fieldManager}, "status")
		switch {
		case apierrors.IsNotFound(err), uidMismatch(err):
			p.forgetFinished(t)
			return nil
		case err != nil:
			p.requeueAnnotations(t, ann)
			return fmt.Errorf("patch status of pod %s/%s: %w", ns, name, err)
		}
		p.mu.Lock()
		if t.pod.Annotations == nil && len(ann) > 0 {
			t.pod.Annotations = map[string]string{}
		}
		maps.Copy(t.pod.Annotations, ann)
		p.mu.Unlock()
		if statusChanged {
			p.metrics.statusWrites.WithLabelValues("written").Inc()
			if !seenAt.IsZero() {
				p.metrics.statusLag.Observe(p.now().Sub(seenAt).Seconds())
			}
		}
	} else {
		p.metrics.statusWrites.WithLabelValues("unchanged").Inc()
	}
	written = true
	if finished {
		p.forgetFinished(t)
		p.removeObject(ctx, live)
	}
	return nil
}

// missingAnnotations are those of want that the live pod does not carry
// with the same value; an empty value is never written.
func missingAnnotations(live *corev1.Pod, want map[string]string) map[string]string {
	var out map[string]string
	for k, v := range want {
		if v == "" || live.Annotations[k] == v {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// requeueAnnotations puts back write-backs whose write failed, under those
// queued since, which are newer.
func (p *Provider) requeueAnnotations(t *tracked, ann map[string]string) {
	if len(ann) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range ann {
		if _, newer := t.annotations[k]; !newer {
			t.addAnnotations(map[string]string{k: v})
		}
	}
}

// livePod reads the pod from the informer, or from the API server when
// the runtime has no informer (unit tests).
func (p *Provider) livePod(ns, name string) (*corev1.Pod, error) {
	if p.pods != nil {
		if pod, err := p.pods.Pods(ns).Get(name); err == nil || !apierrors.IsNotFound(err) || p.kube == nil {
			return pod, err
		}
	}
	if p.kube == nil {
		return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
	}
	// The informer may not have seen a pod virtual-kubelet just handed us.
	return p.kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
}

// mergeStatus is the status to write: the runtime's own fields, the QoS
// class the API server computed, the conditions of others as they are, and
// Ready = containers ready and every readiness gate True on the live pod.
// A condition's transition time moves only when its status changes.
func mergeStatus(want *corev1.PodStatus, livePod *corev1.Pod, written map[corev1.PodConditionType]corev1.PodCondition, now metav1.Time) *corev1.PodStatus {
	live := &livePod.Status
	st := want.DeepCopy()
	st.QOSClass = live.QOSClass
	st.NominatedNodeName = live.NominatedNodeName
	st.Resize = live.Resize //nolint:staticcheck // kept as the API server has it, never ours to change
	st.ResourceClaimStatuses = live.ResourceClaimStatuses
	st.ObservedGeneration = live.ObservedGeneration

	mine := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range st.Conditions {
		mine[c.Type] = c
	}
	if cr, ok := mine[corev1.ContainersReady]; ok {
		ready := mine[corev1.PodReady]
		ready.Type = corev1.PodReady
		if cr.Status == corev1.ConditionTrue {
			if missing := failingGates(livePod); len(missing) > 0 {
				ready.Status, ready.Reason = corev1.ConditionFalse, "ReadinessGatesNotReady"
				ready.Message = fmt.Sprintf("the pod's readiness gates %v are not True", missing)
			} else {
				ready.Status, ready.Reason, ready.Message = corev1.ConditionTrue, "", ""
			}
		} else {
			ready.Status = corev1.ConditionFalse
		}
		mine[corev1.PodReady] = ready
	}

	liveByType := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range live.Conditions {
		liveByType[c.Type] = c
	}
	stamp := func(c corev1.PodCondition) corev1.PodCondition {
		if l, ok := liveByType[c.Type]; ok && l.Status == c.Status {
			c.LastTransitionTime = l.LastTransitionTime
		} else if w, ok := written[c.Type]; ok && w.Status == c.Status && !w.LastTransitionTime.IsZero() {
			// Written already; the informer has not caught up.
			c.LastTransitionTime = w.LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
		c.LastProbeTime = metav1.Time{}
		return c
	}
	var out []corev1.PodCondition
	seen := map[corev1.PodConditionType]bool{}
	for _, l := range live.Conditions {
		seen[l.Type] = true
		if c, ok := mine[l.Type]; ok && ownedConditions[l.Type] {
			out = append(out, stamp(c))
			continue
		}
		out = append(out, l)
	}
	for _, c := range st.Conditions {
		if !seen[c.Type] {
			seen[c.Type] = true
			out = append(out, stamp(mine[c.Type]))
		}
	}
	if r, ok := mine[corev1.PodReady]; ok && !seen[corev1.PodReady] {
		out = append(out, stamp(r))
	}
	st.Conditions = out
	return st
}

// failingGates lists the readiness gates of the pod whose condition is not
// True on the live object, where the controllers that own them write them.
func failingGates(pod *corev1.Pod) []corev1.PodConditionType {
	var out []corev1.PodConditionType
	for _, g := range pod.Spec.ReadinessGates {
		ok := false
		for _, c := range pod.Status.Conditions {
			if c.Type == g.ConditionType {
				ok = c.Status == corev1.ConditionTrue
			}
		}
		if !ok {
			out = append(out, g.ConditionType)
		}
	}
	return out
}

// conditionTimes remembers what was written, for the next write.
func conditionTimes(st *corev1.PodStatus) map[corev1.PodConditionType]corev1.PodCondition {
	out := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range st.Conditions {
		out[c.Type] = c
	}
	return out
}

// statusPatch is the strategic merge patch from the live status to st that
// also adds annotations ann, with the pod's UID as a precondition. Nil means
// nothing to change. The status subresource keeps the metadata a write
// carries: annotations are the one thing NodeRestriction lets a node change
// in its pods beside their status.
func statusPatch(live *corev1.Pod, st *corev1.PodStatus, ann map[string]string) ([]byte, error) {
	before, err := json.Marshal(corev1.Pod{Status: live.Status})
	if err != nil {
		return nil, err
	}
	after, err := json.Marshal(corev1.Pod{Status: *st})
	if err != nil {
		return nil, err
	}
	diff, err := strategicpatch.CreateTwoWayMergePatch(before, after, corev1.Pod{})
	if err != nil {
		return nil, err
	}
	var patch map[string]any
	if err := json.Unmarshal(diff, &patch); err != nil {
		return nil, err
	}
	if len(patch) == 0 && len(ann) == 0 {
		return nil, nil
	}
	meta := map[string]any{"uid": string(live.UID)}
	if len(ann) > 0 {
		meta["annotations"] = ann
	}
	patch["metadata"] = meta
	return json.Marshal(patch)
}

// uidMismatch tells a patch refused because of its UID (the pod was
// recreated under the same name) from other failures. The API server
// answers such a patch as Invalid: "metadata.uid: ... field is immutable".
func uidMismatch(err error) bool {
	return (apierrors.IsInvalid(err) || apierrors.IsConflict(err)) && strings.Contains(err.Error(), "metadata.uid")
}

func terminal(ph corev1.PodPhase) bool { return ph == corev1.PodSucceeded || ph == corev1.PodFailed }
