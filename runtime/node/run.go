package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	vkslog "github.com/virtual-kubelet/virtual-kubelet/log/slog"
	vknode "github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/runtime/healthz"
	"github.com/eci-vnode/terraform-provider-eci/runtime/kubeletserver"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// RunOptions are the process-level settings of Run.
type RunOptions struct {
	// Kube is the runtime's client; with NodeIdentity it is left nil and set by it.
	Kube kubernetes.Interface
	// Events is the client the pods' and the Node's Events are sent with (see
	// EventClient); nil sends them with Kube.
	Events kubernetes.Interface
	// NodeIdentity, if set, gives the runtime its node's identity (package
	// nodeidentity): Run calls it once the health endpoints serve, and makes
	// Kube and Events (EventClient, with EventQPS and EventBurst) from the
	// configuration it returns; stop ends the identity's rotation.
	NodeIdentity func(ctx context.Context) (config *rest.Config, stop func(), err error)
	// EventQPS and EventBurst limit the Events client made from NodeIdentity's
	// configuration; zero uses DefaultEventQPS and DefaultEventBurst.
	EventQPS   float32
	EventBurst int
	ECI        ECI
	Version    string
	Log        *slog.Logger
	// MetricsAddr serves /metrics, /livez, /healthz and /readyz ("" disables
	// it); see readiness for what /readyz checks.
	MetricsAddr string
	// Registry receives the metrics; nil creates one.
	Registry *prometheus.Registry
	// Metrics, if set, are the runtime's metrics already registered with
	// Registry; the caller creates them first when the ECI client must
	// report to them (eci.Config.Observer). Nil creates them in Registry.
	Metrics *Metrics
	// LeaderElect makes replicas of one VNode run active/standby on a Lease
	// named after the node in LeaderElectionNamespace.
	LeaderElect             bool
	LeaderElectionNamespace string
	Identity                string
	// OnProvider, if set, is called with the running provider (tests use it
	// to look inside).
	OnProvider func(*Provider)
	// KubeletAPIAddr serves the kubelet API (logs, exec, stats) there; ""
	// serves none. Port 0 picks a free port, which the Node advertises.
	KubeletAPIAddr string
	// ServiceAccountKube, if set, is the runtime's own ServiceAccount client, for the
	// two things NodeRestriction forbids a node: changing its Node's taints, and
	// asking for tokens bound to no pod of its own (the kube-proxy's). Nil uses Kube.
	ServiceAccountKube kubernetes.Interface
	// Pricer quotes the prices of the cost metrics (cost.go); nil uses ECI
	// when it has DescribeContainerGroupPrice, as *eci.Client does, and
	// serves no cost estimates otherwise.
	Pricer cost.Pricer
	// ClientCAFile verifies the client certificates of kubelet API callers;
	// "" reads the API server's client CA from the ConfigMap
	// kube-system/extension-apiserver-authentication and follows it.
	ClientCAFile string
	// TaintsAtRegistrationOnly says the runtime may not change its Node's taints:
	// it acts as its node and nothing else (a managed VNode's resident node has no
	// ServiceAccount), and NodeRestriction lets a node set taints only when it
	// registers. The Node is created with Config.Taints; an existing Node's taints
	// are left as they are (no SyncTaints) and the ECI API taint is never set (the
	// ECIAPIReachable condition still says it), instead of failing or retrying a
	// Forbidden update at every check.
	TaintsAtRegistrationOnly bool
	// OnRegistered, if set, is called once the Node is registered (and Ready).
	OnRegistered func()
}

