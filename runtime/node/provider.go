package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// podState is where a pod is in its life on this VNode.
type podState int

const (
	stateQueued   podState = iota // waiting for a create attempt
	stateCreating                 // a create call is in flight
	stateCreated                  // the instance exists; the poller owns the status
	stateRefused                  // never sent to ECI (unsupported or invalid); status explains why
	stateDeleting                 // delete requested; waiting for the instance to go
	stateAdopting                 // has an instance from an earlier run; waiting for the inventory to find it
	stateFinished                 // deleted and gone; its final status is being written
)

var stateNames = [...]string{"queued", "creating", "created", "refused", "deleting", "adopting", "finished"}

func stateName(s podState) string { return stateNames[s] }

// tracked is the runtime's record of one pod (by UID).
type tracked struct {
	pod        *corev1.Pod // latest spec from Kubernetes; Status is what we report
	state      podState
	instanceID string
	attempt    int       // create attempts after a ScheduleFailed instance; part of the ClientToken
	createdAt  time.Time // when the create call returned
	lastReason string    // last retry reason/message pair, to emit an Event only when it changes
	events     map[string]int32
	failFast   bool // k8s.aliyun.com/eci-fail-strategy: fail-fast
	// spotFallback (k8s.aliyun.com/eci-spot-fallback) turns payAsYouGo on
	// after a spot instance found no stock.
	spotFallback bool
	payAsYouGo   bool
	// specWritten: the billed spec and VPC annotations are on the pod.
	specWritten bool
	// lastRead is when the instance was last described; instances in
	// transition are re-read by ID when the changes feed has been quiet.
	lastRead     time.Time
	transitional bool
	// annotations are write-backs waiting for the status writer.
	annotations map[string]string
	// feedPrint is the changes feed's view of the instance when it was
	// last read because of the feed (see feedPrint).
	feedPrint string
	// written are the conditions last written, for their transition times
	// while the informer has not caught up with the write.
	written map[corev1.PodConditionType]corev1.PodCondition
	// holdUntil is when a delayed status (setStatusAfter) may be written: a
	// write due earlier (a poke, another timer) waits for it, and a status
	// set without a delay clears it.
	holdUntil time.Time
	// seenAt is when a status round first saw an instance change that the
	// pod's status in the API server does not show yet (zero: none), for
	// eci_vnode_pod_status_sync_lag_seconds.
	seenAt time.Time
	// bill is what the instance's bill depends on, as last read (cost.go).
	bill *billing
	// deleted: ECI accepted the delete of the instance (or no longer had it);
	// forceDeleted: a delete with Force.
	deleted, forceDeleted bool
}

// report makes st the status to write. A status past Pending ends a hold
// of setStatusAfter, so a pod whose instance runs (or failed) is written at
// once; another Pending one waits it out with the status it replaces.
// Called with p.mu held.
func (t *tracked) report(st *corev1.PodStatus) {
	t.pod.Status = *st
	if st.Phase != corev1.PodPending {
		t.holdUntil = time.Time{}
	}
}

// addAnnotations queues annotations for the status writer to write back.
// Called with p.mu held.
func (t *tracked) addAnnotations(ann map[string]string) {
	if t.annotations == nil {
		t.annotations = map[string]string{}
	}
	for k, v := range ann {
		t.annotations[k] = v
	}
}

// clientToken makes creates idempotent: the first attempt uses the pod UID
// itself, a retry after ECI gave up on an instance (ScheduleFailed) needs a
// new token or ECI would return the failed instance again.
func (t *tracked) clientToken() string {
	if t.attempt == 0 {
		return string(t.pod.UID)
	}
	return fmt.Sprintf("%s-%d", t.pod.UID, t.attempt)
}

