package emulator

import (
	"testing"
	"time"
)

func TestLifecycleTimingAndInitContainers(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: 5 * time.Second, ImagePull: 10 * time.Second, ContainerStart: time.Second}
		cfg.Images = map[string]ImageBehaviour{"init-a": {RunFor: 3 * time.Second}, "init-b": {RunFor: 4 * time.Second, PullDuration: -1}}
	})
	id := createGroup(t, c, e, "web", map[string]string{
		"InitContainer.1.Name": "ia", "InitContainer.1.Image": "init-a",
		"InitContainer.2.Name": "ib", "InitContainer.2.Image": "init-b:v2",
	})
	step := func(d time.Duration, want string) groupView {
		t.Helper()
		clk.Advance(d)
		g := mustDescribe(t, c, e, id)
		if g.Status != want {
			t.Fatalf("at +%v: status %s, want %s", clk.Now().Sub(t0), g.Status, want)
		}
		return g
	}
	step(4*time.Second, "Scheduling")
	g := step(time.Second, "Pending") // t=5 scheduled, ia pulling until 15
	if g.InitContainers[0].CurrentState.Reason != "ContainerCreating" || g.Containers[0].CurrentState.Reason != "PodInitializing" {
		t.Fatalf("waiting reasons: %+v / %+v", g.InitContainers[0].CurrentState, g.Containers[0].CurrentState)
	}
	// ia: pulled 15, started 16, exits 19; ib: instant pull, starts 20, exits 24;
	// app: pulls 24..34, starts 35.
	g = step(14*time.Second, "Pending") // t=19
	if g.InitContainers[0].CurrentState.State != "Terminated" || g.InitContainers[1].CurrentState.State != "Waiting" {
		t.Fatalf("init order at 19: %+v", g.InitContainers)
	}
	g = step(5*time.Second, "Pending") // t=24
	if g.InitContainers[1].CurrentState.State != "Terminated" {
		t.Fatalf("ib at 24: %+v", g.InitContainers[1])
	}
	step(10*time.Second, "Pending")  // t=34
	g = step(time.Second, "Running") // t=35
	if g.Containers[0].CurrentState.StartTime != "2025-06-01T12:00:35Z" {
		t.Fatalf("start time %s", g.Containers[0].CurrentState.StartTime)
	}
}

