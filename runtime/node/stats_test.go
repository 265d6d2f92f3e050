package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// These tests read the stats through the real ECI client from the emulator,
// whose metrics are deterministic functions of each instance's spec, its
// start and the emulator's clock. The emulator's clock is fake and starts
// 7 s after one of ECI's 15 s sampling instants, so an instance that starts
// runs without a sample until the test advances the clock by 15 s.

const metricAction = "DescribeMultiContainerGroupMetric"

func newStatsRig(t *testing.T, images map[string]emulator.ImageBehaviour, mutate func(*Config)) (*rig, *emulator.FakeClock) {
	t.Helper()
	clock := emulator.NewFakeClock(time.Now().Add(-time.Minute).Truncate(15 * time.Second).Add(7 * time.Second))
	return newRig(t, emulator.Config{Clock: clock, Images: images}, mutate), clock
}

// statsTestPod is a small pod with the named containers.
func statsTestPod(name string, containers ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), CreationTimestamp: metav1.Now()},
		Spec:       corev1.PodSpec{NodeName: "vnode-u"},
	}
	for _, c := range containers {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: "nginx:1.27",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("512Mi")}}})
	}
	return pod
}

func (r *rig) instanceOf(pod *corev1.Pod) string {
	r.t.Helper()
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	t, ok := r.p.byUID[pod.UID]
	if !ok || t.instanceID == "" {
		r.t.Fatalf("pod %s has no instance", pod.Name)
	}
	return t.instanceID
}

func (r *rig) metricCalls() int { return r.emu.Calls()[metricAction].Count }

func findPodStats(s *statsv1alpha1.Summary, name string) *statsv1alpha1.PodStats {
	for i := range s.Pods {
		if s.Pods[i].PodRef.Name == name {
			return &s.Pods[i]
		}
	}
	return nil
}

func podNames(s *statsv1alpha1.Summary) []string {
	var out []string
	for _, ps := range s.Pods {
		out = append(out, ps.PodRef.Namespace+"/"+ps.PodRef.Name)
	}
	return out
}

func eqU64(t *testing.T, what string, got *uint64, want int64) {
	t.Helper()
	if want <= 0 {
		t.Fatalf("%s: ECI's own figure is %d; the test needs a positive one to tell a mapping from a zero", what, want)
	}
	if got == nil || *got != uint64(want) {
		t.Fatalf("%s = %v, want ECI's %d", what, deref(got), want)
	}
}

