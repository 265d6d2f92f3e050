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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
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
