package node_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/retry"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

const (
	cluster = "it-cluster"
	ns      = "default"
)

// ground is one real control plane, one ECI emulator and the eci-vnode
// binary built from this checkout, shared by the subtests below.
type ground struct {
	t    *testing.T // the running (sub)test
	root *testing.T // the test that owns the sandbox; runtimes are cleaned up with it
	sb   *sandbox.Sandbox
	kube kubernetes.Interface
	emu  *emulator.Emulator
	eci  *eci.Client
	bin  string
	dir  string
}

func TestRuntimeRunsPodsOnECI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	g := startGround(t, emulator.Config{
		Images: map[string]emulator.ImageBehaviour{
			"registry.local/job-ok":   {RunFor: 800 * time.Millisecond, ExitCode: 0},
			"registry.local/job-fail": {RunFor: 800 * time.Millisecond, ExitCode: 3},
			"registry.local/job-oom":  {RunFor: 800 * time.Millisecond, OOMKilled: true},
		},
	})

	started := time.Now()
	rt := g.startRuntime("vnode-1", "rt-a")
	g.waitNodeReady("vnode-1")
	t.Logf("VNode vnode-1 registered and Ready %s after the runtime started", time.Since(started).Round(time.Millisecond))

	t.Run("a Deployment on the VNode runs with IPs from ECI, and scaling down deletes instances", func(t *testing.T) {
		g.t = t
		dep := g.deployment("web", "vnode-1", 3, "nginx:1.27")
		begin := time.Now()
		pods := g.waitPods("app=web", 3, podRunningReady)
		t.Logf("3 replicas Running and Ready in %s", time.Since(begin).Round(time.Millisecond))
		groups := g.instancesOf("vnode-1")
		for _, p := range pods {
			id := p.Annotations[node.AnnotationInstanceID]
			grp, ok := groups[id]
			if !ok {
				t.Fatalf("pod %s names instance %q, which ECI does not list", p.Name, id)
			}
			if p.Status.PodIP == "" || p.Status.PodIP != grp.IntranetIP {
				t.Fatalf("pod %s IP %q, instance IP %q", p.Name, p.Status.PodIP, grp.IntranetIP)
			}
			if got := g.waitPod(p.Name, func(p *corev1.Pod) bool { return p.Annotations[node.AnnotationInstanceSpec] != "" }).Annotations[node.AnnotationInstanceSpec]; got != "2.0-4.0Gi" {
				t.Fatalf("pod %s eci-instance-spec %q, want the default 2.0-4.0Gi", p.Name, got)
			}
			if uid, _ := translate.PodUIDFromTags(grp.Tags); uid != p.UID {
				t.Fatalf("instance %s is tagged for pod UID %s, pod has %s", id, uid, p.UID)
			}
		}
		g.scale(dep, 1)
		g.waitPods("app=web", 1, podRunningReady)
		g.waitInstances("vnode-1", "app web", 1, func(gr eci.ContainerGroup) bool { return tagged(gr, "web-") })
	})

	t.Run("the instance ID comes with the status that says the instance is created, in one write", func(t *testing.T) {
		g.t = t
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// Every version of the pod is seen: the watch starts before the pod
		// exists and a retry watcher resumes where a broken watch stopped.
		sel := metav1.ListOptions{FieldSelector: "metadata.name=one-write"}
		list, err := g.kube.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = sel.FieldSelector
				return g.kube.CoreV1().Pods(ns).Watch(ctx, o)
			}})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		g.pod("one-write", "vnode-1", "nginx:1.27", nil)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("watch: %v", ev.Object)
			}
			// Before the create call returns the pod has no status of the
			// runtime's, or ECICreating; any later status knows the instance.
			created := p.Status.Phase != corev1.PodPending || slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
				return c.Type == node.ConditionContainerInstanceCreated && c.Reason != node.ReasonCreating
			})
			_, annotated := p.Annotations[node.AnnotationInstanceID]
			if created != annotated {
				t.Fatalf("pod version %s: status %s %q %v, instance ID annotated %v; want a status past %s and the ID in one write",
					p.ResourceVersion, p.Status.Phase, p.Status.Reason, p.Status.Conditions, annotated, node.ReasonCreating)
			}
			if podRunningReady(p) {
				return
			}
		}
		t.Fatal("the pod was not Running and Ready within a minute")
	})

	t.Run("Jobs end Succeeded or Failed with the container's exit code", func(t *testing.T) {
		g.t = t
		g.job("ok", "vnode-1", "registry.local/job-ok:1")
		g.job("fail", "vnode-1", "registry.local/job-fail:1")
		g.waitJob("ok", batchv1.JobComplete)
		g.waitJob("fail", batchv1.JobFailed)
		pods := g.waitPods("job-name=fail", 1, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		st := pods[0].Status.ContainerStatuses[0].State.Terminated
		if st == nil || st.ExitCode != 3 {
			t.Fatalf("failed job container state %+v, want exit code 3", pods[0].Status.ContainerStatuses[0].State)
		}
	})

	t.Run("an OOM kill shows in the container status and as an Event copied from ECI", func(t *testing.T) {
		g.t = t
		g.job("oom", "vnode-1", "registry.local/job-oom:1")
		g.waitJob("oom", batchv1.JobFailed)
		p := g.waitPods("job-name=oom", 1, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })[0]
		st := p.Status.ContainerStatuses[0].State.Terminated
		if st == nil || st.ExitCode != 137 || st.Reason != "OOMKilled" {
			t.Fatalf("container state %+v, want terminated 137 OOMKilled", p.Status.ContainerStatuses[0].State)
		}
		g.waitEvent(p, "OOMKilled")
	})

	t.Run("force delete deletes the instance", func(t *testing.T) {
		g.t = t
		pod := g.pod("force-me", "vnode-1", "nginx:1.27", nil)
		p := g.waitPod(pod.Name, podRunningReady)
		id := p.Annotations[node.AnnotationInstanceID]
		if _, ok := g.instancesOf("vnode-1")[id]; !ok {
			t.Fatalf("instance %q of pod %s is not listed before the delete", id, p.Name)
		}
		zero := int64(0)
		if err := g.kube.CoreV1().Pods(ns).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
		g.waitGone(id)
	})

	t.Run("an invalid annotation fails the pod with the message", func(t *testing.T) {
		g.t = t
		pod := g.pod("bad-annotation", "vnode-1", "nginx:1.27", map[string]string{"k8s.aliyun.com/eci-max-pending-minute": "5"})
		p := g.waitPod(pod.Name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		if p.Status.Reason != node.ReasonInvalidSpec || !strings.Contains(p.Status.Message, "k8s.aliyun.com/eci-max-pending-minute") {
			t.Fatalf("status reason %q message %q; want %s naming the annotation", p.Status.Reason, p.Status.Message, node.ReasonInvalidSpec)
		}
		t.Logf("message: %s", p.Status.Message)
		g.waitEvent(p, node.ReasonInvalidSpec)
	})

	t.Run("NoStock in the first vSwitch's zone lands the pod in the next", func(t *testing.T) {
		g.t = t
		if err := g.emu.SetZoneClosed("cn-hangzhou-h", true); err != nil {
			t.Fatal(err)
		}
		defer g.emu.SetZoneClosed("cn-hangzhou-h", false)
		pod := g.pod("zonal", "vnode-1", "nginx:1.27", nil)
		p := g.waitPod(pod.Name, podRunningReady)
		grp := g.instancesOf("vnode-1")[p.Annotations[node.AnnotationInstanceID]]
		if grp.ZoneID != "cn-hangzhou-i" || grp.VSwitchID != "vsw-i-1" {
			t.Fatalf("instance in zone %s vSwitch %s; want cn-hangzhou-i / vsw-i-1", grp.ZoneID, grp.VSwitchID)
		}
	})

	t.Run("the runtime killed and restarted mid scale-up leaves no duplicate and no orphan", func(t *testing.T) {
		g.t = t
		dep := g.deployment("burst", "vnode-1", 1, "nginx:1.27")
		g.waitPods("app=burst", 1, podRunningReady)
		g.scale(dep, 12)
		g.waitInstances("vnode-1", "some burst instances", -2, func(gr eci.ContainerGroup) bool { return tagged(gr, "burst-") })
		rt.kill()
		before := len(g.instancesWhere("vnode-1", func(gr eci.ContainerGroup) bool { return tagged(gr, "burst-") }))
		t.Logf("runtime killed with %d of 12 instances created", before)
		rt = g.startRuntime("vnode-1", "rt-b")
		pods := g.waitPods("app=burst", 12, podRunningReady)
		perUID := map[string]int{}
		for _, gr := range g.instancesWhere("vnode-1", func(gr eci.ContainerGroup) bool { return tagged(gr, "burst-") }) {
			uid, _ := translate.PodUIDFromTags(gr.Tags)
			perUID[string(uid)]++
		}
		for _, p := range pods {
			if perUID[string(p.UID)] != 1 {
				t.Errorf("pod %s has %d instances, want exactly 1", p.Name, perUID[string(p.UID)])
			}
			delete(perUID, string(p.UID))
		}
		if len(perUID) != 0 {
			t.Errorf("instances without a pod (orphans): %v", perUID)
		}
	})

	t.Run("two replicas with leader election: only one acts", func(t *testing.T) {
		g.t = t
		a := g.startRuntime("vnode-ha", "ha-a", "--leader-elect", "--leader-elect-namespace", ns)
		b := g.startRuntime("vnode-ha", "ha-b", "--leader-elect", "--leader-elect-namespace", ns)
		g.waitNodeReady("vnode-ha")
		leader := g.leaseHolder("eci-vnode-vnode-ha")
		active, standby := a, b
		if leader == "ha-b" {
			active, standby = b, a
		}
		pod := g.pod("ha-1", "vnode-ha", "nginx:1.27", nil)
		g.waitPod(pod.Name, podRunningReady)
		if !active.logged("created ECI instance") || standby.logged("created ECI instance") {
			t.Fatalf("leader %s: the active replica must create and the standby must not (active created=%v, standby created=%v)",
				leader, active.logged("created ECI instance"), standby.logged("created ECI instance"))
		}
		g.poll("the standby to say it stands by", 30*time.Second, func(context.Context) (bool, error) {
			return standby.logged("standing by"), nil
		})
		active.kill()
		g.waitLeader("eci-vnode-vnode-ha", standby.name)
		pod2 := g.pod("ha-2", "vnode-ha", "nginx:1.27", nil)
		g.waitPod(pod2.Name, podRunningReady)
		if !standby.logged("created ECI instance") {
			t.Fatal("the new leader did not create the second pod's instance")
		}
	})

	calls := g.emu.Calls()
	var summary []string
	for _, a := range []string{"CreateContainerGroup", "DescribeContainerGroups", "DeleteContainerGroup", "DescribeRegions"} {
		summary = append(summary, fmt.Sprintf("%s=%d", a, calls[a].Count))
	}
	t.Logf("ECI calls seen by the emulator: %s", strings.Join(summary, " "))
}