func deref(p *uint64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestStatsSummaryMapsECIMetricsOfRunningPodsAndLeavesOutTheRest(t *testing.T) {
	r, clock := newStatsRig(t, map[string]emulator.ImageBehaviour{"batch-job": {RunFor: 10 * time.Second}},
		func(c *Config) { c.StatsCachePeriod = 30 * time.Millisecond })
	busy := statsTestPod("busy", "app", "sidecar")
	job := statsTestPod("job", "work")
	job.Spec.Containers[0].Image = "batch-job:1"
	job.Spec.RestartPolicy = corev1.RestartPolicyNever
	refused := statsTestPod("host-net", "app")
	refused.Spec.HostNetwork = true
	for _, p := range []*corev1.Pod{busy, job, refused} {
		r.create(p)
	}
	r.waitFor(busy, "running", running)
	r.waitFor(job, "running", running)
	ctx := context.Background()

	// Running, but ECI has no sample yet: left out, not shown as zeros.
	s, err := r.p.GetStatsSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 0 {
		t.Fatalf("pods without an ECI sample were reported: %v", podNames(s))
	}
	if s.Node.NodeName != "vnode-u" || s.Node.StartTime.IsZero() {
		t.Fatalf("node section %+v: want the VNode's name and the runtime's start", s.Node)
	}

	// The next sampling instant: ECI has a record of both instances, but
	// the job's ended before the clock got there.
	clock.Advance(15 * time.Second)
	r.waitFor(job, "succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	time.Sleep(40 * time.Millisecond) // past the cache period
	r.emu.ResetCalls()
	s, err = r.p.GetStatsSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := r.metricCalls(); n != 1 {
		t.Fatalf("%d %s calls for one scrape of one running instance, want 1", n, metricAction)
	}
	if got := podNames(s); !slices.Equal(got, []string{"default/busy"}) {
		t.Fatalf("pods %v, want only default/busy: the job's instance has stopped, host-net has none", got)
	}

	// The same records, straight from ECI at the same (frozen) instant.
	direct, err := r.client.DescribeMultiContainerGroupMetric(ctx, &eci.DescribeMultiContainerGroupMetricRequest{
		ContainerGroupIDs: []string{r.instanceOf(busy), r.instanceOf(job)}, MetricType: "summary"})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]eci.MetricRecord{}
	for _, md := range direct.MonitorDatas {
		if len(md.Records) == 1 {
			byID[md.ContainerGroupID] = md.Records[0]
		}
	}
	if _, ok := byID[r.instanceOf(job)]; !ok {
		t.Fatal("ECI has no record of the stopped job's instance; this test needs one to show it is left out")
	}
	rec, ok := byID[r.instanceOf(busy)]
	if !ok {
		t.Fatalf("ECI has no record of busy's instance: %+v", direct.MonitorDatas)
	}
	at, _ := time.Parse(time.RFC3339, rec.Timestamp)

	live, err := r.kube.CoreV1().Pods("default").Get(ctx, "busy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := findPodStats(s, "busy")
	if ps.PodRef != (statsv1alpha1.PodReference{Name: "busy", Namespace: "default", UID: "uid-busy"}) {
		t.Fatalf("PodRef %+v", ps.PodRef)
	}
	if live.Status.StartTime == nil || !ps.StartTime.Equal(live.Status.StartTime) {
		t.Fatalf("pod StartTime %v, want the pod's status.startTime %v", ps.StartTime, live.Status.StartTime)
	}
	if !ps.CPU.Time.Time.Equal(at) || !ps.Memory.Time.Time.Equal(at) {
		t.Fatalf("pod sample times %v/%v, want ECI's %v", ps.CPU.Time, ps.Memory.Time, at)
	}
	eqU64(t, "pod CPU UsageNanoCores", ps.CPU.UsageNanoCores, rec.CPU.UsageNanoCores)
	eqU64(t, "pod CPU UsageCoreNanoSeconds", ps.CPU.UsageCoreNanoSeconds, rec.CPU.UsageCoreNanoSeconds)
	eqU64(t, "pod memory UsageBytes", ps.Memory.UsageBytes, rec.Memory.UsageBytes)
	eqU64(t, "pod memory WorkingSetBytes", ps.Memory.WorkingSetBytes, rec.Memory.WorkingSet)
	eqU64(t, "pod memory RSSBytes", ps.Memory.RSSBytes, rec.Memory.Rss)
	eqU64(t, "pod memory AvailableBytes", ps.Memory.AvailableBytes, rec.Memory.AvailableBytes)
	if ps.Network == nil || len(ps.Network.Interfaces) != len(rec.Network.Interfaces) || ps.Network.Name != "eth0" {
		t.Fatalf("network %+v, want ECI's interfaces %+v with eth0 as the default", ps.Network, rec.Network.Interfaces)
	}
	eqU64(t, "eth0 RxBytes", ps.Network.RxBytes, rec.Network.Interfaces[0].RxBytes)
	eqU64(t, "eth0 TxBytes", ps.Network.TxBytes, rec.Network.Interfaces[0].TxBytes)

	if len(ps.Containers) != 2 {
		t.Fatalf("%d containers, want app and sidecar", len(ps.Containers))
	}
	started := map[string]metav1.Time{}
	for _, cs := range live.Status.ContainerStatuses {
		if cs.State.Running != nil {
			started[cs.Name] = cs.State.Running.StartedAt
		}
	}
	for _, cm := range rec.Containers {
		var cs *statsv1alpha1.ContainerStats
		for i := range ps.Containers {
			if ps.Containers[i].Name == cm.Name {
				cs = &ps.Containers[i]
			}
		}
		if cs == nil {
			t.Fatalf("container %s of ECI's record is missing", cm.Name)
		}
		if want, ok := started[cm.Name]; !ok || !cs.StartTime.Equal(&want) {
			t.Fatalf("container %s StartTime %v, want its running startedAt %v", cm.Name, cs.StartTime, want)
		}
		if !cs.CPU.Time.Time.Equal(at) {
			t.Fatalf("container %s CPU time %v, want %v", cm.Name, cs.CPU.Time, at)
		}
		eqU64(t, cm.Name+" CPU UsageNanoCores", cs.CPU.UsageNanoCores, cm.CPU.UsageNanoCores)
		eqU64(t, cm.Name+" CPU UsageCoreNanoSeconds", cs.CPU.UsageCoreNanoSeconds, cm.CPU.UsageCoreNanoSeconds)
		eqU64(t, cm.Name+" memory WorkingSetBytes", cs.Memory.WorkingSetBytes, cm.Memory.WorkingSet)
		eqU64(t, cm.Name+" memory UsageBytes", cs.Memory.UsageBytes, cm.Memory.UsageBytes)
		eqU64(t, cm.Name+" memory RSSBytes", cs.Memory.RSSBytes, cm.Memory.Rss)
	}

	// The node is the sum of its one measured pod.
	eqU64(t, "node CPU UsageNanoCores", s.Node.CPU.UsageNanoCores, rec.CPU.UsageNanoCores)
	eqU64(t, "node CPU UsageCoreNanoSeconds", s.Node.CPU.UsageCoreNanoSeconds, rec.CPU.UsageCoreNanoSeconds)
	eqU64(t, "node memory WorkingSetBytes", s.Node.Memory.WorkingSetBytes, rec.Memory.WorkingSet)
	if !s.Node.CPU.Time.Time.Equal(at) {
		t.Fatalf("node sample time %v, want ECI's %v", s.Node.CPU.Time, at)
	}
}

func TestStatsNodeCPUTimeKeepsThatOfDeletedPods(t *testing.T) {
	r, clock := newStatsRig(t, nil, func(c *Config) { c.StatsCachePeriod = 30 * time.Millisecond })
	stay, leave := statsTestPod("stay", "app"), statsTestPod("leave", "app")
	for _, p := range []*corev1.Pod{stay, leave} {
		r.create(p)
		r.waitFor(p, "running", running)
	}
	clock.Advance(15 * time.Second)
	ctx := context.Background()
	before, err := r.p.GetStatsSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Pods) != 2 {
		t.Fatalf("pods %v, want both", podNames(before))
	}
	left := *findPodStats(before, "leave").CPU.UsageCoreNanoSeconds

	del := leave.DeepCopy()
	now := metav1.Now()
	del.DeletionTimestamp = &now
	if err := r.p.DeletePod(ctx, del); err != nil {
		t.Fatal(err)
	}
	clock.Advance(15 * time.Second)
	time.Sleep(40 * time.Millisecond) // past the cache period
	after, err := r.p.GetStatsSummary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := podNames(after); !slices.Equal(got, []string{"default/stay"}) {
		t.Fatalf("pods %v after the delete, want only default/stay", got)
	}
	stayed := *findPodStats(after, "stay").CPU.UsageCoreNanoSeconds
	if got, want := *after.Node.CPU.UsageCoreNanoSeconds, stayed+left; got != want {
		t.Fatalf("node CPU time %d, want stay's %d plus the deleted pod's last %d", got, stayed, left)
	}
	if *after.Node.CPU.UsageCoreNanoSeconds < *before.Node.CPU.UsageCoreNanoSeconds {
		t.Fatal("the node's CPU time went down")
	}
	if got, want := *after.Node.CPU.UsageNanoCores, *findPodStats(after, "stay").CPU.UsageNanoCores; got != want {
		t.Fatalf("node CPU rate %d, want only the running pod's %d", got, want)
	}
}

func TestStatsConcurrentScrapesMakeOneECICall(t *testing.T) {
	r, clock := newStatsRig(t, nil, nil) // the default cache period
	pods := []*corev1.Pod{statsTestPod("a", "app"), statsTestPod("b", "app"), statsTestPod("c", "app", "log")}
	for _, p := range pods {
		r.create(p)
	}
	for _, p := range pods {
		r.waitFor(p, "running", running)
	}
	clock.Advance(15 * time.Second)
	// A slow ECI, so every scrape arrives while the first one's call is
	// still out.
	r.emu.SetFault(metricAction, emulator.Fault{Latency: 300 * time.Millisecond})
	r.emu.ResetCalls()

	const scrapes = 16
	var wg sync.WaitGroup
	errs := make(chan error, scrapes)
	for i := range scrapes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				s, err := r.p.GetStatsSummary(context.Background())
				if err == nil && len(s.Pods) != len(pods) {
					err = fmt.Errorf("summary has pods %v, want all %d", podNames(s), len(pods))
				}
				errs <- err
				return
			}
			fams, err := r.p.GetMetricsResource(context.Background())
			if err == nil && len(familyByName(fams, "pod_cpu_usage_seconds_total").GetMetric()) != len(pods) {
				err = fmt.Errorf("pod_cpu_usage_seconds_total has %d series, want %d", len(familyByName(fams, "pod_cpu_usage_seconds_total").GetMetric()), len(pods))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := r.metricCalls(); n != 1 {
		t.Fatalf("%d concurrent scrapes made %d %s calls, want 1", scrapes, n, metricAction)
	}
	// Within the cache period a later scrape is served from the cache too.
	if _, err := r.p.GetStatsSummary(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := r.metricCalls(); n != 1 {
		t.Fatalf("a scrape within the cache period made a call (%d in all)", n)
	}
}

func TestStatsBatchTwentyInstancesACall(t *testing.T) {
	r, clock := newStatsRig(t, nil, nil)
	const n = 45
	var pods []*corev1.Pod
	for i := range n {
		p := statsTestPod(fmt.Sprintf("web-%02d", i), "app")
		pods = append(pods, p)
		r.create(p)
	}
	for _, p := range pods {
		r.waitFor(p, "running", running)
	}
	clock.Advance(15 * time.Second)
	r.emu.ResetCalls()
	s, err := r.p.GetStatsSummary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != n {
		t.Fatalf("%d pods in the summary, want %d", len(s.Pods), n)
	}
	calls := r.emu.Calls()[metricAction]
	if calls.Count != 3 || calls.ByCode["Success"] != 3 {
		t.Fatalf("%s calls %+v for %d instances, want 3 successful ones (at most 20 IDs a call)", metricAction, calls, n)
	}
}

func TestStatsServeTheLastGoodAnswerWhileRecentThenTheError(t *testing.T) {
	r, clock := newStatsRig(t, nil, func(c *Config) {
		c.StatsCachePeriod = 50 * time.Millisecond
		c.StatsMaxStale = 600 * time.Millisecond
	})
	pod := statsTestPod("steady", "app")
	r.create(pod)
	r.waitFor(pod, "running", running)
	clock.Advance(15 * time.Second)
	ctx := context.Background()
	fams, err := r.p.GetMetricsResource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v := gaugeValue(t, fams, "resource_scrape_error"); v != 0 {
		t.Fatalf("resource_scrape_error %v after a good read", v)
	}

	r.emu.SetFault(metricAction, emulator.Fault{ErrorRate: 1, Code: "ServiceUnavailable", HTTPStatus: 503, Message: "The service is unavailable."})
	time.Sleep(60 * time.Millisecond)
	r.emu.ResetCalls()
	fams, err = r.p.GetMetricsResource(ctx)
	if err != nil {
		t.Fatalf("a failed refresh with a recent good answer must serve it: %v", err)
	}
	if v := gaugeValue(t, fams, "resource_scrape_error"); v != 1 {
		t.Fatalf("resource_scrape_error %v while serving the last good answer, want 1", v)
	}
	if v := gaugeValue(t, fams, "scrape_error"); v != 1 {
		t.Fatalf("scrape_error %v while serving the last good answer, want 1", v)
	}
	if got := len(familyByName(fams, "pod_cpu_usage_seconds_total").GetMetric()); got != 1 {
		t.Fatalf("%d pod series in the last good answer, want 1", got)
	}
	// A failure is remembered for the cache period like an answer: scrapes
	// in it do not call a failing ECI again.
	if _, err := r.p.GetStatsSummary(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.metricCalls(); n != 1 {
		t.Fatalf("%d calls within one cache period of a failure, want 1", n)
	}

	time.Sleep(650 * time.Millisecond) // past StatsMaxStale
	_, err = r.p.GetStatsSummary(ctx)
	if err == nil || !strings.Contains(err.Error(), metricAction) || !strings.Contains(err.Error(), "ServiceUnavailable") {
		t.Fatalf("error %v: want one naming the call and ECI's error once the last answer is too old", err)
	}
	if _, err := r.p.GetMetricsResource(ctx); err == nil {
		t.Fatal("/metrics/resource served an answer older than StatsMaxStale")
	}

	r.emu.ClearFaults()
	time.Sleep(60 * time.Millisecond)
	fams, err = r.p.GetMetricsResource(ctx)
	if err != nil {
		t.Fatalf("after ECI recovered: %v", err)
	}
	if v := gaugeValue(t, fams, "resource_scrape_error"); v != 0 {
		t.Fatalf("resource_scrape_error %v after ECI recovered", v)
	}
}

// kubeletFamilies are the families the kubelet serves on /metrics/resource
// that a VNode can fill (no swap: ECI reports none).
var kubeletFamilies = []string{
	"container_cpu_usage_seconds_total", "container_memory_working_set_bytes", "container_start_time_seconds",
	"node_cpu_usage_seconds_total", "node_memory_working_set_bytes",
	"pod_cpu_usage_seconds_total", "pod_memory_working_set_bytes",
	"resource_scrape_error", "scrape_error",
}

func TestStatsThroughVirtualKubeletsHTTPHandlers(t *testing.T) {
	r, clock := newStatsRig(t, nil, nil)
	pod := statsTestPod("served", "app", "proxy")
	r.create(pod)
	r.waitFor(pod, "running", running)
	clock.Advance(15 * time.Second)

	// The handlers the runtime serves on the kubelet port (/pods, which
	// needs the pod lister, is not asked for here).
	srv := httptest.NewServer(kubeletAPIHandler(r.p, nil))
	t.Cleanup(srv.Close)
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return resp
	}

	var summary statsv1alpha1.Summary
	if err := json.NewDecoder(get("/stats/summary").Body).Decode(&summary); err != nil {
		t.Fatalf("decoding /stats/summary: %v", err)
	}
	ps := findPodStats(&summary, "served")
	if ps == nil || len(ps.Containers) != 2 || summary.Node.NodeName != "vnode-u" {
		t.Fatalf("/stats/summary: node %q pods %v", summary.Node.NodeName, podNames(&summary))
	}

	resp := get("/metrics/resource")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the Prometheus text format", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics/resource does not parse as Prometheus text: %v", err)
	}
	var names []string
	for name := range fams {
		names = append(names, name)
	}
	slices.Sort(names)
	if !slices.Equal(names, kubeletFamilies) {
		t.Fatalf("families %v, want the kubelet's %v", names, kubeletFamilies)
	}
	for _, name := range []string{"container_cpu_usage_seconds_total", "node_cpu_usage_seconds_total", "pod_cpu_usage_seconds_total"} {
		if fams[name].GetType() != dto.MetricType_COUNTER {
			t.Fatalf("%s is a %s, want a counter", name, fams[name].GetType())
		}
	}

	// Container series carry container, pod and namespace, with the pod
	// name second as virtual-kubelet's e2e suite reads it; the value is
	// the summary's CPU time in seconds, stamped with ECI's sample time.
	want := map[string]*statsv1alpha1.ContainerStats{}
	for i := range ps.Containers {
		want[ps.Containers[i].Name] = &ps.Containers[i]
	}
	ctrCPU := fams["container_cpu_usage_seconds_total"].GetMetric()
	if len(ctrCPU) != 2 {
		t.Fatalf("%d container CPU series, want 2", len(ctrCPU))
	}
	for _, m := range ctrCPU {
		l := labelMap(m)
		if len(m.GetLabel()) != 3 || m.GetLabel()[1].GetValue() != "served" || l["pod"] != "served" || l["namespace"] != "default" {
			t.Fatalf("container series labels %v", m.GetLabel())
		}
		cs := want[l["container"]]
		if cs == nil {
			t.Fatalf("series for unknown container %q", l["container"])
		}
		if got, w := m.GetCounter().GetValue(), float64(*cs.CPU.UsageCoreNanoSeconds)/1e9; got != w || got == 0 {
			t.Fatalf("container %s CPU %v s, want %v", cs.Name, got, w)
		}
		if m.GetTimestampMs() != cs.CPU.Time.UnixMilli() {
			t.Fatalf("container %s sample time %d, want ECI's %d", cs.Name, m.GetTimestampMs(), cs.CPU.Time.UnixMilli())
		}
	}
	podCPU := fams["pod_cpu_usage_seconds_total"].GetMetric()
	if len(podCPU) != 1 || podCPU[0].GetLabel()[1].GetValue() != "served" || labelMap(podCPU[0])["namespace"] != "default" {
		t.Fatalf("pod CPU series %v", podCPU)
	}
	if got, w := podCPU[0].GetCounter().GetValue(), float64(*ps.CPU.UsageCoreNanoSeconds)/1e9; got != w {
		t.Fatalf("pod CPU %v s, want %v", got, w)
	}
	if got, w := fams["pod_memory_working_set_bytes"].GetMetric()[0].GetGauge().GetValue(), float64(*ps.Memory.WorkingSetBytes); got != w {
		t.Fatalf("pod working set %v, want %v", got, w)
	}
	if got, w := fams["node_memory_working_set_bytes"].GetMetric()[0].GetGauge().GetValue(), float64(*summary.Node.Memory.WorkingSetBytes); got != w || got == 0 {
		t.Fatalf("node working set %v, want %v", got, w)
	}
	for _, m := range fams["container_start_time_seconds"].GetMetric() {
		cs := want[labelMap(m)["container"]]
		if got, w := m.GetGauge().GetValue(), float64(cs.StartTime.Unix()); got != w {
			t.Fatalf("container %s start %v, want %v", cs.Name, got, w)
		}
	}
}

