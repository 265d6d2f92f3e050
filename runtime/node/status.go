package node

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// ConditionContainerInstanceCreated is ECI's own pod condition: True once the
// container group exists (it replaced the retired eci-schedule-result annotation).
const ConditionContainerInstanceCreated corev1.PodConditionType = "ContainerInstanceCreated"

// Reasons this runtime puts on pod statuses and Events. They are stable: users
// alert on them.
const (
	ReasonCreating          = "ECICreating"          // create call in flight or queued
	ReasonCreateRetrying    = "ECICreateRetrying"    // a retryable error; the next attempt is scheduled
	ReasonCreateFailed      = "ECICreateFailed"      // permanent error: the pod cannot run on ECI as specified
	ReasonInvalidSpec       = "ECIInvalidPodSpec"    // translation refused the pod (bad annotation, limit exceeded)
	ReasonUnsupported       = "UnsupportedOnVNode"   // a feature a VNode cannot offer (hostNetwork, hostPath, DaemonSet)
	ReasonInstanceCreated   = "ECIInstanceCreated"   // the container group exists
	ReasonScheduling        = "ECIScheduling"        // ECI is placing the instance
	ReasonScheduleFailed    = "ECIScheduleFailed"    // ECI could not place it (e.g. NoStock)
	ReasonInstanceNotFound  = "ECIInstanceNotFound"  // the instance vanished behind our back
	ReasonInstanceDeleted   = "ECIInstanceDeleted"   // the instance was deleted with the pod
	ReasonInstanceExpired   = "ECIInstanceExpired"   // ECI released the instance (overdue payment)
	ReasonWaitingForObjects = "ECIWaitingForObjects" // a referenced ConfigMap/Secret/PVC is missing; retried
	ReasonOrphanDeleted     = "ECIOrphanInstanceDeleted"
)

// groupStatus maps a described container group onto the status of the pod it
// runs. It is a pure function of its inputs so that the poller can compare
// the result with what it last reported and publish only real changes.
//
// The QoS class is not ours to say: the API server computes it at creation
// (pod-level resources included) and refuses any change, so the status
// writer keeps the live value. Ready here is ContainersReady; the writer
// adds the pod's readiness gates, read from the live pod, and the
// transition times.
func groupStatus(pod *corev1.Pod, g *eci.ContainerGroup, now time.Time) *corev1.PodStatus {
	st := &corev1.PodStatus{
		HostIP: g.IntranetIP,
		PodIP:  g.IntranetIP,
	}
	// An ECI instance is its own host: the honest host IP is the instance's.
	if g.IntranetIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: g.IntranetIP}}
		st.HostIPs = []corev1.HostIP{{IP: g.IntranetIP}}
	}
	if g.IPv6Address != "" {
		st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: g.IPv6Address})
	}
	created := parseTime(g.CreationTime)
	if !created.IsZero() {
		t := metav1.NewTime(created)
		st.StartTime = &t
	}

	byName := map[string]*eci.ContainerInfo{}
	for i := range g.Containers {
		byName[g.Containers[i].Name] = &g.Containers[i]
	}
	initByName := map[string]*eci.InitContainerInfo{}
	for i := range g.InitContainers {
		initByName[g.InitContainers[i].Name] = &g.InitContainers[i]
	}

	initDone := true
	for _, c := range pod.Spec.InitContainers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image}
		if isSidecar(c) {
			// Kubernetes sidecars (init containers that keep running) run
			// as ECI application containers; their status still belongs
			// among the init containers, and they count as done once started.
			if ec, ok := byName[c.Name]; ok {
				cs.State = containerState(ec.CurrentState)
				cs.LastTerminationState = containerState(ec.PreviousState)
				cs.RestartCount = ec.RestartCount
				cs.Ready = ec.Ready && cs.State.Running != nil
				cs.ContainerID = containerID(g.ContainerGroupID, c.Name)
			} else {
				cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
			}
			if cs.State.Running == nil {
				initDone = false
			}
			started := cs.State.Running != nil
			cs.Started = &started
			st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
			continue
		}
		if ic, ok := initByName[c.Name]; ok {
			cs.State = containerState(ic.CurrentState)
			cs.LastTerminationState = containerState(ic.PreviousState)
			cs.RestartCount = ic.RestartCount
			cs.ContainerID = containerID(g.ContainerGroupID, c.Name)
			cs.Ready = cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
		}
		if !(cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0) {
			initDone = false
		}
		started := cs.State.Running != nil
		cs.Started = &started
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}

	allReady := len(pod.Spec.Containers) > 0
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image}
		if ec, ok := byName[c.Name]; ok {
			cs.State = containerState(ec.CurrentState)
			cs.LastTerminationState = containerState(ec.PreviousState)
			cs.RestartCount = ec.RestartCount
			cs.Ready = ec.Ready && cs.State.Running != nil
			cs.ContainerID = containerID(g.ContainerGroupID, c.Name)
		} else {
			reason := "ContainerCreating"
			if len(pod.Spec.InitContainers) > 0 && !initDone {
				reason = "PodInitializing"
			}
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason}
		}
		started := cs.State.Running != nil
		cs.Started = &started
		if !cs.Ready {
			allReady = false
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}

	st.Phase, st.Reason, st.Message = groupPhase(pod, g)
	if st.Phase != corev1.PodRunning {
		allReady = false
	}

	lt := metaNow(now)
	instanceCreated := g.Status != eci.StatusScheduling && g.Status != eci.StatusScheduleFailed
	st.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: lt},
		cond(ConditionContainerInstanceCreated, instanceCreated, lt, "", ""),
		cond(corev1.PodInitialized, initDone, lt, "", ""),
		cond(corev1.ContainersReady, allReady, lt, "", ""),
		cond(corev1.PodReady, allReady, lt, "", ""),
	}
	if !instanceCreated {
		st.Conditions[1].Reason, st.Conditions[1].Message = st.Reason, st.Message
	}
	return st
}

