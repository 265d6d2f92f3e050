package emulator

import (
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeEmu starts an emulator on a fake clock with rate limits off.
func fakeEmu(t *testing.T, mod func(*Config)) (*Emulator, *FakeClock, *eci.Client) {
	t.Helper()
	clk := NewFakeClock(t0)
	cfg := Config{Clock: clk}
	if mod != nil {
		mod(&cfg)
	}
	e := StartForTest(t, cfg)
	return e, clk, newClient(t, e)
}

func typedCreate(name string, images ...string) *eci.CreateContainerGroupRequest {
	req := eci.CreateCreateContainerGroupRequest()
	req.ContainerGroupName = name
	var cs []eci.CreateContainerGroupContainer
	for i, im := range images {
		cs = append(cs, eci.CreateContainerGroupContainer{Name: "c" + string(rune('0'+i)), Image: im})
	}
	req.Container = &cs
	return req
}

func TestCreateDescribeLifecycleTyped(t *testing.T) {
	e, clk, c := fakeEmu(t, nil)
	_ = e
	resp, err := c.CreateContainerGroup(typedCreate("web-0", "nginx:1.25"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.ContainerGroupId
	describe := func() eci.DescribeContainerGroupsContainerGroup0 {
		t.Helper()
		req := eci.CreateDescribeContainerGroupsRequest()
		req.ContainerGroupIds = `["` + id + `"]`
		req.WithEvent = "true"
		r, err := c.DescribeContainerGroups(req)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.ContainerGroups) != 1 {
			t.Fatalf("got %d groups", len(r.ContainerGroups))
		}
		return r.ContainerGroups[0]
	}
	if g := describe(); g.Status != "Scheduling" || g.Cpu != 2 || g.Memory != 4 {
		t.Fatalf("after create: %+v", g)
	}
	clk.Advance(2 * time.Second)
	if g := describe(); g.Status != "Pending" || g.IntranetIp == "" {
		t.Fatalf("after scheduling: %s ip=%q", g.Status, g.IntranetIp)
	}
	clk.Advance(4 * time.Second)
	g := describe()
	if g.Status != "Running" || g.Containers[0].CurrentState.State != "Running" || !g.Containers[0].Ready {
		t.Fatalf("after start: %s %+v", g.Status, g.Containers[0].CurrentState)
	}
	t.Logf("events: %+v", g.Events)
}
