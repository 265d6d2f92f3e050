package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options configures Start.
type Options struct {
	// Dir holds everything of this sandbox: PKI, kubeconfigs, etcd data, component and pod
	// logs. It is created if needed; data of an earlier sandbox in it is replaced.
	Dir string
	// Workers is the number of worker nodes (worker-1 ... worker-N). Zero means 2; a negative
	// number means none.
	Workers int
	// WorkerCapacity is each worker's capacity and allocatable; missing resources default to
	// cpu 4, memory 8Gi, pods 110.
	WorkerCapacity corev1.ResourceList
	// RestartBackoff is the first CrashLoopBackOff delay of a restarting container; it doubles
	// up to five minutes, as a kubelet's does. Zero means 10s (the kubelet's value).
	RestartBackoff time.Duration
	// CertificateLifetime caps the lifetime of certificates kube-controller-manager signs
	// for CSRs (--cluster-signing-duration), so a test sees a kubelet certificate rotate in
	// a minute or two. Zero keeps its default of a year.
	CertificateLifetime time.Duration
	// ControlPlaneQPS raises the client rate limit of kube-scheduler and
	// kube-controller-manager (--kube-api-qps, and --kube-api-burst at twice it), so that
	// a benchmark measures the VNode rather than the ReplicaSet controller's default 20
	// queries a second. Zero keeps their defaults (scheduler 50, controller-manager 20).
	ControlPlaneQPS float32
	// Log receives the sandbox's own progress lines; nil discards them.
	Log io.Writer
	// Tools are the binaries to run; nil means EnsureTools with default options.
	Tools *Tools
	// ProxyablePodIPs gives pods addresses of 100.64.0.0/16, made local to this machine by
	// one route (podnet.go), instead of loopback ones: kube-apiserver refuses to proxy the
	// node and pod proxy subresources to loopback. Adding the route needs root; without it
	// the pods stay on loopback and ProxyablePodIPs() says why.
	ProxyablePodIPs bool
	// MetricsServer runs metrics-server (built by EnsureTools with ToolOptions.MetricsServer)
	// as an extension API server, so `kubectl top` works: kube-apiserver gets the aggregation
	// layer's flags, and metrics-server scrapes the VNodes' kubelet APIs directly. It needs
	// ProxyablePodIPs in effect; without it the sandbox starts without metrics-server and
	// MetricsServer() says why.
	MetricsServer bool
	// Components are extra services started after the control plane and workers are ready,
	// in order, and stopped before them in reverse order (the ECI emulator is meant to be one).
	Components []Component
}

// Component is an extra service that lives as long as the sandbox.
type Component interface {
	// Name identifies the component in logs and errors.
	Name() string
	// Start starts the component and returns once it serves; env describes the sandbox.
	Start(ctx context.Context, env ComponentEnv) error
	// Stop stops it and releases everything it holds (processes, ports).
	Stop(ctx context.Context) error
}

// ComponentEnv is what a Component gets to know about its sandbox.
type ComponentEnv struct {
	Dir        string // a directory of its own under the sandbox dir
	Kubeconfig string // admin kubeconfig path
	RESTConfig *rest.Config
	Log        io.Writer
}

// Sandbox is a running sandbox. Its methods are safe for concurrent use.
type Sandbox struct {
	dir   string
	opts  Options
	tools *Tools
	log   io.Writer

	spawner *spawner
	mu      sync.Mutex
	procs   []*process // control-plane processes in start order
	ports   []int      // every port the control plane listens on

	caPEM []byte
	ca    *certAuthority
	certs map[string]keyPair

	etcdURL    string
	server     string // apiserver URL
	kubeconfig string
	restConfig *rest.Config
	client     kubernetes.Interface

	workers    *workerPool
	podNetErr  error       // why Options.ProxyablePodIPs could not be honoured
	metricsErr error       // why Options.MetricsServer could not be honoured
	components []Component // started ones

	stopOnce sync.Once
	stopErr  error
}

