package emulator

import (
	"fmt"
	"strings"
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

func TestCreateValidation(t *testing.T) {
	e, _, c := fakeEmu(t, nil)
	many := func(prefix, field, value string, n int) map[string]string {
		m := map[string]string{}
		for i := 1; i <= n; i++ {
			m[fmt.Sprintf("%s.%d.%s", prefix, i, field)] = fmt.Sprintf(value, i)
		}
		return m
	}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	cases := []struct {
		name  string
		group string
		extra map[string]string
		code  string
	}{
		{"missing name", "", map[string]string{"ContainerGroupName": ""}, "MissingParameter"},
		{"upper case name", "Web", nil, "InvalidParameter"},
		{"leading hyphen", "-web", nil, "InvalidParameter"},
		{"one char", "w", nil, "InvalidParameter"},
		{"129 chars", strings.Repeat("a", 129), nil, "InvalidParameter"},
		{"no container", "web", map[string]string{"Container.1.Name": "", "Container.1.Image": ""}, "MissingParameter"},
		{"no image", "web", map[string]string{"Container.1.Image": ""}, "MissingParameter"},
		{"21 containers", "web", merge(many("Container", "Name", "c%d", 21), many("Container", "Image", "nginx", 21)), "InvalidParameter"},
		{"21 volumes", "web", merge(many("Volume", "Name", "v%d", 21), many("Volume", "Type", "EmptyDirVolume", 21)), "InvalidParameter"},
		{"21 tags", "web", merge(many("Tag", "Key", "k%d", 21), many("Tag", "Value", "v", 21)), "InvalidParameter"},
		{"tag key aliyun", "web", map[string]string{"Tag.1.Key": "aliyun-x", "Tag.1.Value": "v"}, "InvalidParameter"},
		{"tag key 65", "web", map[string]string{"Tag.1.Key": strings.Repeat("k", 65)}, "InvalidParameter"},
		{"tag value url", "web", map[string]string{"Tag.1.Key": "k", "Tag.1.Value": "https://x"}, "InvalidParameter"},
		{"duplicate tag", "web", map[string]string{"Tag.1.Key": "k", "Tag.2.Key": "k"}, "InvalidParameter"},
		{"restart policy", "web", map[string]string{"RestartPolicy": "Sometimes"}, "InvalidParameter"},
		{"bad cpu", "web", map[string]string{"Cpu": "two"}, "InvalidParameter"},
		{"bad env key", "web", map[string]string{"Container.1.EnvironmentVar.1.Key": "1X"}, "InvalidParameter"},
		{"env fieldref", "web", map[string]string{"Container.1.EnvironmentVar.1.Key": "X", "Container.1.EnvironmentVar.1.FieldRef.FieldPath": "metadata.name"}, "InvalidParameter"},
		{"mount of unknown volume", "web", map[string]string{"Container.1.VolumeMount.1.Name": "v", "Container.1.VolumeMount.1.MountPath": "/v"}, "InvalidParameter"},
		{"config not base64", "web", map[string]string{"Volume.1.Name": "v", "Volume.1.Type": "ConfigFileVolume",
			"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Path": "a", "Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content": "not base64!"}, "InvalidParameter"},
		{"hostpath", "web", map[string]string{"Volume.1.Name": "v", "Volume.1.Type": "HostPathVolume"}, "Forbidden.HostPathVolume"},
		{"duplicate container", "web", map[string]string{"Container.2.Name": "app", "Container.2.Image": "x"}, "InvalidParameter"},
		{"port range", "web", map[string]string{"Container.1.Port.1.Port": "70000"}, "InvalidParameter"},
		{"spot without limit", "web", map[string]string{"SpotStrategy": "SpotWithPriceLimit"}, "MissingParameter"},
		{"economy spot", "web", map[string]string{"ComputeCategory.1": "economy", "SpotStrategy": "SpotAsPriceGo"}, "FeatureBasedConstraintConflict"},
		{"too big", "web", map[string]string{"Cpu": "65"}, "InvalidParameter"},
		{"unknown instance type", "web", map[string]string{"InstanceType": "ecs.nope.large"}, "InvalidInstanceType.ValueNotSupported"},
		{"unknown vswitch", "web", map[string]string{"VSwitchId": "vsw-h-1,vsw-x"}, "InvalidVSwitchId.NotFound"},
		{"11 vswitches", "web", map[string]string{"VSwitchId": "vsw-h-1,vsw-h-2,vsw-i-1,vsw-i-2,vsw-j-1,vsw-j-2,vsw-h-1"}, ""},
		{"vswitch not in zone", "web", map[string]string{"VSwitchId": "vsw-h-1", "ZoneId": "cn-hangzhou-i"}, "InvalidParameter"},
		{"unknown sg", "web", map[string]string{"SecurityGroupId": "sg-nope"}, "InvalidSecurityGroupId.NotFound"},
		{"max pending", "web", map[string]string{"MaxPendingMinute": "5"}, "InvalidParameter"},
		{"dry run", "web", map[string]string{"DryRun": "true"}, "DryRunOperation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := createParams(tc.group, tc.extra)
			if tc.group == "" {
				delete(q, "ContainerGroupName")
			}
			err := api(t, c, e, "CreateContainerGroup", q, nil)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("want success: %v", err)
				}
				return
			}
			wantCode(t, err, tc.code, 0)
		})
	}
	// Nothing but the one accepted request created a group.
	var out struct{ TotalCount int }
	mustAPI(t, c, e, "DescribeContainerGroups", nil, &out)
	if out.TotalCount != 1 {
		t.Fatalf("validation failures created groups: %d", out.TotalCount)
	}
}