func TestRestartPoliciesAndExitBehaviour(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1, CrashBackoff: 10 * time.Second}
		cfg.Images = map[string]ImageBehaviour{
			"job-ok":   {RunFor: 30 * time.Second},
			"job-fail": {RunFor: 30 * time.Second, ExitCode: 2},
			"crasher":  {RunFor: 5 * time.Second, ExitCode: 1},
			"hog":      {RunFor: 5 * time.Second, OOMKilled: true},
		}
	})
	never := createGroup(t, c, e, "never-ok", map[string]string{"RestartPolicy": "Never", "Container.1.Image": "job-ok"})
	neverFail := createGroup(t, c, e, "never-fail", map[string]string{"RestartPolicy": "Never", "Container.1.Image": "job-fail"})
	onFailure := createGroup(t, c, e, "onfailure-ok", map[string]string{"RestartPolicy": "OnFailure", "Container.1.Image": "job-ok"})
	crash := createGroup(t, c, e, "crash-loop", map[string]string{"Container.1.Image": "crasher"})
	oom := createGroup(t, c, e, "oom", map[string]string{"RestartPolicy": "Never", "Container.1.Image": "hog"})

	clk.Advance(time.Second)
	if g := mustDescribe(t, c, e, never); g.Status != "Running" {
		t.Fatalf("instant lifecycle: %s", g.Status)
	}
	clk.Advance(30 * time.Second) // t=31
	if g := mustDescribe(t, c, e, never); g.Status != "Succeeded" || g.Containers[0].CurrentState.Reason != "Completed" {
		t.Fatalf("Never/0: %s %+v", g.Status, g.Containers[0].CurrentState)
	}
	if g := mustDescribe(t, c, e, neverFail); g.Status != "Failed" || g.Containers[0].CurrentState.ExitCode != 2 {
		t.Fatalf("Never/2: %s %+v", g.Status, g.Containers[0].CurrentState)
	}
	if g := mustDescribe(t, c, e, onFailure); g.Status != "Succeeded" {
		t.Fatalf("OnFailure/0: %s", g.Status)
	}
	g := mustDescribe(t, c, e, oom)
	if g.Status != "Failed" || g.Containers[0].CurrentState.Reason != "OOMKilled" || g.Containers[0].CurrentState.ExitCode != 137 || !hasEvent(g, "OOMKilled") {
		t.Fatalf("OOM: %s %+v %+v", g.Status, g.Containers[0].CurrentState, g.Events)
	}
	// Crash loop: runs 0-5, back-off 10 -> 15-20, back-off 20 -> 40-45, back-off 40.
	g = mustDescribe(t, c, e, crash)
	if g.Status != "Running" || g.Containers[0].RestartCount != 1 || g.Containers[0].CurrentState.Reason != "CrashLoopBackOff" ||
		g.Containers[0].PreviousState.ExitCode != 1 {
		t.Fatalf("crash loop at 31: %s %+v", g.Status, g.Containers[0])
	}
	clk.Advance(10 * time.Second) // t=41
	g = mustDescribe(t, c, e, crash)
	if g.Containers[0].RestartCount != 2 || g.Containers[0].CurrentState.State != "Running" {
		t.Fatalf("crash loop at 41: %+v", g.Containers[0])
	}
	if !hasEvent(g, "BackOff") {
		t.Fatalf("no BackOff event")
	}
	// The succeeded group's capacity is back.
	var usage struct{ Attributes map[string]float64 }
	mustAPI(t, c, e, "ListUsage", nil, &usage)
	if usage.Attributes["UsedCpu"] != 2 {
		t.Fatalf("UsedCpu %v, want only the crash-looping group", usage.Attributes["UsedCpu"])
	}
}

func TestDeleteRestartUpdate(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: time.Second, ImagePull: time.Second, ContainerStart: time.Second,
			Restarting: 3 * time.Second, Updating: 2 * time.Second, Terminating: 5 * time.Second}
	})
	a := createGroup(t, c, e, "web-a", map[string]string{"TerminationGracePeriodSeconds": "30"})
	b := createGroup(t, c, e, "web-b", nil)
	clk.Advance(3 * time.Second)
	if g := mustDescribe(t, c, e, a); g.Status != "Running" {
		t.Fatalf("%s", g.Status)
	}
	// Restart: Restarting, then the containers run again with RestartCount+1.
	mustAPI(t, c, e, "RestartContainerGroup", map[string]string{"ContainerGroupId": a}, nil)
	if g := mustDescribe(t, c, e, a); g.Status != "Restarting" {
		t.Fatalf("restart: %s", g.Status)
	}
	clk.Advance(3 * time.Second)
	if g := mustDescribe(t, c, e, a); g.Status != "Pending" {
		t.Fatalf("after restart: %s", g.Status)
	}
	clk.Advance(time.Second)
	if g := mustDescribe(t, c, e, a); g.Status != "Running" || g.Containers[0].RestartCount != 1 {
		t.Fatalf("restarted: %s %+v", g.Status, g.Containers[0])
	}
	// Update the image: Updating, then the container restarts with it.
	mustAPI(t, c, e, "UpdateContainerGroup", map[string]string{"ContainerGroupId": a, "Container.1.Name": "app", "Container.1.Image": "nginx:1.27"}, nil)
	if g := mustDescribe(t, c, e, a); g.Status != "Updating" {
		t.Fatalf("update: %s", g.Status)
	}
	clk.Advance(2 * time.Second)
	clk.Advance(2 * time.Second)
	var full struct {
		ContainerGroups []struct {
			Status     string
			Containers []struct {
				Image        string
				RestartCount int
			}
		}
	}
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": `["` + a + `"]`}, &full)
	if cg := full.ContainerGroups[0]; cg.Status != "Running" || cg.Containers[0].Image != "nginx:1.27" || cg.Containers[0].RestartCount != 2 {
		t.Fatalf("after update: %+v", cg)
	}
	err := api(t, c, e, "UpdateContainerGroup", map[string]string{"ContainerGroupId": a, "Container.1.Name": "nope", "Container.1.Image": "x"}, nil)
	wantCode(t, err, "InvalidParameter", 400)

	// Delete: Terminating for min(grace, configured), then gone.
	mustAPI(t, c, e, "DeleteContainerGroup", map[string]string{"ContainerGroupId": a}, nil)
	if g := mustDescribe(t, c, e, a); g.Status != "Terminating" {
		t.Fatalf("delete: %s", g.Status)
	}
	wantCode(t, api(t, c, e, "RestartContainerGroup", map[string]string{"ContainerGroupId": a}, nil), "IncorrectStatus", 403)
	clk.Advance(5 * time.Second)
	if _, ok := describeOne(t, c, e, a); ok {
		t.Fatalf("group still listed after Terminating")
	}
	wantCode(t, api(t, c, e, "DeleteContainerGroup", map[string]string{"ContainerGroupId": a}, nil), "InvalidParameter.NotFound", 404)
	// Force skips the grace period.
	mustAPI(t, c, e, "DeleteContainerGroup", map[string]string{"ContainerGroupId": b, "Force": "true"}, nil)
	if _, ok := describeOne(t, c, e, b); ok {
		t.Fatalf("forced delete still listed")
	}
}

