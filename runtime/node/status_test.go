package node

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

func webPod() *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate", Image: "migrate:1"}},
		Containers: []corev1.Container{
			{Name: "web", Image: "nginx:1.27", Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")},
			}},
			{Name: "sidecar", Image: "envoy:1"},
		},
	}}
}

func condition(st *corev1.PodStatus, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func TestInstanceStatusBecomesThePodStatus(t *testing.T) {
	now := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	running := eci.ContainerState{State: eci.ContainerRunning, StartTime: "2026-11-28T01:59:30Z"}
	done := eci.ContainerState{State: eci.ContainerTerminated, ExitCode: 0, StartTime: "2026-11-28T01:59:10Z", FinishTime: "2026-11-28T01:59:20Z"}

	cases := []struct {
		name        string
		group       eci.ContainerGroup
		phase       corev1.PodPhase
		reason      string
		ready       corev1.ConditionStatus
		created     corev1.ConditionStatus
		initialized corev1.ConditionStatus
		webState    string
	}{
		{
			name:  "scheduling: pending, instance not yet created",
			group: eci.ContainerGroup{ContainerGroupID: "eci-1", Status: eci.StatusScheduling},
			phase: corev1.PodPending, reason: ReasonScheduling, ready: corev1.ConditionFalse,
			created: corev1.ConditionFalse, initialized: corev1.ConditionFalse, webState: "waiting",
		},
		{
			name: "running and ready with init done",
			group: eci.ContainerGroup{ContainerGroupID: "eci-1", Status: eci.StatusRunning, IntranetIP: "10.0.0.7", CreationTime: "2026-11-28T01:59:00Z",
				InitContainers: []eci.InitContainerInfo{{Name: "migrate", CurrentState: done}},
				Containers: []eci.ContainerInfo{
					{Name: "web", Ready: true, CurrentState: running},
					{Name: "sidecar", Ready: true, CurrentState: running, RestartCount: 2,
						PreviousState: eci.ContainerState{State: eci.ContainerTerminated, ExitCode: 137, Reason: "OOMKilled"}},
				}},
			phase: corev1.PodRunning, ready: corev1.ConditionTrue, created: corev1.ConditionTrue,
			initialized: corev1.ConditionTrue, webState: "running",
		},
		{
			name: "running but one container not ready",
			group: eci.ContainerGroup{ContainerGroupID: "eci-1", Status: eci.StatusRunning, IntranetIP: "10.0.0.7",
				InitContainers: []eci.InitContainerInfo{{Name: "migrate", CurrentState: done}},
				Containers:     []eci.ContainerInfo{{Name: "web", Ready: true, CurrentState: running}, {Name: "sidecar", Ready: false, CurrentState: running}}},
			phase: corev1.PodRunning, ready: corev1.ConditionFalse, created: corev1.ConditionTrue,
			initialized: corev1.ConditionTrue, webState: "running",
		},
		{
			name: "failed job keeps the exit code",
			group: eci.ContainerGroup{ContainerGroupID: "eci-1", Status: eci.StatusFailed,
				InitContainers: []eci.InitContainerInfo{{Name: "migrate", CurrentState: done}},
				Containers: []eci.ContainerInfo{
					{Name: "web", CurrentState: eci.ContainerState{State: eci.ContainerTerminated, ExitCode: 3}},
					{Name: "sidecar", CurrentState: done}}},
			phase: corev1.PodFailed, ready: corev1.ConditionFalse, created: corev1.ConditionTrue,
			initialized: corev1.ConditionTrue, webState: "terminated:3:Error",
		},
		{
			name: "schedule failed explains the ECI event",
			group: eci.ContainerGroup{ContainerGroupID: "eci-1", Status: eci.StatusScheduleFailed,
				Events: []eci.Event{{Type: "Warning", Reason: "NoStock", Message: "Create ECI failed because the specified instance is out of stock.", LastTimestamp: "2026-11-28T01:59:00Z"}}},
			phase: corev1.PodPending, reason: ReasonScheduleFailed, ready: corev1.ConditionFalse,
			created: corev1.ConditionFalse, initialized: corev1.ConditionFalse, webState: "waiting",
		},
		{
			name:  "expired instance fails the pod",
			group: eci.ContainerGroup{ContainerGroupID: "eci-1", Status: eci.StatusExpired},
			phase: corev1.PodFailed, reason: ReasonInstanceExpired, ready: corev1.ConditionFalse,
			created: corev1.ConditionTrue, initialized: corev1.ConditionFalse, webState: "waiting",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := groupStatus(webPod(), &tc.group, now)
			if st.Phase != tc.phase || st.Reason != tc.reason {
				t.Fatalf("phase/reason = %s/%q, want %s/%q (message %q)", st.Phase, st.Reason, tc.phase, tc.reason, st.Message)
			}
			if got := condition(st, corev1.PodReady); got != tc.ready {
				t.Errorf("Ready = %s, want %s", got, tc.ready)
			}
			if got := condition(st, ConditionContainerInstanceCreated); got != tc.created {
				t.Errorf("ContainerInstanceCreated = %s, want %s", got, tc.created)
			}
			if got := condition(st, corev1.PodInitialized); got != tc.initialized {
				t.Errorf("Initialized = %s, want %s", got, tc.initialized)
			}
			if condition(st, corev1.PodScheduled) != corev1.ConditionTrue {
				t.Errorf("PodScheduled is not True")
			}
			if len(st.ContainerStatuses) != 2 || st.ContainerStatuses[0].Name != "web" {
				t.Fatalf("container statuses not in spec order: %+v", st.ContainerStatuses)
			}
			if got := stateString(st.ContainerStatuses[0].State); got != tc.webState {
				t.Errorf("web state = %s, want %s", got, tc.webState)
			}
		})
	}
}

