package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/bench/baseline"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// scenario is one provider, one pod count, one quota mode, one repetition.
type scenario struct {
	Provider string `json:"provider"`
	Pods     int    `json:"pods"`
	Quotas   bool   `json:"quotas"`
	Rep      int    `json:"rep"`
}

func (s scenario) String() string {
	return fmt.Sprintf("%s, %d pods, quotas %s, run %d", s.Provider, s.Pods, onOff(s.Quotas), s.Rep)
}

// name is the scenario's Node and namespace name.
func (s scenario) name() string {
	return fmt.Sprintf("bench-%s-%d-q%s-%d", s.Provider, s.Pods, onOff(s.Quotas), s.Rep)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// harness holds what every scenario shares.
type harness struct {
	opts       Options
	sb         *sandbox.Sandbox
	emu        *emulator.Emulator
	eci        sandbox.ECIInfo
	client     *eci.Client // the harness's own, for status propagation
	runtimeBin string
}

// nodeLabel selects a scenario's Node for its pods.
const nodeLabel = "eci-bench/node"

// Phase deadlines: generous, so a slow provider is measured rather than cut
// off, and still bounded so one stuck scenario cannot hang the run.
func upDeadline(n int) time.Duration   { return 2*time.Minute + time.Duration(n)*300*time.Millisecond }
func downDeadline(n int) time.Duration { return 2*time.Minute + time.Duration(n)*200*time.Millisecond }

// run performs one scenario; what went wrong is recorded in the result.
func (h *harness) run(ctx context.Context, sc scenario) RunResult {
	r := RunResult{scenario: sc}
	if err := h.runScenario(ctx, sc, &r); err != nil {
		r.Outcome = err.Error()
	} else {
		r.Outcome = "ok"
	}
	return r
}

func (h *harness) runScenario(ctx context.Context, sc scenario, r *RunResult) error {
	kube := h.sb.Client()
	name := sc.name()
	h.emu.SetRateLimitsEnabled(sc.Quotas) // also refills every bucket: each run starts full

	proc, err := h.startProvider(sc)
	if err != nil {
		return err
	}
	// The provider stops first, so it cannot register its Node again.
	defer h.cleanup(kube, name)
	defer proc.stop()
	if err := waitNodeReady(ctx, kube, name, proc, 2*time.Minute); err != nil {
		return err
	}
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	w, err := watchPods(ctx, kube, name)
	if err != nil {
		return err
	}
	defer w.stop()

	// Scale-up: from the Deployment's creation until every pod is Running.
	h.emu.ResetCalls()
	began := time.Now()
	if _, err := kube.AppsV1().Deployments(name).Create(ctx, deployment(name, sc.Pods), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create the Deployment: %w", err)
	}
	upErr := w.waitFor(ctx, upDeadline(sc.Pods), func(c podCounts) bool { return c.running >= sc.Pods })
	upEnd := w.lastRunning()
	if upEnd.IsZero() {
		upEnd = time.Now()
	}
	r.CallsUp = callCounts(h.emu.Calls())
	r.Running = w.counts().running
	r.ScaleUp = dur(upEnd.Sub(began))
	r.RunningAt, r.Latencies = w.runningTimes(began)
	r.UpdatesUntilRunning = w.updatesUntilRunning()
	r.RSSAfterUp, _, _ = proc.usage()
	if upErr != nil {
		return fmt.Errorf("%d of %d pods Running after %s", r.Running, sc.Pods, upDeadline(sc.Pods))
	}
	r.Throughput = float64(sc.Pods) / upEnd.Sub(began).Seconds()
	r.P50, r.P95, r.P99 = percentiles(r.Latencies)

	// Steady state: the pods run and nothing changes; whatever ECI is asked
	// now is the cost of watching them.
	h.emu.ResetCalls()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(h.opts.Steady):
	}
	r.CallsSteady = callCounts(h.emu.Calls())
	r.Steady = dur(h.opts.Steady)

	// Status propagation: a problem there is recorded, and the scale-down
	// still measured.
	if err := h.propagation(ctx, sc, w, r); err != nil {
		r.PropagationNote = err.Error()
	}

	// Scale-down: from replicas 0 until every pod object is gone.
	h.emu.ResetCalls()
	downBegan := time.Now()
	patch := []byte(`{"spec":{"replicas":0}}`)
	if _, err := kube.AppsV1().Deployments(name).Patch(ctx, "load", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scale the Deployment to 0: %w", err)
	}
	downErr := w.waitFor(ctx, downDeadline(sc.Pods), func(c podCounts) bool { return c.deleted >= c.seen })
	downEnd := w.lastDeleted()
	if downEnd.IsZero() {
		downEnd = time.Now()
	}
	r.ScaleDown = dur(downEnd.Sub(downBegan))
	// Deletes the provider still owes ECI after the pod objects are gone
	// (stock deletes the instance inside DeletePod, so there are none) are
	// counted too: a short grace for calls in flight.
	time.Sleep(time.Second)
	r.CallsDown = callCounts(h.emu.Calls())
	if downErr != nil {
		c := w.counts()
		return fmt.Errorf("%d of %d pods still exist %s after the scale-down", c.seen-c.deleted, c.seen, downDeadline(sc.Pods))
	}
	if sc.Pods > 0 {
		r.DeleteThroughput = float64(sc.Pods) / downEnd.Sub(downBegan).Seconds()
	}
	_, r.PeakRSS, r.CPUSeconds = proc.usage()
	return nil
}

