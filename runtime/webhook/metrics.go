package webhook

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of one admission request, the "result" label of
// eci_vnode_admission_requests_total.
const (
	resultAllowed = "allowed" // let through unchanged
	resultPatched = "patched" // mutated
	resultWarned  = "warned"  // allowed with warnings
	resultDenied  = "denied"  // refused by a guard
	resultError   = "error"   // the request could not be read; let through
)

// Metrics are the webhook's Prometheus metrics. Names start with eci_vnode_.
type Metrics struct {
	requests       *prometheus.CounterVec   // kind, webhook, result
	latency        *prometheus.HistogramVec // kind, webhook
	configValid    prometheus.Gauge
	configErrors   prometheus.Counter
	selectors      prometheus.Gauge
	mutations      *prometheus.CounterVec // selector, policy
	deletionCost   *prometheus.CounterVec // result
	certExpiry     *prometheus.GaugeVec   // cert
	certRotations  *prometheus.CounterVec // cert
	configApplies  *prometheus.CounterVec // result
	placementDrops prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eci_vnode_admission_requests_total",
			Help: "Admission requests by kind (Pod, Service, DaemonSet), webhook (mutating, validating) and result (allowed, patched, warned, denied, error).",
		}, []string{"kind", "webhook", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eci_vnode_admission_duration_seconds",
			Help:    "Time to answer one admission request, from reading the request to writing the response.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16), // 50µs .. ~1.6s
		}, []string{"kind", "webhook"}),
		configValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eci_vnode_profile_config_valid",
			Help: "1 when the latest eci-profile ConfigMap is valid and in use, 0 when it is malformed and the last good version is kept.",
		}),
		configErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eci_vnode_profile_config_errors_total",
			Help: "Versions of the eci-profile ConfigMap that were malformed and not used.",
		}),
		selectors: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eci_vnode_profile_selectors",
			Help: "Selectors of the eci-profile in use.",
		}),
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eci_vnode_profile_mutations_total",
			Help: "Pods mutated by the eci-profile, by selector and policy.",
		}, []string{"selector", "policy"}),
		deletionCost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eci_vnode_pod_deletion_cost_patches_total",
			Help: "Patches of controller.kubernetes.io/pod-deletion-cost on pods running on VNodes, by result (patched, gone, error).",
		}, []string{"result"}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "eci_vnode_webhook_certificate_expiry_timestamp_seconds",
			Help: "When the webhook's certificates expire (cert: ca, serving), as a Unix time.",
		}, []string{"cert"}),
		certRotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eci_vnode_webhook_certificate_rotations_total",
			Help: "Certificates this process issued (cert: ca, serving), including the first ones.",
		}, []string{"cert"}),
		configApplies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eci_vnode_webhook_configuration_applies_total",
			Help: "Server-side applies of the webhook configurations, by result (ok, error).",
		}, []string{"result"}),
		placementDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eci_vnode_profile_placement_withheld_total",
			Help: "Pods matched by a fair or normalNodePrefer selector that were not given the VNode toleration because a VNode cannot run them.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.configValid, m.configErrors, m.selectors, m.mutations,
			m.deletionCost, m.certExpiry, m.certRotations, m.configApplies, m.placementDrops)
	}
	return m
}

// routeMetrics are the request counters and latency histogram of one route (kind and
// webhook), looked up once rather than by label on every request. A result's counter is
// created when the route first has that result, so /metrics lists only results seen.
type routeMetrics struct {
	requests      *prometheus.CounterVec
	kind, webhook string
	latency       prometheus.Observer
	results       sync.Map // result → prometheus.Counter
}

func (m *Metrics) route(kind, webhook string) *routeMetrics {
	return &routeMetrics{requests: m.requests, kind: kind, webhook: webhook, latency: m.latency.WithLabelValues(kind, webhook)}
}

func (r *routeMetrics) observe(result string, d time.Duration) {
	c, ok := r.results.Load(result)
	if !ok {
		c, _ = r.results.LoadOrStore(result, r.requests.WithLabelValues(r.kind, r.webhook, result))
	}
	c.(prometheus.Counter).Inc()
	r.latency.Observe(d.Seconds())
}
