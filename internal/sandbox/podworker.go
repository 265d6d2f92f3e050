package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podWorker runs one pod on a worker node, like a kubelet's pod worker: it allocates the pod
// IP, runs init then main containers (runtime-image containers as local processes, others as
// stand-ins that are simply "running"), restarts them per restartPolicy, reflects all of it in
// the pod status, and on graceful deletion stops the processes and deletes the pod object.
type podWorker struct {
	node *workerNode
	dir  string // <sandbox>/pods/<ns>_<name>_<uid>

	ctx    context.Context // cancelled when the pod starts terminating: no more (re)starts
	cancel context.CancelFunc

	mu          sync.Mutex
	pod         *corev1.Pod // latest seen
	podIP       string
	ipAllocated bool
	startTime   metav1.Time
	initDone    bool
	initFailed  bool
	inits       []*containerState
	mains       []*containerState
	terminating bool
	creds       *podCredentials
	grace       time.Duration // of the requested graceful deletion

	dirty    chan struct{} // status changed; cap 1
	deleting chan struct{} // closed on graceful deletion
	killing  chan struct{} // closed on force deletion or sandbox stop
	killOnce sync.Once
	delOnce  sync.Once
	done     chan struct{} // closed when run returns
}

func newPodWorker(n *workerNode, pod *corev1.Pod) *podWorker {
	ctx, cancel := context.WithCancel(context.Background())
	pw := &podWorker{
		node:     n,
		dir:      filepath.Join(n.pool.s.path("pods"), fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, shortUID(string(pod.UID)))),
		ctx:      ctx,
		cancel:   cancel,
		pod:      pod.DeepCopy(),
		dirty:    make(chan struct{}, 1),
		deleting: make(chan struct{}),
		killing:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, c := range pod.Spec.InitContainers {
		pw.inits = append(pw.inits, newContainerState(c, true))
	}
	for _, c := range pod.Spec.Containers {
		pw.mains = append(pw.mains, newContainerState(c, false))
	}
	return pw
}

func shortUID(uid string) string {
	if len(uid) > 8 {
		return uid[:8]
	}
	return uid
}

// update records the latest pod and starts a graceful termination when it is being deleted.
func (pw *podWorker) update(pod *corev1.Pod) {
	pw.mu.Lock()
	pw.pod = pod.DeepCopy()
	pw.mu.Unlock()
	if pod.DeletionTimestamp != nil {
		grace := 30 * time.Second
		if pod.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		pw.delOnce.Do(func() {
			pw.mu.Lock()
			pw.grace = grace
			pw.mu.Unlock()
			close(pw.deleting)
		})
	}
	pw.notify()
}

// kill terminates the pod's processes within grace without any API call, and waits for run
// to return.
func (pw *podWorker) kill(grace time.Duration) {
	pw.killOnce.Do(func() {
		pw.mu.Lock()
		pw.grace = grace
		pw.mu.Unlock()
		close(pw.killing)
	})
	<-pw.done
}

func (pw *podWorker) notify() {
	select {
	case pw.dirty <- struct{}{}:
	default:
	}
}

func (pw *podWorker) logf(format string, args ...any) {
	pw.mu.Lock()
	ns, name := pw.pod.Namespace, pw.pod.Name
	pw.mu.Unlock()
	pw.node.pool.s.logf("%s: pod %s/%s: %s", pw.node.name, ns, name, fmt.Sprintf(format, args...))
}

// run is the pod's whole life on the node.
func (pw *podWorker) run() {
	defer close(pw.done)
	statusCtx, stopStatus := context.WithCancel(context.Background())
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		pw.statusLoop(statusCtx)
	}()

	containersDone := make(chan struct{})
	go func() {
		defer close(containersDone)
		pw.runContainers()
	}()

	api := true
	select {
	case <-pw.deleting:
	case <-pw.killing:
		api = false
	}
	pw.shutdown()
	<-containersDone
	pw.releaseIP()
	if api {
		// Post the final container states, then complete the deletion.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		pw.notify()
		pw.flushStatus(ctx)
		pw.mu.Lock()
		pod := pw.pod.DeepCopy()
		pw.mu.Unlock()
		if err := pw.node.deletePodObject(ctx, pod); err != nil {
			pw.logf("delete pod object: %v", err)
		}
		cancel()
	}
	stopStatus()
	<-statusDone
}