// startGround starts an ECI emulator (with a fast instance lifecycle unless
// cfg sets one), a client for the test's own view of ECI (the emulator's
// default credential, which cfg.Credentials must include if it sets any),
// and a control plane without workers.
func startGround(t *testing.T, cfg emulator.Config) *ground {
	t.Helper()
	cfg.Logf = func(string, ...any) {}
	if cfg.Lifecycle == (emulator.LifecycleConfig{}) {
		cfg.Lifecycle = emulator.LifecycleConfig{
			Scheduling: 300 * time.Millisecond, ImagePull: 300 * time.Millisecond,
			ContainerStart: 200 * time.Millisecond, Terminating: 500 * time.Millisecond,
		}
	}
	emu := emulator.StartForTest(t, cfg)
	cred := emulator.DefaultCredential()
	client, err := eci.New(eci.Config{Region: "cn-hangzhou", Endpoint: "http://" + emu.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: -1})
	return &ground{t: t, root: t, sb: sb, kube: sb.Client(), emu: emu, eci: client, bin: sb.Tools().ECIVNode, dir: t.TempDir()}
}

// runtimeProc is one eci-vnode node process.
type runtimeProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	once sync.Once
}

func (g *ground) startRuntime(nodeName, name string, extra ...string) *runtimeProc {
	t := g.t
	cred := emulator.DefaultCredential()
	logPath := filepath.Join(g.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"node",
		"--node-name", nodeName, "--cluster-name", cluster, "--region", "cn-hangzhou",
		"--vswitch-ids", "vsw-h-1,vsw-i-1", "--schedule-strategy", "VSwitchOrdered", "--security-group-id", "sg-emulator0001",
		"--eci-endpoint", "http://" + g.emu.Endpoint(), "--eci-scheme", "HTTP",
		"--kubeconfig", g.sb.Kubeconfig(), "--metrics-addr", "127.0.0.1:0", "--node-ip", "127.0.0.1",
		"--status-poll-fast", "300ms", "--status-poll-slow", "2s", "--orphan-grace-period", "5s",
		"--eci-health-interval", "2s", "--log-level", "debug",
		// These tests create no kube-proxy ServiceAccount; the test of cluster
		// IP access turns it on again (a later flag wins).
		"--cluster-ip-access=false",
	}, extra...)
	cmd := exec.Command(g.bin, args...)
	cmd.Env = append(os.Environ(),
		"ALIBABA_CLOUD_ACCESS_KEY_ID="+cred.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET="+cred.AccessKeySecret,
		"POD_NAME="+name, "POD_NAMESPACE="+ns)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start eci-vnode: %v", err)
	}
	rp := &runtimeProc{name: name, cmd: cmd, log: logPath}
	owner := g.root
	if owner == nil {
		owner = t
	}
	// A runtime outlives the subtest that started it; its log is worth
	// reading whenever the test that owns it fails.
	owner.Cleanup(func() {
		rp.kill()
		f.Close()
		if owner.Failed() {
			b, _ := os.ReadFile(logPath)
			var keep []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=INFO") {
					keep = append(keep, l)
				}
			}
			if len(keep) > 80 {
				keep = keep[len(keep)-80:]
			}
			owner.Logf("---- %s log (info and above, last 80) ----\n%s", name, strings.Join(keep, "\n"))
		}
	})
	return rp
}

