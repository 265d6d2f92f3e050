package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// Container logs come from ECI's DescribeContainerLog. It answers with the
// last Tail lines (at most 2000) since StartTime or SinceSeconds, at most
// 1 MiB of text, with a timestamp before each line on request, and with the
// log of the container's previous run for LastTime (docs/design.md, "ECI
// API facts"; the action's page:
// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-describecontainerlog).
// It has no stream, so `kubectl logs -f` is served by polling.
//
// Every request asks for timestamps, whether or not the user wants them
// shown: they are the cursor that lets the next poll start where the last
// one ended (StartTime), and that tells the lines already sent from new
// ones. Lines are not unique (a program may print the same line twice in
// the same nanosecond), so the cursor is a position, not a text: the time
// of the last line sent and how many lines with exactly that time were
// sent. A poll skips every line older than the cursor time and as many
// lines at the cursor time as were sent, and sends the rest.

const (
	// logMaxTail is DescribeContainerLog's largest Tail; `kubectl logs`
	// without --tail asks for the whole log, of which ECI keeps these.
	logMaxTail = 2000
	// logMaxContent is the most Content one answer carries; an answer this
	// long was cut, and the rest is read from where it ends.
	logMaxContent = 1 << 20
	// logPollMin and logPollMax bound the follow back-off: poll again
	// after logPollMin when lines arrived, doubling up to logPollMax while
	// none do, so an idle `kubectl logs -f` costs 12 calls a minute of the
	// account's 500 (docs/design.md, "Quotas").
	logPollMin = time.Second
	logPollMax = 5 * time.Second
	// logFollowFailures ends a follow after this many failed polls in a
	// row: a brief ECI hiccup does not cut the stream, a lasting one does
	// not keep it open and silent.
	logFollowFailures = 5
	// logMaxPages bounds the calls one read of a log without follow makes
	// when answers are cut at logMaxContent: a log that is written faster
	// than it is read would otherwise keep the request open.
	logMaxPages = 32
	// logTimeLayout is how a kubelet prints log timestamps (RFC 3339 with
	// nanoseconds, fixed width).
	logTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"
)

// logTarget is the container whose log is read.
type logTarget struct {
	namespace, pod, container string
	uid                       types.UID
	instanceID                string
}

func (t logTarget) String() string {
	return fmt.Sprintf("container %q of pod %s/%s", t.container, t.namespace, t.pod)
}

// containerRun is what the runtime last read from ECI about one container.
type containerRun struct {
	restarts   int32
	running    bool
	startedAt  time.Time
	terminated bool
	waiting    string // the reason, when waiting
	everRan    bool   // it ran at least once (running, terminated, or restarted)
}

func runOf(cs corev1.ContainerStatus) containerRun {
	r := containerRun{restarts: cs.RestartCount}
	switch {
	case cs.State.Running != nil:
		r.running, r.startedAt = true, cs.State.Running.StartedAt.Time
	case cs.State.Terminated != nil:
		r.terminated = true
	case cs.State.Waiting != nil:
		r.waiting = cs.State.Waiting.Reason
	}
	r.everRan = r.running || r.terminated || r.restarts > 0 || cs.LastTerminationState.Terminated != nil
	return r
}

// GetContainerLogs serves `kubectl logs` for a pod on this VNode (through
// virtual-kubelet's api.HandleContainerLogs). Every option maps onto
// DescribeContainerLog, except LimitBytes, which is applied here so that it
// counts the bytes the user gets (timestamps included, across a whole
// follow); see docs/runtime.md, "Logs".
func (p *Provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	target, run, err := p.logTarget(namespace, podName, containerName)
	if err != nil {
		return nil, err
	}
	if opts.Previous && run.restarts == 0 {
		// A kubelet answers the same: only a restart leaves a previous run.
		return nil, errdefs.InvalidInputf("previous terminated %s not found: it has not restarted", target)
	}
	if !opts.Previous && !run.everRan {
		reason := run.waiting
		if reason == "" {
			reason = "ContainerCreating"
		}
		return nil, errdefs.InvalidInputf("%s is waiting to start on ECI: %s", target, reason)
	}
	r := &logReader{p: p, target: target, opts: opts}
	var first bytes.Buffer
	// The first read is made before anything is returned, so a refusal by
	// ECI reaches the user as an error rather than as an empty log.
	more, err := r.read(ctx, &first, true, opts.Previous)
	if err != nil {
		return nil, err
	}
	// The log of a previous run is complete, and so is the log of a run
	// that is not running now: there is nothing to follow.
	if !opts.Follow || opts.Previous || !run.running || r.full() {
		for pages := 1; more && !r.full() && pages < logMaxPages; pages++ {
			if more, err = r.read(ctx, &first, false, opts.Previous); err != nil {
				return nil, err
			}
		}
		return io.NopCloser(&first), nil
	}
	return r.follow(ctx, first.Bytes(), more, run), nil
}

