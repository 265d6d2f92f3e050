package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// TestSandbox starts one sandbox (two workers with 2 CPUs each) and checks, in subtests that
// share it, what everything else in the project relies on. After it, no process or port of
// the sandbox may remain.
func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	var ports []int
	// Registered first so it runs last, after StartForTest's Stop.
	t.Cleanup(func() { assertNothingLeft(t, dir, ports) })

	sb := StartForTest(t, Options{
		Dir:            dir,
		Workers:        2,
		WorkerCapacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourcePods: resource.MustParse("20")},
		RestartBackoff: time.Second,
	})
	ports = sb.Ports()
	client := sb.Client()

	t.Run("apiserver serves v1.37.2", func(t *testing.T) {
		v, err := client.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != KubernetesVersion {
			t.Errorf("server version %s, want %s", v.GitVersion, KubernetesVersion)
		}
	})

	t.Run("admin kubeconfig works", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", sb.Kubeconfig())
		if err != nil {
			t.Fatal(err)
		}
		c := kubernetes.NewForConfigOrDie(cfg)
		nodes, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(nodes.Items) != 2 {
			t.Fatalf("%d nodes, want 2", len(nodes.Items))
		}
		for _, n := range nodes.Items {
			if !nodeReady(&n) || n.Status.NodeInfo.KubeletVersion != KubernetesVersion {
				t.Errorf("node %s: ready=%v kubelet=%s", n.Name, nodeReady(&n), n.Status.NodeInfo.KubeletVersion)
			}
		}
	})

	t.Run("deployment replicas run on workers; replicas beyond capacity stay pending", func(t *testing.T) {
		ctx := context.Background()
		// 3 × 1500m on two 2-CPU workers: two fit, the third cannot.
		deploy := deployment("web", 3, "nginx:1.27", "1500m")
		if _, err := client.AppsV1().Deployments("default").Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { deleteDeployment(t, client, "web") })
		sel := labels.Set(deploy.Spec.Selector.MatchLabels).String()
		var running, pending []corev1.Pod
		waitFor(t, 60*time.Second, "2 Running and 1 unschedulable pod", func() (bool, string) {
			pods, err := client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				return false, err.Error()
			}
			running, pending = nil, nil
			for _, p := range pods.Items {
				switch {
				case p.Status.Phase == corev1.PodRunning && podReady(&p):
					running = append(running, p)
				case p.Status.Phase == corev1.PodPending && unschedulable(&p) != "":
					pending = append(pending, p)
				}
			}
			return len(running) == 2 && len(pending) == 1, fmt.Sprintf("%d running, %d unschedulable of %d", len(running), len(pending), len(pods.Items))
		})
		nodes := map[string]bool{}
		ips := map[string]bool{}
		for _, p := range running {
			nodes[p.Spec.NodeName] = true
			if !strings.HasPrefix(p.Spec.NodeName, "worker-") || ips[p.Status.PodIP] || !strings.HasPrefix(p.Status.PodIP, "127.0.") {
				t.Errorf("pod %s on %s with IP %q", p.Name, p.Spec.NodeName, p.Status.PodIP)
			}
			ips[p.Status.PodIP] = true
			if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Running == nil {
				t.Errorf("pod %s container statuses %+v", p.Name, cs)
			}
		}
		if len(nodes) != 2 {
			t.Errorf("running pods on %v, want both workers", nodes)
		}
		if msg := unschedulable(&pending[0]); !strings.Contains(msg, "Insufficient cpu") {
			t.Errorf("pending pod's scheduling message %q lacks %q", msg, "Insufficient cpu")
		}
	})

	t.Run("runtime image runs the local eci-vnode with its args and exit code", func(t *testing.T) {
		ctx := context.Background()
		ok := runtimePod("rt-version", nil, []string{"version"})
		bad := runtimePod("rt-unknown", []string{"/usr/local/bin/eci-vnode"}, []string{"no-such-subcommand"})
		for _, p := range []*corev1.Pod{ok, bad} {
			if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		done := waitPodPhase(t, client, "rt-version", corev1.PodSucceeded)
		term := done.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
			t.Errorf("rt-version terminated state %+v", term)
		}
		if log := podLog(t, dir, "rt-version", "main"); !strings.Contains(log, "eci-vnode ") {
			t.Errorf("rt-version log %q lacks the version line", log)
		}
		// kubectl logs goes through the apiserver to the worker's kubelet API.
		logs, err := client.CoreV1().Pods("default").GetLogs("rt-version", &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
		if err != nil || !strings.Contains(string(logs), "eci-vnode ") {
			t.Errorf("pod logs through the apiserver: %q, %v", logs, err)
		}
		failed := waitPodPhase(t, client, "rt-unknown", corev1.PodFailed)
		tail, err := client.CoreV1().Pods("default").GetLogs("rt-unknown", &corev1.PodLogOptions{TailLines: ptr.To[int64](1)}).DoRaw(ctx)
		if err != nil || strings.Count(strings.TrimSpace(string(tail)), "\n") != 0 || !strings.Contains(string(tail), "version") {
			t.Errorf("last log line of rt-unknown: %q, %v", tail, err)
		}
		term = failed.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.ExitCode != 2 || term.Reason != "Error" {
			t.Errorf("rt-unknown terminated state %+v", term)
		}
		if !strings.HasPrefix(done.Status.PodIP, "127.0.") || done.Status.PodIP == failed.Status.PodIP {
			t.Errorf("pod IPs %q and %q: want distinct loopback addresses", done.Status.PodIP, failed.Status.PodIP)
		}
	})

	t.Run("env from ConfigMap and Secret reaches the process", func(t *testing.T) {
		ctx := context.Background()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rt-config"}, Data: map[string]string{
			// The Go runtime of eci-vnode itself reads GODEBUG from its environment:
			// inittrace=1 makes it print "init ..." lines, proving the variable arrived.
			"GODEBUG": "inittrace=1",
			"SUBCMD":  "version",
		}}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "rt-secret"}, StringData: map[string]string{"word": "from-the-secret"}}
		if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		fromCM := runtimePod("rt-env-cm", nil, []string{"$(SUBCMD)"})
		fromCM.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "rt-config"}}}}
		fromSecret := runtimePod("rt-env-secret", nil, []string{"$(WORD)"})
		fromSecret.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "WORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "rt-secret"}, Key: "word"}}}}
		missing := runtimePod("rt-env-missing", nil, []string{"version"})
		missing.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "rt-config"}, Key: "absent"}}}}
		for _, p := range []*corev1.Pod{fromCM, fromSecret, missing} {
			if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		waitPodPhase(t, client, "rt-env-cm", corev1.PodSucceeded)
		if log := podLog(t, dir, "rt-env-cm", "main"); !strings.Contains(log, "init ") || !strings.Contains(log, "eci-vnode ") {
			t.Errorf("rt-env-cm log lacks GODEBUG init trace or version line:\n%s", log)
		}
		waitPodPhase(t, client, "rt-env-secret", corev1.PodFailed)
		if log := podLog(t, dir, "rt-env-secret", "main"); !strings.Contains(log, `unknown subcommand "from-the-secret"`) {
			t.Errorf("rt-env-secret log lacks the secret's value:\n%s", log)
		}
		waitFor(t, 30*time.Second, "CreateContainerConfigError", func() (bool, string) {
			p, err := client.CoreV1().Pods("default").Get(ctx, "rt-env-missing", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if cs := p.Status.ContainerStatuses; len(cs) == 1 && cs[0].State.Waiting != nil {
				w := cs[0].State.Waiting
				return w.Reason == "CreateContainerConfigError" && strings.Contains(w.Message, "couldn't find key absent in ConfigMap default/rt-config"), w.Reason + ": " + w.Message
			}
			return false, fmt.Sprintf("phase %s", p.Status.Phase)
		})
	})

	t.Run("runtime pods get a service account kubeconfig that works", func(t *testing.T) {
		ctx := context.Background()
		kc := filepath.Join(podDir(t, dir, "rt-version"), "kubeconfig")
		cfg, err := clientcmd.BuildConfigFromFlags("", kc)
		if err != nil {
			t.Fatal(err)
		}
		review, err := kubernetes.NewForConfigOrDie(cfg).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if u := review.Status.UserInfo.Username; u != "system:serviceaccount:default:default" {
			t.Errorf("pod kubeconfig authenticates as %q", u)
		}
	})

	t.Run("crashing runtime container restarts with back-off", func(t *testing.T) {
		ctx := context.Background()
		p := runtimePod("rt-crash", nil, []string{"crash"})
		p.Spec.RestartPolicy = corev1.RestartPolicyAlways
		if _, err := client.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "two restarts", func() (bool, string) {
			got, err := client.CoreV1().Pods("default").Get(ctx, "rt-crash", metav1.GetOptions{})
			if err != nil || len(got.Status.ContainerStatuses) == 0 {
				return false, fmt.Sprint(err)
			}
			cs := got.Status.ContainerStatuses[0]
			last := cs.LastTerminationState.Terminated
			return cs.RestartCount >= 2 && last != nil && last.ExitCode == 2 && got.Status.Phase == corev1.PodRunning,
				fmt.Sprintf("phase %s restarts %d state %+v", got.Status.Phase, cs.RestartCount, cs.State)
		})
	})

	t.Run("deleted pods are stopped and removed", func(t *testing.T) {
		ctx := context.Background()
		for _, name := range []string{"rt-crash", "rt-version"} {
			if err := client.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 30*time.Second, "pods gone", func() (bool, string) {
			var left []string
			for _, name := range []string{"rt-crash", "rt-version"} {
				if _, err := client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err == nil {
					left = append(left, name)
				}
			}
			return len(left) == 0, fmt.Sprint(left)
		})
	})
}