// Run runs the VNode until ctx ends. With leader election, a replica that
// loses its lease returns an error so that its Deployment restarts it as a
// standby, rather than risk two active runtimes.
func Run(ctx context.Context, cfg Config, o RunOptions) error {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	metrics := o.Metrics
	if metrics == nil {
		metrics = NewMetrics(reg)
	}
	ready := &readiness{elect: o.LeaderElect, identity: o.Identity,
		lease: o.LeaderElectionNamespace + "/" + leaseName(cfg.NodeName)}
	if o.MetricsAddr != "" {
		stop, err := serveMetrics(o.MetricsAddr, reg, ready, o.Log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.NodeIdentity != nil {
		rc, stop, err := o.NodeIdentity(ctx)
		if err != nil {
			return err
		}
		defer stop()
		if o.Kube, err = kubernetes.NewForConfig(rc); err != nil {
			return fmt.Errorf("client of the node identity: %w", err)
		}
		if o.Events, err = EventClient(rc, o.EventQPS, o.EventBurst); err != nil {
			return fmt.Errorf("client of the node identity for Events: %w", err)
		}
	}
	if o.Events == nil {
		o.Events = o.Kube
	}
	ready.identified.Store(true)
	if !o.LeaderElect {
		metrics.leader.Set(1)
		defer metrics.leader.Set(0)
		return runNode(ctx, cfg, o, metrics, ready)
	}
	return runElected(ctx, cfg, o, metrics, ready)
}

// The runtime's default client limits. A VNode's pods are all written by
// this one client, so it gets more than a kubelet's 50/100: a scale-up of
// hundreds of pods costs it about two status writes a pod (docs/benchmarks.md).
// Events have a limiter of their own, as the kubelet's --event-qps, so that
// a burst of them never delays a status write.
const (
	DefaultKubeAPIQPS   = 100
	DefaultKubeAPIBurst = 200
	DefaultEventQPS     = 50
	DefaultEventBurst   = 100
)

// EventClient is the client of the runtime's Events: rc, limited to qps and
// burst instead (zero: DefaultEventQPS, DefaultEventBurst).
func EventClient(rc *rest.Config, qps float32, burst int) (kubernetes.Interface, error) {
	ec := rest.CopyConfig(rc)
	ec.QPS, ec.Burst = cmp.Or(qps, DefaultEventQPS), cmp.Or(burst, DefaultEventBurst)
	// A rest.Config with a RateLimiter ignores QPS and Burst.
	ec.RateLimiter = nil
	return kubernetes.NewForConfig(ec)
}

// leaseName is the name of the Lease the replicas of a VNode elect their
// leader on.
func leaseName(nodeName string) string { return "eci-vnode-" + nodeName }

// runElected runs the node only while this replica holds the VNode's Lease.
func runElected(ctx context.Context, cfg Config, o RunOptions, metrics *Metrics, ready *readiness) error {
	if o.LeaderElectionNamespace == "" || o.Identity == "" {
		return errors.New("leader election needs a namespace and an identity (--leader-elect-namespace, POD_NAME)")
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.LeaderElectionNamespace, Name: leaseName(cfg.NodeName)},
		Client:     o.Kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The callbacks run on goroutines of their own, and RunOrDie may return
	// before OnStartedLeading has: results travel through a channel and
	// atomics, and the node is waited for before this returns.
	result := make(chan error, 1)
	var lost, started atomic.Bool
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            leaseName(cfg.NodeName),
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				started.Store(true)
				ready.leading.Store(true)
				metrics.leader.Set(1)
				o.Log.Info("leading: this replica runs the VNode", "node", cfg.NodeName, "identity", o.Identity)
				result <- runNode(ctx, cfg, o, metrics, ready)
				cancel()
			},
			OnStoppedLeading: func() {
				ready.leading.Store(false)
				metrics.leader.Set(0)
				if ctx.Err() == nil {
					lost.Store(true)
				}
			},
			OnNewLeader: func(id string) {
				ready.observeLeader(id)
				if id != o.Identity {
					o.Log.Info("standing by: another replica runs the VNode", "node", cfg.NodeName, "leader", id)
				}
			},
		},
	})
	cancel()
	var runErr error
	if started.Load() {
		runErr = <-result
	}
	if lost.Load() {
		return fmt.Errorf("lost the leader lease of VNode %s; exiting so a restart joins as standby", cfg.NodeName)
	}
	return runErr
}