func TestSpecRounding(t *testing.T) {
	table := (&Config{}).specTable()
	for _, tc := range []struct{ cpu, mem, wantCPU, wantMem float64 }{
		{0, 0, 0, 0}, // handled by sizingCandidates (default 2/4)
		{0.1, 0.1, 0.25, 0.5},
		{0.25, 1, 0.25, 1},
		{0.5, 1.5, 0.5, 2},
		{1, 16, 2, 16},
		{3, 3, 4, 4},
		{7, 13, 8, 16},
		{2, 17, 4, 32},
		{52, 100, 52, 192},
		{64, 512, 64, 512},
	} {
		if tc.cpu == 0 {
			continue
		}
		got, ok := roundUpSpec(table, tc.cpu, tc.mem)
		if !ok || got.CPU != tc.wantCPU || got.Memory != tc.wantMem {
			t.Errorf("round(%v,%v) = %v, want %v/%v", tc.cpu, tc.mem, got, tc.wantCPU, tc.wantMem)
		}
	}
	if _, ok := roundUpSpec(table, 64, 513); ok {
		t.Errorf("beyond the largest spec must fail")
	}
	e, _, c := fakeEmu(t, func(cfg *Config) { cfg.ExtraSpecs = []Spec{{8, 14}} })
	for _, tc := range []struct {
		extra            map[string]string
		wantCPU, wantMem float64
		wantInstanceType string
	}{
		{nil, 2, 4, ""},
		{map[string]string{"Container.1.Cpu": "0.3", "Container.1.Memory": "0.6", "Container.2.Name": "b", "Container.2.Image": "x", "Container.2.Cpu": "0.3", "Container.2.Memory": "0.6"}, 1, 2, ""},
		{map[string]string{"Cpu": "7", "Memory": "13"}, 8, 14, ""},
		{map[string]string{"InstanceType": "ecs.g6.large"}, 2, 8, "ecs.g6.large"},
		{map[string]string{"InstanceType": "3-5Gi"}, 4, 8, ""},
		{map[string]string{"InitContainer.1.Name": "i", "InitContainer.1.Image": "busybox", "InitContainer.1.Cpu": "4", "InitContainer.1.Memory": "8"}, 4, 8, ""},
	} {
		id := createGroup(t, c, e, "sized", tc.extra)
		g := mustDescribe(t, c, e, id)
		if g.Cpu != tc.wantCPU || g.Memory != tc.wantMem || g.InstanceType != tc.wantInstanceType {
			t.Errorf("%v: got %v/%v %q, want %v/%v %q", tc.extra, g.Cpu, g.Memory, g.InstanceType, tc.wantCPU, tc.wantMem, tc.wantInstanceType)
		}
	}
}