func TestPendingTimeoutDeadlineAndRetention(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: time.Second, ContainerStart: -1}
		cfg.Images = map[string]ImageBehaviour{"broken": {PullError: "ErrImagePull"}, "quick": {RunFor: time.Second}}
		cfg.Retention = RetentionConfig{Keep: time.Hour, KeepLast: 2}
	})
	stuck := createGroup(t, c, e, "stuck", map[string]string{"Container.1.Image": "broken", "MaxPendingMinute": "10"})
	deadline := createGroup(t, c, e, "deadline", map[string]string{"ActiveDeadlineSeconds": "60"})
	clk.Advance(30 * time.Second)
	g := mustDescribe(t, c, e, stuck)
	if g.Status != "Pending" || g.Containers[0].CurrentState.State != "Waiting" || !hasEvent(g, "Failed") {
		t.Fatalf("unpullable: %s %+v", g.Status, g.Containers[0].CurrentState)
	}
	clk.Advance(10 * time.Minute)
	if g := mustDescribe(t, c, e, stuck); g.Status != "Failed" || !hasEvent(g, "PendingTimeout") {
		t.Fatalf("max pending: %s", g.Status)
	}
	if g := mustDescribe(t, c, e, deadline); g.Status != "Failed" || !hasEvent(g, "DeadlineExceeded") {
		t.Fatalf("deadline: %s", g.Status)
	}
	// Retention: 3 more finished groups; after an hour only the newest 2 stay.
	for _, n := range []string{"r-1", "r-2", "r-3"} {
		createGroup(t, c, e, n, map[string]string{"Container.1.Image": "quick", "RestartPolicy": "Never"})
		clk.Advance(3 * time.Second)
	}
	var out struct{ TotalCount int }
	mustAPI(t, c, e, "DescribeContainerGroups", nil, &out)
	if out.TotalCount != 5 {
		t.Fatalf("before retention: %d", out.TotalCount)
	}
	clk.Advance(time.Hour)
	mustAPI(t, c, e, "DescribeContainerGroups", nil, &out)
	if out.TotalCount != 2 {
		t.Fatalf("after retention: %d", out.TotalCount)
	}
}

