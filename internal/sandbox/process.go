package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one running child: a control-plane component or a pod's container.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed once the process has exited and been reaped
	err     error         // Wait's result, valid after done
	exited  time.Time
}

// processSpec is what startProcess needs to start a child.
type processSpec struct {
	Name    string
	Path    string
	Args    []string
	Env     []string // full environment; nil inherits ours
	Dir     string
	LogPath string // stdout and stderr are appended here
}

// startProcess starts spec through sp and reaps it in the background.
func startProcess(sp *spawner, spec processSpec) (*process, error) {
	logFile, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", spec.Name, err)
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Stdin = nil
	if err := sp.start(cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", spec.Name, spec.Path, err)
	}
	p := &process{name: spec.Name, cmd: cmd, logPath: spec.LogPath, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		p.exited = time.Now()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// pid returns the process id (also its process group id).
func (p *process) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitCode returns the exit code after exit; a death by signal is 128+signal, as a shell and
// a container runtime report it.
func (p *process) exitCode() int {
	<-p.done
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1
}

// signalGroup sends sig to the process's whole process group.
func (p *process) signalGroup(sig syscall.Signal) {
	// The group id is the pid (Setpgid). ESRCH means it is already gone.
	_ = syscall.Kill(-p.pid(), sig)
}

// stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs the group and
// waits for the reap. It returns once the process is gone or ctx ends. kube-apiserver has been
// seen taking over 10 s to exit on SIGTERM, so grace is a bound, not a courtesy.
func (p *process) stop(ctx context.Context, grace time.Duration) error {
	if !p.running() {
		p.signalGroup(syscall.SIGKILL) // leftover grandchildren
		return nil
	}
	p.signalGroup(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		p.signalGroup(syscall.SIGKILL)
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	p.signalGroup(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("stop %s (pid %d): still running 5s after SIGKILL", p.name, p.pid())
	}
}

// logTail returns the last n lines of the process's log, for error messages.
func (p *process) logTail(n int) string {
	return fileTail(p.logPath, n)
}

// fileTail returns the last n lines of a file, reading at most its last 64 KiB.
func fileTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(-max, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return tailLines(string(b), n)
}