// logTarget finds the pod's instance and the container's last known state,
// or says in a `kubectl logs` user's words why there is no log to read.
func (p *Provider) logTarget(namespace, podName, containerName string) (logTarget, containerRun, error) {
	target := logTarget{namespace: namespace, pod: podName, container: containerName}
	p.mu.Lock()
	defer p.mu.Unlock()
	uid, ok := p.byKey[podKey(namespace, podName)]
	if !ok {
		return target, containerRun{}, errdefs.NotFoundf("pod %s/%s is not on this VNode", namespace, podName)
	}
	t := p.byUID[uid]
	target.uid = uid
	if containerName == "" {
		return target, containerRun{}, errdefs.InvalidInputf("no container named for the logs of pod %s/%s", namespace, podName)
	}
	cs, ok := findContainerStatus(t.pod, containerName)
	if !ok {
		return target, containerRun{}, errdefs.NotFoundf("%s not found: the pod has no such container", target)
	}
	target.instanceID = t.instanceID
	if target.instanceID == "" {
		target.instanceID = t.pod.Annotations[AnnotationInstanceID]
	}
	if target.instanceID == "" {
		switch t.state {
		case stateRefused:
			return target, containerRun{}, errdefs.InvalidInputf("%s was never started on ECI: %s", target, t.pod.Status.Message)
		case stateDeleting, stateFinished:
			return target, containerRun{}, errdefs.NotFoundf("%s has no log: the pod was deleted before ECI started it", target)
		}
		return target, containerRun{}, errdefs.InvalidInputf("%s has not started on ECI yet: its instance is being created", target)
	}
	return target, runOf(cs), nil
}

// findContainerStatus is the status of a container, init container or
// sidecar of the pod; a container the status does not list yet has not
// started.
func findContainerStatus(pod *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name == name {
				return cs, true
			}
		}
	}
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == name {
				return corev1.ContainerStatus{Name: name}, true
			}
		}
	}
	return corev1.ContainerStatus{}, false
}

// containerRun is the container's state as last read, and false when the
// pod is no longer on this VNode.
func (p *Provider) containerRun(t logTarget) (containerRun, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tr, ok := p.byUID[t.uid]
	if !ok {
		return containerRun{}, false
	}
	cs, ok := findContainerStatus(tr.pod, t.container)
	if !ok {
		return containerRun{}, false
	}
	return runOf(cs), true
}

// logReader reads one container's log in order, each line once.
type logReader struct {
	p      *Provider
	target logTarget
	opts   api.ContainerLogOpts
	// at is the time of the last line sent and atSent how many lines sent
	// have exactly that time: the cursor.
	at     time.Time
	atSent int
	// written counts the bytes given to the user, for LimitBytes.
	written int
	// gapWarned says a possible gap was already logged.
	gapWarned bool
}

// full reports whether LimitBytes is reached.
func (r *logReader) full() bool { return r.opts.LimitBytes > 0 && r.written >= r.opts.LimitBytes }

