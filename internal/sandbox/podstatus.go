package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// statusLoop posts the pod status whenever it changed, until ctx ends.
func (pw *podWorker) statusLoop(ctx context.Context) {
	var last []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-pw.dirty:
		}
		last = pw.postStatus(ctx, last)
	}
}

// flushStatus posts the current status once (used right before deleting the pod).
func (pw *podWorker) flushStatus(ctx context.Context) {
	pw.postStatus(ctx, nil)
}

// postStatus patches the status if it differs from last, retrying briefly on errors; it
// returns the patch now in effect.
func (pw *podWorker) postStatus(ctx context.Context, last []byte) []byte {
	select {
	case <-pw.killing: // the sandbox is stopping or the pod is gone: no API calls
		return last
	default:
	}
	pw.mu.Lock()
	ns, name := pw.pod.Namespace, pw.pod.Name
	patch, err := json.Marshal(map[string]any{"status": pw.buildStatus(time.Now())})
	pw.mu.Unlock()
	if err != nil {
		pw.logf("encode status: %v", err)
		return last
	}
	if string(patch) == string(last) {
		return last
	}
	for attempt := 0; attempt < 5; attempt++ {
		_, err = pw.node.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err == nil || apierrors.IsNotFound(err) || ctx.Err() != nil {
			return patch
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	pw.logf("update status: %v", err)
	pw.notify() // try again on the next change or tick
	return last
}

// buildStatus computes the status fields the node owns, with pw.mu held. Conditions are
// merged by type by the strategic merge patch, so PodScheduled and conditions other
// controllers set are left alone.
func (pw *podWorker) buildStatus(now time.Time) corev1.PodStatus {
	st := corev1.PodStatus{
		Phase:   pw.phase(),
		HostIP:  pw.node.ip,
		HostIPs: []corev1.HostIP{{IP: pw.node.ip}},
	}
	if pw.podIP != "" {
		st.PodIP = pw.podIP
		st.PodIPs = []corev1.PodIP{{IP: pw.podIP}}
	}
	if !pw.startTime.IsZero() {
		st.StartTime = &pw.startTime
	}
	for _, cs := range pw.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs.status())
	}
	for _, cs := range pw.mains {
		st.ContainerStatuses = append(st.ContainerStatuses, cs.status())
	}
	st.Conditions = pw.conditions(st.Phase, metav1.NewTime(now))
	return st
}

func (cs *containerState) status() corev1.ContainerStatus {
	started := cs.started
	return corev1.ContainerStatus{
		Name:                 cs.spec.Name,
		Image:                cs.spec.Image,
		ImageID:              cs.spec.Image,
		ContainerID:          cs.id,
		Ready:                cs.ready,
		Started:              &started,
		RestartCount:         cs.restartCount,
		State:                *cs.state.DeepCopy(),
		LastTerminationState: *cs.lastState.DeepCopy(),
	}
}

// phase derives the pod phase from its containers as a kubelet does.
func (pw *podWorker) phase() corev1.PodPhase {
	if pw.initFailed {
		return corev1.PodFailed
	}
	if !pw.initDone || pw.podIP == "" {
		return corev1.PodPending
	}
	policy := pw.pod.Spec.RestartPolicy
	var running, waiting, succeeded, failed int
	for _, cs := range pw.mains {
		switch {
		case cs.state.Running != nil:
			running++
		case cs.state.Terminated != nil:
			if cs.state.Terminated.ExitCode == 0 {
				succeeded++
			} else {
				failed++
			}
		case cs.state.Waiting != nil && cs.lastState.Terminated != nil:
			running++ // restarting after a crash: the pod is still Running
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case pw.terminating:
		// Containers stopped because the pod is being deleted.
		if failed > 0 {
			return corev1.PodFailed
		}
		return corev1.PodSucceeded
	case policy == corev1.RestartPolicyAlways || policy == "":
		return corev1.PodRunning // about to restart
	case policy == corev1.RestartPolicyOnFailure && failed > 0:
		return corev1.PodRunning // about to restart
	case failed > 0:
		return corev1.PodFailed
	default:
		return corev1.PodSucceeded
	}
}

// conditions returns the conditions the node owns, keeping transition times of unchanged ones.
func (pw *podWorker) conditions(phase corev1.PodPhase, now metav1.Time) []corev1.PodCondition {
	allReady := len(pw.mains) > 0
	var notReady []string
	for _, cs := range pw.mains {
		if !cs.ready {
			allReady = false
			notReady = append(notReady, cs.spec.Name)
		}
	}
	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
		if ok {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		}
		return c
	}
	containersMsg := ""
	if len(notReady) > 0 {
		containersMsg = fmt.Sprintf("containers with unready status: %v", notReady)
	}
	readyReason := "ContainersNotReady"
	if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		readyReason = "PodCompleted"
	}
	podReady := allReady && pw.readinessGatesPass()
	want := []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, pw.podIP != "", "", ""),
		cond(corev1.PodInitialized, pw.initDone, "ContainersNotInitialized", "containers with incomplete status"),
		cond(corev1.ContainersReady, allReady, readyReason, containersMsg),
		cond(corev1.PodReady, podReady, readyReason, containersMsg),
	}
	prev := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range pw.pod.Status.Conditions {
		prev[c.Type] = c
	}
	for i := range want {
		want[i].LastTransitionTime = now
		if p, ok := prev[want[i].Type]; ok && p.Status == want[i].Status && !p.LastTransitionTime.IsZero() {
			want[i].LastTransitionTime = p.LastTransitionTime
		}
	}
	return want
}

// readinessGatesPass reports whether every readiness gate's condition is True.
func (pw *podWorker) readinessGatesPass() bool {
	for _, g := range pw.pod.Spec.ReadinessGates {
		ok := false
		for _, c := range pw.pod.Status.Conditions {
			if c.Type == g.ConditionType && c.Status == corev1.ConditionTrue {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
