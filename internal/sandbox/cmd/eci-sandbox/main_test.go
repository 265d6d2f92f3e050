package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eci-vnode/terraform-provider-eci/internal/provider"
)

// TestUpDown drives the CLI as `make demo` and `make demo-down` do: up returns with the
// sandbox running in the background, a second up reports it, the kubeconfig it prints
// works, and down leaves no process or port behind.
func TestUpDown(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "eci-sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build eci-sandbox: %v\n%s", err, out)
	}
	state := filepath.Join(t.TempDir(), "state")
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	// Whatever happens, do not leave a sandbox running.
	t.Cleanup(func() { _, _ = run("down", "--state-dir", state) })

	out, err := run("up", "--state-dir", state, "--workers", "1")
	if err != nil {
		t.Fatalf("up: %v\n%s", err, out)
	}
	kubeconfig := filepath.Join(state, "kubeconfig")
	if !strings.Contains(out, "kubectl --kubeconfig "+kubeconfig+" get nodes") {
		t.Errorf("up output lacks the kubectl hint:\n%s", out)
	}
	pid := supervisorPID(state)
	if pid == 0 {
		t.Fatalf("no supervisor running after up:\n%s", out)
	}

	out, err = run("up", "--state-dir", state)
	if err != nil || !strings.Contains(out, "already running") || !strings.Contains(out, strconv.Itoa(pid)) {
		t.Errorf("second up: %v\n%s", err, out)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// up brings the worker and the demo VNode, whose runtime runs on the worker.
	var names []string
	for _, n := range nodes.Items {
		names = append(names, n.Name)
	}
	if strings.Join(names, ",") != "vnode-demo,worker-1" {
		t.Fatalf("nodes %v, want vnode-demo and worker-1", names)
	}
	if !strings.Contains(out, "vnode-demo") {
		t.Errorf("up output does not tell about the VNode:\n%s", out)
	}
	ready, err := readReady(state)
	if err != nil {
		t.Fatal(err)
	}

	// demo does not apply its runtime over the one up installed.
	out, err = run("demo", "--state-dir", state)
	if err == nil || !strings.Contains(out, "started by `eci-sandbox up` with its own VNode vnode-demo") {
		t.Errorf("demo on a sandbox of up: %v\n%s", err, out)
	}

	out, err = run("down", "--state-dir", state)
	if err != nil || !strings.Contains(out, "is down") {
		t.Fatalf("down: %v\n%s", err, out)
	}
	if alive(pid) {
		t.Errorf("supervisor %d still alive after down", pid)
	}
	if left := sweepCandidates(state); len(left) > 0 {
		t.Errorf("processes left after down: %v", left)
	}
	for _, p := range ready.Ports {
		if !portFree(p) {
			t.Errorf("port %d still in use after down", p)
		}
	}
	if _, err := os.Stat(filepath.Join(state, readyFileName)); !os.IsNotExist(err) {
		t.Errorf("ready file left behind: %v", err)
	}
}

// sweepCandidates lists processes whose command line names a path in dir.
func sweepCandidates(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), dir+"/") {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// The demo's Terraform CLI config overrides the provider at the address the
// provider serves at.
func TestProviderAddress(t *testing.T) {
	if providerAddress != provider.RegistryAddress {
		t.Fatalf("providerAddress %q, provider.RegistryAddress %q", providerAddress, provider.RegistryAddress)
	}
}

// podsProgress is done only when every pod of the Deployment runs on a VNode
// with an instance behind it, and says what the others wait for.
func TestPodsProgress(t *testing.T) {
	vnodes := map[string]bool{"vnode-a": true, "vnode-b": true}
	pod := func(name, node string, phase corev1.PodPhase, instance string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
		if instance != "" {
			p.Annotations = map[string]string{annInstanceID: instance}
		}
		return p
	}
	terminating := pod("web-old", "vnode-a", corev1.PodRunning, "eci-0")
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	for _, tc := range []struct {
		name  string
		pods  []corev1.Pod
		state string
		done  bool
	}{
		{"all running", []corev1.Pod{pod("web-1", "vnode-a", corev1.PodRunning, "eci-1"), pod("web-2", "vnode-b", corev1.PodRunning, "eci-2")},
			"2/2 Running on VNodes", true},
		{"one without instance", []corev1.Pod{pod("web-1", "vnode-a", corev1.PodRunning, "eci-1"), pod("web-2", "vnode-b", corev1.PodPending, "")},
			"1/2 Running on VNodes (web-2 Pending on vnode-b)", false},
		{"one on a worker", []corev1.Pod{pod("web-1", "vnode-a", corev1.PodRunning, "eci-1"), pod("web-2", "worker-1", corev1.PodRunning, "")},
			"1/2 Running on VNodes (web-2 is on worker-1, not a VNode)", false},
		{"one too few", []corev1.Pod{pod("web-1", "vnode-a", corev1.PodRunning, "eci-1")},
			"1/2 Running on VNodes", false},
		{"terminating left out", []corev1.Pod{terminating, pod("web-1", "vnode-a", corev1.PodRunning, "eci-1"), pod("web-2", "", corev1.PodPending, "")},
			"1/2 Running on VNodes (web-2 Pending)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, state, done := podsProgress(tc.pods, 2, vnodes)
			if state != tc.state || done != tc.done {
				t.Errorf("podsProgress = %q, %v; want %q, %v", state, done, tc.state, tc.done)
			}
		})
	}
}
