// Package baseline holds the two virtual-kubelet providers the benchmark
// (internal/bench) compares the runtime with. Both are built on the
// virtual-kubelet library the runtime uses (v1.14.1, nodeutil.NewNode), so
// the differences the benchmark shows are the runtime's own:
//
//   - ceiling marks every pod Running the moment it is handed over and talks
//     to no ECI at all: what the library and the control plane allow on this
//     machine. Its queues have no overall rate limit (per-item back-off only)
//     and it runs as many pod workers as the runtime's default.
//   - stock is configured the way stock providers are (azure-aci is the model):
//     the library's default work queues and worker count, CreatePod calling
//     CreateContainerGroup synchronously without a client-side limiter, and
//     a status loop that asks ECI about each pod by its instance ID, one
//     DescribeContainerGroups call per pod, every 5 seconds.
//
// Each runs as a subprocess of the benchmark (eci-bench provider ceiling|stock),
// so its memory and CPU time are its own.
package baseline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	vnode "github.com/eci-vnode/terraform-provider-eci/runtime/node"
)

// Kinds are the providers Main runs.
const (
	KindCeiling = "ceiling"
	KindStock   = "stock"
)

// Main runs `provider <kind> [flags]` until SIGINT or SIGTERM and returns the
// exit code. ECI settings come from flags and the ALIBABA_CLOUD_* variables.
// CPUCapacity and MemoryCapacity are every benchmark node's CPU and memory,
// the baselines' and ours alike: far above what any pod count run requests,
// so that pods, not the scheduler's arithmetic, are what is measured.
const (
	CPUCapacity    = "10000"
	MemoryCapacity = "40Ti"
)

func Main(args []string, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != KindCeiling && args[0] != KindStock) {
		fmt.Fprintf(stderr, "usage: provider %s|%s [flags]\n", KindCeiling, KindStock)
		return 2
	}
	kind := args[0]
	fs := flag.NewFlagSet("provider "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.nodeName, "node-name", "", "name of the Node (required)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	fs.Float64Var(&o.kubeQPS, "kube-api-qps", vnode.DefaultKubeAPIQPS, "Kubernetes API queries per second (the runtime's default)")
	fs.IntVar(&o.kubeBurst, "kube-api-burst", vnode.DefaultKubeAPIBurst, "Kubernetes API burst (the runtime's default)")
	fs.StringVar(&o.labels, "label", "", "one extra node label k=v")
	fs.IntVar(&o.pods, "pods", 10000, "pod capacity of the node")
	fs.StringVar(&o.endpoint, "eci-endpoint", "", "ECI endpoint (stock)")
	fs.StringVar(&o.region, "region", "cn-hangzhou", "ECI region (stock)")
	fs.StringVar(&o.vswitch, "vswitch-id", "vsw-h-1", "vSwitch of the instances (stock)")
	fs.StringVar(&o.securityGroup, "security-group-id", "sg-emulator0001", "security group of the instances (stock)")
	fs.DurationVar(&o.statusEvery, "status-interval", 5*time.Second, "how often each pod's instance is described (stock)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if o.nodeName == "" {
		fmt.Fprintln(stderr, "provider: --node-name is required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, kind, o); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "provider %s: %v\n", kind, err)
		return 1
	}
	return 0
}

type options struct {
	nodeName, kubeconfig, labels string
	kubeQPS                      float64
	kubeBurst, pods              int
	endpoint, region             string
	vswitch, securityGroup       string
	statusEvery                  time.Duration
}

// ceilingWorkers is the runtime's default number of virtual-kubelet pod
// workers (eci-vnode node --create-workers).
const ceilingWorkers = vnode.DefaultWorkers

func run(ctx context.Context, kind string, o options) error {
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", o.kubeconfig, err)
	}
	rc.QPS, rc.Burst = float32(o.kubeQPS), o.kubeBurst
	rc.UserAgent = "eci-bench-" + kind
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	var p podProvider
	switch kind {
	case KindCeiling:
		p = newCeiling()
	case KindStock:
		client, err := eci.New(eci.Config{
			Region: o.region, Endpoint: o.endpoint, Getenv: os.Getenv,
			// Stock providers send creates as fast as their workers go.
			DisableRateLimits: true, UserAgent: "eci-bench-stock",
		})
		if err != nil {
			return fmt.Errorf("ECI client: %w", err)
		}
		s := newStock(client, o)
		go s.statusLoop(ctx)
		p = s
	}
	opts := []nodeutil.NodeOpt{
		nodeutil.WithClient(kube),
		func(c *nodeutil.NodeConfig) error {
			c.HTTPListenAddr = "127.0.0.1:0" // no TLS config: nothing is served
			c.NodeSpec.Labels["kubernetes.io/os"] = "linux"
			if k, v, ok := cutLabel(o.labels); ok {
				c.NodeSpec.Labels[k] = v
			}
			c.NodeSpec.Spec.Taints = []corev1.Taint{{Key: "k8s.aliyun.com/vnode", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
			capacity := corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(CPUCapacity),
				corev1.ResourceMemory: resource.MustParse(MemoryCapacity),
				corev1.ResourcePods:   *resource.NewQuantity(int64(o.pods), resource.DecimalSI),
			}
			c.NodeSpec.Status.Capacity, c.NodeSpec.Status.Allocatable = capacity, capacity
			if kind == KindCeiling {
				c.NumWorkers = ceilingWorkers
			}
			return nil
		},
	}
	if kind == KindCeiling {
		// Per-item back-off only: no overall bucket between a pod and its status.
		opts = append(opts, nodeutil.WithPodControllerConfigOverrides(func(pc *node.PodControllerConfig) error {
			pc.SyncPodsFromKubernetesRateLimiter = unlimited()
			pc.DeletePodsFromKubernetesRateLimiter = unlimited()
			pc.SyncPodStatusFromProviderRateLimiter = unlimited()
			return nil
		}))
	}
	n, err := nodeutil.NewNode(o.nodeName, func(nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
		return p, nil, nil
	}, opts...)
	if err != nil {
		return fmt.Errorf("virtual-kubelet node: %w", err)
	}
	return n.Run(ctx)
}

func unlimited() workqueue.TypedRateLimiter[any] {
	return workqueue.NewTypedMaxOfRateLimiter[any](
		workqueue.NewTypedItemExponentialFailureRateLimiter[any](5*time.Millisecond, 10*time.Second),
		&workqueue.TypedBucketRateLimiter[any]{Limiter: rate.NewLimiter(rate.Inf, 0)},
	)
}

func cutLabel(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], i > 0
		}
	}
	return "", "", false
}

