package sandbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Restart back-off, as a kubelet's: it doubles from Options.RestartBackoff up to maxBackoff
// and starts over once a container ran for backoffReset.
const (
	maxBackoff      = 5 * time.Minute
	backoffReset    = 10 * time.Minute
	configRetry     = 2 * time.Second // CreateContainerConfigError is retried this often
	forbiddenWindow = 5 * time.Second // the Node authorizer's graph may lag a fresh binding
)

// containerState is what the pod worker knows about one container; guarded by podWorker.mu.
type containerState struct {
	spec         corev1.Container
	init         bool
	runtime      bool // runs the local eci-vnode binary
	restartCount int32
	state        corev1.ContainerState
	lastState    corev1.ContainerState
	ready        bool
	started      bool
	proc         *process
	id           string
	backoffs     int // restarts since the back-off was last reset
}

func newContainerState(c corev1.Container, init bool) *containerState {
	return &containerState{
		spec:    c,
		init:    init,
		runtime: isRuntimeImage(c.Image),
		state:   corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}
}

// errTerminating means the pod began terminating before the container could start.
var errTerminating = errors.New("pod is terminating")

// containerLoop runs a main (or sidecar) container and restarts it per policy until the pod
// terminates or the container is done for good.
func (pw *podWorker) containerLoop(cs *containerState, policy corev1.RestartPolicy) {
	if !cs.runtime {
		pw.standIn(cs)
		return
	}
	for {
		ran, code, err := pw.runOnce(cs)
		if pw.ctx.Err() != nil || errors.Is(err, errTerminating) {
			return
		}
		if err != nil {
			pw.waitBeforeRetry(cs, err)
			continue
		}
		if !shouldRestart(policy, code) {
			return
		}
		if !pw.backOff(cs, ran) {
			return
		}
	}
}

// runInit runs an init container to success, retrying failures unless the pod never
// restarts. It returns false if the pod cannot proceed.
func (pw *podWorker) runInit(cs *containerState) bool {
	if !cs.runtime {
		pw.mu.Lock()
		now := metav1.Now()
		cs.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now, ContainerID: "sandbox://stand-in"}}
		cs.started = false
		cs.id = "sandbox://stand-in"
		pw.mu.Unlock()
		pw.notify()
		return true
	}
	for {
		ran, code, err := pw.runOnce(cs)
		if pw.ctx.Err() != nil || errors.Is(err, errTerminating) {
			return false
		}
		if err != nil {
			pw.waitBeforeRetry(cs, err)
			continue
		}
		if code == 0 {
			return true
		}
		if pw.restartPolicy() == corev1.RestartPolicyNever {
			pw.mu.Lock()
			pw.initFailed = true
			pw.mu.Unlock()
			pw.notify()
			return false
		}
		if !pw.backOff(cs, ran) {
			return false
		}
	}
}

// standIn is a container whose image the sandbox does not run: it is "running" until the pod
// terminates, then "completed".
func (pw *podWorker) standIn(cs *containerState) {
	pw.mu.Lock()
	started := metav1.Now()
	cs.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	cs.ready, cs.started, cs.id = true, true, "sandbox://stand-in"
	pw.mu.Unlock()
	pw.notify()
	<-pw.ctx.Done()
	pw.mu.Lock()
	cs.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: started, FinishedAt: metav1.Now(), ContainerID: cs.id}}
	cs.ready = false
	pw.mu.Unlock()
	pw.notify()
}

// shouldRestart applies a pod's restartPolicy to an exit code.
func shouldRestart(policy corev1.RestartPolicy, exitCode int) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	default:
		return true
	}
}