// runContainers prepares the pod, runs init containers in order and then the main
// containers, returning when every container loop has ended.
func (pw *podWorker) runContainers() {
	if err := os.MkdirAll(pw.dir, 0o755); err != nil {
		pw.logf("create pod dir: %v", err)
	}
	if err := pw.assignIP(); err != nil {
		pw.logf("%v", err)
		pw.node.recorder.Eventf(pw.podRef(), corev1.EventTypeWarning, "FailedCreatePodSandBox", "%v", err)
		return
	}
	pw.mu.Lock()
	pw.startTime = metav1.Now()
	pw.mu.Unlock()
	pw.notify()

	var wg sync.WaitGroup
	// Once every container loop has ended no process can hold the address any more; a
	// finished pod that nobody deletes (a Job's) must not keep it. The status keeps
	// showing it, as a kubelet's does.
	defer pw.releaseIP()
	defer wg.Wait()
	for _, cs := range pw.inits {
		if cs.spec.RestartPolicy != nil && *cs.spec.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			// A sidecar: it keeps running beside the main containers.
			wg.Add(1)
			go func() {
				defer wg.Done()
				pw.containerLoop(cs, corev1.RestartPolicyAlways)
			}()
			continue
		}
		if !pw.runInit(cs) {
			return
		}
	}
	pw.mu.Lock()
	pw.initDone = true
	pw.mu.Unlock()
	pw.notify()
	policy := pw.restartPolicy()
	for _, cs := range pw.mains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw.containerLoop(cs, policy)
		}()
	}
}

func (pw *podWorker) restartPolicy() corev1.RestartPolicy {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.pod.Spec.RestartPolicy == "" {
		return corev1.RestartPolicyAlways
	}
	return pw.pod.Spec.RestartPolicy
}

// assignIP gives the pod its address: the node's for hostNetwork pods, else a fresh loopback
// address of its own.
func (pw *podWorker) assignIP() error {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.pod.Spec.HostNetwork {
		pw.podIP = pw.node.ip
		return nil
	}
	ip, err := pw.node.pool.ips.allocate()
	if err != nil {
		return fmt.Errorf("allocate pod IP: %w", err)
	}
	pw.podIP, pw.ipAllocated = ip, true
	return nil
}

// releaseIP returns the pod IP once no process of the pod can hold it any more.
func (pw *podWorker) releaseIP() {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if pw.ipAllocated {
		pw.node.pool.ips.release(pw.podIP)
		pw.ipAllocated = false
	}
}

// shutdown stops every container: no more starts, SIGTERM to each process group, SIGKILL
// after the grace period (or at once if a kill arrives meanwhile), then waits for the exits.
func (pw *podWorker) shutdown() {
	pw.mu.Lock()
	pw.terminating = true
	grace := pw.grace
	var procs []*process
	for _, cs := range append(append([]*containerState(nil), pw.inits...), pw.mains...) {
		if cs.proc != nil && cs.proc.running() {
			procs = append(procs, cs.proc)
		}
	}
	pw.mu.Unlock()
	pw.cancel()
	killed := false
	select {
	case <-pw.killing:
		killed = true // no API calls: the pod is gone or the sandbox is stopping
	default:
	}
	if len(procs) > 0 && !killed {
		pw.node.recorder.Eventf(pw.podRef(), corev1.EventTypeNormal, "Killing", "Stopping %d container process(es) with a grace period of %s", len(procs), grace)
	}
	for _, p := range procs {
		p.signalGroup(syscall.SIGTERM)
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline.C:
			pw.killProcs(procs)
		case <-pw.killing:
			// A force deletion or sandbox stop during the grace period: honour its grace.
			pw.mu.Lock()
			g := pw.grace
			pw.mu.Unlock()
			select {
			case <-p.done:
			case <-time.After(g):
			}
			pw.killProcs(procs)
		}
	}
	pw.killProcs(procs) // grandchildren left in a group whose leader exited
	for _, p := range procs {
		<-p.done
	}
}

func (pw *podWorker) killProcs(procs []*process) {
	for _, p := range procs {
		p.signalGroup(syscall.SIGKILL)
	}
}

// podRef is the object events are recorded against.
func (pw *podWorker) podRef() *corev1.Pod {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return pw.pod.DeepCopy()
}