func familyByName(fams []*dto.MetricFamily, name string) *dto.MetricFamily {
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

func gaugeValue(t *testing.T, fams []*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := familyByName(fams, name)
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("family %s missing or not a single series: %v", name, f)
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestCreatesAndDeletesAreHeldToTheCreateLimit(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want eci.Limit
	}{
		{Config{}, eci.DefaultRateLimits()["CreateContainerGroup"]},
		{Config{CreateQPS: 200, CreateBurst: 500}, eci.Limit{PerSecond: 200, Burst: 500, PerMinuteCap: 1000}},
		{Config{CreateQPS: 200, CreateBurst: 500, CreatePerMinute: 12000}, eci.Limit{PerSecond: 200, Burst: 500, PerMinuteCap: 12000}},
		{Config{CreatePerMinute: -1}, eci.Limit{PerSecond: 19, Burst: 95}},
	} {
		got := tc.cfg.RateLimits()
		for _, action := range []string{"CreateContainerGroup", "DeleteContainerGroup"} {
			if got[action] != tc.want {
				t.Errorf("CreateQPS %g, CreateBurst %d, CreatePerMinute %d: %s limited to %+v, want %+v",
					tc.cfg.CreateQPS, tc.cfg.CreateBurst, tc.cfg.CreatePerMinute, action, got[action], tc.want)
			}
		}
	}
}

func TestStatsReadsAreHeldToTheReadBudget(t *testing.T) {
	cfg := Config{ReadBudgetShare: 0.25}
	got, ok := cfg.RateLimits()[metricAction]
	if !ok {
		t.Fatalf("no client-side limit for %s in %v", metricAction, cfg.RateLimits())
	}
	// A quarter of the documented 2000 calls a minute.
	if want := eci.PerMinute(500); got != want {
		t.Fatalf("limit %+v, want %+v", got, want)
	}
}