// runNode registers the node and runs the pod lifecycle until ctx ends.
func runNode(ctx context.Context, cfg Config, o RunOptions, metrics *Metrics, ready *readiness) error {
	ctx = vklog.WithLogger(ctx, vkslog.FromSlog(o.Log))
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: o.Events.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "eci-vnode", Host: cfg.NodeName})

	// The pods bound to the node, and the Services (for the service links of pod
	// environments): the two things a node may list. Everything else a pod references
	// is read by name when the pod is translated (translate.Getters).
	pods := newPodInformers(o.Kube, cfg.NodeName)
	shared := informers.NewSharedInformerFactory(o.Kube, 10*time.Minute)
	services := shared.Core().V1().Services()
	_ = services.Informer()

	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: cfg.NodeName}}
	// The kubelet API's port is known before the Node is configured, so the
	// Node advertises the port that is really open.
	var kubeletAPI net.Listener
	if o.KubeletAPIAddr != "" {
		ln, err := net.Listen("tcp", o.KubeletAPIAddr)
		if err != nil {
			return fmt.Errorf("listen for the kubelet API on %s: %w", o.KubeletAPIAddr, err)
		}
		defer ln.Close()
		kubeletAPI = ln
		cfg.DaemonPort = int32(ln.Addr().(*net.TCPAddr).Port)
	}
	ConfigureNode(node, cfg, o.Version)
	var n *vkNode
	podsSynced := func() bool {
		if n == nil {
			return false
		}
		select {
		case <-n.PodController().Ready():
			return true
		default:
			return false
		}
	}
	// Taints and the kube-proxy's tokens go through ServiceAccountKube (see RunOptions).
	sa := o.ServiceAccountKube
	if sa == nil {
		sa = o.Kube
	}
	prov := NewProvider(cfg, ProviderDeps{
		ECI: o.ECI,
		Resolver: translate.Getters{Client: o.Kube, Listers: translate.Listers{
			ServiceLister: services.Lister(), TokenClient: o.Kube.CoreV1(), UnboundTokenClient: sa.CoreV1(),
		}},
		Kube: o.Kube, Pods: pods.Core().V1().Pods().Lister(), Recorder: recorder, Log: o.Log, Metrics: metrics, PodsSynced: podsSynced,
	})
	taintKube := sa
	if o.TaintsAtRegistrationOnly {
		taintKube = nil
		o.Log.Info("the Node's taints are set when it registers and never changed after: this runtime acts as its node only, "+
			"and NodeRestriction forbids a node to change its own taints; the ECI API taint is not set either (the ECIAPIReachable condition still tells)",
			"node", cfg.NodeName, "taints", managedTaintsValue(cfg.nodeTaints()))
	}
	health := NewHealth(o.ECI, taintKube, node, cfg, metrics, o.Log)
	n, err := newVKNode(vkNodeConfig{
		Kube: o.Kube, Node: node, Provider: prov, Status: health, Workers: cfg.Workers,
		Recorder: withoutMisleadingEvents{recorder},
		Configure: []func(*vknode.PodControllerConfig) error{raiseQueueLimits, func(c *vknode.PodControllerConfig) error {
			// The runtime watches the pod informer too, so a status others
			// change (a readiness gate set True by a load-balancer
			// controller) reaches the pod's Ready at once.
			_, err := c.PodInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
				UpdateFunc: func(_, obj any) {
					if pod, ok := obj.(*corev1.Pod); ok {
						prov.podChanged(pod)
					}
				},
			})
			return err
		}},
	}, pods)
	if err != nil {
		return fmt.Errorf("set up VNode %s: %w", cfg.NodeName, err)
	}
	kubeletRoutes := http.NewServeMux()
	kubeletRoutes.Handle("/", kubeletAPIHandler(prov, n.podLister()))
	ready.node.Store(n)
	// virtual-kubelet's pod controller keeps its queues to itself but
	// tells their length.
	pc := n.PodController()
	metrics.queues.set(queueVKSyncPods, pc.SyncPodsFromKubernetesQueueUnprocessedLen)
	metrics.queues.set(queueVKDeletePods, pc.DeletePodsFromKubernetesQueueUnprocessedLen)
	metrics.queues.set(queueVKSyncPodStatus, pc.SyncPodStatusFromProviderQueueUnprocessedLen)
	if o.OnProvider != nil {
		o.OnProvider(prov)
	}
	pricer := o.Pricer
	if pricer == nil {
		pricer, _ = o.ECI.(cost.Pricer)
	}
	if pricer == nil {
		o.Log.Warn("the ECI client cannot look up prices; no cost metrics are served", "node", cfg.NodeName)
	}
	defer metrics.cost.attach(&costSource{
		node: cfg.NodeName, instances: prov.billedInstances, pricer: pricer, tagKeys: cfg.costTagKeys(),
		managedID: cfg.ManagedVNodeID, residentZone: cfg.residentZone(), log: o.Log,
	})()

	// Everything started here ends with ctx and is waited for, so a
	// returning runNode (shutdown, a lost lease) leaves nothing running.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		shared.Shutdown()
	}()
	// The tag keys go on the Node before the first instance is created
	// with them (AnnotationManagedTags); failing here, the poller tries
	// again before it re-tags anything.
	if err := prov.syncTagKeys(ctx); err != nil && ctx.Err() == nil {
		o.Log.Warn("could not record the VNode's tag keys on its Node yet; retrying before re-tagging", "err", oneLine(err))
	}
	shared.Start(ctx.Done())
	if kubeletAPI != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The serving certificate names the Node's addresses, which the approver
			// checks against the registered Node.
			if err := n.WaitReady(ctx, 2*time.Minute); err != nil {
				return
			}
			if err := serveKubeletAPI(ctx, cfg, o, kubeletAPI, kubeletRoutes); err != nil && ctx.Err() == nil {
				o.Log.Error("the kubelet API (kubectl logs, exec, top) is not served", "node", cfg.NodeName, "err", oneLine(err))
			}
		}()
	}
	wg.Add(3)
	go func() { defer wg.Done(); health.Run(ctx) }()
	go func() { defer wg.Done(); prov.Run(ctx); prov.Wait() }()
	go func() {
		defer wg.Done()
		if err := n.WaitReady(ctx, 2*time.Minute); err != nil && ctx.Err() == nil {
			o.Log.Error("VNode did not become ready", "node", cfg.NodeName, "err", err)
			return
		}
		// A managed VNode's resident node is billed from now on.
		metrics.cost.nodeReady(time.Now())
		o.Log.Info("VNode registered", "node", cfg.NodeName)
		if o.OnRegistered != nil {
			o.OnRegistered()
		}
	}()
	if taintKube != nil {
		if err := SyncTaints(ctx, taintKube, cfg); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("bring the taints of Node %s to the configuration: %w", cfg.NodeName, err)
		}
	}
	if err := n.Run(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("run VNode %s: %w", cfg.NodeName, err)
	}
	return nil
}