func (r *runtimeProc) kill() {
	r.once.Do(func() {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		_ = r.cmd.Wait()
	})
}

func (r *runtimeProc) logged(s string) bool {
	f, err := os.Open(r.log)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			return true
		}
	}
	return false
}

func (g *ground) poll(what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
	g.t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, cond)
	if err != nil {
		g.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (g *ground) waitNodeReady(name string) {
	g.poll("node "+name+" Ready", time.Minute, func(ctx context.Context) (bool, error) {
		n, err := g.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
}

func placement(nodeName string) corev1.PodSpec {
	return corev1.PodSpec{
		NodeSelector: map[string]string{"kubernetes.io/hostname": nodeName, node.LabelVNode: "true"},
		Tolerations:  []corev1.Toleration{{Key: node.TaintKey, Operator: corev1.TolerationOpEqual, Value: node.TaintValue, Effect: corev1.TaintEffectNoSchedule}},
	}
}

func (g *ground) deployment(name, nodeName string, replicas int32, image string) *appsv1.Deployment {
	spec := placement(nodeName)
	spec.Containers = []corev1.Container{{Name: "app", Image: image}}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec},
		},
	}
	out, err := g.kube.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	return out
}

func (g *ground) scale(d *appsv1.Deployment, n int32) {
	// The deployment controller writes the object too; retry on a conflict.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc, err := g.kube.AppsV1().Deployments(ns).GetScale(context.Background(), d.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc.Spec.Replicas = n
		_, err = g.kube.AppsV1().Deployments(ns).UpdateScale(context.Background(), d.Name, sc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		g.t.Fatalf("scale %s to %d: %v", d.Name, n, err)
	}
}