func TestRunningPodReportsIPsAndRestarts(t *testing.T) {
	g := eci.ContainerGroup{ContainerGroupID: "eci-9", Status: eci.StatusRunning, IntranetIP: "10.1.2.3", IPv6Address: "2001:db8::7",
		CreationTime: "2026-11-28T01:00:00Z",
		Containers: []eci.ContainerInfo{
			{Name: "web", Ready: true, CurrentState: eci.ContainerState{State: eci.ContainerRunning}},
			{Name: "sidecar", Ready: true, RestartCount: 2, CurrentState: eci.ContainerState{State: eci.ContainerRunning},
				PreviousState: eci.ContainerState{State: eci.ContainerTerminated, ExitCode: 137, Reason: "OOMKilled"}},
		}}
	pod := webPod()
	pod.Spec.InitContainers = nil
	st := groupStatus(pod, &g, time.Now())
	if st.PodIP != "10.1.2.3" || len(st.PodIPs) != 2 || st.PodIPs[1].IP != "2001:db8::7" {
		t.Fatalf("pod IPs = %q %+v", st.PodIP, st.PodIPs)
	}
	if st.StartTime == nil || !st.StartTime.Time.Equal(time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("start time = %v", st.StartTime)
	}
	sc := st.ContainerStatuses[1]
	if sc.RestartCount != 2 || sc.LastTerminationState.Terminated == nil || sc.LastTerminationState.Terminated.Reason != "OOMKilled" {
		t.Fatalf("sidecar restart info lost: %+v", sc)
	}
	if sc.ContainerID != "eci://eci-9/sidecar" {
		t.Fatalf("container ID = %q", sc.ContainerID)
	}
}

