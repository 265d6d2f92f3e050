package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// podWatch records, from a watch of one namespace, when each pod was first
// seen, first seen Running and seen deleted. Times are when the harness
// received the event: pod creationTimestamps have one-second resolution.
type podWatch struct {
	mu      sync.Mutex
	seen    map[types.UID]time.Time
	running map[types.UID]time.Time
	deleted map[types.UID]time.Time
	// updatesUp counts each pod's updates (watch MODIFIED events) until it
	// was first seen Running, that one included.
	updatesUp map[types.UID]int
	// sig is each pod's last status signature; changes, when it changed.
	sig     map[types.UID]string
	changes map[types.UID][]time.Time
	changed chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

type podCounts struct{ seen, running, deleted int }

func watchPods(ctx context.Context, kube kubernetes.Interface, ns string) (*podWatch, error) {
	list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods of %s: %w", ns, err)
	}
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return kube.CoreV1().Pods(ns).Watch(ctx, o)
	}}
	wctx, cancel := context.WithCancel(ctx)
	rw, err := watchtools.NewRetryWatcherWithContext(wctx, list.ResourceVersion, lw)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watch pods of %s: %w", ns, err)
	}
	w := &podWatch{
		seen: map[types.UID]time.Time{}, running: map[types.UID]time.Time{}, deleted: map[types.UID]time.Time{},
		sig: map[types.UID]string{}, changes: map[types.UID][]time.Time{}, updatesUp: map[types.UID]int{},
		changed: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
	}
	go func() {
		defer close(w.done)
		defer rw.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case ev, ok := <-rw.ResultChan():
				if !ok {
					return
				}
				w.record(ev.Type, ev.Object, time.Now())
			}
		}
	}()
	return w, nil
}

func (w *podWatch) record(t watch.EventType, obj runtime.Object, at time.Time) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	if _, ok := w.seen[pod.UID]; !ok {
		w.seen[pod.UID] = at
	}
	if _, ok := w.running[pod.UID]; !ok {
		if t == watch.Modified {
			w.updatesUp[pod.UID]++
		}
		if pod.Status.Phase == corev1.PodRunning {
			w.running[pod.UID] = at
		}
	}
	if _, ok := w.deleted[pod.UID]; !ok && t == watch.Deleted {
		w.deleted[pod.UID] = at
	}
	if sg := statusSignature(pod); sg != w.sig[pod.UID] {
		w.sig[pod.UID] = sg
		w.changes[pod.UID] = append(w.changes[pod.UID], at)
	}
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *podWatch) stop() {
	w.cancel()
	<-w.done
}

func (w *podWatch) counts() podCounts {
	w.mu.Lock()
	defer w.mu.Unlock()
	return podCounts{seen: len(w.seen), running: len(w.running), deleted: len(w.deleted)}
}

// waitFor waits until done holds for the counts, or timeout.
func (w *podWatch) waitFor(ctx context.Context, timeout time.Duration, done func(podCounts) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second) // done may also depend on time passing
	defer tick.Stop()
	for {
		if c := w.counts(); c.seen > 0 && done(c) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("timed out after %s", timeout)
		case <-w.changed:
		case <-tick.C:
		}
	}
}

func latest(m map[types.UID]time.Time) time.Time {
	var t time.Time
	for _, v := range m {
		if v.After(t) {
			t = v
		}
	}
	return t
}

func (w *podWatch) lastRunning() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return latest(w.running)
}

func (w *podWatch) lastDeleted() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return latest(w.deleted)
}

// runningTimes returns, sorted, each Running pod's time since began and
// its create-to-Running latency (first seen to first seen Running), in seconds.
func (w *podWatch) runningTimes(began time.Time) (at, latencies []float64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for uid, t := range w.running {
		at = append(at, t.Sub(began).Seconds())
		latencies = append(latencies, t.Sub(w.seen[uid]).Seconds())
	}
	slices.Sort(at)
	slices.Sort(latencies)
	return at, latencies
}

// updatesUntilRunning is the mean number of updates a pod had until it was
// first seen Running, over the pods seen Running: the scheduler's binding,
// then the provider's status writes (and any other writer's).
func (w *podWatch) updatesUntilRunning() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.running) == 0 {
		return 0
	}
	n := 0
	for uid := range w.running {
		n += w.updatesUp[uid]
	}
	return float64(n) / float64(len(w.running))
}

// statusSignature is what a status change means here: the phase, each
// condition's status and each container's readiness, state and restarts.
func statusSignature(p *corev1.Pod) string {
	var b strings.Builder
	b.WriteString(string(p.Status.Phase))
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, "|%s=%s", c.Type, c.Status)
	}
	for _, c := range p.Status.ContainerStatuses {
		state := "waiting"
		switch {
		case c.State.Running != nil:
			state = "running"
		case c.State.Terminated != nil:
			state = "terminated"
		}
		fmt.Fprintf(&b, "|%s:%t:%s:%d", c.Name, c.Ready, state, c.RestartCount)
	}
	return b.String()
}

// runningPods are the UIDs of pods seen Running and not deleted, sorted.
func (w *podWatch) runningPods() []types.UID {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []types.UID
	for uid := range w.running {
		if _, gone := w.deleted[uid]; !gone {
			out = append(out, uid)
		}
	}
	slices.Sort(out)
	return out
}

// changedSince is the first status change of uid at or after t.
func (w *podWatch) changedSince(uid types.UID, t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.changes[uid] {
		if !at.Before(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// quiet waits until no pod's status changed for d, or for at most max.
func (w *podWatch) quiet(ctx context.Context, d, max time.Duration) {
	end := time.Now().Add(max)
	for time.Now().Before(end) && ctx.Err() == nil {
		w.mu.Lock()
		var last time.Time
		for _, ch := range w.changes {
			if len(ch) > 0 && ch[len(ch)-1].After(last) {
				last = ch[len(ch)-1]
			}
		}
		w.mu.Unlock()
		if time.Since(last) >= d {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func sortFloats(v []float64) { slices.Sort(v) }
