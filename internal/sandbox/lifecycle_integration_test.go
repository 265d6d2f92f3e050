package sandbox

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestSandboxProcessLifecycle runs pods of the runtime image against a stand-in binary that
// stays up until signalled (the real eci-vnode's long-running subcommands need a whole
// environment), to check what a kubelet guarantees for a live process: env in its real
// environment, SIGTERM on deletion, SIGKILL after the grace period, restart after a crash.
func TestSandboxProcessLifecycle(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(t.TempDir(), "fakeruntime")
	if out, err := exec.Command("go", "build", "-o", fake, "./testdata/fakeruntime").CombinedOutput(); err != nil {
		t.Fatalf("build fake runtime: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testToolsTimeout)
	tools, err := EnsureTools(ctx, ToolOptions{})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	tools.ECIVNode = fake
	var ports []int
	t.Cleanup(func() { assertNothingLeft(t, dir, ports) })
	sb := StartForTest(t, Options{Dir: dir, Workers: 1, Tools: tools, RestartBackoff: time.Second})
	ports = sb.Ports()
	client := sb.Client()
	pods := client.CoreV1().Pods("default")

	t.Run("env reaches the live process and SIGTERM stops it on deletion", func(t *testing.T) {
		ctx := context.Background()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fake-config"}, Data: map[string]string{"GREETING": "hello-from-configmap"}}
		if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := runtimePod("fake-serve", []string{"eci-vnode"}, []string{"serve"})
		p.Spec.RestartPolicy = corev1.RestartPolicyAlways
		p.Spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "fake-config"}, Key: "GREETING"}}},
			{Name: "MY_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "MY_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "COMBINED", Value: "$(MY_NAME)@$(MY_IP)"},
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		running := waitPodPhase(t, client, "fake-serve", corev1.PodRunning)
		ip := running.Status.PodIP
		waitFor(t, 30*time.Second, "env in the log", func() (bool, string) {
			log := podLogQuiet(dir, "fake-serve", "main")
			return strings.Contains(log, "args [serve]"), log
		})
		log := podLogQuiet(dir, "fake-serve", "main")
		for _, want := range []string{
			"env GREETING=hello-from-configmap",
			"env MY_NAME=fake-serve",
			"env POD_IP=" + ip,
			"env COMBINED=fake-serve@" + ip,
			"env KUBECONFIG=" + filepath.Join(podDir(t, dir, "fake-serve"), "kubeconfig"),
			"env KUBERNETES_SERVICE_HOST=127.0.0.1",
		} {
			if !strings.Contains(log, want) {
				t.Errorf("process environment lacks %q:\n%s", want, log)
			}
		}
		if len(processesMentioning(t, filepath.Join(dir, "bin", "eci-vnode")+" serve")) != 1 {
			t.Errorf("want exactly one live process for the pod")
		}
		if err := pods.Delete(ctx, "fake-serve", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, pods, "fake-serve", 15*time.Second)
		if log := podLogQuiet(dir, "fake-serve", "main"); !strings.Contains(log, "got SIGTERM") {
			t.Errorf("process did not see SIGTERM:\n%s", log)
		}
		if left := processesOutliving(t, 5*time.Second, filepath.Join(dir, "bin", "eci-vnode")+" serve"); len(left) > 0 {
			t.Errorf("process still running after deletion: %v", left)
		}
	})

	t.Run("a process ignoring SIGTERM is killed after the grace period", func(t *testing.T) {
		ctx := context.Background()
		p := runtimePod("fake-stubborn", nil, []string{"ignore-term"})
		p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](2)
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPodPhase(t, client, "fake-stubborn", corev1.PodRunning)
		waitFor(t, 30*time.Second, "signal handler installed", func() (bool, string) {
			log := podLogQuiet(dir, "fake-stubborn", "main")
			return strings.Contains(log, "ignoring SIGTERM"), log
		})
		began := time.Now()
		if err := pods.Delete(ctx, "fake-stubborn", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, pods, "fake-stubborn", 15*time.Second)
		if d := time.Since(began); d < 2*time.Second {
			t.Errorf("pod removed after %s, before its 2s grace period", d)
		}
		if left := processesOutliving(t, 5*time.Second, "ignore-term"); len(left) > 0 {
			t.Errorf("process still running: %v", left)
		}
	})

	t.Run("a killed process is restarted and its exit shows as the last state", func(t *testing.T) {
		ctx := context.Background()
		p := runtimePod("fake-crash", nil, []string{"serve"})
		p.Spec.RestartPolicy = corev1.RestartPolicyAlways
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		running := waitPodPhase(t, client, "fake-crash", corev1.PodRunning)
		id := running.Status.ContainerStatuses[0].ContainerID
		pid, err := strconv.Atoi(strings.TrimPrefix(id, "sandbox://"))
		if err != nil {
			t.Fatalf("container id %q: %v", id, err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "restart", func() (bool, string) {
			got, err := pods.Get(ctx, "fake-crash", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			cs := got.Status.ContainerStatuses[0]
			last := cs.LastTerminationState.Terminated
			return cs.RestartCount == 1 && cs.State.Running != nil && last != nil && last.ExitCode == 137 && last.Reason == "Error",
				fmt.Sprintf("restarts %d state %+v last %+v", cs.RestartCount, cs.State, cs.LastTerminationState)
		})
	})
}

func waitGone(t *testing.T, pods interface {
	Get(context.Context, string, metav1.GetOptions) (*corev1.Pod, error)
}, name string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, "pod "+name+" deleted", func() (bool, string) {
		p, err := pods.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return true, ""
		}
		return false, fmt.Sprintf("phase %s, deletionTimestamp %v", p.Status.Phase, p.DeletionTimestamp)
	})
}

// podLogQuiet reads a container log, returning "" if it does not exist yet.
func podLogQuiet(dir, pod, container string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "pods", "default_"+pod+"_*", container+".log"))
	if len(m) != 1 {
		return ""
	}
	return fileTail(m[0], 200)
}