// The status the writer sends: the live pod keeps what is not the
// runtime's (QoS class, conditions of other controllers), Ready waits for
// the readiness gates, and transition times move only on a change.
func TestWrittenStatusKeepsWhatOthersOwnAndHonoursReadinessGates(t *testing.T) {
	created := metav1.NewTime(time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC))
	readyAt := metav1.NewTime(created.Add(time.Minute))
	live := webPod()
	live.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb-ready"}}
	live.Status = corev1.PodStatus{
		Phase:    corev1.PodRunning,
		QOSClass: corev1.PodQOSBurstable, // pod-level resources: the API server's call
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: created},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: readyAt},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ReadinessGatesNotReady", LastTransitionTime: readyAt},
			{Type: "example.com/lb-ready", Status: corev1.ConditionFalse, LastTransitionTime: readyAt},
		},
	}
	want := &corev1.PodStatus{Phase: corev1.PodRunning, QOSClass: corev1.PodQOSBestEffort, Conditions: []corev1.PodCondition{
		cond(corev1.PodScheduled, true, metaNow(time.Now()), "", ""),
		cond(corev1.ContainersReady, true, metaNow(time.Now()), "", ""),
		cond(corev1.PodReady, true, metaNow(time.Now()), "", ""),
	}}
	later := metav1.NewTime(created.Add(time.Hour))

	st := mergeStatus(want, live, nil, later)
	if st.QOSClass != corev1.PodQOSBurstable {
		t.Errorf("QoS class %s; the live %s must stay (the API server refuses any change)", st.QOSClass, corev1.PodQOSBurstable)
	}
	if got := condition(st, corev1.PodReady); got != corev1.ConditionFalse {
		t.Errorf("Ready %s while the readiness gate is False; want False", got)
	}
	if got := condition(st, "example.com/lb-ready"); got != corev1.ConditionFalse {
		t.Errorf("the gate condition of another controller became %q; it must be kept", got)
	}
	for _, c := range st.Conditions {
		if c.Type == corev1.ContainersReady && !c.LastTransitionTime.Equal(&readyAt) {
			t.Errorf("ContainersReady did not change but its transition time moved to %s", c.LastTransitionTime)
		}
	}

	live.Status.Conditions[3].Status = corev1.ConditionTrue // the load balancer is ready
	st = mergeStatus(want, live, nil, later)
	for _, c := range st.Conditions {
		if c.Type == corev1.PodReady && (c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Equal(&later)) {
			t.Errorf("Ready %s at %s once every gate is True; want True at %s, when it changed", c.Status, c.LastTransitionTime, later)
		}
	}
}

func TestStatusComparisonIgnoresTransitionTimes(t *testing.T) {
	g := eci.ContainerGroup{ContainerGroupID: "eci-1", Status: eci.StatusRunning}
	a := groupStatus(webPod(), &g, time.Unix(100, 0))
	b := groupStatus(webPod(), &g, time.Unix(200, 0))
	if !podStatusEqual(a, b) {
		t.Fatal("the same instance state mapped at two times must compare equal, or every poll notifies")
	}
	g.Status = eci.StatusSucceeded
	c := groupStatus(webPod(), &g, time.Unix(200, 0))
	if podStatusEqual(a, c) {
		t.Fatal("a phase change must compare unequal")
	}
}

func stateString(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return "terminated:" + itoa(s.Terminated.ExitCode) + ":" + s.Terminated.Reason
	case s.Waiting != nil:
		return "waiting"
	}
	return "none"
}

func itoa(i int32) string {
	return resource.NewQuantity(int64(i), resource.DecimalSI).String()
}

func TestSidecarInitContainersReportAsInitContainersAndCountAsStarted(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "proxy", Image: "envoy:1", RestartPolicy: &always}},
		Containers:     []corev1.Container{{Name: "app", Image: "app:1"}},
	}}
	run := eci.ContainerState{State: eci.ContainerRunning}
	// ECI runs the sidecar as an application container.
	g := eci.ContainerGroup{ContainerGroupID: "eci-s", Status: eci.StatusRunning, Containers: []eci.ContainerInfo{
		{Name: "proxy", Ready: true, CurrentState: run}, {Name: "app", Ready: true, CurrentState: run}}}
	st := groupStatus(pod, &g, time.Now())
	if len(st.InitContainerStatuses) != 1 || st.InitContainerStatuses[0].State.Running == nil {
		t.Fatalf("sidecar status %+v, want it running among the init containers", st.InitContainerStatuses)
	}
	if condition(st, corev1.PodInitialized) != corev1.ConditionTrue || condition(st, corev1.PodReady) != corev1.ConditionTrue {
		t.Fatalf("a started sidecar must not hold the pod uninitialized: %+v", st.Conditions)
	}
}
