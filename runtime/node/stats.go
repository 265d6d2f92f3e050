package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// The kubelet's resource endpoints (/stats/summary, /metrics/resource) for
// the pods of this VNode, from ECI's own monitoring. They are what
// metrics-server scrapes, so `kubectl top pod` and the HorizontalPodAutoscaler
// work on VNode pods.
//
// Source. One DescribeMultiContainerGroupMetric call per 20 running
// instances gives the latest sample of each; nothing else is asked (no
// per-instance DescribeContainerGroupMetric fallback), so a scrape costs
// ceil(running/20) reads.
//
// Units. ECI's records carry the kubelet's own summary fields, with the
// same names and units: CPU UsageNanoCores (current usage, in 1e-9 cores)
// and UsageCoreNanoSeconds (CPU time since the instance started, in
// core-ns, a counter); memory in bytes (UsageBytes, WorkingSet, Rss, Cache,
// AvailableBytes); network counters since the start. They pass through
// unchanged: no percentage or per-interval figure needs converting. ECI's
// console shows CPU as a percentage of the instance's vCPUs, derived from
// these fields; the API's Load (a load average) and Limit (millicores) have
// no place in the kubelet's types and are dropped. See the field descriptions of
// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-describemulticontainergroupmetric
// and how the console derives its figures in
// https://www.alibabacloud.com/help/en/elastic-container-instance/latest/view-the-monitoring-metrics-of-an-elastic-container-instance.
//
// The node. A kubelet's node figures cover the whole machine; a VNode has
// no machine, so its CPU and memory are those of its pods. Its CPU time
// (node_cpu_usage_seconds_total) must never go down, or metrics-server
// would see a counter reset: it counts the CPU time of every instance this
// runtime has served since it started, including instances that have since
// stopped. Its start time is the runtime's.

const (
	// metricIDsPerCall is the most instance IDs DescribeMultiContainerGroupMetric
	// takes in ContainerGroupIds (see the API page above).
	metricIDsPerCall = 20
	// metricCallsAtOnce bounds the calls of one refresh that run together:
	// a VNode with 1000 pods needs 50, and one after the other they could
	// outlast metrics-server's 10 s scrape timeout.
	metricCallsAtOnce = 4
)

// statsCache holds ECI's latest answer for every scrape within
// Config.StatsCachePeriod and makes concurrent scrapes share one refresh.
type statsCache struct {
	mu       sync.Mutex
	started  time.Time      // the runtime's start, the node's StartTime; set once by NewProvider
	last     *statsSnapshot // the last good answer
	lastTry  time.Time      // when the last refresh ended, good or not
	lastErr  error          // why the last refresh failed; nil when it did not
	inflight chan struct{}  // closed when the refresh in flight ends

	// cpuSeen is the last CPU time (core-ns) of each instance in the
	// node's total; cpuRetired the CPU time of instances no longer running.
	cpuSeen    map[string]uint64
	cpuRetired uint64
}

// statsSnapshot is one refresh: the latest record of each instance that had
// one, and the node's totals.
type statsSnapshot struct {
	fetched time.Time
	records map[string]eci.MetricRecord // by instance ID
	node    nodeTotals
}

type nodeTotals struct {
	time                 time.Time // the newest sample's
	usageNanoCores       uint64
	usageCoreNanoSeconds uint64
	usageBytes           uint64
	workingSetBytes      uint64
	rssBytes             uint64
}

// statsPod is a running pod of this VNode as the stats need it.
type statsPod struct {
	instanceID string
	ref        statsv1alpha1.PodReference
	start      metav1.Time
	// containers are the pod's running containers (regular and sidecar)
	// with their start times; ECI's numbers for any other container are
	// left out, as a kubelet reports only the containers that run.
	containers map[string]metav1.Time
}

// runningForStats lists the pods whose instances run: a pod being created,
// deleted or refused has nothing to measure.
func (p *Provider) runningForStats() []statsPod {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]statsPod, 0, len(p.byUID))
	for _, t := range p.byUID {
		if t.state != stateCreated || t.instanceID == "" || t.pod.Status.Phase != corev1.PodRunning {
			continue
		}
		sp := statsPod{
			instanceID: t.instanceID,
			ref:        statsv1alpha1.PodReference{Name: t.pod.Name, Namespace: t.pod.Namespace, UID: string(t.pod.UID)},
			containers: map[string]metav1.Time{},
		}
		if st := t.pod.Status.StartTime; st != nil {
			sp.start = *st
		}
		for _, list := range [][]corev1.ContainerStatus{t.pod.Status.ContainerStatuses, t.pod.Status.InitContainerStatuses} {
			for _, cs := range list {
				if r := cs.State.Running; r != nil {
					sp.containers[cs.Name] = r.StartedAt
				}
			}
		}
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].ref, out[j].ref
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	return out
}