// noQuotaArgs configure ours for an account without ECI's create quota when
// the emulator enforces none: its client-side create and delete limit (by
// default under the documented quota) would otherwise be what is measured.
// Stock has no such limit to lift.
var noQuotaArgs = []string{"--eci-create-qps=100000", "--eci-create-burst=100000", "--eci-create-per-minute=0"}

// startProvider starts the scenario's provider as a subprocess, logging to
// <out>/logs/<name>.log.
func (h *harness) startProvider(sc scenario) (*providerProc, error) {
	name := sc.name()
	kubeconfig := h.sb.Kubeconfig()
	var argv []string
	switch sc.Provider {
	case Ours:
		argv = []string{h.runtimeBin, "node",
			"--node-name", name, "--cluster-name", "bench", "--region", h.eci.Region,
			"--vswitch-ids", "vsw-h-1,vsw-i-1", "--security-group-id", "sg-emulator0001",
			"--eci-endpoint", h.eci.Endpoint, "--eci-scheme", "HTTP",
			"--kubeconfig", kubeconfig, "--metrics-addr", "127.0.0.1:0", "--kubelet-api-addr", "off",
			"--node-ip", "127.0.0.1", "--cluster-ip-access=false",
			"--node-labels", nodeLabel + "=" + name,
			"--capacity", fmt.Sprintf("pods=%d,cpu=%s,memory=%s", podCapacity, baseline.CPUCapacity, baseline.MemoryCapacity),
		}
		if !sc.Quotas {
			argv = append(argv, noQuotaArgs...)
		}
		argv = append(argv, h.opts.OursArgs...)
	default:
		argv = append(slices.Clone(h.opts.ProviderCommand), "provider", sc.Provider,
			"--node-name", name, "--kubeconfig", kubeconfig, "--label", nodeLabel+"="+name,
			"--pods", fmt.Sprint(podCapacity), "--eci-endpoint", h.eci.Endpoint, "--region", h.eci.Region,
			"--status-interval", h.opts.StatusInterval.String())
	}
	logPath := filepath.Join(h.opts.OutDir, "logs", name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create the provider log: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+h.eci.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+h.eci.AccessKeySecret,
		"ALIBABA_CLOUD_REGION_ID="+h.eci.Region, "POD_NAME="+name)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", sc.Provider, err)
	}
	p := &providerProc{cmd: cmd, log: f, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// podCapacity is every provider's pod capacity: above any pod count run.
const podCapacity = 20000

// cleanup removes the scenario's namespace and Node; the namespace's
// deletion finishes in the background.
func (h *harness) cleanup(kube kubernetes.Interface, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	_ = kube.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
}

// deployment is the workload: n pods of one small container on the
// scenario's Node, nothing else asked of ECI.
func deployment(node string, n int) *appsv1.Deployment {
	labels := map[string]string{"app": "load"}
	replicas := int32(n)
	grace := int64(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "load"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector:                  map[string]string{nodeLabel: node},
					Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					TerminationGracePeriodSeconds: &grace,
					AutomountServiceAccountToken:  ptrTo(false),
					EnableServiceLinks:            ptrTo(false),
					Containers: []corev1.Container{{
						Name: "app", Image: "nginx:1.27",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("512Mi"),
						}},
					}},
				},
			},
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

// waitNodeReady waits for the provider's Node to be Ready, or for the
// provider to exit.
func waitNodeReady(ctx context.Context, kube kubernetes.Interface, name string, p *providerProc, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.exited:
			return false, fmt.Errorf("the provider exited before its Node was Ready (%v); see %s", p.waitErr, p.logPath)
		default:
		}
		n, err := kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, nil // transient; the deadline bounds it
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for Node %s to be Ready: %w", name, err)
	}
	return nil
}

// callCounts is the number of calls per action, and per action the calls
// ECI refused as throttled under "<action> (throttled)".
func callCounts(stats map[string]emulator.ActionStats) map[string]int {
	out := map[string]int{}
	for action, st := range stats {
		out[action] = st.Count
		for code, n := range st.ByCode {
			if strings.HasPrefix(code, "Throttling") || code == "Degrade.Api" {
				out[action+throttledSuffix] += n
			}
		}
	}
	return out
}

const throttledSuffix = " (throttled)"
