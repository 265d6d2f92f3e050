package node

import (
	"context"
	"fmt"
	"time"

	vknode "github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
)

// vkNode is virtual-kubelet's node and pod controllers, set up as nodeutil.NewNode sets
// them up but without its cluster-wide Secret and ConfigMap informers: a kubelet's
// identity may not list those (the Node authorizer lets a node read only the objects its
// own pods reference), so the runtime reads them one by one (translate.Getters).
type vkNode struct {
	nc      *vknode.NodeController
	pc      *vknode.PodController
	pods    informers.SharedInformerFactory
	workers int
	ready   chan struct{}
	done    chan struct{}
	err     error
}

// vkNodeConfig is what newVKNode needs.
type vkNodeConfig struct {
	Kube     kubernetes.Interface
	Node     *corev1.Node
	Provider vknode.PodLifecycleHandler
	Status   vknode.NodeProvider
	Recorder record.EventRecorder
	Workers  int
	// Configure adjusts the pod controller (queue limits, event handlers).
	Configure []func(*vknode.PodControllerConfig) error
}

// newPodInformers watches the pods bound to node: the pod controller's informer.
func newPodInformers(kube kubernetes.Interface, node string) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(kube, time.Minute, nodeutil.PodInformerFilter(node))
}

func newVKNode(cfg vkNodeConfig, pods informers.SharedInformerFactory) (*vkNode, error) {
	nc, err := vknode.NewNodeController(cfg.Status, cfg.Node, cfg.Kube.CoreV1().Nodes(),
		vknode.WithNodeEnableLeaseV1(nodeutil.NodeLeaseV1Client(cfg.Kube), vknode.DefaultLeaseDuration))
	if err != nil {
		return nil, fmt.Errorf("set up the node controller: %w", err)
	}
	// The pod controller insists on Secret, ConfigMap and Service informers, which it
	// reads only to resolve environment variables, and the runtime has it skip that
	// (SkipDownwardAPIResolution; translation resolves them). These come from a factory
	// that is never started, so they never list anything.
	unused := informers.NewSharedInformerFactory(cfg.Kube, 0)
	pcc := vknode.PodControllerConfig{
		PodClient:                 cfg.Kube.CoreV1(),
		EventRecorder:             cfg.Recorder,
		Provider:                  cfg.Provider,
		PodInformer:               pods.Core().V1().Pods(),
		SecretInformer:            unused.Core().V1().Secrets(),
		ConfigMapInformer:         unused.Core().V1().ConfigMaps(),
		ServiceInformer:           unused.Core().V1().Services(),
		SkipDownwardAPIResolution: true,
	}
	for _, f := range cfg.Configure {
		if err := f(&pcc); err != nil {
			return nil, err
		}
	}
	pc, err := vknode.NewPodController(pcc)
	if err != nil {
		return nil, fmt.Errorf("set up the pod controller: %w", err)
	}
	return &vkNode{nc: nc, pc: pc, pods: pods, workers: cfg.Workers, ready: make(chan struct{}), done: make(chan struct{})}, nil
}

// Run runs the pod controller and, once its informer has synced, the node controller,
// until ctx ends or either fails.
func (n *vkNode) Run(ctx context.Context) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		n.err = err
		close(n.done)
	}()
	n.pods.Start(ctx.Done())
	defer n.pods.Shutdown()
	go n.pc.Run(ctx, n.workers) //nolint:errcheck // its error is pc.Err()
	defer func() { cancel(); <-n.pc.Done() }()
	select {
	case <-ctx.Done():
		return nil
	case <-n.pc.Ready():
	case <-n.pc.Done():
		return n.pc.Err()
	}
	go n.nc.Run(ctx) //nolint:errcheck // its error is nc.Err()
	defer func() { cancel(); <-n.nc.Done() }()
	select {
	case <-ctx.Done():
		return nil
	case <-n.nc.Ready():
	case <-n.nc.Done():
		return n.nc.Err()
	}
	close(n.ready)
	select {
	case <-ctx.Done():
		return nil
	case <-n.nc.Done():
		return n.nc.Err()
	case <-n.pc.Done():
		return n.pc.Err()
	}
}

// WaitReady waits until both controllers run, the node controller having registered
// the Node.
func (n *vkNode) WaitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case <-n.ready:
		return nil
	case <-n.done:
		return fmt.Errorf("the VNode stopped before it was ready: %v", n.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (n *vkNode) PodController() *vknode.PodController   { return n.pc }
func (n *vkNode) NodeController() *vknode.NodeController { return n.nc }
func (n *vkNode) Done() <-chan struct{}                  { return n.done }

// Err is why Run returned; nil before.
func (n *vkNode) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// podLister is the lister of the pods bound to the node.
func (n *vkNode) podLister() corev1listers.PodLister { return n.pods.Core().V1().Pods().Lister() }