// currentStats returns ECI's metrics no older than StatsCachePeriod, making
// at most one refresh for any number of concurrent callers. stale says the
// answer is the last good one because the latest refresh failed.
//
// The refresh runs in the first caller's goroutine, under its ctx; the
// others wait for it. If that caller goes away mid-refresh, nothing is
// recorded and a waiting caller refreshes in its place.
func (p *Provider) currentStats(ctx context.Context) (snap *statsSnapshot, stale bool, err error) {
	c := &p.stats
	for {
		c.mu.Lock()
		if !c.lastTry.IsZero() && p.now().Sub(c.lastTry) < p.cfg.StatsCachePeriod {
			snap, stale, err = c.answerLocked(p.now(), p.cfg.StatsMaxStale)
			c.mu.Unlock()
			return snap, stale, err
		}
		if ch := c.inflight; ch != nil {
			c.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, false, fmt.Errorf("waiting for ECI's metrics: %w", ctx.Err())
			}
		}
		ch := make(chan struct{})
		c.inflight = ch
		c.mu.Unlock()

		pods := p.runningForStats()
		fresh, ferr := p.fetchStats(ctx, pods)

		c.mu.Lock()
		c.inflight = nil
		close(ch)
		if ferr != nil && ctx.Err() != nil {
			// The caller left; ECI did not fail. Record nothing.
			c.mu.Unlock()
			return nil, false, fmt.Errorf("reading ECI's metrics: %w", ferr)
		}
		c.lastTry, c.lastErr = p.now(), ferr
		if ferr == nil {
			c.accountLocked(fresh, pods)
			c.last = fresh
			p.metrics.statsRefreshes.WithLabelValues("ok").Inc()
		} else {
			p.metrics.statsRefreshes.WithLabelValues("error").Inc()
			if c.last != nil {
				p.log.Warn("reading ECI's metrics failed; /stats/summary and /metrics/resource serve the last good answer while it is recent",
					"fetched", c.last.fetched, "maxStale", p.cfg.StatsMaxStale, "err", oneLine(ferr))
			} else {
				p.log.Warn("reading ECI's metrics failed; /stats/summary and /metrics/resource answer with the error", "err", oneLine(ferr))
			}
		}
		snap, stale, err = c.answerLocked(p.now(), p.cfg.StatsMaxStale)
		c.mu.Unlock()
		return snap, stale, err
	}
}

// answerLocked is what a scrape gets now: the last refresh, or after a
// failed one the last good answer while it is at most maxStale old, or the
// error.
func (c *statsCache) answerLocked(now time.Time, maxStale time.Duration) (*statsSnapshot, bool, error) {
	if c.lastErr == nil {
		return c.last, false, nil
	}
	if c.last != nil && now.Sub(c.last.fetched) <= maxStale {
		return c.last, true, nil
	}
	if c.last != nil {
		return nil, false, fmt.Errorf("%w (the last good answer, from %s, is older than %s)",
			c.lastErr, c.last.fetched.UTC().Format(time.RFC3339), maxStale)
	}
	return nil, false, c.lastErr
}

// fetchStats reads the latest sample of every running instance,
// metricIDsPerCall IDs a call, a few calls at a time. Any failed call fails
// the refresh, so an answer never mixes fresh and missing pods.
func (p *Provider) fetchStats(ctx context.Context, pods []statsPod) (*statsSnapshot, error) {
	snap := &statsSnapshot{records: map[string]eci.MetricRecord{}}
	var batches [][]string
	for i := 0; i < len(pods); i += metricIDsPerCall {
		ids := make([]string, 0, metricIDsPerCall)
		for _, sp := range pods[i:min(i+metricIDsPerCall, len(pods))] {
			ids = append(ids, sp.instanceID)
		}
		batches = append(batches, ids)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, metricCallsAtOnce)
	)
	for _, ids := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := p.eci.DescribeMultiContainerGroupMetric(ctx, &eci.DescribeMultiContainerGroupMetricRequest{
				ContainerGroupIDs: ids, MetricType: "summary",
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("DescribeMultiContainerGroupMetric for %d instances (%s...): %w", len(ids), ids[0], err))
				return
			}
			for _, md := range resp.MonitorDatas {
				if rec, ok := latestRecord(md.Records); ok {
					snap.records[md.ContainerGroupID] = rec
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("reading the metrics of %d running instances from ECI: %w", len(pods), errors.Join(errs...))
	}
	snap.fetched = p.now()
	return snap, nil
}

