package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
)

// TestRuntimeIsCorrectThroughRestartsBlipsAndScale reproduces what users saw
// on a sandbox — pods flipping to Pending on every runtime restart, pods
// with pod-level resources stuck Pending, readiness gates that never pass,
// a listing storm from one waiting pod, a VNode that went NotReady (and
// evicted its pods) on an ECI throttle — and checks each is gone.
func TestRuntimeIsCorrectThroughRestartsBlipsAndScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	g := startGround(t, emulator.Config{})

	// vnode-c runs with short health settings, so an outage is declared in
	// seconds rather than a minute.
	health := []string{"--eci-health-interval", "1s", "--eci-unreachable-after", "3s", "--eci-unreachable-checks", "3"}
	rt := g.startRuntime("vnode-c", "rt-c1", health...)
	g.waitNodeReady("vnode-c")

	t.Run("a runtime restart leaves running pods Running and Ready and writes nothing", func(t *testing.T) {
		g.t = t
		g.deployment("steady", "vnode-c", 3, "nginx:1.27")
		pods := g.waitPods("app=steady", 3, func(p *corev1.Pod) bool {
			return podRunningReady(p) && p.Annotations[node.AnnotationInstanceSpec] != ""
		})
		versions := g.settledVersions("app=steady", len(pods))

		w, err := g.kube.CoreV1().Pods(ns).Watch(context.Background(), metav1.ListOptions{LabelSelector: "app=steady", ResourceVersion: g.listVersion("app=steady")})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		seen := make(chan string, 100)
		go func() {
			for ev := range w.ResultChan() {
				if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Modified {
					seen <- fmt.Sprintf("%s: phase %s ready %s reason %q (resourceVersion %s)", p.Name, p.Status.Phase, readyOf(p), p.Status.Reason, p.ResourceVersion)
				}
			}
			close(seen)
		}()

		rt.kill()
		rt = g.startRuntime("vnode-c", "rt-c2", health...)
		g.poll("the restarted runtime's inventory", time.Minute, func(context.Context) (bool, error) {
			return rt.logged("inventory of ECI instances complete"), nil
		})
		// Two complete listings and many changes rounds later (--status-poll-slow 2s).
		time.Sleep(5 * time.Second)
		w.Stop()
		var writes []string
		for s := range seen {
			writes = append(writes, s)
		}
		if len(writes) > 0 {
			t.Errorf("the restart changed pods that did not change:\n%s", strings.Join(writes, "\n"))
		}
		for name, v := range g.settledVersions("app=steady", len(pods)) {
			if versions[name] != v {
				t.Errorf("pod %s: resourceVersion %s before the restart, %s after; want no write", name, versions[name], v)
			}
		}
	})

	t.Run("a pod with pod-level resources runs with the QoS class the API server gave it", func(t *testing.T) {
		g.t = t
		spec := placement("vnode-c")
		spec.Resources = &corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")},
		}
		spec.Containers = []corev1.Container{{Name: "app", Image: "nginx:1.27"}}
		created, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod-level"}, Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if created.Spec.Resources == nil {
			t.Fatal("the API server dropped spec.resources: the PodLevelResources feature is off in this control plane, so this test proves nothing")
		}
		p := g.waitPod("pod-level", func(p *corev1.Pod) bool {
			return podRunningReady(p) && p.Annotations[node.AnnotationInstanceSpec] != ""
		})
		if p.Status.QOSClass != created.Status.QOSClass || p.Status.QOSClass != corev1.PodQOSGuaranteed {
			t.Errorf("qosClass %s; the API server gave %s (pod-level limits equal requests: Guaranteed)", p.Status.QOSClass, created.Status.QOSClass)
		}
		if got := p.Annotations[node.AnnotationInstanceSpec]; got != "1.0-2.0Gi" {
			t.Errorf("instance spec %s; want the pod-level 1 vCPU / 2 GiB", got)
		}
	})

	t.Run("a readiness gate set by another controller makes the pod Ready, and the condition stays", func(t *testing.T) {
		g.t = t
		const gate = "example.com/lb-ready"
		spec := placement("vnode-c")
		spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: gate}}
		spec.Containers = []corev1.Container{{Name: "app", Image: "nginx:1.27"}}
		if _, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gated"}, Spec: spec}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := g.waitPod("gated", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodRunning && conditionOf(p, corev1.ContainersReady) == corev1.ConditionTrue
		})
		if got := conditionOf(p, corev1.PodReady); got != corev1.ConditionFalse {
			t.Fatalf("Ready %s before the gate condition exists; want False", got)
		}
		containersReadyAt := transitionOf(p, corev1.ContainersReady)

		time.Sleep(1100 * time.Millisecond) // transition times have a one-second resolution
		setAt := time.Now().Truncate(time.Second)
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []map[string]any{
			{"type": gate, "status": "True", "lastTransitionTime": setAt.UTC().Format(time.RFC3339)},
		}}})
		if _, err := g.kube.CoreV1().Pods(ns).Patch(context.Background(), "gated", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			t.Fatal(err)
		}
		p = g.waitPod("gated", func(p *corev1.Pod) bool { return conditionOf(p, corev1.PodReady) == corev1.ConditionTrue })
		if conditionOf(p, gate) != corev1.ConditionTrue {
			t.Errorf("the gate condition set by another controller is %q; it must stay True", conditionOf(p, gate))
		}
		if at := transitionOf(p, corev1.PodReady); at.Before(setAt) {
			t.Errorf("Ready turned True at %s, before the gate was set at %s: lastTransitionTime must be when it changed", at, setAt)
		}
		if at := transitionOf(p, corev1.ContainersReady); !at.Equal(containersReadyAt) {
			t.Errorf("ContainersReady did not change, yet its transition time moved from %s to %s", containersReadyAt, at)
		}
		// It stays so through the runtime's later rounds.
		time.Sleep(3 * time.Second)
		p = g.waitPod("gated", func(*corev1.Pod) bool { return true })
		if conditionOf(p, corev1.PodReady) != corev1.ConditionTrue || conditionOf(p, gate) != corev1.ConditionTrue {
			t.Errorf("later: Ready %s, gate %s; want both True", conditionOf(p, corev1.PodReady), conditionOf(p, gate))
		}
	})

	t.Run("a refused pod gets the refusal and no claim of success", func(t *testing.T) {
		g.t = t
		spec := placement("vnode-c")
		spec.HostNetwork = true
		spec.Containers = []corev1.Container{{Name: "app", Image: "nginx:1.27"}}
		pod, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "host-net"}, Spec: spec}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		g.waitEvent(pod, node.ReasonUnsupported)
		time.Sleep(2 * time.Second)
		for _, e := range g.eventsOf(pod) {
			if e.Reason == "ProviderCreateSuccess" {
				t.Errorf("event %s %q on a pod that was refused", e.Reason, e.Message)
			}
		}
	})

	t.Run("status reads cost changes, not pods times rounds", func(t *testing.T) {
		g.t = t
		// The emulator counts the calls of every runtime: vnode-c's rests
		// while this one is measured.
		rt.kill()
		// Production intervals: changes every second, a complete listing
		// every 30 s.
		scale := g.startRuntime("vnode-s", "rt-s", "--status-poll-fast", "1s", "--status-poll-slow", "30s")
		g.waitNodeReady("vnode-s")
		g.deployment("few", "vnode-s", 5, "nginx:1.27")
		g.waitPods("app=few", 5, podRunningReady)

		// One pod waits for a ConfigMap that does not exist.
		spec := placement("vnode-s")
		spec.Containers = []corev1.Container{{Name: "app", Image: "nginx:1.27", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
			ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "not-there"}, Key: "x"}}}}}}
		if _, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "waiting"}, Spec: spec}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		g.waitPod("waiting", func(p *corev1.Pod) bool { return p.Status.Reason == node.ReasonWaitingForObjects })
		steady := g.callsDuring(30*time.Second, nil)
		t.Logf("5 steady instances and 1 waiting pod, 30 s: %s", steady)
		// 30 s: at most 2 complete listings of one page each, no targeted
		// reads (nothing changes), one changes query a second.
		steady.atMost(t, "DescribeContainerGroups", 2+1)
		steady.atMost(t, "DescribeContainerGroupStatus", 30+2)

		dep, err := g.kube.AppsV1().Deployments(ns).Get(context.Background(), "few", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		const n = 300
		up := g.callsDuring(0, func() {
			g.scale(dep, n)
			g.waitPodsFor("app=few", n, podRunningReady, 4*time.Minute)
		})
		t.Logf("scale 5 -> %d: %s", n, up)
		down := g.callsDuring(0, func() {
			g.scale(dep, 0)
			g.waitPodsFor("app=few", 0, podRunningReady, 4*time.Minute)
		})
		t.Logf("scale %d -> 0: %s", n, down)
		// Reads by ID cover 20 instances a call; each instance changes a few
		// times on its way up (Scheduling, Pending, Running) and down
		// (Terminating, gone). Complete listings (15 pages of 20) are
		// allowed once per --status-poll-slow and at most half the budget.
		for _, phase := range []struct {
			name  string
			calls callCount
		}{{"up", up}, {"down", down}} {
			listings := int(phase.calls.elapsed/(30*time.Second)) + 1
			bound := listings*(n/20+1) + 4*n/20 + 20
			phase.calls.atMost(t, "DescribeContainerGroups", bound)
			budget := int(1000*phase.calls.elapsed.Minutes()) + 100 // --eci-read-share 0.5 of 2000/min, plus the burst
			phase.calls.atMost(t, "DescribeContainerGroups", budget)
		}
		scale.kill()
	})

	t.Run("an ECI throttle or outage never makes the node NotReady or evicts a pod", func(t *testing.T) {
		g.t = t
		rt = g.startRuntime("vnode-c", "rt-c3", health...)
		// While vnode-c's runtime was stopped, the node lifecycle controller
		// marked the node unreachable; that is over once it runs again.
		g.poll("vnode-c Ready without NoExecute taints", time.Minute, func(context.Context) (bool, error) {
			n := g.node("vnode-c")
			for _, t := range n.Spec.Taints {
				if t.Effect == corev1.TaintEffectNoExecute {
					return false, nil
				}
			}
			return conditionStatus(n, corev1.NodeReady) == corev1.ConditionTrue, nil
		})
		// The survivor tolerates a NotReady or unreachable node for 5 s only:
		// if the node went NotReady it would be evicted within seconds.
		five := int64(5)
		spec := placement("vnode-c")
		spec.Tolerations = append(spec.Tolerations,
			corev1.Toleration{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &five},
			corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &five})
		spec.Containers = []corev1.Container{{Name: "app", Image: "nginx:1.27"}}
		if _, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "survivor"}, Spec: spec}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		g.waitPod("survivor", podRunningReady)
		g.waitNodeCondition("vnode-c", node.ConditionECIAPIReachable, corev1.ConditionTrue)

		watchdog := g.watchNodeAndPod("vnode-c", "survivor")

		// A throttle is an answer, not an outage.
		g.emu.SetFault("DescribeRegions", emulator.Fault{ErrorRate: 1, Code: "Throttling.User", HTTPStatus: 400, Message: "Request was denied due to user flow control."})
		time.Sleep(8 * time.Second)
		if n := g.node("vnode-c"); conditionStatus(n, node.ConditionECIAPIReachable) != corev1.ConditionTrue || hasTaint(n, node.TaintECIUnreachable) {
			t.Errorf("throttled for 8 s: ECIAPIReachable %s, taint %v; a throttled API is reachable", conditionStatus(n, node.ConditionECIAPIReachable), hasTaint(n, node.TaintECIUnreachable))
		}
		g.emu.ClearFaults()

		// A real outage: every connection refused.
		g.emu.SetOutage(emulator.OutageRefuse)
		g.waitNodeCondition("vnode-c", node.ConditionECIAPIReachable, corev1.ConditionFalse)
		g.poll("the unreachable taint", 30*time.Second, func(ctx context.Context) (bool, error) {
			return hasTaint(g.node("vnode-c"), node.TaintECIUnreachable), nil
		})
		newcomer := placement("vnode-c")
		newcomer.Containers = []corev1.Container{{Name: "app", Image: "nginx:1.27"}}
		if _, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "newcomer"}, Spec: newcomer}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Longer than the survivor's toleration plus the node lifecycle
		// controller's grace period would allow, were the node NotReady.
		time.Sleep(20 * time.Second)
		if p := g.waitPod("newcomer", func(*corev1.Pod) bool { return true }); p.Spec.NodeName != "" {
			t.Errorf("pod newcomer was scheduled to %s while the ECI API was unreachable", p.Spec.NodeName)
		}
		g.emu.SetOutage(emulator.OutageNone)

		g.waitNodeCondition("vnode-c", node.ConditionECIAPIReachable, corev1.ConditionTrue)
		g.poll("the unreachable taint to go", 30*time.Second, func(ctx context.Context) (bool, error) {
			return !hasTaint(g.node("vnode-c"), node.TaintECIUnreachable), nil
		})
		g.waitPod("newcomer", podRunningReady)
		if problems := watchdog(); len(problems) > 0 {
			t.Errorf("during the throttle and the outage:\n%s", strings.Join(problems, "\n"))
		}
		p := g.waitPod("survivor", func(*corev1.Pod) bool { return true })
		if p.DeletionTimestamp != nil || !podRunningReady(p) {
			t.Errorf("survivor: deletion %v, phase %s, ready %s; it must run on untouched", p.DeletionTimestamp, p.Status.Phase, readyOf(p))
		}
	})
}