// raiseQueueLimits replaces virtual-kubelet's default queue limits (10 qps,
// burst 100, give up after 20 tries) with limits sized to ECI's quotas and
// with no give-up: this runtime never forgets a pod.
func raiseQueueLimits(c *vknode.PodControllerConfig) error {
	limiter := func(qps float64, burst int) workqueue.TypedRateLimiter[any] {
		return backoffAndRate[any](50*time.Millisecond, time.Minute, qps, burst)
	}
	never := func(context.Context, string, int, time.Time, error) (*time.Duration, error) { return nil, nil }
	c.SyncPodsFromKubernetesRateLimiter = limiter(100, 1000)
	c.SyncPodsFromKubernetesShouldRetryFunc = never
	c.DeletePodsFromKubernetesRateLimiter = limiter(100, 1000)
	c.DeletePodsFromKubernetesShouldRetryFunc = never
	c.SyncPodStatusFromProviderRateLimiter = limiter(100, 1000)
	c.SyncPodStatusFromProviderShouldRetryFunc = never
	return nil
}

// Run starts the create workers, the status writers and the status
// poller; it returns at once. They end with ctx; Wait waits for them.
func (p *Provider) Run(ctx context.Context) {
	start := func(f func(context.Context)) {
		p.workers.Add(1)
		go func() {
			defer p.workers.Done()
			f(ctx)
		}()
	}
	for i := 0; i < p.cfg.Workers; i++ {
		start(p.runCreateWorker)
	}
	for i := 0; i < statusWriters; i++ {
		start(p.runStatusWriter)
	}
	start(p.runPoller)
	start(func(ctx context.Context) {
		<-ctx.Done()
		p.queue.ShutDown()
		p.statusQueue.ShutDown()
	})
}