// Start brings a sandbox up: PKI, etcd, kube-apiserver, kube-scheduler,
// kube-controller-manager, worker nodes, then opts.Components. It returns when the cluster is
// usable (the default ServiceAccount exists and the workers are Ready). On error everything
// already started is stopped.
func Start(ctx context.Context, opts Options) (_ *Sandbox, err error) {
	if opts.Dir == "" {
		return nil, errors.New("start sandbox: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: resolve dir: %w", err)
	}
	tools := opts.Tools
	if tools == nil {
		if tools, err = EnsureTools(ctx, ToolOptions{Progress: opts.Log}); err != nil {
			return nil, fmt.Errorf("start sandbox: %w", err)
		}
	}
	s := &Sandbox{dir: dir, opts: opts, tools: tools, log: opts.Log, spawner: newSpawner()}
	defer func() {
		if err != nil {
			_ = s.Stop(context.Background())
		}
	}()
	began := time.Now()
	if err := s.prepareDir(); err != nil {
		return nil, err
	}
	if err := s.writePKI(); err != nil {
		return nil, err
	}
	if err := s.writeAggregationPKI(); err != nil {
		return nil, err
	}
	if err := s.startEtcd(ctx); err != nil {
		return nil, err
	}
	if err := s.startAPIServer(ctx); err != nil {
		return nil, err
	}
	if err := s.writeKubeconfigs(); err != nil {
		return nil, err
	}
	if err := s.startScheduler(ctx); err != nil {
		return nil, err
	}
	if err := s.startControllerManager(ctx); err != nil {
		return nil, err
	}
	usableAt := time.Now()
	if err := s.waitClusterUsable(ctx); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.logf("default namespace and ServiceAccount present after %s", time.Since(usableAt).Round(10*time.Millisecond))
	if err := s.startWorkers(ctx); err != nil {
		return nil, err
	}
	if err := s.startMetricsServer(ctx); err != nil {
		return nil, err
	}
	// Extra components start last: they may want nodes and the runtime binary in place.
	for _, c := range opts.Components {
		cdir := s.path("components", c.Name())
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			return nil, fmt.Errorf("start component %s: %w", c.Name(), err)
		}
		env := ComponentEnv{Dir: cdir, Kubeconfig: s.kubeconfig, RESTConfig: s.RESTConfig(), Log: s.log}
		if err := c.Start(ctx, env); err != nil {
			return nil, fmt.Errorf("start component %s: %w", c.Name(), err)
		}
		s.components = append(s.components, c)
	}
	s.logf("sandbox ready in %s: %s (kubeconfig %s)", time.Since(began).Round(10*time.Millisecond), s.server, s.kubeconfig)
	return s, nil
}

// Dir returns the sandbox's state directory.
func (s *Sandbox) Dir() string { return s.dir }

// Kubeconfig returns the path of the admin kubeconfig (user kubernetes-admin in
// system:masters).
func (s *Sandbox) Kubeconfig() string { return s.kubeconfig }

// Server returns the apiserver URL (https://127.0.0.1:<port>).
func (s *Sandbox) Server() string { return s.server }

// RESTConfig returns a copy of the admin client configuration.
func (s *Sandbox) RESTConfig() *rest.Config { return rest.CopyConfig(s.restConfig) }

// Client returns an admin clientset.
func (s *Sandbox) Client() kubernetes.Interface { return s.client }

// Tools returns the binaries the sandbox runs (Terraform included, for tests to use).
func (s *Sandbox) Tools() *Tools { return s.tools }

// Ports returns every loopback port the control plane listens on.
func (s *Sandbox) Ports() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.ports...)
}

// LogFiles returns the log file of every control-plane component and pod container so far.
func (s *Sandbox) LogFiles() []string {
	var out []string
	for _, pattern := range []string{s.path("logs", "*.log"), s.path("pods", "*", "*.log")} {
		m, _ := filepath.Glob(pattern)
		out = append(out, m...)
	}
	return out
}

// Stop stops components, workers (and their pod processes) and the control plane in reverse
// order, each with a bounded wait, then SIGKILLs anything left. It is idempotent; only the
// first call does the work. No process or port of the sandbox remains after it returns.
func (s *Sandbox) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

// stopGrace bounds each component's SIGTERM-to-SIGKILL wait.
const stopGrace = 5 * time.Second