func TestClientTokenIdempotency(t *testing.T) {
	e, _, c := fakeEmu(t, nil)
	a := createGroup(t, c, e, "web", map[string]string{"ClientToken": "pod-uid-1"})
	b := createGroup(t, c, e, "web", map[string]string{"ClientToken": "pod-uid-1"})
	if a != b {
		t.Fatalf("same token, different ids: %s %s", a, b)
	}
	var out struct{ TotalCount int }
	mustAPI(t, c, e, "DescribeContainerGroups", nil, &out)
	if out.TotalCount != 1 {
		t.Fatalf("a retried create made %d groups", out.TotalCount)
	}
	err := api(t, c, e, "CreateContainerGroup", createParams("other", map[string]string{"ClientToken": "pod-uid-1"}), nil)
	wantCode(t, err, "IdempotentParameterMismatch", 400)
	if d := createGroup(t, c, e, "web", map[string]string{"ClientToken": "pod-uid-2"}); d == a {
		t.Fatalf("a new token must create a new group")
	}
}

func TestDescribePaginationAndFilters(t *testing.T) {
	e, _, c := fakeEmu(t, nil)
	ids := map[string]bool{}
	for i := 0; i < 25; i++ {
		extra := map[string]string{"Tag.1.Key": "cluster", "Tag.1.Value": "a"}
		if i%5 == 0 {
			extra["Tag.2.Key"] = "team"
			extra["Tag.2.Value"] = "blue"
		}
		ids[createGroup(t, c, e, fmt.Sprintf("g-%02d", i), extra)] = true
	}
	createGroup(t, c, e, "other", map[string]string{"Tag.1.Key": "cluster", "Tag.1.Value": "b"})

	seen := map[string]bool{}
	token, pages := "", 0
	for {
		q := map[string]string{"Limit": "10", "Tag.1.Key": "cluster", "Tag.1.Value": "a"}
		if token != "" {
			q["NextToken"] = token
		}
		var out struct {
			NextToken       string
			TotalCount      int
			ContainerGroups []groupView
		}
		mustAPI(t, c, e, "DescribeContainerGroups", q, &out)
		pages++
		if out.TotalCount != 25 {
			t.Fatalf("TotalCount %d", out.TotalCount)
		}
		for _, g := range out.ContainerGroups {
			if seen[g.ContainerGroupId] || !ids[g.ContainerGroupId] {
				t.Fatalf("page %d: unexpected or repeated %s", pages, g.ContainerGroupId)
			}
			seen[g.ContainerGroupId] = true
		}
		if out.NextToken == "" {
			break
		}
		token = out.NextToken
	}
	if len(seen) != 25 || pages != 3 {
		t.Fatalf("paged %d groups in %d pages", len(seen), pages)
	}
	// Both tags must match.
	var out struct{ TotalCount int }
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"Tag.1.Key": "cluster", "Tag.1.Value": "a", "Tag.2.Key": "team", "Tag.2.Value": "blue"}, &out)
	if out.TotalCount != 5 {
		t.Errorf("two-tag filter: %d", out.TotalCount)
	}
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"ContainerGroupName": "g-03"}, &out)
	if out.TotalCount != 1 {
		t.Errorf("name filter: %d", out.TotalCount)
	}
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"Status": "Scheduling"}, &out)
	if out.TotalCount != 26 {
		t.Errorf("status filter: %d", out.TotalCount)
	}
	wantCode(t, api(t, c, e, "DescribeContainerGroups", map[string]string{"Limit": "21"}, nil), "InvalidParameter", 400)
	wantCode(t, api(t, c, e, "DescribeContainerGroups", map[string]string{"Status": "Sleeping"}, nil), "InvalidParameter", 400)
	wantCode(t, api(t, c, e, "DescribeContainerGroups", map[string]string{"NextToken": "garbage"}, nil), "InvalidParameter", 400)
	var many []string
	for i := 0; i < 21; i++ {
		many = append(many, fmt.Sprintf(`"eci-%d"`, i))
	}
	wantCode(t, api(t, c, e, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": "[" + strings.Join(many, ",") + "]"}, nil), "InvalidParameter", 400)
	wantCode(t, api(t, c, e, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": "eci-1,eci-2"}, nil), "InvalidParameter", 400)
	if _, ok := describeOne(t, c, e, "eci-doesnotexist000000"); ok {
		t.Errorf("unknown id must give an empty list")
	}
}

func TestStockVSwitchesAndQuota(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Zones = []ZoneConfig{
			{ID: "cn-hangzhou-h", VSwitchIDs: []string{"vsw-h"}, Stock: map[string]int{"2-4Gi": 1, "ecs.c6.large": 1}},
			{ID: "cn-hangzhou-i", VSwitchIDs: []string{"vsw-i"}, Stock: map[string]int{"*": 1}},
		}
		cfg.Quotas.MaxCPU = 8
	})
	ordered := map[string]string{"VSwitchId": "vsw-h,vsw-i", "ScheduleStrategy": "VSwitchOrdered"}
	a := createGroup(t, c, e, "grp-a", ordered)
	b := createGroup(t, c, e, "grp-b", ordered) // h exhausted for 2-4Gi -> i
	clk.Advance(2 * time.Second)
	ga, gb := mustDescribe(t, c, e, a), mustDescribe(t, c, e, b)
	if ga.ZoneId != "cn-hangzhou-h" || gb.ZoneId != "cn-hangzhou-i" || ga.IntranetIp == gb.IntranetIp {
		t.Fatalf("placement: %s %s / %s %s", ga.ZoneId, ga.IntranetIp, gb.ZoneId, gb.IntranetIp)
	}
	// Multiple instance types: the first with stock wins.
	d := createGroup(t, c, e, "grp-d", map[string]string{"VSwitchId": "vsw-h", "InstanceType": "ecs.g6.large,ecs.c6.large"})
	clk.Advance(2 * time.Second)
	if g := mustDescribe(t, c, e, d); g.InstanceType != "ecs.c6.large" || g.Status != "Pending" {
		t.Fatalf("instance type fallback: %q %s", g.InstanceType, g.Status)
	}
	// Everything exhausted: create succeeds, the group fails to schedule.
	f := createGroup(t, c, e, "grp-f", ordered)
	if g := mustDescribe(t, c, e, f); g.Status != "Scheduling" {
		t.Fatalf("status before scheduling: %s", g.Status)
	}
	clk.Advance(2 * time.Second)
	g := mustDescribe(t, c, e, f)
	if g.Status != "ScheduleFailed" || !hasEvent(g, "NoStock") {
		t.Fatalf("no stock: %s %+v", g.Status, g.Events)
	}
	// Deleting a group gives its stock back.
	mustAPI(t, c, e, "DeleteContainerGroup", map[string]string{"ContainerGroupId": a, "Force": "true"}, nil)
	h := createGroup(t, c, e, "grp-h", ordered)
	clk.Advance(2 * time.Second)
	if g := mustDescribe(t, c, e, h); g.ZoneId != "cn-hangzhou-h" || g.Status != "Pending" {
		t.Fatalf("stock not returned: %s %s", g.ZoneId, g.Status)
	}
	// A closed zone: StockClose.
	if err := e.SetZoneClosed("cn-hangzhou-h", true); err != nil {
		t.Fatal(err)
	}
	if err := e.SetZoneStock("cn-hangzhou-h", nil); err != nil {
		t.Fatal(err)
	}
	k := createGroup(t, c, e, "grp-k", map[string]string{"VSwitchId": "vsw-h"})
	clk.Advance(2 * time.Second)
	if g := mustDescribe(t, c, e, k); g.Status != "ScheduleFailed" || !hasEvent(g, "StockClose") {
		t.Fatalf("closed zone: %s %+v", g.Status, g.Events)
	}
	// vCPU quota: 3 live 2-vCPU groups (b, d, h) = 6; 4 more exceed 8.
	err := api(t, c, e, "CreateContainerGroup", createParams("big-one", map[string]string{"Cpu": "4", "Memory": "8", "VSwitchId": "vsw-i"}), nil)
	wantCode(t, err, "QuotaExceed.ElasticQuota", 403)
	var usage struct{ Attributes map[string]float64 }
	mustAPI(t, c, e, "ListUsage", nil, &usage)
	if usage.Attributes["UsedCpu"] != 6 || usage.Attributes["MaxCpu"] != 8 {
		t.Fatalf("usage: %v", usage.Attributes)
	}
}

func TestVSwitchRandomIsSeeded(t *testing.T) {
	zonesOf := func(seed int64) []string {
		e, clk, c := fakeEmu(t, func(cfg *Config) { cfg.FaultSeed = seed })
		var ids []string
		for i := 0; i < 8; i++ {
			ids = append(ids, createGroup(t, c, e, "grp-r", map[string]string{"VSwitchId": "vsw-h-1,vsw-i-1,vsw-j-1"}))
		}
		clk.Advance(3 * time.Second)
		var zones []string
		for _, id := range ids {
			zones = append(zones, mustDescribe(t, c, e, id).ZoneId)
		}
		return zones
	}
	a, b := zonesOf(7), zonesOf(7)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("same seed, different placement: %v vs %v", a, b)
	}
	distinct := map[string]bool{}
	for _, z := range a {
		distinct[z] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("VSwitchRandom used one zone only: %v", a)
	}
}

