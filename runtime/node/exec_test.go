package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	clientexec "k8s.io/client-go/util/exec"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// These tests run commands in emulated ECI containers the way kubectl
// does: client-go's remotecommand (SPDY) against virtual-kubelet's own
// kubelet API handler, which calls the Provider. Only the TLS and
// authentication in front of that handler are left out.

// kubeletServer serves virtual-kubelet's pod routes for the rig's provider.
func (r *rig) kubeletServer() *httptest.Server {
	r.t.Helper()
	h := api.PodHandler(api.PodHandlerConfig{
		RunInContainer:    r.p.RunInContainer,
		AttachToContainer: r.p.AttachToContainer,
		PortForward:       r.p.PortForward,
	}, false)
	srv := httptest.NewServer(h)
	r.t.Cleanup(srv.Close)
	return srv
}

// execOptions are what kubectl exec sends.
type execOptions struct {
	stdin  io.Reader
	tty    bool
	sizes  remotecommand.TerminalSizeQueue
	stdout io.Writer
	stderr io.Writer
}

// kubectlExec runs cmd in the pod's container through srv as kubectl's
// SPDY executor does.
func kubectlExec(ctx context.Context, t *testing.T, srv *httptest.Server, pod *corev1.Pod, container string, cmd []string, o execOptions) error {
	t.Helper()
	q := url.Values{"command": cmd, "output": {"1"}}
	if o.stdin != nil {
		q.Set("input", "1")
	}
	if o.tty {
		q.Set("tty", "1")
	} else {
		q.Set("error", "1")
	}
	u, err := url.Parse(srv.URL + "/exec/" + pod.Namespace + "/" + pod.Name + "/" + container + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewSPDYExecutor(&rest.Config{Host: srv.URL}, http.MethodPost, u)
	if err != nil {
		t.Fatal(err)
	}
	so := remotecommand.StreamOptions{Stdin: o.stdin, Stdout: o.stdout, Tty: o.tty, TerminalSizeQueue: o.sizes}
	if !o.tty {
		so.Stderr = o.stderr
	}
	return ex.StreamWithContext(ctx, so)
}

func TestExecReturnsStdoutStderrAndTheExitCodeToKubectl(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := shellPod("exec-code", "sleep infinity", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)
	srv := r.kubeletServer()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var out, errOut bytes.Buffer
	err := kubectlExec(ctx, t, srv, pod, "app", []string{"sh", "-c", "echo hello; cat /no/such/file; exit 3"},
		execOptions{stdout: &out, stderr: &errOut})
	var code clientexec.CodeExitError
	if !errors.As(err, &code) || code.Code != 3 {
		t.Fatalf("exec error %v (%T), want exit code 3", err, err)
	}
	if out.String() != "hello\n" {
		t.Fatalf("stdout %q, want %q", out.String(), "hello\n")
	}
	if !strings.Contains(errOut.String(), "/no/such/file") || strings.Contains(out.String(), "/no/such/file") {
		t.Fatalf("stderr %q, stdout %q: the cat error belongs on stderr alone", errOut.String(), out.String())
	}

	out.Reset()
	errOut.Reset()
	if err := kubectlExec(ctx, t, srv, pod, "app", []string{"hostname"}, execOptions{stdout: &out, stderr: &errOut}); err != nil {
		t.Fatalf("a command exiting 0 failed: %v", err)
	}
	if strings.TrimSpace(out.String()) == "" {
		t.Fatal("hostname printed nothing")
	}
}

func TestExecInteractiveStdinReachesTheCommandLineByLine(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := shellPod("exec-cat", "sleep infinity", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)
	srv := r.kubeletServer()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	done := make(chan error, 1)
	go func() {
		done <- kubectlExec(ctx, t, srv, pod, "app", []string{"cat"}, execOptions{stdin: inR, stdout: outW, stderr: io.Discard})
		outW.Close()
	}()
	lines := bufio.NewReader(outR)
	// Each line must come back before the next is sent: the session is
	// interactive, not a batch run when stdin ends.
	for _, line := range []string{"first line\n", "second line\n", "third\n"} {
		if _, err := io.WriteString(inW, line); err != nil {
			t.Fatal(err)
		}
		got, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading back %q: %v", line, err)
		}
		if got != line {
			t.Fatalf("read back %q, want %q", got, line)
		}
	}
	inW.Close() // EOF ends cat
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cat ended with %v, want success after stdin closed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cat did not end after stdin closed")
	}
}