// latestRecord picks the newest sample. The API documents one record per
// instance; taking the newest keeps the answer right should it send more.
// An instance without a parseable record has no metric yet.
func latestRecord(recs []eci.MetricRecord) (eci.MetricRecord, bool) {
	var best eci.MetricRecord
	var bestAt time.Time
	for _, r := range recs {
		at, err := time.Parse(time.RFC3339, r.Timestamp)
		if err != nil || len(r.Containers) == 0 {
			continue
		}
		if bestAt.IsZero() || at.After(bestAt) {
			best, bestAt = r, at
		}
	}
	return best, !bestAt.IsZero()
}

// accountLocked computes the node's totals of a good refresh. The node's
// CPU time is the sum of the last CPU time seen of every instance still
// running plus that of every instance that ran before, so it only grows: an
// instance that stops leaves its CPU time in cpuRetired, and one whose
// counter went back (ECI restarted it) has its old total retired first.
// An instance running but without a sample this time keeps its last one.
func (c *statsCache) accountLocked(snap *statsSnapshot, pods []statsPod) {
	if c.cpuSeen == nil {
		c.cpuSeen = map[string]uint64{}
	}
	running := make(map[string]bool, len(pods))
	for _, sp := range pods {
		running[sp.instanceID] = true
	}
	for id, v := range c.cpuSeen {
		if !running[id] {
			c.cpuRetired += v
			delete(c.cpuSeen, id)
		}
	}
	n := &snap.node
	for id, rec := range snap.records {
		cum := nonNegative(rec.CPU.UsageCoreNanoSeconds)
		if old, ok := c.cpuSeen[id]; ok && cum < old {
			c.cpuRetired += old
		}
		c.cpuSeen[id] = cum
		n.usageNanoCores += nonNegative(rec.CPU.UsageNanoCores)
		n.usageBytes += nonNegative(rec.Memory.UsageBytes)
		n.workingSetBytes += nonNegative(rec.Memory.WorkingSet)
		n.rssBytes += nonNegative(rec.Memory.Rss)
		if at := recordTime(rec); at.After(n.time) {
			n.time = at
		}
	}
	n.usageCoreNanoSeconds = c.cpuRetired
	for _, v := range c.cpuSeen {
		n.usageCoreNanoSeconds += v
	}
	if n.time.IsZero() {
		n.time = snap.fetched
	}
}

func recordTime(r eci.MetricRecord) time.Time {
	at, _ := time.Parse(time.RFC3339, r.Timestamp) // checked by latestRecord
	return at
}