// groupPhase is the pod phase of an instance, with a reason and message for
// phases a user needs explained.
func groupPhase(pod *corev1.Pod, g *eci.ContainerGroup) (corev1.PodPhase, string, string) {
	switch g.Status {
	case eci.StatusScheduling:
		return corev1.PodPending, ReasonScheduling, fmt.Sprintf("ECI is placing instance %s", g.ContainerGroupID)
	case eci.StatusPending:
		return corev1.PodPending, "", ""
	case eci.StatusRunning, eci.StatusRestarting, eci.StatusUpdating:
		if ph, done := finishedBesideKubeProxy(pod, g); done {
			return ph, "", ""
		}
		return corev1.PodRunning, "", ""
	case eci.StatusTerminating:
		// Containers are stopping; the pod keeps its last running phase until
		// the instance is gone, as a kubelet keeps it while it kills containers.
		return corev1.PodRunning, "", ""
	case eci.StatusSucceeded:
		return corev1.PodSucceeded, "", ""
	case eci.StatusFailed:
		return corev1.PodFailed, "", failureMessage(g)
	case eci.StatusScheduleFailed:
		return corev1.PodPending, ReasonScheduleFailed, failureMessage(g)
	case eci.StatusExpired:
		return corev1.PodFailed, ReasonInstanceExpired, fmt.Sprintf("ECI released instance %s (status Expired: overdue payment)", g.ContainerGroupID)
	}
	return corev1.PodPending, "", fmt.Sprintf("ECI reports unknown status %q for instance %s", g.Status, g.ContainerGroupID)
}

