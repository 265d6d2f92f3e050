package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cmdDown stops the sandbox running in a state dir: SIGTERM to the supervisor (which stops
// everything in order), SIGKILL if it does not finish in time (its children then die by
// Pdeathsig), and finally a sweep for any process still running from the state dir.
func cmdDown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "directory the sandbox was started with (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, err := absDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox down: %v\n", err)
		return 2
	}
	ready, _ := readReady(dir)
	pid := supervisorPID(dir)
	if pid == 0 {
		fmt.Fprintf(stdout, "no sandbox supervisor running in %s\n", dir)
	} else {
		fmt.Fprintf(stdout, "stopping the sandbox in %s (supervisor pid %d) ...\n", dir, pid)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		if !waitGone(ctx, pid, stopWait+10*time.Second) {
			fmt.Fprintf(stderr, "supervisor did not stop in time; killing it\n")
			_ = syscall.Kill(pid, syscall.SIGKILL)
			waitGone(ctx, pid, 10*time.Second)
		}
	}
	if left := sweep(dir); len(left) > 0 {
		fmt.Fprintf(stderr, "killed leftover processes from %s: %s\n", dir, strings.Join(left, ", "))
	}
	for _, f := range []string{readyFileName, pidFileName} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	var busy []string
	for _, p := range ready.Ports {
		if !portFree(p) {
			busy = append(busy, strconv.Itoa(p))
		}
	}
	if len(busy) > 0 {
		fmt.Fprintf(stderr, "eci-sandbox down: ports still in use: %s\n", strings.Join(busy, ", "))
		return 1
	}
	fmt.Fprintf(stdout, "sandbox in %s is down\n", dir)
	return 0
}

// waitGone polls until pid has exited, up to d.
func waitGone(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		select {
		case <-ctx.Done():
			return !alive(pid)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return !alive(pid)
}

// isSandboxProgram reports whether name is one of the programs a sandbox runs.
func isSandboxProgram(name string) bool {
	switch name {
	case "etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "eci-vnode", "eci-sandbox":
		return true
	}
	return false
}

// sweep SIGKILLs every process whose command line names a path inside dir (control-plane
// components, pod processes, the supervisor copy) — only reached if an orderly stop failed.
func sweep(dir string) []string {
	prefix := strings.TrimRight(dir, "/") + "/"
	self, parent := os.Getpid(), os.Getppid()
	entries, _ := os.ReadDir("/proc")
	var killed []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || pid == parent {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), prefix) {
			continue
		}
		// Only the sandbox's own programs: a kubectl or an editor pointed at the state
		// dir is not ours to kill.
		name := strings.SplitN(string(b), "\x00", 2)[0]
		if !isSandboxProgram(filepath.Base(name)) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		killed = append(killed, fmt.Sprintf("%d (%s)", pid, filepath.Base(name)))
	}
	return killed
}