func nonNegative(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

func u64(v int64) *uint64 {
	u := nonNegative(v)
	return &u
}

// GetStatsSummary serves the kubelet's /stats/summary for this VNode: the
// node, and every running pod that has a sample in ECI. Pods without one
// (just started: ECI samples every 15 s) are left out rather than shown
// as zeros, which metrics-server would take for real usage.
func (p *Provider) GetStatsSummary(ctx context.Context) (*statsv1alpha1.Summary, error) {
	snap, _, err := p.currentStats(ctx)
	if err != nil {
		return nil, err
	}
	return p.summary(snap), nil
}

// summary builds the answer from a snapshot and the pods running now: a
// pod that stopped since the refresh is left out at once.
func (p *Provider) summary(snap *statsSnapshot) *statsv1alpha1.Summary {
	pods := p.runningForStats()
	out := &statsv1alpha1.Summary{Node: p.nodeStats(snap), Pods: make([]statsv1alpha1.PodStats, 0, len(pods))}
	for _, sp := range pods {
		if ps, ok := podStats(sp, snap.records[sp.instanceID]); ok {
			out.Pods = append(out.Pods, ps)
		}
	}
	return out
}

func (p *Provider) nodeStats(snap *statsSnapshot) statsv1alpha1.NodeStats {
	n := snap.node
	at := metav1.NewTime(n.time)
	return statsv1alpha1.NodeStats{
		NodeName:  p.cfg.NodeName,
		StartTime: metav1.NewTime(p.stats.started),
		CPU:       &statsv1alpha1.CPUStats{Time: at, UsageNanoCores: &n.usageNanoCores, UsageCoreNanoSeconds: &n.usageCoreNanoSeconds},
		Memory: &statsv1alpha1.MemoryStats{Time: at, UsageBytes: &n.usageBytes, WorkingSetBytes: &n.workingSetBytes,
			RSSBytes: &n.rssBytes},
	}
}

// podStats maps one instance's record to the kubelet's PodStats; false when
// it has nothing for the pod's running containers.
func podStats(sp statsPod, rec eci.MetricRecord) (statsv1alpha1.PodStats, bool) {
	at := recordTime(rec)
	if at.IsZero() {
		return statsv1alpha1.PodStats{}, false
	}
	t := metav1.NewTime(at)
	ps := statsv1alpha1.PodStats{PodRef: sp.ref, StartTime: sp.start, CPU: cpuStats(t, rec.CPU), Memory: memoryStats(t, rec.Memory)}
	for _, cm := range rec.Containers {
		started, ok := sp.containers[cm.Name]
		if !ok {
			continue
		}
		ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{
			Name: cm.Name, StartTime: started, CPU: cpuStats(t, cm.CPU), Memory: memoryStats(t, cm.Memory),
		})
	}
	if len(ps.Containers) == 0 {
		return statsv1alpha1.PodStats{}, false
	}
	sort.Slice(ps.Containers, func(i, j int) bool { return ps.Containers[i].Name < ps.Containers[j].Name })
	if ifs := rec.Network.Interfaces; len(ifs) > 0 {
		ns := &statsv1alpha1.NetworkStats{Time: t}
		for _, i := range ifs {
			ns.Interfaces = append(ns.Interfaces, statsv1alpha1.InterfaceStats{Name: i.Name,
				RxBytes: u64(i.RxBytes), RxErrors: u64(i.RxErrors), TxBytes: u64(i.TxBytes), TxErrors: u64(i.TxErrors)})
		}
		// The kubelet repeats the default interface (eth0) at the top
		// level; a pod has no other default.
		ns.InterfaceStats = ns.Interfaces[0]
		for _, i := range ns.Interfaces {
			if i.Name == "eth0" {
				ns.InterfaceStats = i
			}
		}
		ps.Network = ns
	}
	return ps, true
}

func cpuStats(t metav1.Time, c eci.CPUStats) *statsv1alpha1.CPUStats {
	return &statsv1alpha1.CPUStats{Time: t, UsageNanoCores: u64(c.UsageNanoCores), UsageCoreNanoSeconds: u64(c.UsageCoreNanoSeconds)}
}

// memoryStats maps ECI's memory sample. ECI gives no page-fault counts.
func memoryStats(t metav1.Time, m eci.MemoryStats) *statsv1alpha1.MemoryStats {
	return &statsv1alpha1.MemoryStats{Time: t, AvailableBytes: u64(m.AvailableBytes), UsageBytes: u64(m.UsageBytes),
		WorkingSetBytes: u64(m.WorkingSet), RSSBytes: u64(m.Rss)}
}

// GetMetricsResource serves the kubelet's /metrics/resource: the families,
// help texts, types and labels of the kubelet's resource metrics collector,
// each sample stamped with the time of ECI's sample, as the kubelet stamps
// its own. metrics-server reads these by name.
//
// resource_scrape_error (and scrape_error, the name before Kubernetes 1.29)
// is 1 while the answer is the last good one because the latest refresh
// failed. With no recent answer at all the scrape fails with the error,
// which metrics-server logs, rather than returning an empty page.
func (p *Provider) GetMetricsResource(ctx context.Context) ([]*dto.MetricFamily, error) {
	snap, stale, err := p.currentStats(ctx)
	if err != nil {
		return nil, err
	}
	return resourceMetrics(p.summary(snap), stale, snap.node.time), nil
}

