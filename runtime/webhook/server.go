package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/runtime/healthz"
)

// EventComponent is the source of the webhook's Events.
const EventComponent = "eci-vnode-profile-webhook"

// Server is the eci-profile webhook: admission server, profile and cluster caches,
// certificate manager, configuration writer and deletion-cost controller.
type Server struct {
	o       Options
	reg     *prometheus.Registry
	metrics *Metrics
	log     *slog.Logger

	ready     chan struct{}
	readyOnce sync.Once
	applyKick chan struct{}
	addr      chan string

	// set up by Run
	handler *handler
	certs   *certManager
}

// New checks o and prepares a Server; Run starts it.
func New(o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{
		o: o, reg: reg, metrics: NewMetrics(reg), log: o.Log,
		ready: make(chan struct{}), applyKick: make(chan struct{}, 1), addr: make(chan string, 1),
	}
	return s, nil
}

// Run runs the webhook described by o until ctx ends.
func Run(ctx context.Context, o Options) error {
	s, err := New(o)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Ready is closed once the webhook serves and its configurations are applied.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address the webhook listens on, once it does.
func (s *Server) Addr(ctx context.Context) (string, error) {
	select {
	case a := <-s.addr:
		s.addr <- a
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Run starts the caches, obtains the certificates, serves admission requests, applies the
// webhook configurations and maintains all of it until ctx ends. It returns an error
// only when it cannot start (no listener); problems later are logged and retried.
func (s *Server) Run(ctx context.Context) error {
	o := &s.o
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Events on the eci-profile ConfigMap.
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: o.Kube.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: EventComponent})
	store := newProfileStore(s.metrics, s.log, recorder)

	// Caches: namespaces and nodes (all), pods bound to a node (trimmed), the profile
	// ConfigMap and the TLS Secret (one object each).
	cluster := informers.NewSharedInformerFactory(o.Kube, 0)
	nsInformer := cluster.Core().V1().Namespaces()
	nodeInformer := cluster.Core().V1().Nodes()
	_ = nsInformer.Informer()
	nodes := nodeInformer.Informer()
	bound := informers.NewSharedInformerFactoryWithOptions(o.Kube, 0, informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
		lo.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
	}))
	pods := bound.Core().V1().Pods().Informer()
	if err := pods.SetTransform(trimPod); err != nil {
		return fmt.Errorf("webhook: pod cache: %w", err)
	}
	if err := pods.AddIndexers(cache.Indexers{podsByNode: indexPodsByNode}); err != nil {
		return fmt.Errorf("webhook: pod cache: %w", err)
	}
	one := func(namespace, name string) informers.SharedInformerFactory {
		return informers.NewSharedInformerFactoryWithOptions(o.Kube, 0, informers.WithNamespace(namespace),
			informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
				lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			}))
	}
	profileFactory := one(profile.ConfigMapNamespace, profile.ConfigMapName)
	cms := profileFactory.Core().V1().ConfigMaps().Informer()
	if _, err := cms.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onConfigMap(store, obj) },
		UpdateFunc: func(_, obj any) { s.onConfigMap(store, obj) },
		DeleteFunc: func(any) { store.remove() },
	}); err != nil {
		return fmt.Errorf("webhook: watch the eci-profile: %w", err)
	}
	secretFactory := one(o.Namespace, o.SecretName)
	secrets := secretFactory.Core().V1().Secrets().Informer()

	s.handler = &handler{
		profiles:   store,
		namespaces: nsInformer.Lister(),
		nodes:      nodeInformer.Lister(),
		pods:       pods.GetIndexer(),
		getNamespace: func(ctx context.Context, name string) (*corev1.Namespace, error) {
			return o.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		},
		metrics: s.metrics,
		log:     s.log,
	}
	s.certs = newCertManager(o.Kube, o.Namespace, o.SecretName, certConfig{
		hosts: o.servingHosts(), caValidity: o.CAValidity, certValidity: o.CertValidity,
		renewFraction: o.RenewFraction, caOverlap: o.CAOverlap,
	}, s.metrics, s.log, func([]byte) { s.kickApply() })
	if _, err := secrets.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.certs.poke() },
		UpdateFunc: func(any, any) { s.certs.poke() },
		DeleteFunc: func(any) { s.certs.poke() },
	}); err != nil {
		return fmt.Errorf("webhook: watch the TLS secret: %w", err)
	}
	var coster *deletionCoster
	if o.DeletionCost != nil {
		var err error
		if coster, err = newDeletionCoster(o.Kube, pods, nodes, *o.DeletionCost, s.metrics, s.log); err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	if o.MetricsAddr != "" {
		stop, err := s.serveMetrics(o.MetricsAddr)
		if err != nil {
			return err
		}
		defer stop()
	}

	factories := []informers.SharedInformerFactory{cluster, bound, profileFactory, secretFactory}
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	defer func() {
		cancel()
		for _, f := range factories {
			f.Shutdown()
		}
	}()
	for _, f := range factories {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("webhook: cache of %v did not sync", typ)
			}
		}
	}
	s.log.Info("caches synced", "profileSelectors", store.current().matcher.Len())

	// Certificates before serving: the first handshake needs one.
	for retry := time.Second; ; retry = min(2*retry, 30*time.Second) {
		if _, err := s.certs.reconcile(ctx); err == nil {
			break
		} else if ctx.Err() != nil {
			return nil
		} else {
			s.log.Error("cannot obtain the webhook's certificates; retrying", "err", err, "retryIn", retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}

	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.ListenAddr); err != nil {
			return fmt.Errorf("webhook: listen on %s: %w", o.ListenAddr, err)
		}
	}
	s.addr <- ln.Addr().String()
	srv := &http.Server{
		Handler:           s.mux(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       90 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.getCertificate},
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	wg.Go(func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("webhook server stopped", "err", err)
			cancel()
		}
	})
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("serving admission webhooks", "addr", ln.Addr().String(), "urlHost", o.URLHost,
		"service", o.Namespace+"/"+o.ServiceName, "failurePolicy", o.FailurePolicy, "timeoutSeconds", o.TimeoutSeconds)

	wg.Go(func() { s.certs.run(ctx, o.ResyncPeriod) })
	wg.Go(func() { s.applyLoop(ctx) })
	s.kickApply()
	if coster != nil {
		wg.Go(func() { coster.run(ctx, 2) })
	}
	<-ctx.Done()
	s.log.Info("stopping the profile webhook")
	return nil
}

