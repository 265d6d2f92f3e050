package node

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
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

// runPoller keeps pod statuses in step with ECI at a read cost that grows
// with the number of changes, not with the number of pods:
//
//   - every StatusPollFast, one DescribeContainerGroupStatus query (200
//     instances a page, the cheapest status read ECI offers) filtered by
//     this VNode's tags and SinceSecond names the instances that changed
//     since the last query; only those, the ones just created or deleted,
//     and instances in transition that have been quiet for a while are
//     described by ID (DescribeContainerGroups, 20 IDs a call);
//   - a complete listing of the VNode's instances runs only every
//     StatusPollSlow, or less often when the listing would not fit in its
//     share of the read budget (listingInterval): it adopts instances after
//     a restart, finds orphans and instances deleted behind the runtime's
//     back, and is the safety net of the changes feed.
//
// Pods without an instance (queued, waiting for a ConfigMap, refused) cost
// no reads at all.
//
// A poke (a create or delete just happened) brings the next round forward,
// but rounds never come closer than half of StatusPollFast: a burst of
// deletes must not turn into a burst of rounds.
func (p *Provider) runPoller(ctx context.Context) {
	p.startKubeProxyTokenRefresh(ctx)
	for {
		began := time.Now()
		p.pollOnce(ctx)
		timer := time.NewTimer(p.cfg.StatusPollFast - time.Since(began))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-p.poke:
			timer.Stop()
			if gap := p.cfg.StatusPollFast/2 - time.Since(began); gap > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(gap):
				}
			}
		case <-timer.C:
		}
	}
}

// pollOnce runs one round: a complete listing when one is due, otherwise a
// changes query.
func (p *Provider) pollOnce(ctx context.Context) {
	now := p.now()
	p.mu.Lock()
	due := now.Sub(p.lastFull) >= p.fullInterval()
	select {
	case <-p.inventory:
	default:
		due = true
	}
	if due && p.fullFailures > 0 {
		// Failing listings are retried with back-off (an outage must not
		// turn every round into a listing), the changes feed in between.
		wait := p.cfg.StatusPollFast << min(p.fullFailures, 10)
		due = now.Sub(p.lastFullTry) >= min(wait, p.cfg.StatusPollSlow)
	}
	p.mu.Unlock()
	if due {
		p.fullRound(ctx, now)
		return
	}
	p.changesRound(ctx, now)
}

// fullInterval is the time between complete listings: StatusPollSlow, or
// longer when the pages of one listing would spend more than
// listingBudgetShare of the read budget in that time. Called with p.mu held.
func (p *Provider) fullInterval() time.Duration {
	return listingInterval(p.instances, p.cfg.readBudget(actionDescribeContainerGroups), p.cfg.StatusPollSlow)
}

// listingBudgetShare is the share of the DescribeContainerGroups budget that
// complete listings may spend. Listings cost a page per 20 instances whether
// anything changed or not, so they set the steady-state read cost: a tenth
// of the budget (5 % of the account's quota at the default --eci-read-share)
// keeps a quiet VNode of any size near that, and leaves the rest to the
// targeted reads of instances that change and to the account's other tools.
const listingBudgetShare = 0.1

// listingInterval is how often n instances may be listed: every slow, or
// less often when listingBudgetShare of perMinute calls would not cover the
// pages (a VNode of 5000 instances is listed every 2.5 minutes at the default
// budget). A perMinute of 0 means no budget.
func listingInterval(n int, perMinute float64, slow time.Duration) time.Duration {
	if perMinute <= 0 {
		return slow
	}
	pages := n/describePageSize + 1
	need := time.Duration(float64(pages) / (perMinute * listingBudgetShare) * float64(time.Minute))
	return max(need, slow)
}

// fullRound lists every instance of this VNode and reconciles all pods.
func (p *Provider) fullRound(ctx context.Context, start time.Time) {
	groups, err := p.eci.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
		Tags:      p.ownedTagFilter(),
		WithEvent: true,
	})
	p.metrics.pollDuration.WithLabelValues("full").Observe(p.now().Sub(start).Seconds())
	p.mu.Lock()
	p.lastFullTry = start
	if err != nil {
		p.fullFailures++
	} else {
		p.fullFailures = 0
	}
	p.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			p.metrics.polls.WithLabelValues("full", "error").Inc()
			p.readFailed("listing this VNode's ECI instances", err)
		}
		return
	}
	p.readWorks()
	p.metrics.polls.WithLabelValues("full", "ok").Inc()
	if !p.reconcile(ctx, groups, nil) {
		return // the inventory waits for the pod informer
	}
	p.mu.Lock()
	p.lastFull, p.lastChanges, p.instances = start, start, len(groups)
	p.mu.Unlock()
	p.retag(ctx, groups)
}