// Family names and help texts as the kubelet's resource metrics collector
// serves them (Kubernetes docs, "Resource metrics pipeline").
var (
	famNodeCPU      = family("node_cpu_usage_seconds_total", "Cumulative cpu time consumed by the node in core-seconds", dto.MetricType_COUNTER)
	famNodeMemory   = family("node_memory_working_set_bytes", "Current working set of the node in bytes", dto.MetricType_GAUGE)
	famPodCPU       = family("pod_cpu_usage_seconds_total", "Cumulative cpu time consumed by the pod in core-seconds", dto.MetricType_COUNTER)
	famPodMemory    = family("pod_memory_working_set_bytes", "Current working set of the pod in bytes", dto.MetricType_GAUGE)
	famCtrCPU       = family("container_cpu_usage_seconds_total", "Cumulative cpu time consumed by the container in core-seconds", dto.MetricType_COUNTER)
	famCtrMemory    = family("container_memory_working_set_bytes", "Current working set of the container in bytes", dto.MetricType_GAUGE)
	famCtrStart     = family("container_start_time_seconds", "Start time of the container since unix epoch in seconds", dto.MetricType_GAUGE)
	famScrapeError  = family("resource_scrape_error", "1 if there was an error while getting container metrics, 0 otherwise", dto.MetricType_GAUGE)
	famScrapeError0 = family("scrape_error", "1 if there was an error while getting container metrics, 0 otherwise", dto.MetricType_GAUGE)
)

type familySpec struct {
	name, help string
	typ        dto.MetricType
}

func family(name, help string, typ dto.MetricType) familySpec {
	return familySpec{name: name, help: help, typ: typ}
}

// resourceMetrics turns a summary into the kubelet's resource metric
// families. Families without samples are left out, as the kubelet's
// registry does.
func resourceMetrics(s *statsv1alpha1.Summary, stale bool, nodeTime time.Time) []*dto.MetricFamily {
	fams := map[string]*dto.MetricFamily{}
	var order []string
	add := func(f familySpec, value float64, at time.Time, labels ...string) {
		mf, ok := fams[f.name]
		if !ok {
			mf = &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: f.typ.Enum()}
			fams[f.name] = mf
			order = append(order, f.name)
		}
		m := &dto.Metric{}
		for i := 0; i+1 < len(labels); i += 2 {
			m.Label = append(m.Label, &dto.LabelPair{Name: &labels[i], Value: &labels[i+1]})
		}
		if !at.IsZero() {
			ms := at.UnixMilli()
			m.TimestampMs = &ms
		}
		if f.typ == dto.MetricType_COUNTER {
			m.Counter = &dto.Counter{Value: &value}
		} else {
			m.Gauge = &dto.Gauge{Value: &value}
		}
		mf.Metric = append(mf.Metric, m)
	}

	if c := s.Node.CPU; c != nil && c.UsageCoreNanoSeconds != nil {
		add(famNodeCPU, float64(*c.UsageCoreNanoSeconds)/1e9, nodeTime)
	}
	if m := s.Node.Memory; m != nil && m.WorkingSetBytes != nil {
		add(famNodeMemory, float64(*m.WorkingSetBytes), nodeTime)
	}
	// Label order: the text format does not care, but virtual-kubelet's
	// e2e suite reads the pod name as the second label of both the pod and
	// the container families, so pod families go (namespace, pod) as the
	// kubelet prints them, and container families (container, pod,
	// namespace) as the kubelet declares them.
	for _, ps := range s.Pods {
		ns, pod := ps.PodRef.Namespace, ps.PodRef.Name
		for _, cs := range ps.Containers {
			if c := cs.CPU; c != nil && c.UsageCoreNanoSeconds != nil {
				add(famCtrCPU, float64(*c.UsageCoreNanoSeconds)/1e9, c.Time.Time, "container", cs.Name, "pod", pod, "namespace", ns)
			}
			if m := cs.Memory; m != nil && m.WorkingSetBytes != nil {
				add(famCtrMemory, float64(*m.WorkingSetBytes), m.Time.Time, "container", cs.Name, "pod", pod, "namespace", ns)
			}
			if !cs.StartTime.IsZero() {
				add(famCtrStart, float64(cs.StartTime.UnixNano())/1e9, cs.StartTime.Time, "container", cs.Name, "pod", pod, "namespace", ns)
			}
		}
		if c := ps.CPU; c != nil && c.UsageCoreNanoSeconds != nil {
			add(famPodCPU, float64(*c.UsageCoreNanoSeconds)/1e9, c.Time.Time, "namespace", ns, "pod", pod)
		}
		if m := ps.Memory; m != nil && m.WorkingSetBytes != nil {
			add(famPodMemory, float64(*m.WorkingSetBytes), m.Time.Time, "namespace", ns, "pod", pod)
		}
	}
	scrapeErr := 0.0
	if stale {
		scrapeErr = 1
	}
	add(famScrapeError, scrapeErr, time.Time{})
	add(famScrapeError0, scrapeErr, time.Time{})

	out := make([]*dto.MetricFamily, 0, len(order))
	for _, name := range order {
		out = append(out, fams[name])
	}
	return out
}