// ApplyConfigurations writes the webhook configurations now, with the CA bundle in use.
// Run writes them itself (at start, when the bundle changes, every ResyncPeriod); this
// is for callers that removed them and want them back at once, such as
// runtime/webhook/webhookbench between its phases. Call it once Ready is closed.
func (s *Server) ApplyConfigurations(ctx context.Context) error {
	if s.certs == nil {
		return errors.New("webhook: ApplyConfigurations before Run has obtained certificates")
	}
	bundle := s.certs.caBundle()
	if len(bundle) == 0 {
		return errors.New("webhook: ApplyConfigurations without a CA bundle yet")
	}
	return applyWebhookConfigs(ctx, s.o.Kube, &s.o, bundle)
}

func (s *Server) onConfigMap(store *profileStore, obj any) {
	if cm, ok := obj.(*corev1.ConfigMap); ok {
		store.update(cm)
	}
}

func (s *Server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	h := s.handler
	mux.Handle(PathMutatePods, h.serve("Pod", "mutating", h.mutatePod))
	mux.Handle(PathValidatePods, h.serve("Pod", "validating", h.validatePod))
	mux.Handle(PathValidateServices, h.serve("Service", "validating", h.validateService))
	mux.Handle(PathValidateDaemonSets, h.serve("DaemonSet", "validating", h.validateDaemonSet))
	healthz.Install(mux, s.readyChecks()...)
	return mux
}

// readyChecks are what /readyz checks: the webhook is ready once it has
// written its webhook configurations with its CA, so the API server can
// call it.
func (s *Server) readyChecks() []healthz.Check {
	return []healthz.Check{{Name: "webhook-configurations", Run: func() (bool, string) {
		select {
		case <-s.ready:
			return true, "applied with the webhook's CA"
		default:
			return false, "not applied yet"
		}
	}}}
}

func (s *Server) kickApply() {
	select {
	case s.applyKick <- struct{}{}:
	default:
	}
}

// applyLoop writes the webhook configurations when the CA bundle changes and every
// ResyncPeriod (repairing edits by others), retrying failures with back-off.
func (s *Server) applyLoop(ctx context.Context) {
	retry := time.Second
	wait := s.o.ResyncPeriod
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.applyKick:
			timer.Stop()
		case <-timer.C:
		}
		bundle := s.certs.caBundle()
		if len(bundle) == 0 {
			wait = retry
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := applyWebhookConfigs(actx, s.o.Kube, &s.o, bundle)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.metrics.configApplies.WithLabelValues("error").Inc()
			s.log.Error("cannot apply the webhook configurations; retrying", "err", err, "retryIn", retry)
			wait, retry = retry, min(2*retry, time.Minute)
			continue
		}
		s.metrics.configApplies.WithLabelValues("ok").Inc()
		retry, wait = time.Second, s.o.ResyncPeriod
		s.readyOnce.Do(func() {
			s.log.Info("webhook configurations applied", "name", s.o.ConfigurationName)
			close(s.ready)
		})
	}
}

// serveMetrics serves /metrics, /livez, /healthz and /readyz on addr; stop shuts it down.
func (s *Server) serveMetrics(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook: listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	healthz.Install(mux, s.readyChecks()...)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
	}()
	s.log.Info("serving metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