// settledVersions waits until the pods of selector stop changing (two reads
// 2 s apart agree) and returns their resourceVersions by name.
func (g *ground) settledVersions(selector string, n int) map[string]string {
	read := func() map[string]string {
		list, err := g.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			g.t.Fatal(err)
		}
		out := map[string]string{}
		for _, p := range list.Items {
			out[p.Name] = p.ResourceVersion
		}
		return out
	}
	prev := read()
	for i := 0; i < 15; i++ {
		time.Sleep(2 * time.Second)
		cur := read()
		same := len(cur) == n && len(cur) == len(prev)
		for k, v := range cur {
			if prev[k] != v {
				same = false
			}
		}
		if same {
			return cur
		}
		prev = cur
	}
	g.t.Fatalf("pods %s kept changing for 30 s", selector)
	return nil
}

func (g *ground) listVersion(selector string) string {
	list, err := g.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		g.t.Fatal(err)
	}
	return list.ResourceVersion
}

func (g *ground) eventsOf(p *corev1.Pod) []corev1.Event {
	evs, err := g.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(p.UID)})
	if err != nil {
		g.t.Fatal(err)
	}
	return evs.Items
}

func (g *ground) node(name string) *corev1.Node {
	n, err := g.kube.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	return n
}

func (g *ground) waitNodeCondition(name string, typ corev1.NodeConditionType, want corev1.ConditionStatus) {
	g.poll(fmt.Sprintf("node %s condition %s=%s", name, typ, want), time.Minute, func(ctx context.Context) (bool, error) {
		n, err := g.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && conditionStatus(n, typ) == want, nil
	})
}

