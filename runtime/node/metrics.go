package node

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// Metrics are the runtime's Prometheus metrics. Names start with eci_vnode_.
type Metrics struct {
	creates       *prometheus.CounterVec   // result
	deletes       *prometheus.CounterVec   // result
	podsFailed    *prometheus.CounterVec   // reason
	podsRefused   prometheus.Counter       //
	orphans       prometheus.Counter       //
	polls         *prometheus.CounterVec   // kind, result
	pollDuration  *prometheus.HistogramVec // kind
	statusWrites  *prometheus.CounterVec   // result
	readBudget    *prometheus.GaugeVec     // action
	trackedPods   *prometheus.GaugeVec     // state
	timeToRunning prometheus.Histogram     //
	eciCalls      *prometheus.CounterVec   // action, result
	eciLatency    *prometheus.HistogramVec // action
	eciHealthy    prometheus.Gauge         //
	retags        *prometheus.CounterVec   // call, result
	throttles     *prometheus.CounterVec   // action
	podPhases     *prometheus.GaugeVec     // phase
	statusLag     prometheus.Histogram     //
	leader        prometheus.Gauge         //
	queues        *queueDepths             // queue
	// statsRefreshes counts reads of ECI's metrics for the kubelet's
	// resource endpoints (stats.go), by result.
	statsRefreshes *prometheus.CounterVec // result
	// kubeProxyTokenRefreshes counts replacements of the kube-proxy's
	// token in running instances (kubeproxytoken.go), by result.
	kubeProxyTokenRefreshes *prometheus.CounterVec // result
	// cost are the estimates of what ECI bills for the VNode (cost.go).
	cost *costMetrics
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		creates:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_instance_creates_total", Help: "CreateContainerGroup attempts by result (created, retry, failed)."}, []string{"result"}),
		deletes:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_instance_deletes_total", Help: "DeleteContainerGroup calls by result (deleted, gone, error)."}, []string{"result"}),
		podsFailed:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_pods_failed_total", Help: "Pods this runtime failed, by reason."}, []string{"reason"}),
		podsRefused:   prometheus.NewCounter(prometheus.CounterOpts{Name: "eci_vnode_pods_refused_total", Help: "Pods never sent to ECI because a VNode cannot run them (hostNetwork, hostPath, DaemonSet...)."}),
		orphans:       prometheus.NewCounter(prometheus.CounterOpts{Name: "eci_vnode_orphan_instances_deleted_total", Help: "Instances with this VNode's tags but no pod, deleted after the grace period."}),
		polls:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_status_polls_total", Help: "Status reads by kind (changes: DescribeContainerGroupStatus with SinceSecond; targeted: DescribeContainerGroups by ID; full: the complete listing) and result."}, []string{"kind", "result"}),
		pollDuration:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "eci_vnode_status_poll_duration_seconds", Help: "Duration of one status round by kind (changes, full).", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"kind"}),
		statusWrites:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_pod_status_writes_total", Help: "Pod status writes by result: written (a patch was sent) or unchanged (the live status already said it)."}, []string{"result"}),
		readBudget:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "eci_vnode_eci_read_budget_calls_per_minute", Help: "Calls per minute of each read action this runtime may make: --eci-read-share of the account's documented quota."}, []string{"action"}),
		trackedPods:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "eci_vnode_pods", Help: "Pods tracked by this VNode, by state."}, []string{"state"}),
		timeToRunning: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "eci_vnode_pod_time_to_running_seconds", Help: "From pod creation to the pod running on ECI.", Buckets: prometheus.ExponentialBuckets(0.5, 2, 12)}),
		eciCalls:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_eci_api_attempts_total", Help: "ECI API attempts by action and result code (ok or the error code)."}, []string{"action", "result"}),
		eciLatency:    prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "eci_vnode_eci_api_latency_seconds", Help: "ECI API attempt latency.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"action"}),
		eciHealthy:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "eci_vnode_eci_healthy", Help: "1 while the node condition ECIAPIReachable is True, else 0."}),
		retags:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_instance_retags_total", Help: "Running instances re-tagged to the VNode's tags, by call (tag: TagResources, untag: UntagResources) and result (ok, error)."}, []string{"call", "result"}),
		throttles:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_eci_throttles_total", Help: "ECI API attempts refused by ECI's flow control (error codes Throttling*), by action; each is retried with back-off."}, []string{"action"}),
		podPhases:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "eci_vnode_pods_by_phase", Help: "Pods tracked by this VNode, by the phase the runtime reports (Pending, Running, Succeeded, Failed, Unknown)."}, []string{"phase"}),
		statusLag:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "eci_vnode_pod_status_sync_lag_seconds", Help: "From the status round that saw an instance change to the pod's new status written to the API server.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		leader:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "eci_vnode_leader", Help: "1 while this replica runs the VNode (it holds the Lease, or leader election is off), 0 while it stands by."}),
		queues:        newQueueDepths(),
		cost:          newCostMetrics(),
	}
	m.statsRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_stats_refreshes_total",
		Help: "Reads of ECI's metrics (DescribeMultiContainerGroupMetric, all running instances) for /stats/summary and /metrics/resource, by result (ok, error)."}, []string{"result"})
	m.kubeProxyTokenRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_kube_proxy_token_refreshes_total",
		Help: "Replacements of the kube-proxy's token in running instances (UpdateContainerGroup of its config-file volume), by result (refreshed, error)."}, []string{"result"})
	// Re-tags are rare (a change of the VNode's tags), so their series are
	// created at zero: a dashboard or alert on them has data before the
	// first one, and an absent series does not read as a broken scrape.
	for _, call := range []string{"tag", "untag"} {
		for _, result := range []string{"ok", "error"} {
			m.retags.WithLabelValues(call, result)
		}
	}
	// The same for every label value known in advance: the actions of the
	// ECI interface, the pod states and phases. A rate() or an alert over
	// them then has a series from the first scrape.
	for _, action := range eciActions {
		m.throttles.WithLabelValues(action)
	}
	for _, s := range stateNames {
		m.trackedPods.WithLabelValues(s)
	}
	for _, ph := range podPhases {
		m.podPhases.WithLabelValues(string(ph))
	}
	for _, result := range []string{"ok", "error"} {
		m.statsRefreshes.WithLabelValues(result)
	}
	for _, result := range []string{"refreshed", "error"} {
		m.kubeProxyTokenRefreshes.WithLabelValues(result)
	}
	if reg != nil {
		reg.MustRegister(m.creates, m.deletes, m.podsFailed, m.podsRefused, m.orphans, m.polls, m.pollDuration,
			m.statusWrites, m.readBudget, m.trackedPods, m.timeToRunning, m.eciCalls, m.eciLatency, m.eciHealthy, m.retags,
			m.throttles, m.podPhases, m.statusLag, m.leader, m.queues, m.statsRefreshes,
			m.kubeProxyTokenRefreshes, m.cost)
	}
	return m
}

