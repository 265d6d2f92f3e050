package node

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// These tests read logs through the Provider, the real ECI client and the
// emulator, whose shell interpreter runs each container's command on the
// emulator's clock (here the real one): `sleep` spaces the lines in time,
// so lines appear while a follow is polling.

// shellPod is a pod whose one container "app" runs script.
func shellPod(name, script string, restart corev1.RestartPolicy) *corev1.Pod {
	pod := unitPod(name, nil)
	pod.Spec.RestartPolicy = restart
	pod.Spec.Containers[0].Image = "busybox:1.36"
	pod.Spec.Containers[0].Command = []string{"sh", "-c", script}
	return pod
}

// logs reads a whole log, failing the test on an error.
func (r *rig) logs(pod *corev1.Pod, opts api.ContainerLogOpts) string {
	r.t.Helper()
	rc, err := r.p.GetContainerLogs(context.Background(), pod.Namespace, pod.Name, "app", opts)
	if err != nil {
		r.t.Fatalf("logs of %s with %+v: %v", pod.Name, opts, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		r.t.Fatalf("read the logs of %s with %+v: %v", pod.Name, opts, err)
	}
	return string(b)
}

// stamped splits lines printed with Timestamps into times and texts.
func stamped(t *testing.T, out string) ([]time.Time, []string) {
	t.Helper()
	var stamps []time.Time
	var texts []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		ts, text, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("line %q has no timestamp", l)
		}
		at, err := time.Parse(logTimeLayout, ts)
		if err != nil {
			t.Fatalf("line %q: timestamp not in the kubelet's layout: %v", l, err)
		}
		stamps = append(stamps, at)
		texts = append(texts, text)
	}
	return stamps, texts
}