// watchNodeAndPod records, until the returned function is called, every
// moment the node is not Ready or carries a NoExecute taint, and every
// moment the pod is not Running and Ready or is being deleted.
func (g *ground) watchNodeAndPod(nodeName, podName string) func() []string {
	ctx, cancel := context.WithCancel(context.Background())
	var problems []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if n, err := g.kube.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{}); err == nil {
				if conditionStatus(n, corev1.NodeReady) != corev1.ConditionTrue {
					problems = append(problems, fmt.Sprintf("%s node Ready=%s", time.Now().Format(time.TimeOnly), conditionStatus(n, corev1.NodeReady)))
				}
				for _, t := range n.Spec.Taints {
					if t.Effect == corev1.TaintEffectNoExecute {
						problems = append(problems, fmt.Sprintf("%s node taint %s:%s", time.Now().Format(time.TimeOnly), t.Key, t.Effect))
					}
				}
			}
			if p, err := g.kube.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{}); err == nil && (p.DeletionTimestamp != nil || !podRunningReady(p)) {
				problems = append(problems, fmt.Sprintf("%s pod %s phase %s ready %s deleting %v", time.Now().Format(time.TimeOnly), podName, p.Status.Phase, readyOf(p), p.DeletionTimestamp != nil))
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return func() []string {
		cancel()
		<-done
		return problems
	}
}