// sizeQueue hands kubectl's terminal sizes to the executor.
type sizeQueue chan remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	s, ok := <-q
	if !ok {
		return nil
	}
	return &s
}

func TestExecWithATerminalRunsAShellAndTakesResizes(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := shellPod("exec-tty", "sleep infinity", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)
	srv := r.kubeletServer()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	sizes := make(sizeQueue, 2)
	sizes <- remotecommand.TerminalSize{Width: 120, Height: 40}
	sizes <- remotecommand.TerminalSize{Width: 80, Height: 24}
	inR, inW := io.Pipe()
	t.Cleanup(func() { inW.Close(); close(sizes) })
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- kubectlExec(ctx, t, srv, pod, "app", []string{"sh"}, execOptions{stdin: inR, tty: true, sizes: sizes, stdout: out})
	}()
	// Resizes travel beside stdin, so ask the shell for its terminal size
	// until the last one has arrived.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "24 80\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never took the size 80x24; output %q", out.String())
		}
		if _, err := io.WriteString(inW, "stty size\n"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(inW, "echo in-a-tty\nexit 4\n"); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the shell did not end after exit")
	}
	var code clientexec.CodeExitError
	if !errors.As(err, &code) || code.Code != 4 {
		t.Fatalf("exec error %v, want the shell's exit code 4; output %q", err, out.String())
	}
	if !strings.Contains(out.String(), "# in-a-tty\n") {
		t.Fatalf("output %q, want the shell's prompt and the echoed text", out.String())
	}
}

// lockedBuffer is stdout read while the executor writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// attachIO is what virtual-kubelet hands the provider, for calling it
// directly.
type attachIO struct {
	stdin          io.Reader
	stdout, stderr io.WriteCloser
}

func (a attachIO) Stdin() io.Reader                  { return a.stdin }
func (a attachIO) Stdout() io.WriteCloser            { return a.stdout }
func (a attachIO) Stderr() io.WriteCloser            { return a.stderr }
func (a attachIO) TTY() bool                         { return false }
func (a attachIO) Resize() <-chan api.TermSize       { return nil }
func (nopWriteCloser) Close() error                  { return nil }
func (w nopWriteCloser) Write(p []byte) (int, error) { return w.w.Write(p) }

type nopWriteCloser struct{ w io.Writer }