// Provider runs the pods bound to one VNode as ECI container groups. It
// implements virtual-kubelet's PodLifecycleHandler and PodNotifier.
//
// Creates never block the virtual-kubelet pod controller: CreatePod records
// the pod and queues it, and this runtime's own queue retries with capped
// back-off for as long as the pod exists. That sidesteps the library's
// 20-retries-then-forgotten behaviour and keeps the pod's status explaining
// what is happening at every step.
type Provider struct {
	cfg      Config
	eci      ECI
	vnode    translate.VNode
	resolver translate.Resolver
	kube     kubernetes.Interface
	pods     corev1listers.PodLister
	recorder record.EventRecorder
	log      *slog.Logger
	metrics  *Metrics
	now      func() time.Time

	workers     sync.WaitGroup // the goroutines Run started
	queue       workqueue.TypedRateLimitingInterface[types.UID]
	statusQueue workqueue.TypedRateLimitingInterface[types.UID]
	poke        chan struct{} // asks the poller for an early round

	mu        sync.Mutex
	byUID     map[types.UID]*tracked
	byKey     map[string]types.UID // namespace/name -> UID
	orphans   map[string]time.Time // instance ID -> first seen without a pod
	inventory chan struct{}        // closed after the first complete listing of our instances
	synced    func() bool          // reports whether the pod informer has synced
	// readSoon are instance IDs to describe in the next round (just
	// created, just deleted), whatever the changes feed says.
	readSoon map[string]bool
	// lastFull is when the last complete listing started; lastChanges when
	// the last successful changes query started.
	lastFull, lastChanges time.Time
	// lastFullTry and fullFailures space out complete listings while they
	// fail (an outage), and readFailing says a failure was already logged.
	lastFullTry  time.Time
	fullFailures int
	readFailing  bool
	// instances is the size of the last complete listing, for planning the
	// next one within the read budget.
	instances int
	// podless are the instances the last complete listing found without a
	// tracked pod, for the cost metrics (cost.go).
	podless map[string]*billing

	// Re-tagging (tags.go), used by the poller alone: tagKeys are the VNode
	// tag keys instances may carry (AnnotationManagedTags), valid once
	// tagKeysSynced; retagFailing says a failure was already reported;
	// retagWarned the instances already reported as unable to take the
	// tags, with the message.
	tagKeys       []string
	tagKeysSynced bool
	retagFailing  bool
	retagWarned   map[string]string

	// stats caches ECI's metrics for /stats/summary and /metrics/resource
	// (stats.go).
	stats statsCache
	// kubeProxy caches what the kube-proxy of each instance needs to know
	// about the cluster (kubeproxy.go).
	kubeProxy kubeProxyInfo
	// proxyTokens are the kube-proxy tokens this runtime sent and the
	// back-off of failed refreshes, by pod (kubeproxytoken.go).
	proxyTokens map[types.UID]*proxyToken
}

// ProviderDeps are the collaborators of a Provider.
type ProviderDeps struct {
	ECI ECI
	// Resolver reads the objects pods refer to (ConfigMaps, Secrets, PVCs...).
	Resolver translate.Resolver
	Kube     kubernetes.Interface
	Pods     corev1listers.PodLister
	Recorder record.EventRecorder
	Log      *slog.Logger
	Metrics  *Metrics
	// PodsSynced reports whether the pod informer behind Pods has synced;
	// orphans are only judged after it has.
	PodsSynced func() bool
}

// NewProvider builds a Provider. Call Run to start its workers.
func NewProvider(cfg Config, d ProviderDeps) *Provider {
	cfg.Defaults()
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	limiter := backoffAndRate[types.UID](cfg.CreateBackoffBase, cfg.CreateBackoffMax, cfg.CreateQPS, cfg.CreateBurst)
	for action := range readActions {
		d.Metrics.readBudget.WithLabelValues(action).Set(cfg.readBudget(action))
	}
	p := &Provider{
		cfg:         cfg,
		eci:         d.ECI,
		vnode:       cfg.vnode(),
		resolver:    d.Resolver,
		kube:        d.Kube,
		pods:        d.Pods,
		recorder:    d.Recorder,
		log:         d.Log,
		metrics:     d.Metrics,
		now:         time.Now,
		queue:       workqueue.NewTypedRateLimitingQueueWithConfig(limiter, workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: queueCreate}),
		statusQueue: newStatusQueue(),
		poke:        make(chan struct{}, 1),
		readSoon:    map[string]bool{},
		byUID:       map[types.UID]*tracked{},
		byKey:       map[string]types.UID{},
		orphans:     map[string]time.Time{},
		retagWarned: map[string]string{},
		inventory:   make(chan struct{}),
		synced:      d.PodsSynced,
		stats:       statsCache{started: time.Now()},
	}
	d.Metrics.queues.set(queueCreate, p.queue.Len)
	d.Metrics.queues.set(queueStatus, p.statusQueue.Len)
	return p
}

func podKey(namespace, name string) string { return namespace + "/" + name }