// backoffDelay is the wait before restart number n (0-based) of a container: the first
// restart is immediate, then base, 2×base, ... up to maxBackoff — CrashLoopBackOff.
func backoffDelay(base time.Duration, n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// backOff waits before a restart, showing CrashLoopBackOff while it does. It returns false if
// the pod started terminating meanwhile.
func (pw *podWorker) backOff(cs *containerState, ran time.Duration) bool {
	pw.mu.Lock()
	if ran >= backoffReset {
		cs.backoffs = 0
	}
	delay := backoffDelay(pw.node.pool.backoff, cs.backoffs)
	cs.backoffs++
	cs.lastState = cs.state
	if delay > 0 {
		cs.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, cs.spec.Name, pw.pod.Name, pw.pod.Namespace, pw.pod.UID),
		}}
	}
	pw.mu.Unlock()
	if delay > 0 {
		pw.notify()
		pw.node.recorder.Eventf(pw.podRef(), corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s", cs.spec.Name, pw.podRef().Name)
		select {
		case <-pw.ctx.Done():
			return false
		case <-time.After(delay):
		}
	}
	pw.mu.Lock()
	cs.restartCount++
	pw.mu.Unlock()
	return true
}

// waitBeforeRetry shows why a container could not be created and waits before trying again.
func (pw *podWorker) waitBeforeRetry(cs *containerState, err error) {
	reason := "RunContainerError"
	var ce *configError
	if errors.As(err, &ce) {
		reason = "CreateContainerConfigError"
	}
	pw.mu.Lock()
	changed := cs.state.Waiting == nil || cs.state.Waiting.Message != err.Error()
	cs.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
	cs.ready = false
	pw.mu.Unlock()
	pw.notify()
	if changed {
		pw.node.recorder.Eventf(pw.podRef(), corev1.EventTypeWarning, "Failed", "Error: %v", err)
	}
	select {
	case <-pw.ctx.Done():
	case <-time.After(configRetry):
	}
}

// runOnce starts the container's process and waits for it to exit. It returns how long it ran
// and its exit code, or an error if it could not be started.
func (pw *podWorker) runOnce(cs *containerState) (time.Duration, int, error) {
	spec, err := pw.prepare(cs)
	if err != nil {
		return 0, 0, err
	}
	pw.mu.Lock()
	if pw.terminating {
		pw.mu.Unlock()
		return 0, 0, errTerminating
	}
	proc, err := startProcess(pw.node.pool.s.spawner, spec)
	if err != nil {
		pw.mu.Unlock()
		return 0, 0, err
	}
	started := metav1.Now()
	cs.proc = proc
	cs.id = "sandbox://" + strconv.Itoa(proc.pid())
	cs.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	probe := cs.spec.ReadinessProbe
	cs.ready, cs.started = probe == nil || cs.init, true
	podIP := pw.podIP
	pw.mu.Unlock()
	pw.notify()
	pw.node.recorder.Eventf(pw.podRef(), corev1.EventTypeNormal, "Started", "Started container %s (pid %d)", cs.spec.Name, proc.pid())
	if probe != nil && !cs.init {
		go probeReadiness(probe, &cs.spec, podIP, proc.done, func(ready bool) {
			pw.mu.Lock()
			if cs.proc == proc && proc.running() { // still this run of the container
				cs.ready = ready
			}
			pw.mu.Unlock()
			pw.notify()
		})
	}

	// No select on ctx here: termination signals the process and this wait reaps it.
	<-proc.done
	code := proc.exitCode()
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	pw.mu.Lock()
	cs.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: metav1.NewTime(proc.exited), ContainerID: cs.id,
	}}
	cs.ready, cs.started = false, false
	pw.mu.Unlock()
	pw.notify()
	return proc.exited.Sub(started.Time), code, nil
}