func deployment(name string, replicas int32, image, cpu string) *appsv1.Deployment {
	lbls := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: image,
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}},
				}}},
			},
		},
	}
}

func runtimePod(name string, command, args []string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: RuntimeImageRepository + ":test", Command: command, Args: args}},
		},
	}
}

func deleteDeployment(t *testing.T, c kubernetes.Interface, name string) {
	err := c.AppsV1().Deployments("default").Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	if err != nil {
		t.Errorf("delete deployment %s: %v", name, err)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// unschedulable returns the scheduler's message if the pod is marked unschedulable.
func unschedulable(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.Message
		}
	}
	return ""
}

func waitPodPhase(t *testing.T, c kubernetes.Interface, name string, phase corev1.PodPhase) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	waitFor(t, 30*time.Second, fmt.Sprintf("pod %s %s", name, phase), func() (bool, string) {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pod = p
		return p.Status.Phase == phase && len(p.Status.ContainerStatuses) > 0, fmt.Sprintf("phase %s, containers %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})
	return pod
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, last)
}

func podDir(t *testing.T, dir, pod string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "pods", "default_"+pod+"_*"))
	if len(m) != 1 {
		t.Fatalf("pod dirs for %s: %v", pod, m)
	}
	return m[0]
}

func podLog(t *testing.T, dir, pod, container string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(podDir(t, dir, pod), container+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertNothingLeft fails if any process still names the sandbox dir or a port is still
// bound.
func assertNothingLeft(t *testing.T, dir string, ports []int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := processesMentioning(t, dir)
		var busy []int
		for _, p := range ports {
			if !portFree(p) {
				busy = append(busy, p)
			}
		}
		if len(left) == 0 && len(busy) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("after stop: processes %v, busy ports %v", left, busy)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
