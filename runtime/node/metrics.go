package node

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

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
	}
	// Re-tags are rare (a change of the VNode's tags), so their series are
	// created at zero: a dashboard or alert on them has data before the
	// first one, and an absent series does not read as a broken scrape.
	for _, call := range []string{"tag", "untag"} {
		for _, result := range []string{"ok", "error"} {
			m.retags.WithLabelValues(call, result)
		}
	}
	if reg != nil {
		reg.MustRegister(m.creates, m.deletes, m.podsFailed, m.podsRefused, m.orphans, m.polls, m.pollDuration,
			m.statusWrites, m.readBudget, m.trackedPods, m.timeToRunning, m.eciCalls, m.eciLatency, m.eciHealthy, m.retags)
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
	m.eciLatency.WithLabelValues(e.Action).Observe(e.Duration.Seconds())
}