// prepare resolves everything a container process needs: credentials, environment, argv.
func (pw *podWorker) prepare(cs *containerState) (processSpec, error) {
	ctx, cancel := context.WithTimeout(pw.ctx, 30*time.Second)
	defer cancel()
	pw.mu.Lock()
	pod := pw.pod.DeepCopy()
	podIP := pw.podIP
	pw.mu.Unlock()
	s := pw.node.pool.s

	base := []envVar{
		{"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		{"HOSTNAME", pod.Name},
		{"HOME", pw.dir},
		// The real apiserver, where in-cluster clients expect the kubernetes Service.
		{"KUBERNETES_SERVICE_HOST", "127.0.0.1"},
		{"KUBERNETES_SERVICE_PORT", serverPort(s.server)},
		{"KUBERNETES_SERVICE_PORT_HTTPS", serverPort(s.server)},
		{"POD_IP", podIP},
	}
	var kubeconfig string
	err := retryForbidden(ctx, func() (err error) {
		kubeconfig, err = pw.credentials(ctx, pod)
		return err
	})
	if err != nil {
		return processSpec{}, err
	}
	if kubeconfig != "" {
		base = append(base, envVar{"KUBECONFIG", kubeconfig})
	}
	var vars []envVar
	err = retryForbidden(ctx, func() (err error) {
		r := &envResolver{client: pw.node.client, pod: pod, podIP: podIP, hostIP: pw.node.ip}
		vars, err = r.resolve(ctx, &cs.spec, base)
		return err
	})
	if err != nil {
		var ce *configError
		if !errors.As(err, &ce) {
			err = &configError{err.Error()}
		}
		return processSpec{}, err
	}
	lookup := func(name string) (string, bool) {
		for i := len(vars) - 1; i >= 0; i-- {
			if vars[i].Name == name {
				return vars[i].Value, true
			}
		}
		return "", false
	}
	command := expandAll(cs.spec.Command, lookup)
	args := expandAll(cs.spec.Args, lookup)
	argv, err := runtimeArgv(command, args)
	if err != nil {
		return processSpec{}, err
	}
	env := make([]string, 0, len(vars))
	for _, v := range vars {
		env = append(env, v.Name+"="+v.Value)
	}
	return processSpec{
		Name:    pod.Namespace + "/" + pod.Name + "/" + cs.spec.Name,
		Path:    s.path("bin", "eci-vnode"),
		Args:    argv,
		Env:     env,
		Dir:     pw.dir,
		LogPath: filepath.Join(pw.dir, cs.spec.Name+".log"),
	}, nil
}

// credentials sets up the pod's service-account token and kubeconfig once (and keeps the
// token fresh); it returns "" when the pod does not automount a token.
func (pw *podWorker) credentials(ctx context.Context, pod *corev1.Pod) (string, error) {
	proj, ok := tokenProjection(pod)
	if !ok {
		return "", nil
	}
	pw.mu.Lock()
	creds := pw.creds
	pw.mu.Unlock()
	if creds != nil {
		return creds.kubeconfig, nil
	}
	s := pw.node.pool.s
	creds = newPodCredentials(pw.node.client, pod, pw.dir, s.server, s.caPEM, proj)
	next, err := creds.refresh(ctx)
	if err != nil {
		return "", err
	}
	pw.mu.Lock()
	pw.creds = creds
	pw.mu.Unlock()
	go pw.refreshToken(creds, next)
	return creds.kubeconfig, nil
}

// refreshToken renews the pod's token before it expires, until the pod terminates.
func (pw *podWorker) refreshToken(creds *podCredentials, next time.Time) {
	for {
		select {
		case <-pw.ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		ctx, cancel := context.WithTimeout(pw.ctx, 30*time.Second)
		n, err := creds.refresh(ctx)
		cancel()
		if err != nil {
			pw.logf("refresh service account token: %v", err)
			n = time.Now().Add(30 * time.Second)
		}
		next = n
	}
}

// retryForbidden retries fn while it fails with Forbidden for a few seconds: the Node
// authorizer learns about a pod's Secrets, ConfigMaps and ServiceAccount from a graph that
// trails the pod's binding, and a kubelet likewise just retries.
func retryForbidden(ctx context.Context, fn func() error) error {
	began := time.Now()
	for {
		err := fn()
		if err == nil || !apierrors.IsForbidden(err) || time.Since(began) > forbiddenWindow {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func expandAll(in []string, lookup func(string) (string, bool)) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expandVars(s, lookup)
	}
	return out
}

// serverPort returns the port of an https://host:port URL.
func serverPort(server string) string {
	for i := len(server) - 1; i >= 0; i-- {
		if server[i] == ':' {
			return server[i+1:]
		}
	}
	return "443"
}