// changesRound describes only the instances that changed, were just
// created or deleted, or are in transition and were not read for a while.
func (p *Provider) changesRound(ctx context.Context, start time.Time) {
	p.mu.Lock()
	watched := map[string]*tracked{}
	ids := map[string]bool{}
	for _, t := range p.byUID {
		if t.instanceID == "" {
			continue
		}
		switch t.state {
		case stateCreated, stateDeleting, stateAdopting:
		default:
			continue
		}
		watched[t.instanceID] = t
		if t.state == stateAdopting || t.transitional && start.Sub(t.lastRead) >= p.cfg.transitionRecheck() {
			ids[t.instanceID] = true
		}
	}
	for id := range p.readSoon {
		ids[id] = true
	}
	since := start.Sub(p.lastChanges)
	p.mu.Unlock()
	if len(watched) == 0 && len(ids) == 0 {
		p.mu.Lock()
		p.lastChanges = start
		p.mu.Unlock()
		return
	}

	// SinceSecond counts on ECI's clock; the margin covers the time the
	// last query took and a small skew between the clocks.
	window := int32(math.Ceil(since.Seconds())) + changesWindowMargin
	changed, err := p.eci.DescribeAllContainerGroupStatus(ctx, &eci.DescribeContainerGroupStatusRequest{
		Tags:        p.ownedTagFilter(),
		SinceSecond: window,
		Limit:       statusPageSize,
	})
	if err != nil {
		if ctx.Err() == nil {
			p.metrics.polls.WithLabelValues("changes", "error").Inc()
			p.readFailed("querying ECI for changed instances", err)
		}
		return
	}
	p.readWorks()
	p.metrics.polls.WithLabelValues("changes", "ok").Inc()
	// A change stays in the feed for the whole window, so the same change
	// comes back in the next rounds: it is read again only when the feed's
	// view of the instance differs from the one last read.
	prints, feedStatus := map[string]string{}, map[string]string{}
	p.mu.Lock()
	for _, c := range changed {
		feedStatus[c.ContainerGroupID] = c.Status
		t := watched[c.ContainerGroupID]
		if t == nil {
			continue
		}
		fp := feedPrint(c)
		if t.feedPrint == fp && !ids[c.ContainerGroupID] {
			continue
		}
		ids[c.ContainerGroupID] = true
		prints[c.ContainerGroupID] = fp
	}
	p.lastChanges = start
	p.mu.Unlock()
	if len(ids) == 0 {
		p.metrics.pollDuration.WithLabelValues("changes").Observe(p.now().Sub(start).Seconds())
		return
	}
	// The instances are read 20 at a time, and each batch's pods are brought
	// up to date before the next is read: in a scale-up of hundreds, the
	// first pods do not wait for the reads of the last. Instances the feed
	// shows past their start come first, since their pods have the most to
	// say (Running, or a failure).
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Slice(list, func(i, j int) bool {
		si, sj := starting(feedStatus[list[i]]), starting(feedStatus[list[j]])
		if si != sj {
			return !si
		}
		return list[i] < list[j]
	})
	for batch := range slices.Chunk(list, describePageSize) {
		groups, err := p.eci.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: batch, WithEvent: true})
		if err != nil {
			p.metrics.pollDuration.WithLabelValues("changes").Observe(p.now().Sub(start).Seconds())
			if ctx.Err() == nil {
				p.metrics.polls.WithLabelValues("targeted", "error").Inc()
				p.readFailed("describing changed ECI instances", err)
			}
			return // the batches not read keep their old print: the next round reads them
		}
		p.readWorks()
		scope := map[string]bool{}
		p.mu.Lock()
		for _, id := range batch {
			scope[id] = true
			delete(p.readSoon, id)
			if t := watched[id]; t != nil && prints[id] != "" {
				t.feedPrint = prints[id]
			}
		}
		p.mu.Unlock()
		p.reconcile(ctx, groups, scope)
	}
	p.metrics.pollDuration.WithLabelValues("changes").Observe(p.now().Sub(start).Seconds())
	p.metrics.polls.WithLabelValues("targeted", "ok").Inc()
}

// starting tells from an instance's status in the changes feed that it has
// not started yet (or is restarting); unknown statuses count as started.
func starting(status string) bool {
	switch status {
	case eci.StatusPending, eci.StatusScheduling, eci.StatusRestarting:
		return true
	}
	return false
}

