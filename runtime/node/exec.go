package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	utilexec "k8s.io/utils/exec"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// `kubectl exec` on a VNode pod runs through ECI's ExecContainerCommand
// (https://www.alibabacloud.com/help/en/elastic-container-instance/latest/execcontainercommand):
// the call starts the command in the instance's container and returns a
// one-shot WebSocketUri carrying its stdin, stdout, stderr and exit status
// (internal/eci.ExecSession). Every exec goes through the websocket, with or
// without stdin: the action's Sync mode would be one call fewer, but it
// returns stdout and stderr as one text and no exit code, and kubectl must
// get both apart and the code.
//
// ECI has no action that attaches to a container's main process or opens a
// connection to a pod's port, so attach and port-forward are refused at
// once with the alternative.

// execTarget is the container a command runs in.
type execTarget struct {
	namespace, pod, container string
	instanceID                string
	status                    corev1.ContainerStatus // as last read from ECI
}

func (t execTarget) String() string {
	return fmt.Sprintf("container %q of pod %s/%s", t.container, t.namespace, t.pod)
}

// RunInContainer serves `kubectl exec` for a pod on this VNode (through
// virtual-kubelet's api.HandleContainerExec). It returns when the command
// has ended and its output has been copied, or at once when ctx ends (the
// client went away): the session is then closed, which ends the command's
// stdin.
//
// A command that exits non-zero is reported as a utilexec.CodeExitError,
// returned unwrapped: virtual-kubelet's remotecommand server type-asserts
// exactly that interface to send the exit code to kubectl, and sends any
// other error as an internal error.
func (p *Provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	if len(cmd) == 0 {
		return errdefs.InvalidInputf("no command given to run in pod %s/%s", namespace, podName)
	}
	target, err := p.execTarget(namespace, podName, containerName)
	if err != nil {
		return err
	}
	start := p.now()
	code, err := p.runInContainer(ctx, target, cmd, attach)
	log := p.log.With("pod", target.namespace+"/"+target.pod, "container", target.container, "instance", target.instanceID,
		"program", cmd[0], "tty", attach.TTY(), "duration", p.now().Sub(start).Round(time.Millisecond))
	if err != nil {
		// Only the program is logged: the arguments may hold secrets.
		log.Info("exec failed", "error", oneLine(err))
		return err
	}
	log.Info("exec ended", "exitCode", code)
	if code != 0 {
		return utilexec.CodeExitError{Code: code,
			Err: fmt.Errorf("command %q in %s exited with code %d", cmd[0], target, code)}
	}
	return nil
}

func (p *Provider) runInContainer(ctx context.Context, target execTarget, cmd []string, attach api.AttachIO) (int, error) {
	stdin, tty := attach.Stdin(), attach.TTY()
	withStdin := stdin != nil
	resp, err := p.eci.ExecContainerCommand(ctx, &eci.ExecContainerCommandRequest{
		ContainerGroupID: target.instanceID, ContainerName: target.container, Command: cmd, TTY: &tty, Stdin: &withStdin})
	if err != nil {
		return -1, execRefused(target, err)
	}
	if resp.WebSocketURI == "" {
		return -1, fmt.Errorf("ECI started the command in %s but returned no WebSocketUri to attach to (request id %s)", target, resp.RequestID)
	}
	sess, err := eci.DialExec(ctx, resp.WebSocketURI)
	if err != nil {
		return -1, fmt.Errorf("attach to the command ECI started in %s: %w", target, err)
	}
	defer sess.Close()

	if withStdin {
		// Not joined: Read on virtual-kubelet's stdin stream cannot be
		// interrupted from here. The goroutine ends when that stream ends,
		// which virtual-kubelet makes happen when this call returns and it
		// closes the connection, or when its next send finds the session
		// closed.
		go pumpExecStdin(stdin, sess)
	}
	done := make(chan struct{})
	resized := make(chan struct{})
	go func() {
		defer close(resized)
		forwardResizes(attach.Resize(), sess, done)
	}()
	defer func() { close(done); <-resized }()

	stdout, stderr := writerOrDiscard(attach.Stdout()), writerOrDiscard(attach.Stderr())
	code, err := sess.Receive(ctx, stdout, stderr)
	switch {
	case err == nil:
		return code, nil
	case ctx.Err() != nil:
		return -1, fmt.Errorf("exec in %s ended because the client went away: %w", target, ctx.Err())
	case errors.Is(err, eci.ErrExecNoStatus):
		return -1, fmt.Errorf("the command in %s lost its connection to ECI before it ended; it may still be running: %w", target, err)
	default:
		return -1, fmt.Errorf("exec in %s: %w", target, err)
	}
}

// pumpExecStdin copies the client's stdin into the session and closes the
// command's stdin at EOF, so `kubectl exec -i … < file` ends when the file
// does.
func pumpExecStdin(in io.Reader, sess *eci.ExecSession) {
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if sess.Stdin(buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				_ = sess.CloseStdin()
			}
			return
		}
	}
}

