package emulator

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// The runtime polls DescribeContainerGroupStatus with its owner tag and
// SinceSecond=N every second and re-reads only the groups it returns, so
// SinceSecond must return every group whose DescribeContainerGroups view
// changed within the last N seconds of the emulator's clock, and no other.
func TestSinceSecondReturnsGroupsChangedInTheWindow(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: 2 * time.Second, ImagePull: 3 * time.Second, ContainerStart: time.Second,
			CrashBackoff: 10 * time.Second, Terminating: 5 * time.Second}
		cfg.Images = map[string]ImageBehaviour{"crasher": {RunFor: 20 * time.Second, ExitCode: 1}}
	})
	owned := map[string]string{"Tag.1.Key": "owner", "Tag.1.Value": "vnode-1"}
	changedWithin := func(n int) []string {
		t.Helper()
		q := map[string]string{"SinceSecond": strconv.Itoa(n)}
		for k, v := range owned {
			q[k] = v
		}
		var out struct {
			Data []struct{ ContainerGroupId string }
		}
		mustAPI(t, c, e, "DescribeContainerGroupStatus", q, &out)
		var ids []string
		for _, d := range out.Data {
			ids = append(ids, d.ContainerGroupId)
		}
		return ids
	}
	at := func(d time.Duration) { clk.Set(t0.Add(d)) }
	want := func(n int, ids ...string) {
		t.Helper()
		got := changedWithin(n)
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Fatalf("at +%v SinceSecond=%d: got %v, want %v", clk.Now().Sub(t0), n, got, ids)
		}
	}

	// web: created at 0, Scheduled at 2 (pull 2..5), created 5..6, Running
	// at 6, Ready at 11 (readiness probe initial delay 5 s).
	web := createGroup(t, c, e, "web", map[string]string{"Tag.1.Key": "owner", "Tag.1.Value": "vnode-1",
		"Container.1.ReadinessProbe.TcpSocket.Port": "80", "Container.1.ReadinessProbe.InitialDelaySeconds": "5"})
	createGroup(t, c, e, "not-owned", nil) // changes all the time but is filtered out by the tag
	want(1, web)                           // created just now

	at(1 * time.Second)
	want(1, web) // the window is inclusive: created exactly 1 s ago
	at(1500 * time.Millisecond)
	want(1) // unchanged for 1.5 s
	want(2, web)

	// Scheduling ends at 2, seen only at 3.5: the change is stamped at 2,
	// when it happened, not when a request noticed it.
	at(3500 * time.Millisecond)
	want(1)
	want(2, web)
	if g := mustDescribe(t, c, e, web); g.Status != "Pending" {
		t.Fatalf("status %s", g.Status)
	}

	at(5 * time.Second) // image pulled: a container state change and an event
	want(1, web)
	at(6 * time.Second) // started: Running
	want(1, web)
	at(10 * time.Second)
	want(3)      // last change at 6
	want(4, web) // boundary: exactly 4 s ago
	at(11 * time.Second)
	want(1, web) // readiness only
	if g := mustDescribe(t, c, e, web); !g.Containers[0].Ready {
		t.Fatalf("not ready at 11: %+v", g.Containers[0])
	}

	// A group left alone is not returned, however long the window was
	// before.
	at(30 * time.Second)
	want(18)
	want(19, web)

	// A container restart: crasher starts at 36 (created at 30), exits at
	// 56 (CrashLoopBackOff), restarts at 66.
	crash := createGroup(t, c, e, "crash", map[string]string{"Tag.1.Key": "owner", "Tag.1.Value": "vnode-1", "Container.1.Image": "crasher"})
	want(1, crash)
	at(40 * time.Second)
	want(3)
	at(56 * time.Second)
	want(1, crash)
	at(60 * time.Second)
	want(3)
	at(66 * time.Second)
	want(1, crash)
	if g := mustDescribe(t, c, e, crash); g.Containers[0].RestartCount != 1 || g.Containers[0].CurrentState.State != "Waiting" {
		t.Fatalf("crash at 66: %+v", g.Containers[0])
	}
	at(67 * time.Second)
	want(1, crash) // running again
	if g := mustDescribe(t, c, e, crash); g.Containers[0].CurrentState.State != "Running" {
		t.Fatalf("crash at 67: %+v", g.Containers[0])
	}

	// Calls that change a group's view stamp it: a tag change (and not a
	// tag set to what it was), and the start of a deletion.
	at(80 * time.Second)
	want(5)
	mustAPI(t, c, e, "TagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": web,
		"Tag.1.Key": "env", "Tag.1.Value": "prod"}, nil)
	want(1, web)
	at(90 * time.Second) // crash exited again at 87
	mustAPI(t, c, e, "TagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": web,
		"Tag.1.Key": "env", "Tag.1.Value": "prod"}, nil)
	want(2)
	mustAPI(t, c, e, "DeleteContainerGroup", map[string]string{"ContainerGroupId": web}, nil)
	want(1, web)
	if g := mustDescribe(t, c, e, web); g.Status != "Terminating" {
		t.Fatalf("status %s", g.Status)
	}
	// Once gone, a group is not returned at all.
	at(95 * time.Second)
	want(10, crash)
}