// ObserveAttempt makes Metrics an eci.Observer, so every ECI API attempt
// (including retries) is counted by action and result.
func (m *Metrics) ObserveAttempt(e eci.AttemptEvent) {
	result := "ok"
	if e.Err != nil {
		result = e.Class.String()
		var ae *eci.APIError
		if errors.As(e.Err, &ae) && ae.Code != "" {
			result = ae.Code
		}
	}
	m.eciCalls.WithLabelValues(e.Action, result).Inc()
	if e.Err != nil && e.Class == eci.ClassThrottled {
		m.throttles.WithLabelValues(e.Action).Inc()
	}
	m.eciLatency.WithLabelValues(e.Action).Observe(e.Duration.Seconds())
}

// eciActions are the ECI actions the runtime calls: one for each method of
// ECI (DescribeAll... pages through Describe...).
var eciActions = []string{
	"CreateContainerGroup", "DeleteContainerGroup", actionDescribeContainerGroups, actionDescribeContainerGroupStatus,
	"DescribeRegions", "TagResources", "UntagResources", "DescribeContainerLog", "ExecContainerCommand",
	actionDescribeMultiContainerGroupMetric, "UpdateContainerGroup",
	// The cost metrics' price lookups (cost.go), through RunOptions.Pricer.
	"DescribeContainerGroupPrice",
}

// podPhases are the phases eci_vnode_pods_by_phase counts.
var podPhases = []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown}

// queueDepths is eci_vnode_queue_depth{queue}: the items waiting in each
// work queue of the runtime, read at every scrape. The queues come and go
// with the node (a standby has none), so they are looked up by name when
// scraped; a queue without a source reads 0, so every series exists from
// the first scrape.
type queueDepths struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	src  map[string]func() int
}

// Queue names, as in eci_vnode_queue_depth{queue}: the runtime's own
// queues, then virtual-kubelet's pod controller's.
const (
	queueCreate          = "eci-create"
	queueStatus          = "eci-pod-status"
	queueVKSyncPods      = "vk-sync-pods-from-kubernetes"
	queueVKDeletePods    = "vk-delete-pods-from-kubernetes"
	queueVKSyncPodStatus = "vk-sync-pod-status-from-provider"
)

var queueNames = []string{queueCreate, queueStatus, queueVKSyncPods, queueVKDeletePods, queueVKSyncPodStatus}

func newQueueDepths() *queueDepths {
	return &queueDepths{
		desc: prometheus.NewDesc("eci_vnode_queue_depth",
			"Items waiting in a work queue of the runtime (not counting items being worked on), by queue: eci-create (instance creations), eci-pod-status (pod status writes) and virtual-kubelet's vk-sync-pods-from-kubernetes, vk-delete-pods-from-kubernetes, vk-sync-pod-status-from-provider.",
			[]string{"queue"}, nil),
		src: map[string]func() int{},
	}
}

// set makes depth the source of queue name's depth (nil: none).
func (q *queueDepths) set(name string, depth func() int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if depth == nil {
		delete(q.src, name)
		return
	}
	q.src[name] = depth
}

func (q *queueDepths) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

func (q *queueDepths) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	src := make(map[string]func() int, len(q.src))
	for k, v := range q.src {
		src[k] = v
	}
	q.mu.Unlock()
	for _, name := range queueNames {
		var n int
		if f := src[name]; f != nil {
			n = f()
		}
		ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(n), name)
	}
}