// TestTypedV1Operations drives the v1 SDK's typed requests for the
// operations it has, junk parameters included.
func TestTypedV1Operations(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1, Restarting: time.Second, Updating: time.Second}
	})
	req := typedCreate("typed", "nginx:1.25")
	(*req.Container)[0].ReadinessProbe.InitialDelaySeconds = "3"
	(*req.Container)[0].ReadinessProbe.TcpSocket.Port = "80"
	req.Tag = &[]eci.CreateContainerGroupTag{{Key: "owner", Value: "typed"}}
	req.RestartPolicy = "OnFailure"
	req.ClientToken = "typed-token"
	resp, err := c.CreateContainerGroup(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.ContainerGroupId
	clk.Advance(5 * time.Second)

	ureq := eci.CreateUpdateContainerGroupRequest()
	ureq.ContainerGroupId = id
	ureq.Container = &[]eci.UpdateContainerGroupContainer{{Name: "c0", Image: "nginx:1.27"}}
	if _, err := c.UpdateContainerGroup(ureq); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	var full struct {
		ContainerGroups []struct {
			Status     string
			Containers []struct {
				Image          string
				ReadinessProbe struct{ InitialDelaySeconds int }
			}
		}
	}
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": `["` + id + `"]`}, &full)
	cg := full.ContainerGroups[0]
	if cg.Status != "Running" || cg.Containers[0].Image != "nginx:1.27" || cg.Containers[0].ReadinessProbe.InitialDelaySeconds != 3 {
		t.Fatalf("typed update: %+v", cg)
	}

	rreq := eci.CreateRestartContainerGroupRequest()
	rreq.ContainerGroupId = id
	if _, err := c.RestartContainerGroup(rreq); err != nil {
		t.Fatal(err)
	}
	dreq := eci.CreateDeleteContainerGroupRequest()
	dreq.ContainerGroupId = id
	if _, err := c.DeleteContainerGroup(dreq); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, ok := describeOne(t, c, e, id); ok {
		t.Fatalf("typed delete left the group")
	}
	dreq2 := eci.CreateDeleteContainerGroupRequest()
	dreq2.ContainerGroupId = id
	_, err = c.DeleteContainerGroup(dreq2)
	wantCode(t, err, "InvalidParameter.NotFound", 404)
}