func TestContainerLogsHonourTailLimitBytesTimestampsAndSince(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := shellPod("talker", "echo one; echo two; echo two; sleep 2; echo three; echo four; sleep infinity", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasSuffix(r.logs(pod, api.ContainerLogOpts{}), "four\n") {
		if time.Now().After(deadline) {
			t.Fatalf("the log never reached its last line: %q", r.logs(pod, api.ContainerLogOpts{}))
		}
		time.Sleep(100 * time.Millisecond)
	}

	if got, want := r.logs(pod, api.ContainerLogOpts{}), "one\ntwo\ntwo\nthree\nfour\n"; got != want {
		t.Fatalf("whole log %q, want %q", got, want)
	}
	if got, want := r.logs(pod, api.ContainerLogOpts{Tail: 2}), "three\nfour\n"; got != want {
		t.Fatalf("tail 2: %q, want %q", got, want)
	}
	if got, want := r.logs(pod, api.ContainerLogOpts{LimitBytes: 6}), "one\ntw"; got != want {
		t.Fatalf("limitBytes 6: %q, want %q", got, want)
	}

	stamps, texts := stamped(t, r.logs(pod, api.ContainerLogOpts{Timestamps: true}))
	if strings.Join(texts, ",") != "one,two,two,three,four" {
		t.Fatalf("texts with timestamps: %q", texts)
	}
	if !stamps[0].Equal(stamps[2]) || stamps[3].Sub(stamps[0]) < 2*time.Second || stamps[4].Before(stamps[3]) {
		t.Fatalf("timestamps %v: the first three lines are written at once, the last two 2s later", stamps)
	}
	// LimitBytes counts what the user gets, timestamps included.
	if got := r.logs(pod, api.ContainerLogOpts{Timestamps: true, LimitBytes: 10}); got != stamps[0].Format(logTimeLayout)[:10] {
		t.Fatalf("timestamps with limitBytes 10: %q", got)
	}

	// sinceTime between the two bursts: a second boundary after the
	// first lines and before the last ones.
	since := stamps[0].Add(time.Second).Truncate(time.Second).Add(time.Second)
	if !since.After(stamps[0]) || since.After(stamps[3]) {
		t.Fatalf("test bug: sinceTime %v is not between %v and %v", since, stamps[0], stamps[3])
	}
	if got, want := r.logs(pod, api.ContainerLogOpts{SinceTime: since}), "three\nfour\n"; got != want {
		t.Fatalf("sinceTime %v: %q, want %q", since, got, want)
	}
	if got, want := r.logs(pod, api.ContainerLogOpts{SinceSeconds: 3600}), "one\ntwo\ntwo\nthree\nfour\n"; got != want {
		t.Fatalf("sinceSeconds 3600: %q, want %q", got, want)
	}
	// Once a second has passed since the last line, sinceSeconds 1 finds
	// nothing new.
	time.Sleep(time.Until(stamps[4].Add(1200 * time.Millisecond)))
	if got := r.logs(pod, api.ContainerLogOpts{SinceSeconds: 1}); got != "" {
		t.Fatalf("sinceSeconds 1, a second after the last line: %q, want nothing", got)
	}
	if got, want := r.logs(pod, api.ContainerLogOpts{SinceSeconds: 3600, Tail: 1}), "four\n"; got != want {
		t.Fatalf("sinceSeconds 3600 with tail 1: %q, want %q", got, want)
	}
}

func TestContainerLogsFollowSendsEachLineOnceAndEndsWithTheContainer(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	// "b" twice at the same instant, then once more a second later: the
	// follow must tell them apart by position, not by text.
	pod := shellPod("follow", "echo a; sleep 3; echo b; echo b; sleep 1; echo b; sleep 1; echo c; exit 0", corev1.RestartPolicyNever)
	r.create(pod)
	r.waitFor(pod, "running", running)
	start := time.Now()
	rc, err := r.p.GetContainerLogs(context.Background(), pod.Namespace, pod.Name, "app", api.ContainerLogOpts{Follow: true, Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(rc)
		done <- result{string(b), err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the follow did not end after the container exited")
	}
	if res.err != nil {
		t.Fatalf("follow: %v", res.err)
	}
	stamps, texts := stamped(t, res.out)
	if got := strings.Join(texts, ","); got != "a,b,b,b,c" {
		t.Fatalf("followed %q, want each line once: a,b,b,b,c", got)
	}
	if !stamps[1].Equal(stamps[2]) || !stamps[3].After(stamps[2]) {
		t.Fatalf("timestamps %v: want the first two b at one instant and the third later", stamps)
	}
	// The follow started before the container wrote "b": those lines were
	// appended while it was polling.
	if !stamps[1].After(start) {
		t.Fatalf("the follow started at %v, after the lines it should have waited for (%v); the test proves nothing", start, stamps[1])
	}
	p := r.waitFor(pod, "succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if p.Status.ContainerStatuses[0].State.Terminated == nil {
		t.Fatal("the container of a succeeded pod must be terminated")
	}
	// A follow of a container that has ended returns its log and ends.
	if got, want := r.logs(pod, api.ContainerLogOpts{Follow: true}), "a\nb\nb\nb\nc\n"; got != want {
		t.Fatalf("follow after the end: %q, want %q", got, want)
	}
}

func TestContainerLogsFollowEndsWhenTheCallerGoesAway(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := shellPod("forever", "echo hello; sleep infinity", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)

	// ctx cancelled: the reader sees the end of the log.
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := r.p.GetContainerLogs(ctx, pod.Namespace, pod.Name, "app", api.ContainerLogOpts{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := rc.Read(buf)
	if err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("first read %q, %v; want hello", buf[:n], err)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(rc)
		ended <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("read after cancel: %v; want the end of the log", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the follow kept running after its context was cancelled")
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}

	// Close without a cancel: Close ends the poll and waits for it.
	rc, err = r.p.GetContainerLogs(context.Background(), pod.Namespace, pod.Name, "app", api.ContainerLogOpts{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Read(buf); err != nil || string(buf[:n]) != "hello\n" {
		t.Fatalf("first read %q, %v; want hello", buf[:n], err)
	}
	closed := make(chan error, 1)
	go func() { closed <- rc.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end the follow")
	}
	if _, err := rc.Read(buf); err == nil {
		t.Fatal("a read after Close succeeded")
	}
}

func TestContainerLogsPreviousReadsTheRunBeforeARestart(t *testing.T) {
	r := newRig(t, emulator.Config{Lifecycle: emulator.LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1, Terminating: -1,
		CrashBackoff: 300 * time.Millisecond, CrashBackoffMax: 300 * time.Millisecond}}, nil)
	pod := shellPod("crashy", "echo run; sleep 2; exit 3", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)
	if _, err := r.p.GetContainerLogs(context.Background(), pod.Namespace, pod.Name, "app", api.ContainerLogOpts{Previous: true}); !errdefs.IsInvalidInput(err) ||
		!strings.Contains(err.Error(), "has not restarted") {
		t.Fatalf("previous before a restart: %v; want an invalid-input error saying it has not restarted", err)
	}
	r.waitFor(pod, "running again after a restart", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].State.Running != nil
	})
	prevStamps, prev := stamped(t, r.logs(pod, api.ContainerLogOpts{Previous: true, Timestamps: true}))
	curStamps, cur := stamped(t, r.logs(pod, api.ContainerLogOpts{Timestamps: true}))
	if strings.Join(prev, ",") != "run" || strings.Join(cur, ",") != "run" {
		t.Fatalf("previous %q, current %q; want one line each", prev, cur)
	}
	if !curStamps[0].After(prevStamps[0].Add(2 * time.Second)) {
		t.Fatalf("previous run's line at %v, current run's at %v: previous must be the earlier run", prevStamps[0], curStamps[0])
	}
}

func TestContainerLogsFollowOfACrashingContainerEndsWithItsRun(t *testing.T) {
	r := newRig(t, emulator.Config{Lifecycle: emulator.LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1, Terminating: -1,
		CrashBackoff: 3 * time.Second, CrashBackoffMax: 3 * time.Second}}, nil)
	// The back-off outlasts the status lag (see poll; a kubelet's starts at 10 s).
	pod := shellPod("crash-follow", "echo x; sleep 2; echo y; exit 1", corev1.RestartPolicyAlways)
	r.create(pod)
	r.waitFor(pod, "running", running)
	rc, err := r.p.GetContainerLogs(context.Background(), pod.Namespace, pod.Name, "app", api.ContainerLogOpts{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	done := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(rc)
		done <- string(b)
	}()
	select {
	case got := <-done:
		// The next run prints "x" again; it belongs to another follow.
		if got != "x\ny\n" {
			t.Fatalf("followed %q, want the crashed run's lines x, y once", got)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the follow did not end when its run crashed")
	}
}

func TestContainerLogsErrorsSayWhyThereIsNoLog(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	r.emu.SetFault("CreateContainerGroup", emulator.Fault{ErrorRate: 1, Code: "Throttling.User", HTTPStatus: 400, Message: "Request was denied due to user flow control."})
	waiting := shellPod("waiting", "echo hi", corev1.RestartPolicyNever)
	r.create(waiting)
	r.waitFor(waiting, "pending without an instance", func(p *corev1.Pod) bool { return p.Status.Reason == ReasonCreateRetrying })

	get := func(name, container string) error {
		t.Helper()
		rc, err := r.p.GetContainerLogs(context.Background(), "default", name, container, api.ContainerLogOpts{})
		if err == nil {
			rc.Close()
			t.Fatalf("logs of %s/%s: no error", name, container)
		}
		return err
	}
	for _, c := range []struct {
		name, pod, container string
		is                   func(error) bool
		says                 string
	}{
		{"a pod on another node", "elsewhere", "app", errdefs.IsNotFound, "pod default/elsewhere is not on this VNode"},
		{"a container the pod lacks", "waiting", "sidecar", errdefs.IsNotFound, `container "sidecar" of pod default/waiting not found`},
		{"a pod without an instance", "waiting", "app", errdefs.IsInvalidInput, `container "app" of pod default/waiting has not started on ECI yet`},
		{"no container name", "waiting", "", errdefs.IsInvalidInput, "no container named"},
	} {
		err := get(c.pod, c.container)
		if !c.is(err) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v; want an error of the right class saying %q", c.name, err, c.says)
		}
	}

	// ECI's own refusal comes back wrapped with what was being done, in
	// the class virtual-kubelet turns into the HTTP status.
	r.emu.ClearFaults()
	// The runtime's own view is written before the API server's.
	r.waitFor(waiting, "succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	r.emu.SetFault("DescribeContainerLog", emulator.Fault{ErrorRate: 1, Code: "InvalidParameter", HTTPStatus: 400, Message: "The specified parameter is not valid."})
	err := get("waiting", "app")
	if !errdefs.IsInvalidInput(err) || !strings.Contains(err.Error(), `read the log of container "app" of pod default/waiting from ECI instance eci-`) {
		t.Fatalf("ECI refused the read: %v", err)
	}
}

func TestContainerLogsLongerThanOneAnswerAreReadWhole(t *testing.T) {
	// ECI returns at most 1 MiB of text a call, and StartTime has whole
	// seconds: lines of 600 KiB, one a second, take a call each.
	long := strings.Repeat("x", 600<<10)
	huge := strings.Repeat("y", 1200<<10)
	r := newRig(t, emulator.Config{Images: map[string]emulator.ImageBehaviour{
		"registry.example/long": {Logs: []string{"start"}, LogEvery: time.Second, LogLine: long, RunFor: 2500 * time.Millisecond},
		"registry.example/huge": {Logs: []string{"huge " + huge}, LogEvery: time.Second, LogLine: "after", RunFor: 1500 * time.Millisecond},
	}}, nil)
	longPod, hugePod, followed := unitPod("long", nil), unitPod("huge", nil), unitPod("long-followed", nil)
	longPod.Spec.Containers[0].Image = "registry.example/long:1"
	hugePod.Spec.Containers[0].Image = "registry.example/huge:1"
	followed.Spec.Containers[0].Image = "registry.example/long:1"
	for _, pod := range []*corev1.Pod{longPod, hugePod, followed} {
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
		r.create(pod)
	}
	// Followed from its start, the long lines arrive one per poll.
	r.waitFor(followed, "running", running)
	rc, err := r.p.GetContainerLogs(context.Background(), followed.Namespace, followed.Name, "app", api.ContainerLogOpts{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if want := "start\n" + long + " 1\n" + long + " 2\n"; err != nil || string(b) != want {
		t.Fatalf("followed a log of long lines: %d bytes, %v; want %d bytes, each line whole and once", len(b), err, len(want))
	}
	for _, pod := range []*corev1.Pod{longPod, hugePod} {
		r.waitFor(pod, "succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	}
	if got, want := r.logs(longPod, api.ContainerLogOpts{}), "start\n"+long+" 1\n"+long+" 2\n"; got != want {
		t.Fatalf("a log of several answers: got %d bytes, want %d: each line whole and once", len(got), len(want))
	}
	// A line longer than an answer can only be sent cut; what follows it
	// still comes.
	got := r.logs(hugePod, api.ContainerLogOpts{})
	first, rest, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(first, "huge yyy") || len(first) > 1<<20 || rest != "after 1\n" {
		t.Fatalf("a line longer than an answer: first line %d bytes, then %q", len(first), rest)
	}
}

func TestContainerLogsThroughVirtualKubeletsHandler(t *testing.T) {
	r := newRig(t, emulator.Config{}, nil)
	pod := shellPod("served", "echo first; sleep 3; echo second; exit 0", corev1.RestartPolicyNever)
	r.create(pod)
	r.waitFor(pod, "running", running)
	srv := httptest.NewServer(api.PodHandler(api.PodHandlerConfig{GetContainerLogs: r.p.GetContainerLogs}, false))
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/containerLogs/default/served/app?follow=true&timestamps=false")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	body := bufio.NewReader(resp.Body)
	line, err := body.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	gotFirst := time.Now()
	line, err = body.ReadString('\n')
	if err != nil || line != "second\n" {
		t.Fatalf("second line %q, %v", line, err)
	}
	// The first line reached the client while the container was still
	// running: the follow streams, it does not wait for the end.
	if time.Since(gotFirst) < time.Second {
		t.Fatalf("the lines written 3 s apart arrived %v apart; the follow is not streamed", time.Since(gotFirst))
	}
	if rest, err := io.ReadAll(body); err != nil || len(rest) != 0 {
		t.Fatalf("after the last line: %q, %v; want the end of the response", rest, err)
	}

	for _, c := range []struct {
		path   string
		status int
		says   string
	}{
		{"/containerLogs/default/nowhere/app", http.StatusNotFound, "pod default/nowhere is not on this VNode"},
		{"/containerLogs/default/served/db", http.StatusNotFound, `container "db" of pod default/served not found`},
		{"/containerLogs/default/served/app?previous=true", http.StatusBadRequest, "has not restarted"},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.says) {
			t.Errorf("%s: %s %q; want %d saying %q", c.path, resp.Status, b, c.status, c.says)
		}
	}
}