// callCount is the emulator's count of calls per action over a span.
type callCount struct {
	byAction map[string]int
	elapsed  time.Duration
}

func (c callCount) String() string {
	var parts []string
	for _, a := range []string{"DescribeContainerGroupStatus", "DescribeContainerGroups", "CreateContainerGroup", "DeleteContainerGroup", "DescribeRegions"} {
		parts = append(parts, fmt.Sprintf("%s=%d", a, c.byAction[a]))
	}
	return fmt.Sprintf("%s in %s", strings.Join(parts, " "), c.elapsed.Round(100*time.Millisecond))
}

func (c callCount) atMost(t *testing.T, action string, n int) {
	t.Helper()
	if c.byAction[action] > n {
		t.Errorf("%d %s calls in %s; the budget is %d", c.byAction[action], action, c.elapsed.Round(100*time.Millisecond), n)
	}
}

// callsDuring counts the emulator's calls while do runs, or for d.
func (g *ground) callsDuring(d time.Duration, do func()) callCount {
	before := g.emu.Calls()
	start := time.Now()
	if do != nil {
		do()
	} else {
		time.Sleep(d)
	}
	after := g.emu.Calls()
	out := callCount{byAction: map[string]int{}, elapsed: time.Since(start)}
	for a, s := range after {
		out.byAction[a] = int(s.Count - before[a].Count)
	}
	return out
}

// waitPodsFor is waitPods with a longer timeout, for scale.
func (g *ground) waitPodsFor(selector string, n int, ok func(*corev1.Pod) bool, timeout time.Duration) {
	g.poll(fmt.Sprintf("%d pods %s", n, selector), timeout, func(ctx context.Context) (bool, error) {
		list, err := g.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(list.Items) != n {
			return false, nil
		}
		for i := range list.Items {
			if !ok(&list.Items[i]) {
				return false, nil
			}
		}
		return true, nil
	})
}

func conditionOf(p *corev1.Pod, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func transitionOf(p *corev1.Pod, typ corev1.PodConditionType) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func readyOf(p *corev1.Pod) corev1.ConditionStatus { return conditionOf(p, corev1.PodReady) }

func conditionStatus(n *corev1.Node, typ corev1.NodeConditionType) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}