// CreatePod records the pod and queues its instance creation; it returns at
// once. Pods a VNode cannot run are refused later, by the create worker,
// with a status and an Event.
//
// After a restart of the runtime virtual-kubelet hands over every pod of
// the node again. A pod that already has an instance (its eci-instance-id
// annotation says so) is adopted, never reported as creating: it keeps the
// status it has until the inventory of instances finds it, so Services do
// not lose its endpoints because the runtime was upgraded.
func (p *Provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	pod = pod.DeepCopy()
	p.mu.Lock()
	if t, ok := p.byUID[pod.UID]; ok {
		// Adopted during recovery before virtual-kubelet saw the pod.
		t.pod.Spec, t.pod.ObjectMeta = pod.Spec, pod.ObjectMeta
		p.mu.Unlock()
		return nil
	}
	t := &tracked{pod: pod, events: map[string]int32{}}
	p.byUID[pod.UID] = t
	p.byKey[podKey(pod.Namespace, pod.Name)] = pod.UID
	if id := pod.Annotations[AnnotationInstanceID]; id != "" || hadInstance(pod) {
		// Without the annotation (an earlier run died before writing it)
		// the inventory finds the instance by the pod's UID tag.
		t.state, t.instanceID = stateAdopting, id
		t.specWritten = pod.Annotations[AnnotationInstanceSpec] != ""
		p.mu.Unlock()
		p.pollSoon()
		return nil
	}
	p.mu.Unlock()

	// ECICreating is written only for a create not answered within
	// creatingStatusDelay: one answered sooner goes straight to the status
	// that names its instance, so a scale-up of hundreds of pods costs one
	// status write a pod less under the client's rate limit.
	p.setPendingAfter(t, creatingStatusDelay, ReasonCreating, "waiting to create the ECI instance")
	p.queue.Add(pod.UID)
	return nil
}

// creatingStatusDelay is how long a pod whose create is queued or in flight
// goes without a status of the runtime's (the API server's Pending).
const creatingStatusDelay = time.Second

// instanceStatusDelay is how long the status naming a new instance waits
// for the instance to start, which an instance whose image needs no pull
// may do within it. Meanwhile the pod has its InstanceCreated Event, and a
// restart loses nothing: the next run finds the instance by the pod's UID
// tag. Without it every pod costs two status writes, the second moments
// after the first, and a large scale-up spends half of the client's rate
// limit on statuses that are stale before they land.
const instanceStatusDelay = 2 * time.Second

// hadInstance tells from a pod's status that an earlier run created its
// instance: the condition ContainerInstanceCreated, or a phase past Pending.
func hadInstance(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodRunning {
		return true
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == ConditionContainerInstanceCreated && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// UpdatePod takes the new spec and metadata. ECI instances are immutable in
// what Kubernetes allows to change on a running pod (image changes recreate
// pods through their controllers), so nothing is sent to ECI.
func (p *Provider) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.byUID[pod.UID]
	if !ok {
		return errdefs.NotFoundf("pod %s/%s (uid %s) is not known to this VNode", pod.Namespace, pod.Name, pod.UID)
	}
	status := t.pod.Status
	written := t.pod.Annotations
	t.pod = pod.DeepCopy()
	t.pod.Status = status
	keepWritten(t.pod, written)
	return nil
}

// keepWritten carries the annotations this runtime wrote over to a newer
// copy of the pod that may predate the write (informer lag): we are their
// only writer, and virtual-kubelet sends our copy's metadata with every
// status update.
func keepWritten(pod *corev1.Pod, from map[string]string) {
	for _, k := range writtenAnnotations {
		v, ok := from[k]
		if !ok {
			continue
		}
		if _, has := pod.Annotations[k]; has {
			continue
		}
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[k] = v
	}
}

// GetPod returns the pod as this VNode last reported it.
func (p *Provider) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	uid, ok := p.byKey[podKey(namespace, name)]
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not on this VNode", namespace, name)
	}
	return p.byUID[uid].pod.DeepCopy(), nil
}

// GetPodStatus returns the status this VNode last reported for the pod.
func (p *Provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

// GetPods lists the pods this runtime tracks. It deliberately lists only
// pods it learned from Kubernetes or adopted against the synced pod lister:
// virtual-kubelet deletes at start-up every pod this returns that its lister
// lacks, and a list built from ECI alone would let a slow informer start
// delete live instances.
func (p *Provider) GetPods(context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(p.byUID))
	for _, t := range p.byUID {
		// A finished pod has no instance any more; it is kept only until its
		// final status is written.
		if t.state != stateFinished {
			out = append(out, t.pod.DeepCopy())
		}
	}
	return out, nil
}

// NotifyPods is part of virtual-kubelet's PodNotifier. The runtime writes
// pod statuses itself (see statuswriter.go), so the callback is not used;
// implementing the interface keeps virtual-kubelet from polling GetPodStatus
// and writing statuses of its own.
func (p *Provider) NotifyPods(context.Context, func(*corev1.Pod)) {}

// setStatus replaces the reported status of t and publishes it if it changed.
func (p *Provider) setStatus(t *tracked, mutate func(st *corev1.PodStatus)) {
	p.setStatusAfter(t, 0, mutate)
}