// Wait waits for the goroutines Run started; they end once Run's context
// has ended.
func (p *Provider) Wait() { p.workers.Wait() }

// statusWriters is the number of concurrent pod status writes; the
// Kubernetes client's QPS is the real bound.
const statusWriters = 4

// podChanged is told about every update of a pod on this node. A tracked
// pod whose live status differs from what the runtime reports — a readiness
// gate changed, or someone else wrote the status — gets its status written
// again; the writer sends nothing when there is nothing to change.
func (p *Provider) podChanged(pod *corev1.Pod) {
	p.mu.Lock()
	t, ok := p.byUID[pod.UID]
	mine := ok && t.state != stateAdopting
	p.mu.Unlock()
	if mine && !terminal(pod.Status.Phase) {
		p.publish(pod.UID)
	}
}

// withoutMisleadingEvents drops virtual-kubelet's "Create pod in provider
// successfully" and "Update pod in provider successfully" Events: CreatePod
// only queues the pod (it may yet be refused, or wait for a ConfigMap) and
// UpdatePod sends nothing to ECI, so both would tell a user reading
// `kubectl describe pod` something that is not so. The runtime records what
// really happens (ECIInstanceCreated, UnsupportedOnVNode, ...).
type withoutMisleadingEvents struct{ record.EventRecorder }

func (r withoutMisleadingEvents) Event(obj runtime.Object, typ, reason, msg string) {
	if reason == "ProviderCreateSuccess" || reason == "ProviderUpdateSuccess" {
		return
	}
	r.EventRecorder.Event(obj, typ, reason, msg)
}

func (r withoutMisleadingEvents) Eventf(obj runtime.Object, typ, reason, format string, args ...any) {
	if reason == "ProviderCreateSuccess" || reason == "ProviderUpdateSuccess" {
		return
	}
	r.EventRecorder.Eventf(obj, typ, reason, format, args...)
}

// serveMetrics serves /metrics and the health endpoints on addr (see
// package healthz); stop shuts it down.
func serveMetrics(addr string, reg *prometheus.Registry, ready *readiness, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	healthz.Install(mux, ready.checks()...)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// serveKubeletAPI serves routes on ln as the node's kubelet API (runtime/kubeletserver)
// until ctx ends.
func serveKubeletAPI(ctx context.Context, cfg Config, o RunOptions, ln net.Listener, routes http.Handler) error {
	var clientCA dynamiccertificates.CAContentProvider
	if o.ClientCAFile != "" {
		ca, err := dynamiccertificates.NewDynamicCAContentFromFile("client-ca", o.ClientCAFile)
		if err != nil {
			return fmt.Errorf("read the client CA %s: %w", o.ClientCAFile, err)
		}
		go ca.Run(ctx, 1)
		clientCA = ca
	} else {
		ca, err := dynamiccertificates.NewDynamicCAFromConfigMapController("client-ca", metav1.NamespaceSystem,
			clientCAConfigMap, "client-ca-file", o.Kube)
		if err != nil {
			return fmt.Errorf("follow the client CA in %s/%s: %w", metav1.NamespaceSystem, clientCAConfigMap, err)
		}
		// Run loads the bundle once its informer has synced (RunOnce, before that, reads
		// an empty cache and never fails); until then client certificates are refused.
		go ca.Run(ctx, 1)
		clientCA = ca
	}
	srv, err := kubeletserver.New(kubeletserver.Config{
		NodeName: cfg.NodeName, Kube: o.Kube, ClientCA: clientCA,
		Addresses: cfg.nodeAddresses, Routes: routes, Log: o.Log,
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx, ln)
}

// clientCAConfigMap (kube-system) is where the API server publishes its client CA; it is
// the same name as install.ClientCAConfigMap, which grants the read (the runtime does not
// import the provider's packages).
const clientCAConfigMap = "extension-apiserver-authentication"