// read makes one DescribeContainerLog call and writes the lines after the
// cursor to w. first selects the user's window (Tail, SinceSeconds,
// SinceTime); later reads start at the cursor. previous reads the log of
// the container's previous run (LastTime). more reports that lines are
// waiting already: the answer was cut at ECI's size limit, or (after the
// first) held as many lines as one call returns, and brought new ones.
func (r *logReader) read(ctx context.Context, w io.Writer, first, previous bool) (more bool, err error) {
	req := &eci.DescribeContainerLogRequest{
		ContainerGroupID: r.target.instanceID,
		ContainerName:    r.target.container,
		Tail:             logMaxTail,
		LastTime:         previous,
		Timestamps:       true,
	}
	switch {
	case !first:
		// StartTime takes RFC 3339 whole seconds; rounding down re-reads
		// the lines of the cursor's second, which the cursor then skips.
		req.StartTime = r.at.UTC().Truncate(time.Second).Format(time.RFC3339)
	case !r.opts.SinceTime.IsZero():
		req.StartTime = r.opts.SinceTime.UTC().Truncate(time.Second).Format(time.RFC3339)
	case r.opts.SinceSeconds > 0:
		req.SinceSeconds = int32(min(r.opts.SinceSeconds, 1<<31-1))
	}
	if first && r.opts.Tail > 0 && r.opts.Tail < logMaxTail {
		req.Tail = int32(r.opts.Tail)
	}
	resp, err := r.p.eci.DescribeContainerLog(ctx, req)
	if err != nil {
		return false, r.describeError(ctx, err)
	}
	cut := len(resp.Content) >= logMaxContent
	lines := strings.SplitAfter(resp.Content, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	// An answer cut at the size limit ends inside a line. The next call,
	// from the cursor, reads that line whole; unless it is the only line:
	// a line longer than the limit is sent cut, or the reader would never
	// get past it.
	var dropped string
	if cut && len(lines) > 1 && !strings.HasSuffix(lines[len(lines)-1], "\n") {
		dropped, lines = lines[len(lines)-1], lines[:len(lines)-1]
	}

	// The cursor as it was before this answer: the first atSent lines of
	// the answer at the cursor time were sent by an earlier read.
	since, skip := r.at, r.atSent
	prev := r.at
	var out bytes.Buffer
	newLines := 0
	for _, line := range lines {
		stamp, text, ok := splitLogTimestamp(line)
		if !ok {
			// Without its time a line belongs with the one before it.
			stamp, text = prev, line
		}
		prev = stamp
		switch c := stamp.Compare(since); {
		case c < 0:
			continue
		case c == 0 && skip > 0:
			skip--
			continue
		}
		newLines++
		switch c := stamp.Compare(r.at); {
		case c > 0:
			r.at, r.atSent = stamp, 1
		case c == 0:
			r.atSent++
		}
		if !r.opts.SinceTime.IsZero() && stamp.Before(r.opts.SinceTime) {
			continue
		}
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		if r.opts.Timestamps && ok {
			text = stamp.UTC().Format(logTimeLayout) + " " + text
		}
		if r.opts.LimitBytes > 0 && r.written+len(text) > r.opts.LimitBytes {
			text = text[:r.opts.LimitBytes-r.written]
		}
		out.WriteString(text)
		r.written += len(text)
		if r.full() {
			break
		}
	}
	if out.Len() > 0 {
		if _, err := w.Write(out.Bytes()); err != nil {
			return false, err
		}
	}
	if !first && len(lines) >= logMaxTail && newLines == len(lines) {
		// Every line of a full answer was new: more lines may have been
		// written since the last poll than one call returns, and ECI cannot
		// be asked for those before this answer's first.
		r.warnGap("a container log grows faster than DescribeContainerLog returns it; a follow may miss lines")
	}
	if cut && newLines == 0 {
		// An answer keeps the first MiB from StartTime, which has whole
		// seconds, so a cursor in a second holding more than that cannot
		// move: asking again brings the same lines. Go on from the next
		// second, which may skip the rest of this one.
		next := r.at.Truncate(time.Second).Add(time.Second)
		// Nothing is skipped when the line left out is of a later second.
		if at, _, ok := splitLogTimestamp(dropped); !ok || at.Before(next) {
			r.warnGap("a container wrote more than DescribeContainerLog returns at once (1 MiB) within one second; the rest of that second may be missing")
		}
		r.at, r.atSent = next, 0
		return true, nil
	}
	// A full first answer is simply the tail the user asked for; a full
	// later one may have left lines behind.
	return (cut || (!first && len(lines) >= logMaxTail)) && newLines > 0, nil
}

// warnGap logs, once per read log, that lines may be missing.
func (r *logReader) warnGap(msg string) {
	if r.gapWarned {
		return
	}
	r.gapWarned = true
	r.p.log.Warn(msg, "namespace", r.target.namespace, "pod", r.target.pod, "container", r.target.container, "instanceID", r.target.instanceID)
}

// splitLogTimestamp splits a line ECI stamped (Timestamps) into its time
// and its text; ok is false for a line without a time.
func splitLogTimestamp(line string) (stamp time.Time, text string, ok bool) {
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		return time.Time{}, line, false
	}
	stamp, err := time.Parse(time.RFC3339Nano, line[:sp])
	if err != nil {
		return time.Time{}, line, false
	}
	return stamp, line[sp+1:], true
}