func (g *ground) job(name, nodeName, image string) {
	spec := placement(nodeName)
	spec.RestartPolicy = corev1.RestartPolicyNever
	spec.Containers = []corev1.Container{{Name: "task", Image: image}}
	zero := int32(0)
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       batchv1.JobSpec{BackoffLimit: &zero, Template: corev1.PodTemplateSpec{Spec: spec}},
	}
	if _, err := g.kube.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
		g.t.Fatal(err)
	}
}

func (g *ground) waitJob(name string, want batchv1.JobConditionType) {
	g.poll("job "+name+" "+string(want), 2*time.Minute, func(ctx context.Context) (bool, error) {
		j, err := g.kube.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range j.Status.Conditions {
			if c.Type == want && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

func (g *ground) pod(name, nodeName, image string, ann map[string]string) *corev1.Pod {
	spec := placement(nodeName)
	spec.Containers = []corev1.Container{{Name: "app", Image: image}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: ann}, Spec: spec}
	out, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	return out
}

// podRunningReady: Running, Ready, and the instance ID written back.
func podRunningReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil || p.Annotations[node.AnnotationInstanceID] == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (g *ground) waitPod(name string, ok func(*corev1.Pod) bool) *corev1.Pod {
	var last *corev1.Pod
	g.poll("pod "+name, 90*time.Second, func(ctx context.Context) (bool, error) {
		p, err := g.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = p
		return ok(p), nil
	})
	return last
}

// waitPods waits until exactly n live pods match the selector and all pass ok.
func (g *ground) waitPods(selector string, n int, ok func(*corev1.Pod) bool) []*corev1.Pod {
	var out []*corev1.Pod
	g.poll(fmt.Sprintf("%d pods %s", n, selector), 2*time.Minute, func(ctx context.Context) (bool, error) {
		list, err := g.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		out = out[:0]
		for i := range list.Items {
			p := &list.Items[i]
			if p.DeletionTimestamp != nil && ok(p) {
				return false, nil
			}
			if p.DeletionTimestamp == nil {
				out = append(out, p)
			}
		}
		if len(out) != n || len(list.Items) != n {
			return false, nil
		}
		for _, p := range out {
			if !ok(p) {
				return false, nil
			}
		}
		return true, nil
	})
	return out
}

func (g *ground) waitEvent(p *corev1.Pod, reason string) {
	g.poll("event "+reason+" on "+p.Name, 30*time.Second, func(ctx context.Context) (bool, error) {
		evs, err := g.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + string(p.UID)})
		if err != nil {
			return false, nil
		}
		for _, e := range evs.Items {
			if e.Reason == reason {
				return true, nil
			}
		}
		return false, nil
	})
}

func (g *ground) instancesWhere(nodeName string, keep func(eci.ContainerGroup) bool) []eci.ContainerGroup {
	all, err := g.eci.DescribeAllContainerGroups(context.Background(), &eci.DescribeContainerGroupsRequest{Tags: translate.OwnedTags(cluster, nodeName)})
	if err != nil {
		g.t.Fatalf("list instances: %v", err)
	}
	var out []eci.ContainerGroup
	for _, gr := range all {
		if gr.Status != eci.StatusTerminating && keep(gr) {
			out = append(out, gr)
		}
	}
	return out
}

func (g *ground) instancesOf(nodeName string) map[string]eci.ContainerGroup {
	out := map[string]eci.ContainerGroup{}
	for _, gr := range g.instancesWhere(nodeName, func(eci.ContainerGroup) bool { return true }) {
		out[gr.ContainerGroupID] = gr
	}
	return out
}

// waitInstances waits for n live instances (n < 0: at least -n).
func (g *ground) waitInstances(nodeName, what string, n int, keep func(eci.ContainerGroup) bool) {
	g.poll(fmt.Sprintf("%d instances (%s)", n, what), time.Minute, func(context.Context) (bool, error) {
		got := len(g.instancesWhere(nodeName, keep))
		if n < 0 {
			return got >= -n, nil
		}
		return got == n, nil
	})
}

func (g *ground) waitGone(id string) {
	g.poll("instance "+id+" deleted", 30*time.Second, func(ctx context.Context) (bool, error) {
		res, err := g.eci.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{id}})
		if err != nil {
			return eci.IsNotFound(err), nil
		}
		return len(res.ContainerGroups) == 0, nil
	})
}

func tagged(gr eci.ContainerGroup, podPrefix string) bool {
	name, _ := gr.Tag(translate.TagPodName)
	return strings.HasPrefix(name, podPrefix)
}

func (g *ground) leaseHolder(name string) string {
	var holder string
	g.poll("lease "+name, time.Minute, func(ctx context.Context) (bool, error) {
		l, err := g.kube.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			return false, nil
		}
		holder = *l.Spec.HolderIdentity
		return true, nil
	})
	return holder
}

func (g *ground) waitLeader(name, want string) {
	g.poll("lease "+name+" held by "+want, time.Minute, func(ctx context.Context) (bool, error) {
		l, err := g.kube.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == want, nil
	})
}