// forwardResizes sends the client's terminal sizes to the session until
// done. sizes is nil without a TTY; a closed channel ends the forwarding.
func forwardResizes(sizes <-chan api.TermSize, sess *eci.ExecSession, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s, ok := <-sizes:
			if !ok {
				return
			}
			if s.Width == 0 && s.Height == 0 {
				continue // no size known yet; nothing to tell
			}
			if sess.Resize(s.Width, s.Height) != nil {
				return
			}
		}
	}
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// execTarget finds the pod's instance, or says in a `kubectl exec` user's
// words why there is nothing to run a command in.
func (p *Provider) execTarget(namespace, podName, containerName string) (execTarget, error) {
	target := execTarget{namespace: namespace, pod: podName, container: containerName}
	p.mu.Lock()
	defer p.mu.Unlock()
	uid, ok := p.byKey[podKey(namespace, podName)]
	if !ok {
		return target, errdefs.NotFoundf("pod %s/%s is not on this VNode", namespace, podName)
	}
	t := p.byUID[uid]
	if containerName == "" {
		// The API server names the container; a direct caller may not.
		if len(t.pod.Spec.Containers) != 1 {
			return target, errdefs.InvalidInputf("pod %s/%s has %d containers (%s): name one with -c",
				namespace, podName, len(t.pod.Spec.Containers), strings.Join(containerNames(t.pod), ", "))
		}
		target.container = t.pod.Spec.Containers[0].Name
	}
	cs, ok := findContainerStatus(t.pod, target.container)
	if !ok {
		return target, errdefs.NotFoundf("%s not found: the pod's containers are %s", target, strings.Join(containerNames(t.pod), ", "))
	}
	target.status = cs
	target.instanceID = t.instanceID
	if target.instanceID == "" {
		target.instanceID = t.pod.Annotations[AnnotationInstanceID]
	}
	if target.instanceID == "" {
		switch t.state {
		case stateRefused:
			return target, errdefs.InvalidInputf("cannot exec in %s: the pod was never started on ECI: %s", target, t.pod.Status.Message)
		case stateDeleting, stateFinished:
			return target, errdefs.NotFoundf("cannot exec in %s: the pod was deleted before ECI started it", target)
		}
		return target, errdefs.InvalidInputf("cannot exec in %s yet: its ECI instance is being created", target)
	}
	return target, nil
}

func containerNames(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

// execRefused turns ExecContainerCommand's refusal into what a kubectl
// user can act on.
func execRefused(target execTarget, err error) error {
	var ae *eci.APIError
	switch {
	case eci.IsNotFound(err):
		return errdefs.NotFoundf("cannot exec in %s: its ECI instance %s no longer exists (%v)", target, target.instanceID, err)
	case errors.As(err, &ae) && strings.HasPrefix(strings.ToLower(ae.Code), "incorrectstatus"):
		// ECI runs commands only in running containers (IncorrectStatus);
		// the last status read tells the user why this one is not.
		return errdefs.InvalidInputf("cannot exec in %s: it is not running%s; ECI said: %v", target, stateNote(target.status), err)
	case eci.ClassOf(err) == eci.ClassInvalidInput:
		return errdefs.InvalidInputf("ECI refused to run the command in %s: %v", target, err)
	}
	return fmt.Errorf("ask ECI to run the command in %s: %w", target, err)
}

// stateNote describes a container that is not running, from its status.
func stateNote(cs corev1.ContainerStatus) string {
	switch s := cs.State; {
	case s.Waiting != nil && s.Waiting.Reason != "":
		return " (waiting: " + s.Waiting.Reason + ")"
	case s.Terminated != nil:
		return fmt.Sprintf(" (terminated: %s, exit code %d)", s.Terminated.Reason, s.Terminated.ExitCode)
	}
	return ""
}

// AttachToContainer answers `kubectl attach` at once: ECI offers no way to
// attach to a container's main process, only to start new commands.
func (p *Provider) AttachToContainer(_ context.Context, namespace, podName, containerName string, _ api.AttachIO) error {
	return errdefs.InvalidInputf("kubectl attach is not supported on ECI, which cannot attach to a running process: "+
		"use kubectl exec -it -n %s %s -c %s -- sh for a shell, or kubectl logs -f for its output", namespace, podName, containerName)
}

// PortForward answers `kubectl port-forward` at once: ECI offers no way to
// reach a pod's port through its node.
func (p *Provider) PortForward(_ context.Context, namespace, podName string, port int32, _ io.ReadWriteCloser) error {
	return errdefs.InvalidInputf("port-forward is not supported on ECI, which has no tunnel to a pod's ports: "+
		"expose port %d of pod %s/%s with a Service (kubectl expose), or reach the pod's IP from inside the VPC", port, namespace, podName)
}
