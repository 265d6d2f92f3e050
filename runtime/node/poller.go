package node

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// OwnedTags are the tags that identify this VNode's instances. Every
// instance the runtime creates carries them (see runtime/translate), and the
// poller lists by exactly these, so an instance without them is never
// touched.
type OwnedTags struct {
	Cluster, Node string
}

// runPoller polls ECI for the status of every instance of this VNode: one
// batched, tag-filtered, paginated listing per round, fast while some pod is
// changing and slow when all are steady.
func (p *Provider) runPoller(ctx context.Context) {
	for {
		busy := p.pollOnce(ctx)
		wait := p.cfg.StatusPollSlow
		if busy {
			wait = p.cfg.StatusPollFast
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-p.poke:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// pollOnce runs one round and reports whether some pod is in transition.
func (p *Provider) pollOnce(ctx context.Context) bool {
	start := p.now()
	groups, err := p.eci.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
		Tags:      p.ownedTagFilter(),
		WithEvent: true,
	})
	p.metrics.pollDuration.Observe(p.now().Sub(start).Seconds())
	if err != nil {
		if ctx.Err() == nil {
			p.metrics.polls.WithLabelValues("error").Inc()
			p.log.Warn("status poll failed; keeping the last known pod statuses", "err", err)
		}
		return true
	}
	p.metrics.polls.WithLabelValues("ok").Inc()
	return p.reconcile(ctx, groups)
}

func (p *Provider) ownedTagFilter() []eci.Tag {
	return translate.OwnedTags(p.cfg.ClusterName, p.cfg.NodeName)
}

// owned double-checks the tags client-side: the listing was filtered by
// them, but deleting an instance we do not own would be unforgivable.
func (p *Provider) owned(g *eci.ContainerGroup) bool {
	for _, want := range translate.OwnedTags(p.cfg.ClusterName, p.cfg.NodeName) {
		if v, ok := g.Tag(want.Key); !ok || v != want.Value {
			return false
		}
	}
	return true
}

// reconcile applies one complete listing of our instances.
func (p *Provider) reconcile(ctx context.Context, groups []eci.ContainerGroup) bool {
	now := p.now()
	byID := map[string]*eci.ContainerGroup{}
	byUID := map[types.UID][]*eci.ContainerGroup{}
	for i := range groups {
		g := &groups[i]
		if !p.owned(g) {
			continue
		}
		byID[g.ContainerGroupID] = g
		if uid, ok := translate.PodUIDFromTags(g.Tags); ok {
			byUID[uid] = append(byUID[uid], g)
		}
	}

	firstRound := false
	select {
	case <-p.inventory:
	default:
		firstRound = true
	}
	if firstRound {
		if p.synced != nil && !p.synced() {
			// Adoption needs the pod lister; wait for the next round.
			return true
		}
		p.adopt(byUID)
	}

	var (
		changed   []*corev1.Pod
		finished  []*tracked
		retries   []*tracked
		lost      []*tracked
		eventsOut []pendingEvent
		specs     []specWrite
		busy      bool
		counts    = map[string]float64{}
	)
	p.mu.Lock()
	known := map[string]bool{}
	for _, t := range p.byUID {
		counts[stateName(t.state)]++
		if t.instanceID != "" {
			known[t.instanceID] = true
		}
		switch t.state {
		case stateQueued, stateCreating:
			busy = true
			continue
		case stateRefused:
			continue
		}
		g := byID[t.instanceID]
		if g == nil {
			switch {
			case t.state == stateDeleting:
				finished = append(finished, t)
			case t.pod.Status.Phase == corev1.PodSucceeded || t.pod.Status.Phase == corev1.PodFailed:
				// ECI keeps finished instances for an hour; a finished pod
				// keeps its final status after its instance is gone.
			case now.Sub(t.createdAt) > p.cfg.InstanceLostGracePeriod:
				lost = append(lost, t)
			default:
				busy = true
			}
			continue
		}
		eventsOut = append(eventsOut, p.newEvents(t, g)...)
		if !t.specWritten && g.CPU > 0 {
			t.specWritten = true
			specs = append(specs, specWrite{pod: t.pod.DeepCopy(), ann: map[string]string{AnnotationInstanceSpec: instanceSpec(g), AnnotationVpc: g.VpcID}})
		}
		if g.Status == eci.StatusScheduleFailed && t.state == stateCreated {
			retries = append(retries, t)
			continue
		}
		st := groupStatus(t.pod, g, now)
		if !podStatusEqual(st, &t.pod.Status) {
			if st.Phase == corev1.PodRunning && t.pod.Status.Phase != corev1.PodRunning && !t.pod.CreationTimestamp.IsZero() {
				p.metrics.timeToRunning.Observe(now.Sub(t.pod.CreationTimestamp.Time).Seconds())
			}
			t.pod.Status = *st
			changed = append(changed, t.pod.DeepCopy())
		}
		if transitional(g.Status) || t.state == stateDeleting || !allReady(st) && st.Phase == corev1.PodRunning {
			busy = true
		}
	}
	p.mu.Unlock()
	for _, s := range []string{"queued", "creating", "created", "refused", "deleting"} {
		p.metrics.trackedPods.WithLabelValues(s).Set(counts[s])
	}

	p.publish(changed)
	for _, w := range specs {
		p.annotate(ctx, w.pod, w.ann)
	}
	for _, e := range eventsOut {
		p.event(e.t, e.typ, e.reason, e.msg)
	}
	for _, t := range finished {
		p.finishDeletion(t, instanceGoneMessage(t.instanceID))
	}
	for _, t := range lost {
		p.fail(t, ReasonInstanceNotFound, fmt.Sprintf("ECI instance %s no longer exists (deleted outside Kubernetes?); the pod is failed so its controller replaces it", t.instanceID))
	}
	for _, t := range retries {
		p.retryScheduleFailed(ctx, t, byID[t.instanceID])
	}
	p.collectOrphans(ctx, byID, known, now)

	if firstRound {
		close(p.inventory)
		p.log.Info("inventory of ECI instances complete", "instances", len(byID))
	}
	return busy || len(retries) > 0
}

// adopt takes over instances made by an earlier run of this runtime, by pod
// UID, for pods the synced lister shows on this node.
func (p *Provider) adopt(byUID map[types.UID][]*eci.ContainerGroup) {
	if p.pods == nil {
		return
	}
	pods, err := p.pods.List(labels.Everything())
	if err != nil {
		p.log.Warn("listing pods for adoption failed", "err", err)
		return
	}
	type writeBack struct {
		pod *corev1.Pod
		id  string
	}
	var writes []writeBack
	defer func() {
		// An earlier run may have died between create and write-back.
		for _, w := range writes {
			p.annotate(context.Background(), w.pod, map[string]string{AnnotationInstanceID: w.id})
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pod := range pods {
		if pod.Spec.NodeName != p.cfg.NodeName {
			continue
		}
		gs := byUID[pod.UID]
		if len(gs) == 0 {
			continue
		}
		g := newest(gs)
		t, ok := p.byUID[pod.UID]
		if !ok {
			t = &tracked{pod: pod.DeepCopy(), events: map[string]int32{}}
			p.byUID[pod.UID] = t
			p.byKey[podKey(pod.Namespace, pod.Name)] = pod.UID
		}
		if t.state == stateCreating || t.state == stateDeleting {
			continue
		}
		t.instanceID = g.ContainerGroupID
		t.attempt = len(gs) - 1
		t.createdAt = parseTime(g.CreationTime)
		t.state = stateCreated
		if pod.Annotations[AnnotationInstanceID] != g.ContainerGroupID {
			writes = append(writes, writeBack{pod: pod.DeepCopy(), id: g.ContainerGroupID})
		}
		p.log.Info("adopted ECI instance", "pod", podKey(pod.Namespace, pod.Name), "uid", pod.UID, "instance", g.ContainerGroupID)
	}
}

// newest picks the instance made last among several for one pod (retries
// after ScheduleFailed leave older failed ones until they are deleted).
func newest(gs []*eci.ContainerGroup) *eci.ContainerGroup {
	sort.Slice(gs, func(i, j int) bool { return gs[i].CreationTime > gs[j].CreationTime })
	return gs[0]
}

// retryScheduleFailed handles an instance ECI could not place (e.g. NoStock
// in every vSwitch's zone): the failed instance is deleted and the pod is
// queued for a new create with the next ClientToken, with back-off.
func (p *Provider) retryScheduleFailed(ctx context.Context, t *tracked, g *eci.ContainerGroup) {
	msg := failureMessage(g)
	if t.failFast {
		p.fail(t, ReasonScheduleFailed, msg+fmt.Sprintf("; the pod asks for %s=fail-fast", AnnotationFailStrategy))
		return
	}
	if err := p.deleteInstance(ctx, t); err != nil {
		p.log.Warn("could not delete a ScheduleFailed instance; will retry", "instance", g.ContainerGroupID, "err", err)
		return
	}
	p.mu.Lock()
	t.attempt++
	t.instanceID = ""
	if t.spotFallback && g.StockOut() {
		t.payAsYouGo = true
	}
	p.mu.Unlock()
	p.retryCreate(t, ReasonScheduleFailed, msg)
}

// collectOrphans deletes instances with our tags whose pod is gone (or was
// replaced by a pod with another UID) — only once the inventory and the pod
// informer are complete, only after a grace period, and only after asking the
// API server directly, so a slow informer never costs a live instance.
func (p *Provider) collectOrphans(ctx context.Context, byID map[string]*eci.ContainerGroup, known map[string]bool, now time.Time) {
	select {
	case <-p.inventory:
	default:
		return
	}
	if p.kube == nil {
		return
	}
	p.mu.Lock()
	for id := range p.orphans {
		if byID[id] == nil || known[id] {
			delete(p.orphans, id)
		}
	}
	var due []*eci.ContainerGroup
	for id, g := range byID {
		if known[id] || g.Status == eci.StatusTerminating {
			continue
		}
		first, seen := p.orphans[id]
		if !seen {
			p.orphans[id] = now
			continue
		}
		if now.Sub(first) >= p.cfg.OrphanGracePeriod {
			due = append(due, g)
		}
	}
	p.mu.Unlock()

	for _, g := range due {
		ns, _ := g.Tag(translate.TagPodNamespace)
		name, _ := g.Tag(translate.TagPodName)
		uid, _ := g.Tag(translate.TagPodUID)
		pod, err := p.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil && string(pod.UID) == uid && pod.Spec.NodeName == p.cfg.NodeName:
			// The pod exists; virtual-kubelet will hand it to us.
			continue
		case err != nil && !apierrors.IsNotFound(err):
			p.log.Warn("could not check the pod of a possibly orphaned instance", "instance", g.ContainerGroupID, "err", err)
			continue
		}
		err = p.eci.DeleteContainerGroup(ctx, &eci.DeleteContainerGroupRequest{ContainerGroupID: g.ContainerGroupID, ClientToken: "delete-" + g.ContainerGroupID, Force: true})
		if err != nil && eci.ClassOf(err) != eci.ClassNotFound {
			p.log.Warn("could not delete orphaned instance", "instance", g.ContainerGroupID, "err", err)
			continue
		}
		p.metrics.orphans.Inc()
		p.log.Info("deleted orphaned ECI instance: its pod no longer exists", "instance", g.ContainerGroupID, "pod", ns+"/"+name, "uid", uid)
		p.mu.Lock()
		delete(p.orphans, g.ContainerGroupID)
		p.mu.Unlock()
	}
}

// specWrite is a write-back of what ECI chose for an instance (the billed
// spec, the VPC), known only once the instance is described.
type specWrite struct {
	pod *corev1.Pod
	ann map[string]string
}

// pendingEvent is an ECI event to copy onto a pod, collected under the lock
// and recorded after it.
type pendingEvent struct {
	t                *tracked
	typ, reason, msg string
}

// newEvents returns the instance events not yet copied to the pod. An event
// is identified by reason and first timestamp; a higher count re-emits it.
// Called with p.mu held.
func (p *Provider) newEvents(t *tracked, g *eci.ContainerGroup) []pendingEvent {
	var out []pendingEvent
	for _, e := range g.Events {
		key := g.ContainerGroupID + "/" + e.Reason + "/" + e.FirstTimestamp + "/" + e.Message
		count := e.Count
		if count == 0 {
			count = 1
		}
		if t.events[key] >= count {
			continue
		}
		t.events[key] = count
		typ := corev1.EventTypeNormal
		if e.Type == "Warning" {
			typ = corev1.EventTypeWarning
		}
		out = append(out, pendingEvent{t: t, typ: typ, reason: e.Reason, msg: fmt.Sprintf("%s (ECI instance %s)", e.Message, g.ContainerGroupID)})
	}
	return out
}

func transitional(status string) bool {
	switch status {
	case eci.StatusRunning, eci.StatusSucceeded, eci.StatusFailed, eci.StatusExpired:
		return false
	}
	return true
}

func allReady(st *corev1.PodStatus) bool {
	for _, c := range st.ContainerStatuses {
		if !c.Ready {
			return false
		}
	}
	return true
}

func stateName(s podState) string {
	return [...]string{"queued", "creating", "created", "refused", "deleting"}[s]
}