// podProvider is what both providers implement.
type podProvider interface {
	nodeutil.Provider
	node.PodNotifier
}

// pods is the provider-side copy of the pods handed over, keyed by
// namespace/name, with the callback that publishes their status.
type pods struct {
	mu     sync.Mutex
	byKey  map[string]*corev1.Pod
	notify func(*corev1.Pod)
}

func newPods() *pods { return &pods{byKey: map[string]*corev1.Pod{}} }

func podKey(ns, name string) string { return ns + "/" + name }

func (s *pods) NotifyPods(_ context.Context, f func(*corev1.Pod)) {
	s.mu.Lock()
	s.notify = f
	s.mu.Unlock()
}

// publish stores p and hands a copy to virtual-kubelet.
func (s *pods) publish(p *corev1.Pod) {
	s.mu.Lock()
	s.byKey[podKey(p.Namespace, p.Name)] = p
	f := s.notify
	s.mu.Unlock()
	if f != nil {
		f(p.DeepCopy())
	}
}

func (s *pods) get(ns, name string) *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byKey[podKey(ns, name)]
}

func (s *pods) remove(ns, name string) {
	s.mu.Lock()
	delete(s.byKey, podKey(ns, name))
	s.mu.Unlock()
}

func (s *pods) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	if p := s.get(ns, name); p != nil {
		return p.DeepCopy(), nil
	}
	return nil, errdefs.NotFoundf("pod %s/%s is not known", ns, name)
}

func (s *pods) GetPodStatus(ctx context.Context, ns, name string) (*corev1.PodStatus, error) {
	p, err := s.GetPod(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	return &p.Status, nil
}

func (s *pods) GetPods(context.Context) ([]*corev1.Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(s.byKey))
	for _, p := range s.byKey {
		out = append(out, p.DeepCopy())
	}
	return out, nil
}

func (s *pods) UpdatePod(context.Context, *corev1.Pod) error { return nil }

// The kubelet API is not served by either provider.
func (s *pods) GetContainerLogs(context.Context, string, string, string, api.ContainerLogOpts) (io.ReadCloser, error) {
	return nil, errdefs.NotFound("logs are not served")
}

func (s *pods) RunInContainer(context.Context, string, string, string, []string, api.AttachIO) error {
	return errdefs.NotFound("exec is not served")
}

func (s *pods) AttachToContainer(context.Context, string, string, string, api.AttachIO) error {
	return errdefs.NotFound("attach is not served")
}

func (s *pods) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return nil, errdefs.NotFound("stats are not served")
}

func (s *pods) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, errdefs.NotFound("metrics are not served")
}

func (s *pods) PortForward(context.Context, string, string, int32, io.ReadWriteCloser) error {
	return errdefs.NotFound("port-forward is not served")
}

// withPhase returns a copy of pod whose status says phase, with every
// container running (Running) or terminated (Succeeded), as a kubelet would.
func withPhase(pod *corev1.Pod, phase corev1.PodPhase, ip string) *corev1.Pod {
	p := pod.DeepCopy()
	now := metav1.Now()
	ready := corev1.ConditionFalse
	if phase == corev1.PodRunning {
		ready = corev1.ConditionTrue
	}
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	p.Status.Phase = phase
	p.Status.PodIP, p.Status.HostIP = ip, ip
	if ip != "" {
		p.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	}
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: ready, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: ready, LastTransitionTime: now},
	}
	p.Status.ContainerStatuses = p.Status.ContainerStatuses[:0]
	for _, c := range p.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: phase == corev1.PodRunning}
		switch phase {
		case corev1.PodRunning:
			cs.Started = ptrTo(true)
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
		case corev1.PodPending:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		default:
			cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", FinishedAt: now}
		}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, cs)
	}
	return p
}

func ptrTo[T any](v T) *T { return &v }