func (s *Sandbox) stop(ctx context.Context) error {
	var errs []error
	for i := len(s.components) - 1; i >= 0; i-- {
		c := s.components[i]
		if err := c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop component %s: %w", c.Name(), err))
		}
	}
	if s.workers != nil {
		if err := s.workers.stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	procs := append([]*process(nil), s.procs...)
	s.mu.Unlock()
	// Everything but etcd stops at once (each bounded by stopGrace), then etcd, so the
	// apiserver never loses its storage while it is still shutting down.
	var etcd []*process
	var others []*process
	for _, p := range procs {
		if p.name == "etcd" {
			etcd = append(etcd, p)
		} else {
			others = append(others, p)
		}
	}
	errs = append(errs, stopAll(ctx, others)...)
	errs = append(errs, stopAll(ctx, etcd)...)
	s.spawner.close()
	if len(errs) == 0 {
		s.logf("sandbox stopped")
	}
	return errors.Join(errs...)
}

func (s *Sandbox) track(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = append(s.procs, p)
}

func (s *Sandbox) untrack(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range s.procs {
		if q == p {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			return
		}
	}
}

func (s *Sandbox) logf(format string, args ...any) {
	if s.log != nil {
		fmt.Fprintf(s.log, "sandbox: "+format+"\n", args...)
	}
}

func (s *Sandbox) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

func (s *Sandbox) pkiDir() string { return s.path("pki") }

func (s *Sandbox) logPath(name string) string { return s.path("logs", name+".log") }

// prepareDir creates the state directory layout, clearing what a previous sandbox left.
func (s *Sandbox) prepareDir() error {
	for _, d := range []string{"pki", "kubeconfigs", "etcd-data", "pods", "components"} {
		if err := os.RemoveAll(s.path(d)); err != nil {
			return fmt.Errorf("clear %s: %w", s.path(d), err)
		}
	}
	for _, d := range []string{"pki", "kubeconfigs", "logs", "pods", "bin"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", s.path(d), err)
		}
	}
	// Pod processes run this link, so their command lines name the sandbox dir and a leftover
	// is easy to find (and to tell from another sandbox's).
	link := s.path("bin", "eci-vnode")
	_ = os.Remove(link)
	if err := os.Symlink(s.tools.ECIVNode, link); err != nil {
		return fmt.Errorf("link eci-vnode into the sandbox: %w", err)
	}
	return nil
}

// writePKI generates the CA, component certificates and the service-account key pair.
func (s *Sandbox) writePKI() error {
	ca, err := newCertAuthority("eci-sandbox-ca")
	if err != nil {
		return err
	}
	certs, err := controlPlaneCerts(ca, kubernetesServiceIP())
	if err != nil {
		return err
	}
	caKey, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.crt": ca.CertPEM(), "ca.key": caKey, "sa.key": saKey, "sa.pub": saPub}
	for name, kp := range certs {
		files[name+".crt"] = kp.CertPEM
		files[name+".key"] = kp.KeyPEM
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(s.pkiDir(), name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	s.ca, s.caPEM, s.certs = ca, ca.CertPEM(), certs
	return nil
}

// writeKubeconfigs writes the admin kubeconfig and those of the scheduler and the
// controller-manager, and builds the admin client.
func (s *Sandbox) writeKubeconfigs() error {
	for _, kc := range []struct{ file, cert, user string }{
		{s.path("kubeconfig"), "admin", adminUser},
		{s.path("kubeconfigs", "scheduler.kubeconfig"), "scheduler", schedulerUser},
		{s.path("kubeconfigs", "controller-manager.kubeconfig"), "controller-manager", controllerManagerUser},
	} {
		data, err := renderKubeconfig(kubeconfigSpec{
			Server: s.server, CAPEM: s.caPEM, CertPEM: s.certs[kc.cert].CertPEM, KeyPEM: s.certs[kc.cert].KeyPEM, User: kc.user,
		})
		if err != nil {
			return err
		}
		if err := writeFileAtomic(kc.file, data, 0o600); err != nil {
			return err
		}
	}
	s.kubeconfig = s.path("kubeconfig")
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		return fmt.Errorf("load admin kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 100, 200 // tests create objects in bursts
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("build admin client: %w", err)
	}
	s.restConfig, s.client = cfg, client
	return nil
}

// writeFileAtomic writes data to a temporary file and renames it over path, so a reader
// (kubectl, a pod re-reading its token) never sees a half-written file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// stopAll stops procs concurrently and returns their errors.
func stopAll(ctx context.Context, procs []*process) []error {
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.stop(ctx, stopGrace)
		}()
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