func TestExecEndsAnInteractiveSessionPromptlyWhenTheClientGoesAway(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := shellPod("exec-cancel", "sleep infinity", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	t.Cleanup(func() { inW.Close(); outR.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- r.p.RunInContainer(ctx, pod.Namespace, pod.Name, "app", []string{"cat"},
			attachIO{stdin: inR, stdout: nopWriteCloser{outW}, stderr: nopWriteCloser{io.Discard}})
	}()
	if _, err := io.WriteString(inW, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if got, err := bufio.NewReader(outR).ReadString('\n'); err != nil || got != "ping\n" {
		t.Fatalf("read back %q, %v; want the session up before cancelling", got, err)
	}
	// stdin stays open: only the cancel can end this session.
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RunInContainer returned %v, want the cancellation", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("RunInContainer still running 2 s after its context was cancelled")
	}
}

func TestExecRefusalsSayWhyInKubectlTerms(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	live := shellPod("exec-live", "sleep infinity", corev1.RestartPolicyAlways)
	ended := shellPod("exec-ended", "echo bye; exit 1", corev1.RestartPolicyNever)
	r.create(live)
	r.create(ended)
	r.waitFor(live, "running", running)
	r.waitFor(ended, "failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	// A pod whose instance cannot be created yet.
	r.emu.SetFault("CreateContainerGroup", emulator.Fault{ErrorRate: 1, Code: "Throttling.User", HTTPStatus: 400, Message: "Request was denied due to user flow control."})
	waiting := shellPod("exec-waiting", "sleep infinity", corev1.RestartPolicyAlways)
	r.create(waiting)
	r.waitFor(waiting, "pending", func(p *corev1.Pod) bool { return p.Status.Reason == ReasonCreateRetrying })

	aio := attachIO{stdout: nopWriteCloser{&bytes.Buffer{}}, stderr: nopWriteCloser{&bytes.Buffer{}}}
	ctx := context.Background()
	for _, c := range []struct {
		name, pod, container string
		cmd                  []string
		is                   func(error) bool
		says                 string
	}{
		{"unknown pod", "nope", "app", []string{"ls"}, errdefs.IsNotFound, "pod default/nope is not on this VNode"},
		{"unknown container", "exec-live", "db", []string{"ls"}, errdefs.IsNotFound, `container "db" of pod default/exec-live not found: the pod's containers are app`},
		{"no command", "exec-live", "app", nil, errdefs.IsInvalidInput, "no command given"},
		{"no instance yet", "exec-waiting", "app", []string{"ls"}, errdefs.IsInvalidInput, "its ECI instance is being created"},
		{"container ended", "exec-ended", "app", []string{"ls"}, errdefs.IsInvalidInput, "it is not running (terminated: Error, exit code 1)"},
		{"too many arguments", "exec-live", "app", make([]string, 21), errdefs.IsInvalidInput, "ECI refused to run the command"},
	} {
		err := r.p.RunInContainer(ctx, "default", c.pod, c.container, c.cmd, aio)
		if err == nil || !c.is(err) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %v; want one saying %q of the right class", c.name, err, c.says)
		}
	}

	r.emu.SetFault("ExecContainerCommand", emulator.Fault{ErrorRate: 1, Code: "InternalError", HTTPStatus: 500, Message: "The request processing has failed due to some unknown error."})
	err := r.p.RunInContainer(ctx, "default", "exec-live", "app", []string{"ls"}, aio)
	if err == nil || !strings.Contains(err.Error(), `ask ECI to run the command in container "app" of pod default/exec-live`) ||
		!strings.Contains(err.Error(), "InternalError") {
		t.Fatalf("ECI failure: %v; want it wrapped with what was being done", err)
	}
}

func TestExecAttachAndPortForwardAreRefusedAtOnce(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := r.p.AttachToContainer(ctx, "default", "web", "app", attachIO{stdin: strings.NewReader("")})
	if !errdefs.IsInvalidInput(err) || !strings.Contains(err.Error(), "kubectl attach is not supported on ECI") ||
		!strings.Contains(err.Error(), "kubectl exec -it -n default web -c app") {
		t.Fatalf("attach: %v", err)
	}
	err = r.p.PortForward(ctx, "default", "web", 8080, nil)
	if !errdefs.IsInvalidInput(err) || !strings.Contains(err.Error(), "port-forward is not supported on ECI") ||
		!strings.Contains(err.Error(), "Service") {
		t.Fatalf("port-forward: %v", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("refusals took %v", d)
	}

	// Through the kubelet API, kubectl attach gets the reason, not a hang.
	srv := r.kubeletServer()
	u, _ := url.Parse(srv.URL + "/attach/default/web/app?output=1&error=1")
	ex, err := remotecommand.NewSPDYExecutor(&rest.Config{Host: srv.URL}, http.MethodPost, u)
	if err != nil {
		t.Fatal(err)
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "kubectl attach is not supported on ECI") {
		t.Fatalf("kubectl attach through the kubelet API: %v", err)
	}
}