// feedPrint is what the changes feed says about an instance, in a form to
// compare with what it said when the instance was last read: its status
// and, per container, readiness, restarts and state.
func feedPrint(c eci.ContainerGroupStatus) string {
	var b strings.Builder
	b.WriteString(c.Status)
	for _, cs := range c.PodStatus.ContainerStatuses {
		state := "unknown"
		switch {
		case cs.State.Terminated != nil:
			state = fmt.Sprintf("terminated:%d:%s", cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
		case cs.State.Running != nil:
			state = "running"
		case cs.State.Waiting != nil:
			state = "waiting:" + cs.State.Waiting.Reason
		}
		fmt.Fprintf(&b, "|%s:%t:%d:%s", cs.Name, cs.Ready, cs.RestartCount, state)
	}
	return b.String()
}

// readFailed logs the first failure of a run of failed status reads at
// Warn, the rest at Debug: an outage must not flood the log. Pod statuses
// keep their last known value meanwhile, and the next read covers the gap.
func (p *Provider) readFailed(what string, err error) {
	p.mu.Lock()
	first := !p.readFailing
	p.readFailing = true
	p.mu.Unlock()
	if first {
		p.log.Warn(what+" failed; keeping the last known pod statuses and retrying", "err", oneLine(err))
	} else {
		p.log.Debug(what+" failed again", "err", oneLine(err))
	}
}

func (p *Provider) readWorks() {
	p.mu.Lock()
	was := p.readFailing
	p.readFailing = false
	p.mu.Unlock()
	if was {
		p.log.Info("ECI status reads work again")
	}
}

const (
	describePageSize    = 20  // DescribeContainerGroups: at most 20 a page and 20 IDs a call
	statusPageSize      = 200 // DescribeContainerGroupStatus: at most 200 a page
	changesWindowMargin = 2   // seconds added to every SinceSecond window
)

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

// reconcile applies described instances to the pods. With scope nil the
// groups are a complete listing of this VNode's instances; otherwise they
// are the answer to a read of exactly the IDs in scope, so an ID in scope
// that is missing is an instance that no longer exists. It reports false
// when a first complete listing could not be used yet.
func (p *Provider) reconcile(ctx context.Context, groups []eci.ContainerGroup, scope map[string]bool) bool {
	now := p.now()
	complete := scope == nil
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
	if complete {
		select {
		case <-p.inventory:
		default:
			firstRound = true
		}
	}
	if firstRound {
		if p.synced != nil && !p.synced() {
			// Adoption needs the pod lister; wait for the next round.
			return false
		}
	}
	if complete {
		p.adopt(byUID)
		p.requeueUnfound()
	}

	var (
		changed   []types.UID
		finished  []*tracked
		retries   []*tracked
		missing   []*tracked
		eventsOut []pendingEvent
		counts    = map[string]float64{}
		phases    = map[corev1.PodPhase]float64{}
	)
	p.mu.Lock()
	known := map[string]bool{}
	for _, t := range p.byUID {
		counts[stateName(t.state)]++
		if t.instanceID != "" {
			known[t.instanceID] = true
		}
		switch t.state {
		case stateCreated, stateDeleting, stateAdopting:
		default:
			continue
		}
		if t.instanceID == "" || !complete && !scope[t.instanceID] {
			continue
		}
		g := byID[t.instanceID]
		if g == nil {
			switch {
			case t.state == stateDeleting:
				finished = append(finished, t)
			case terminal(t.pod.Status.Phase):
				// ECI keeps finished instances for an hour; a finished pod
				// keeps its final status after its instance is gone.
			case t.state == stateAdopting || now.Sub(t.createdAt) > p.cfg.InstanceLostGracePeriod:
				missing = append(missing, t)
			}
			continue
		}
		t.lastRead = now
		t.bill = billingOf(g)
		t.transitional = transitional(g.Status) || t.state == stateDeleting
		if t.state == stateAdopting {
			p.adoptLocked(t, t.pod, g, 0)
		}
		eventsOut = append(eventsOut, p.newEvents(t, g)...)
		if !t.specWritten && g.CPU > 0 {
			t.specWritten = true
			t.addAnnotations(map[string]string{AnnotationInstanceSpec: instanceSpec(g), AnnotationVpc: g.VpcID})
			changed = append(changed, t.pod.UID)
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
			t.report(st)
			if t.seenAt.IsZero() {
				t.seenAt = now
			}
			changed = append(changed, t.pod.UID)
		}
	}
	if complete {
		p.podless = podlessBilling(byID, known)
		for _, t := range p.byUID {
			ph := t.pod.Status.Phase
			if ph == "" {
				ph = corev1.PodPending // as the API server defaults it
			}
			phases[ph]++
		}
	}
	p.mu.Unlock()
	if complete {
		for _, s := range stateNames {
			p.metrics.trackedPods.WithLabelValues(s).Set(counts[s])
		}
		for _, ph := range podPhases {
			p.metrics.podPhases.WithLabelValues(string(ph)).Set(phases[ph])
		}
	}

	p.publish(changed...)
	for _, e := range eventsOut {
		p.event(e.t, e.typ, e.reason, e.msg)
	}
	for _, t := range finished {
		p.finishDeletion(t, instanceGoneMessage(t.instanceID))
	}
	if len(missing) > 0 {
		p.confirmMissing(ctx, missing, complete)
	}
	for _, t := range retries {
		p.retryScheduleFailed(ctx, t, byID[t.instanceID])
	}
	if complete {
		p.collectOrphans(ctx, byID, known, now)
	}
	if firstRound {
		close(p.inventory)
		p.log.Info("inventory of ECI instances complete", "instances", len(byID))
	}
	return true
}

// confirmMissing fails the pods whose instance no longer exists. A complete
// listing that misses an instance is not proof — listings are eventually
// consistent — so it is asked for by ID first; the answer to a read by ID
// is.
func (p *Provider) confirmMissing(ctx context.Context, ts []*tracked, fromListing bool) {
	if fromListing {
		ids := map[string]bool{}
		for _, t := range ts {
			ids[t.instanceID] = true
		}
		p.mu.Lock()
		for id := range ids {
			p.readSoon[id] = true
		}
		p.mu.Unlock()
		p.pollSoon()
		return
	}
	for _, t := range ts {
		p.fail(t, ReasonInstanceNotFound, fmt.Sprintf("ECI instance %s no longer exists (deleted outside Kubernetes?); the pod is failed so its controller replaces it", t.instanceID))
	}
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
	var writes []types.UID
	defer func() { p.publish(writes...) }()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pod := range pods {
		if pod.Spec.NodeName != p.cfg.NodeName || terminal(pod.Status.Phase) {
			continue
		}
		gs := byUID[pod.UID]
		if len(gs) == 0 {
			continue
		}
		t, ok := p.byUID[pod.UID]
		if !ok {
			t = &tracked{pod: pod.DeepCopy(), events: map[string]int32{}}
			p.byUID[pod.UID] = t
			p.byKey[podKey(pod.Namespace, pod.Name)] = pod.UID
		}
		switch t.state {
		case stateCreating, stateDeleting, stateCreated, stateRefused, stateFinished:
			continue
		}
		g := newest(gs)
		p.adoptLocked(t, pod, g, len(gs)-1)
		if pod.Annotations[AnnotationInstanceID] != g.ContainerGroupID {
			// An earlier run may have died between create and write-back.
			t.addAnnotations(map[string]string{AnnotationInstanceID: g.ContainerGroupID})
			writes = append(writes, pod.UID)
		}
	}
}

// adoptLocked makes t the owner of instance g. The pod keeps the status it
// has in the API server until the instance says otherwise, and the
// instance's events so far count as already copied, so a restart of the
// runtime neither flips the pod to Pending nor repeats its Events.
// Called with p.mu held.
func (p *Provider) adoptLocked(t *tracked, live *corev1.Pod, g *eci.ContainerGroup, attempt int) {
	t.instanceID = g.ContainerGroupID
	t.attempt = attempt
	t.createdAt = parseTime(g.CreationTime)
	t.state = stateCreated
	t.pod.Status = *live.Status.DeepCopy()
	t.specWritten = live.Annotations[AnnotationInstanceSpec] != ""
	p.newEvents(t, g)
	p.queue.Forget(t.pod.UID)
	p.log.Info("adopted ECI instance", "pod", podKey(t.pod.Namespace, t.pod.Name), "uid", t.pod.UID, "instance", g.ContainerGroupID)
}

// requeueUnfound queues for creation the pods whose status said they had an
// instance but neither an annotation nor the complete listing names one:
// ClientToken = pod UID makes ECI return the instance should it exist after
// all, and create one otherwise.
func (p *Provider) requeueUnfound() {
	var queue []types.UID
	p.mu.Lock()
	for uid, t := range p.byUID {
		if t.state == stateAdopting && t.instanceID == "" {
			t.state = stateQueued
			queue = append(queue, uid)
		}
	}
	p.mu.Unlock()
	for _, uid := range queue {
		p.queue.Add(uid)
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
	t.instanceID, t.deleted, t.forceDeleted = "", false, false
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
		err = p.eci.DeleteContainerGroup(ctx, &eci.DeleteContainerGroupRequest{ContainerGroupID: g.ContainerGroupID, ClientToken: deleteToken(g.ContainerGroupID, true), Force: true})
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