// describeError says what was being done, and keeps ECI's verdict in the
// error class virtual-kubelet turns into an HTTP status.
func (r *logReader) describeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The user went away; there is nobody to explain anything to.
		return ctx.Err()
	}
	err = fmt.Errorf("read the log of %s from ECI instance %s: %w", r.target, r.target.instanceID, err)
	switch eci.ClassOf(err) {
	case eci.ClassNotFound:
		return errdefs.AsNotFound(err)
	case eci.ClassInvalidInput:
		return errdefs.AsInvalidInput(err)
	}
	return err
}

// follow streams the log from the cursor on: first, then whatever each poll
// brings, until the run that was followed has ended and its last lines are
// sent, LimitBytes is reached, ctx ends, or the reader is closed.
func (r *logReader) follow(ctx context.Context, first []byte, more bool, run containerRun) io.ReadCloser {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	s := &logStream{pr: pr, cancel: cancel, done: make(chan struct{})}
	// A poll waiting for the reader to take its lines notices neither ctx
	// nor the stop of a poller: closing the pipe's write side ends the
	// write, and the reader sees the end of the log.
	stopWrite := context.AfterFunc(ctx, func() { _ = pw.Close() })
	go func() {
		defer close(s.done)
		defer stopWrite()
		err := r.poll(ctx, pw, first, more, run)
		_ = pw.CloseWithError(err)
	}()
	return s
}

// poll is the follow loop. It reads the container's state, as the runtime
// last read it from ECI, before each call: a call made after the run was
// seen to end returns all its lines, so the loop ends after that call.
func (r *logReader) poll(ctx context.Context, w io.Writer, first []byte, more bool, started containerRun) error {
	if _, err := w.Write(first); err != nil {
		return nil // the reader is gone
	}
	wait, failures := logPollMin, 0
	if more {
		wait = 0 // the first answer was cut: the rest is there already
	}
	for {
		if wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-timer.C:
			}
		}
		now, present := r.p.containerRun(r.target)
		restarted := present && now.restarts != started.restarts
		ended := !present || restarted || !now.running || !now.startedAt.Equal(started.startedAt)
		before := r.written
		// A run that ended by restarting left its last lines in the log of
		// the previous run. A run seen to have ended but not restarted is
		// still the current log as long as the restart back-off outlasts
		// the runtime's status lag (--status-poll-fast) and this poll; a
		// kubelet's back-off starts at 10 s.
		more, err := r.read(ctx, w, false, restarted)
		switch {
		case ctx.Err() != nil, errors.Is(err, io.ErrClosedPipe):
			return nil
		case err != nil && errdefs.IsNotFound(err):
			return nil // the instance is gone, and its log with it
		case err != nil:
			failures++
			if failures >= logFollowFailures {
				r.p.log.Warn("stopped following a container log", "namespace", r.target.namespace, "pod", r.target.pod,
					"container", r.target.container, "instanceID", r.target.instanceID, "failures", failures, "error", oneLine(err))
				return err
			}
			wait = logPollMax
			continue
		}
		failures = 0
		switch {
		case r.full(), ended && !more:
			return nil
		case more:
			wait = 0
		case r.written > before:
			wait = logPollMin
		default:
			wait = min(2*max(wait, logPollMin/2), logPollMax)
		}
	}
}

// logStream is a followed log. Close stops the poll and waits for it, so no
// call to ECI outlives the request.
type logStream struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *logStream) Read(b []byte) (int, error) { return s.pr.Read(b) }

func (s *logStream) Close() error {
	s.cancel()
	_ = s.pr.Close()
	<-s.done
	return nil
}
