package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// upTimeout bounds the wait for the background sandbox to become ready (tools are built
// before, in the foreground, so this is only the start).
const upTimeout = 3 * time.Minute

// cmdUp starts the sandbox in a detached supervisor process and waits until it is ready.
func cmdUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stateDir := fs.String("state-dir", "", "directory for the sandbox's state, logs and kubeconfig (required)")
	workers := fs.Int("workers", 2, "number of worker nodes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, err := absDir(*stateDir)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox up: %v\n", err)
		return 2
	}
	if pid := supervisorPID(dir); pid != 0 {
		r, err := readReady(dir)
		if err != nil {
			fmt.Fprintf(stderr, "eci-sandbox up: a sandbox supervisor (pid %d) is running in %s but is not ready (%v); see %s or run down first\n", pid, dir, err, filepath.Join(dir, "logs", supervisorLog))
			return 1
		}
		fmt.Fprintf(stdout, "sandbox already running in %s (supervisor pid %d)\n", dir, pid)
		printUsage(stdout, dir, r)
		return 0
	}

	began := time.Now()
	r, err := startSandbox(ctx, dir, *workers, true, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "eci-sandbox up: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "sandbox is up in %s (supervisor pid %d, started in %s)\n", dir, r.PID, time.Since(began).Round(100*time.Millisecond))
	printUsage(stdout, dir, r)
	return 0
}

// startSandbox ensures the tools and starts the supervisor for dir, with the ECI
// emulator and, if vnode, the VNode demoVNode; it returns once the sandbox is ready,
// copying the supervisor's log lines to progress meanwhile.
func startSandbox(ctx context.Context, dir string, workers int, vnode bool, progress io.Writer) (readyInfo, error) {
	tools, err := sandbox.EnsureTools(ctx, sandbox.ToolOptions{Progress: progress})
	if err != nil {
		return readyInfo{}, err
	}
	if err := writeJSON(filepath.Join(dir, toolsFileName), tools); err != nil {
		return readyInfo{}, fmt.Errorf("write tool list: %w", err)
	}
	for _, f := range []string{readyFileName, pidFileName} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	fmt.Fprintf(progress, "starting the sandbox in the background (state in %s) ...\n", dir)
	child, err := startSupervisor(dir, workers, vnode)
	if err != nil {
		return readyInfo{}, err
	}
	log := filepath.Join(dir, "logs", supervisorLog)
	r, err := waitReady(ctx, dir, child, &logFollower{path: log, prefix: "  ", w: progress})
	if err != nil {
		return readyInfo{}, fmt.Errorf("%w\n--- %s (tail) ---\n%s", err, log, tail(log, 40))
	}
	_ = child.Process.Release()
	return r, nil
}

// startSupervisor starts `eci-sandbox serve` detached: its own session (so a Ctrl-C in this
// terminal or the end of `go run`/make does not reach it), stdin from /dev/null and output
// to the state dir.
func startSupervisor(dir string, workers int, vnode bool) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "logs", supervisorLog), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open supervisor log: %w", err)
	}
	defer logFile.Close()
	// The supervisor runs from a copy: `go run` deletes its temporary binary when it exits,
	// and a copy in the state dir keeps `ps` output meaningful.
	bin := filepath.Join(dir, "bin", "eci-sandbox")
	if err := copyExecutable(self, bin); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, serveVerb, "--state-dir", dir, "--workers", strconv.Itoa(workers), "--vnode="+strconv.FormatBool(vnode))
	cmd.Stdout, cmd.Stderr, cmd.Stdin = logFile, logFile, nil
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start supervisor: %w", err)
	}
	return cmd, nil
}

// waitReady waits for the supervisor's ready file. If the supervisor exits first or the wait
// is interrupted, it is stopped and an error returned. The supervisor's new log lines go
// to follow while it waits.
func waitReady(ctx context.Context, dir string, child *exec.Cmd, follow *logFollower) (readyInfo, error) {
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-exited:
			return readyInfo{}, fmt.Errorf("the sandbox supervisor exited before it was ready (%v)", err)
		case <-ctx.Done():
			_ = child.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(stopWait):
				_ = child.Process.Kill()
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return readyInfo{}, fmt.Errorf("the sandbox was not ready after %s; stopped it", upTimeout)
			}
			return readyInfo{}, fmt.Errorf("interrupted; stopped the sandbox")
		case <-t.C:
			follow.poll()
			if r, err := readReady(dir); err == nil {
				return r, nil
			}
		}
	}
}

func copyExecutable(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read own executable: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		return fmt.Errorf("copy supervisor binary: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("copy supervisor binary: %w", err)
	}
	return nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read: %v)", err)
	}
	lines := splitLines(string(b))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