func TestDescribeContainerGroupStatusAndEvents(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: time.Second, ImagePull: time.Second, ContainerStart: time.Second}
	})
	id := createGroup(t, c, e, "web", map[string]string{"Tag.1.Key": "node", "Tag.1.Value": "vn1",
		"Container.1.ReadinessProbe.TcpSocket.Port": "80", "Container.1.ReadinessProbe.InitialDelaySeconds": "5",
		"Container.1.Cpu": "1", "Container.1.Memory": "2"})
	other := createGroup(t, c, e, "other", nil)
	clk.Advance(3 * time.Second)
	type status struct {
		Data []struct {
			ContainerGroupId, Name, Namespace, Status string
			UUID                                      string `json:"uuid"`
			PodStatus                                 struct {
				Phase, PodIp, QosClass, StartTime string
				Conditions                        []struct {
					Type               string `json:"type"`
					Status             string `json:"status"`
					LastTransitionTime string `json:"lastTransitionTime"`
				}
				ContainerStatuses []struct {
					Name         string
					Ready        bool
					Started      bool
					RestartCount int
					State        struct {
						Running *struct{ StartedAtstartedAt, StartedAt string }
						Waiting *struct{ Reason string }
					}
				}
			}
		}
		TotalCount int
		NextToken  string
	}
	var st status
	mustAPI(t, c, e, "DescribeContainerGroupStatus", map[string]string{"Tag.1.Key": "node", "Tag.1.Value": "vn1"}, &st)
	if st.TotalCount != 1 || st.Data[0].ContainerGroupId != id {
		t.Fatalf("tag filter: %+v", st)
	}
	d := st.Data[0]
	cs := d.PodStatus.ContainerStatuses[0]
	if d.Status != "Running" || d.PodStatus.Phase != "Running" || d.PodStatus.QosClass != "Guaranteed" || d.UUID != id ||
		cs.State.Running == nil || cs.State.Running.StartedAtstartedAt != "2025-06-01T12:00:03Z" || cs.Ready {
		t.Fatalf("pod status: %+v", d)
	}
	conds := map[string]string{}
	for _, cd := range d.PodStatus.Conditions {
		conds[cd.Type] = cd.Status
	}
	if conds["PodScheduled"] != "True" || conds["Initialized"] != "True" || conds["Ready"] != "False" {
		t.Fatalf("conditions: %+v", d.PodStatus.Conditions)
	}
	clk.Advance(5 * time.Second) // readiness initial delay over
	mustAPI(t, c, e, "DescribeContainerGroupStatus", map[string]string{"ContainerGroupIds": `["` + id + `"]`}, &st)
	for _, cd := range st.Data[0].PodStatus.Conditions {
		if cd.Type == "Ready" && (cd.Status != "True" || cd.LastTransitionTime != "2025-06-01T12:00:08Z") {
			t.Fatalf("ready condition: %+v", cd)
		}
	}
	// SinceSecond: only groups that changed recently.
	mustAPI(t, c, e, "DescribeContainerGroupStatus", map[string]string{"SinceSecond": "3"}, &st)
	if st.TotalCount != 1 || st.Data[0].ContainerGroupId != id {
		t.Fatalf("SinceSecond: %+v", st.Data)
	}
	wantCode(t, api(t, c, e, "DescribeContainerGroupStatus", map[string]string{"Limit": "201"}, nil), "InvalidParameter", 400)

	var ev struct {
		Data []struct {
			ContainerGroupId string
			Events           []struct {
				Reason, Type string
				Count        int
				Source       struct{ Component string }
				Involved     struct{ Kind, Uid string } `json:"involvedObject"`
			}
		}
	}
	mustAPI(t, c, e, "DescribeContainerGroupEvents", map[string]string{"ContainerGroupIds": `["` + other + `"]`, "EventSource": "K8sAgent"}, &ev)
	if len(ev.Data) != 1 || len(ev.Data[0].Events) == 0 {
		t.Fatalf("events: %+v", ev)
	}
	for _, x := range ev.Data[0].Events {
		if x.Source.Component != "K8sAgent" || x.Involved.Kind != "Pod" || x.Involved.Uid != other {
			t.Fatalf("event: %+v", x)
		}
	}
}