// setStatusAfter is setStatus with the write delayed; a status set
// meanwhile replaces this one, and a write published meanwhile carries it.
func (p *Provider) setStatusAfter(t *tracked, delay time.Duration, mutate func(st *corev1.PodStatus)) {
	p.mu.Lock()
	before := t.pod.Status.DeepCopy()
	mutate(&t.pod.Status)
	changed := !podStatusEqual(before, &t.pod.Status)
	uid := t.pod.UID
	switch {
	case changed && delay > 0:
		t.holdUntil = later(t.holdUntil, p.now().Add(delay))
	case changed:
		t.holdUntil = time.Time{}
	}
	p.mu.Unlock()
	switch {
	case !changed:
	case delay > 0:
		p.statusQueue.AddAfter(uid, delay)
	default:
		p.publish(uid)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// setPending reports a pod that waits for its instance, with the reason why.
func (p *Provider) setPending(t *tracked, reason, msg string) {
	p.setPendingAfter(t, 0, reason, msg)
}

// setPendingAfter is setPending with the write delayed (setStatusAfter).
func (p *Provider) setPendingAfter(t *tracked, delay time.Duration, reason, msg string) {
	now := p.now()
	p.setStatusAfter(t, delay, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodPending
		st.Reason, st.Message = reason, msg
		st.Conditions = []corev1.PodCondition{
			cond(corev1.PodScheduled, true, metaNow(now), "", ""),
			cond(ConditionContainerInstanceCreated, false, metaNow(now), reason, msg),
			cond(corev1.PodReady, false, metaNow(now), reason, msg),
		}
		st.ContainerStatuses = waitingStatuses(t.pod.Spec.Containers, reason, msg)
		st.InitContainerStatuses = waitingStatuses(t.pod.Spec.InitContainers, reason, msg)
	})
}

// fail ends a pod that can never run as specified, with an Event.
func (p *Provider) fail(t *tracked, reason, msg string) {
	now := p.now()
	p.mu.Lock()
	t.state = stateRefused
	p.mu.Unlock()
	p.event(t, corev1.EventTypeWarning, reason, msg)
	p.metrics.podsFailed.WithLabelValues(reason).Inc()
	p.setStatus(t, func(st *corev1.PodStatus) {
		st.Phase = corev1.PodFailed
		st.Reason, st.Message = reason, msg
		st.Conditions = []corev1.PodCondition{
			cond(corev1.PodScheduled, true, metaNow(now), "", ""),
			cond(ConditionContainerInstanceCreated, false, metaNow(now), reason, msg),
			cond(corev1.PodReady, false, metaNow(now), reason, msg),
		}
		st.ContainerStatuses = terminatedStatuses(t.pod.Spec.Containers, st.ContainerStatuses, reason, msg, now)
		st.InitContainerStatuses = terminatedStatuses(t.pod.Spec.InitContainers, st.InitContainerStatuses, reason, msg, now)
	})
}

// refuse keeps a pod the VNode cannot run Pending with the reason and the
// alternative. It is not failed on purpose: a DaemonSet controller replaces
// failed pods at once, which would loop create/delete forever.
func (p *Provider) refuse(t *tracked, reason, msg string) {
	p.mu.Lock()
	t.state = stateRefused
	p.mu.Unlock()
	p.event(t, corev1.EventTypeWarning, reason, msg)
	p.metrics.podsRefused.Inc()
	p.setPending(t, reason, msg)
}

func (p *Provider) event(t *tracked, typ, reason, msg string) {
	if p.recorder == nil {
		return
	}
	p.mu.Lock()
	ref := t.pod.DeepCopy()
	p.mu.Unlock()
	p.recorder.Event(ref, typ, reason, msg)
}

func waitingStatuses(cs []corev1.Container, reason, msg string) []corev1.ContainerStatus {
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		started := false
		out = append(out, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Started: &started,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
		})
	}
	return out
}

// terminatedStatuses closes every container that is not already terminated.
func terminatedStatuses(cs []corev1.Container, prev []corev1.ContainerStatus, reason, msg string, now time.Time) []corev1.ContainerStatus {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range prev {
		byName[s.Name] = s
	}
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for _, c := range cs {
		s, ok := byName[c.Name]
		if !ok {
			s = corev1.ContainerStatus{Name: c.Name, Image: c.Image}
		}
		if s.State.Terminated == nil {
			started := time.Time{}
			if s.State.Running != nil {
				started = s.State.Running.StartedAt.Time
			}
			exit := int32(1)
			if reason == ReasonInstanceDeleted {
				exit = 0
			}
			s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exit, Reason: reason, Message: msg,
				StartedAt: metaTimeOf(started), FinishedAt: metaNow(now),
			}}
		}
		s.Ready = false
		f := false
		s.Started = &f
		out = append(out, s)
	}
	return out
}