// finishedBesideKubeProxy is the phase of a pod whose own containers have
// all finished for good while the VNode's kube-proxy container
// (translate.KubeProxyContainer) keeps the instance Running: ECI counts
// every container, the kubelet only the pod's. It is false for a pod
// without that container, and for restartPolicy Always, whose containers
// never finish for good.
func finishedBesideKubeProxy(pod *corev1.Pod, g *eci.ContainerGroup) (corev1.PodPhase, bool) {
	if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || len(pod.Spec.Containers) == 0 {
		return "", false
	}
	byName := map[string]*eci.ContainerInfo{}
	proxy := false
	for i := range g.Containers {
		byName[g.Containers[i].Name] = &g.Containers[i]
		proxy = proxy || g.Containers[i].Name == translate.KubeProxyContainer
	}
	if !proxy {
		return "", false
	}
	failed := false
	for _, c := range pod.Spec.Containers {
		ec, ok := byName[c.Name]
		if !ok || ec.CurrentState.State != eci.ContainerTerminated {
			return "", false
		}
		if ec.CurrentState.ExitCode != 0 {
			if pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure {
				return "", false // ECI starts it again
			}
			failed = true
		}
	}
	if failed {
		return corev1.PodFailed, true
	}
	return corev1.PodSucceeded, true
}

// failureMessage summarises why an instance failed from its newest warning event.
func failureMessage(g *eci.ContainerGroup) string {
	var last *eci.Event
	for i := range g.Events {
		e := &g.Events[i]
		if e.Type != "Warning" {
			continue
		}
		if last == nil || e.LastTimestamp >= last.LastTimestamp {
			last = e
		}
	}
	if last == nil {
		return fmt.Sprintf("ECI instance %s is %s", g.ContainerGroupID, g.Status)
	}
	return fmt.Sprintf("ECI instance %s is %s: %s: %s", g.ContainerGroupID, g.Status, last.Reason, last.Message)
}

func containerState(s eci.ContainerState) corev1.ContainerState {
	switch s.State {
	case eci.ContainerRunning:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metaTime(s.StartTime)}}
	case eci.ContainerTerminated:
		reason := s.Reason
		if reason == "" {
			reason = "Completed"
			if s.ExitCode != 0 {
				reason = "Error"
			}
		}
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode:   s.ExitCode,
			Signal:     s.Signal,
			Reason:     reason,
			Message:    s.Message,
			StartedAt:  metaTime(s.StartTime),
			FinishedAt: metaTime(s.FinishTime),
		}}
	case eci.ContainerWaiting:
		reason := s.Reason
		if reason == "" {
			reason = "ContainerCreating"
		}
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: s.Message}}
	}
	return corev1.ContainerState{}
}

// containerID names a container the way kubectl shows runtime IDs; ECI has no
// container-runtime ID in DescribeContainerGroups, so the instance ID stands in.
func containerID(groupID, name string) string { return "eci://" + groupID + "/" + name }

func cond(t corev1.PodConditionType, ok bool, at metav1.Time, reason, msg string) corev1.PodCondition {
	s := corev1.ConditionFalse
	if ok {
		s = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: at, Reason: reason, Message: msg}
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func metaTime(s string) metav1.Time {
	t := parseTime(s)
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}

// instanceSpec is the value of the eci-instance-spec annotation: the billed
// spec, as ECI's own virtual kubelet writes it ("2.0-4.0Gi"), or the ECS
// instance type when the instance was created from one.
func instanceSpec(g *eci.ContainerGroup) string {
	if strings.HasPrefix(g.InstanceType, "ecs.") {
		return g.InstanceType
	}
	return fmt.Sprintf("%.1f-%.1fGi", g.CPU, g.Memory)
}

func isSidecar(c corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func metaNow(t time.Time) metav1.Time { return metav1.NewTime(t.Truncate(time.Second)) }

func metaTimeOf(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}

// podStatusEqual compares statuses ignoring condition transition times, which
// are restamped on every mapping and would otherwise make every poll a change.
func podStatusEqual(a, b *corev1.PodStatus) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	for _, s := range []*corev1.PodStatus{a, b} {
		for i := range s.Conditions {
			s.Conditions[i].LastTransitionTime = metav1.Time{}
			s.Conditions[i].LastProbeTime = metav1.Time{}
		}
	}
	return equality.Semantic.DeepEqual(a, b)
}
