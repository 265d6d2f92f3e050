package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// outputTailLines is how much of a failed command's output an error carries: enough to see
// the compiler or apt error, not so much that it buries the message.
const outputTailLines = 30

// commandError reports a failed tool step with the command and the tail of its output, so a
// failure in `make tools` says what was being done without rerunning anything by hand.
type commandError struct {
	step string
	args []string
	err  error
	tail string
}

func (e *commandError) Error() string {
	return fmt.Sprintf("%s: %s: %v\n--- last output ---\n%s", e.step, strings.Join(e.args, " "), e.err, e.tail)
}

func (e *commandError) Unwrap() error { return e.err }

// runStep runs a command for a named step with extra environment, capturing combined output
// and returning a *commandError with the output tail when it fails.
func runStep(ctx context.Context, step, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// Kill the whole build if the context ends; the go command forks compilers.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return out.Bytes(), &commandError{step: step, args: append([]string{name}, args...), err: err, tail: tailLines(out.String(), outputTailLines)}
	}
	return out.Bytes(), nil
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// progress writes progress lines and, for long steps, a heartbeat so a user watching
// `make tools` can tell a six-minute build from a hang.
type progress struct{ w io.Writer }

func (p progress) printf(format string, args ...any) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// longStep prints start, a heartbeat every interval while fn runs, and the elapsed time.
func (p progress) longStep(ctx context.Context, start string, interval time.Duration, fn func() error) error {
	p.printf("%s", start)
	began := time.Now()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p.printf("  ... still working (%s)", time.Since(began).Round(time.Second))
			}
		}
	}()
	err := fn()
	close(done)
	<-stopped
	if err != nil {
		return err
	}
	p.printf("  done in %s", time.Since(began).Round(100*time.Millisecond))
	return nil
}
