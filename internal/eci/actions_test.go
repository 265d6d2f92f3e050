package eci_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// instantLifecycle makes every phase immediate so typed calls see Running
// groups without waiting.
func instantLifecycle() emulator.LifecycleConfig {
	const now = -1
	return emulator.LifecycleConfig{
		Scheduling: now, ImagePull: now, ContainerStart: now, Restarting: now, Updating: now,
		Terminating: now, VirtualNodeReady: now, ImageCacheReady: now,
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// webRequest is a realistic translated pod: probes, hooks, init container,
// config file and emptyDir volumes, DNS, tags.
func webRequest(name, token string) *eci.CreateContainerGroupRequest {
	return &eci.CreateContainerGroupRequest{
		ContainerGroupName:            name,
		ClientToken:                   token,
		CPU:                           1,
		Memory:                        2,
		RestartPolicy:                 eci.RestartPolicyAlways,
		SecurityGroupID:               "sg-emulator0001",
		VSwitchIDs:                    []string{"vsw-h-1", "vsw-i-1"},
		ScheduleStrategy:              eci.ScheduleStrategyVSwitchOrdered,
		TerminationGracePeriodSeconds: eci.Ptr[int64](5),
		InitContainers: []eci.InitContainer{{
			Name: "init", Image: "busybox:1.36", Commands: []string{"sh", "-c", "true"},
			VolumeMounts: []eci.VolumeMount{{Name: "scratch", MountPath: "/scratch"}},
		}},
		Containers: []eci.Container{{
			Name: "web", Image: "example/web:1.0", CPU: 0.5, Memory: 1,
			Commands: []string{"/web"}, Args: []string{"--port", "8080"},
			EnvironmentVars: []eci.EnvVar{{Key: "MODE", Value: "test"}, {Key: "POD_IP", FieldRef: &eci.FieldRef{FieldPath: "status.podIP"}}},
			Ports:           []eci.Port{{Port: 8080, Protocol: "TCP"}},
			VolumeMounts: []eci.VolumeMount{
				{Name: "config", MountPath: "/etc/web", ReadOnly: eci.Ptr(true)},
				{Name: "scratch", MountPath: "/scratch", SubPath: "web"},
			},
			ReadinessProbe: &eci.Probe{HTTPGet: &eci.ProbeHTTPGet{Path: "/ready", Port: 8080, Scheme: "HTTP"}, PeriodSeconds: eci.Ptr[int32](5)},
			LivenessProbe:  &eci.Probe{Exec: &eci.ExecAction{Command: []string{"cat", "/tmp/healthy"}}, FailureThreshold: eci.Ptr[int32](3)},
			PreStop:        &eci.LifecycleHandler{Exec: []string{"/bin/sh", "-c", "sleep 1"}},
			SecurityContext: &eci.ContainerSecurityContext{
				CapabilityAdd: []string{"NET_BIND_SERVICE"}, RunAsUser: eci.Ptr[int64](1000), ReadOnlyRootFilesystem: eci.Ptr(false),
			},
		}},
		Volumes: []eci.Volume{
			{Name: "config", Type: eci.VolumeTypeConfigFile, ConfigFile: &eci.ConfigFileVolume{
				DefaultMode: eci.Ptr[int32](0o644),
				Files:       []eci.ConfigFile{{Path: "web.conf", Content: b64("listen 8080\n")}},
			}},
			{Name: "scratch", Type: eci.VolumeTypeEmptyDir, EmptyDir: &eci.EmptyDirVolume{SizeLimit: "1Gi"}},
		},
		DNSPolicy: eci.DNSPolicyNone,
		DNSConfig: &eci.DNSConfig{NameServers: []string{"10.96.0.10"}, Searches: []string{"default.svc.cluster.local"},
			Options: []eci.DNSOption{{Name: "ndots", Value: "5"}}},
		HostAliases: []eci.HostAlias{{IP: "10.0.0.5", Hostnames: []string{"db.local"}}},
		Tags:        []eci.Tag{{Key: "eci-vnode/pod-uid", Value: token}, {Key: "team", Value: "web"}},
	}
}

func startTypedEmulator(t *testing.T) (*emulator.Emulator, *eci.Client) {
	e, c, _ := startTypedEmulatorClock(t)
	return e, c
}

// startTypedEmulatorClock also returns the emulator's clock, which starts at
// the real time (the signature check allows 15 minutes of skew) and only
// moves when the test advances it.
func startTypedEmulatorClock(t *testing.T) (*emulator.Emulator, *eci.Client, *emulator.FakeClock) {
	t.Helper()
	clock := emulator.NewFakeClock(time.Now())
	e := emulator.StartForTest(t, emulator.Config{
		Clock:     clock,
		Lifecycle: instantLifecycle(),
		Images: map[string]emulator.ImageBehaviour{
			"example/web": {Logs: []string{"hello from web", "listening on 8080"}, Files: map[string]string{"/tmp/healthy": "ok"}},
		},
		// Init containers finish at once, so groups reach Running on the
		// next call.
		DefaultInitImage: &emulator.ImageBehaviour{RunFor: time.Nanosecond},
	})
	return e, newEmulatorClient(t, e), clock
}

func TestContainerGroupLifecycleCalls(t *testing.T) {
	e, c, clock := startTypedEmulatorClock(t)
	ctx := context.Background()

	created, err := c.CreateContainerGroup(ctx, webRequest("web-0", "uid-web-0"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	clock.Advance(time.Second) // the init container ends, web starts
	if !strings.HasPrefix(created.ContainerGroupID, "eci-") || created.RequestID == "" || created.DryRun {
		t.Fatalf("create answer %+v", created)
	}
	id := created.ContainerGroupID

	t.Run("describe reports what was sent", func(t *testing.T) {
		resp, err := c.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.ContainerGroups) != 1 {
			t.Fatalf("got %d groups", len(resp.ContainerGroups))
		}
		g := resp.ContainerGroups[0]
		if g.ContainerGroupID != id || g.ContainerGroupName != "web-0" || g.Status != eci.StatusRunning || g.CPU != 1 || g.Memory != 2 {
			t.Errorf("group %+v", g)
		}
		if v, ok := g.Tag("eci-vnode/pod-uid"); !ok || v != "uid-web-0" {
			t.Errorf("tags %+v", g.Tags)
		}
		if len(g.Containers) != 1 || len(g.InitContainers) != 1 || len(g.Volumes) != 2 {
			t.Fatalf("containers %d init %d volumes %d", len(g.Containers), len(g.InitContainers), len(g.Volumes))
		}
		ct := g.Containers[0]
		if ct.Name != "web" || ct.Image != "example/web:1.0" || ct.CurrentState.State != eci.ContainerRunning || !ct.Ready {
			t.Errorf("container %+v", ct)
		}
		if ct.ReadinessProbe == nil || ct.ReadinessProbe.HTTPGet == nil || ct.ReadinessProbe.HTTPGet.Path != "/ready" {
			t.Errorf("readiness probe %+v", ct.ReadinessProbe)
		}
		if ct.LivenessProbe == nil || strings.Join(ct.LivenessProbe.Execs, " ") != "cat /tmp/healthy" {
			t.Errorf("liveness probe %+v", ct.LivenessProbe)
		}
		if len(ct.VolumeMounts) != 2 || ct.VolumeMounts[1].SubPath != "web" || !ct.VolumeMounts[0].ReadOnly {
			t.Errorf("mounts %+v", ct.VolumeMounts)
		}
		if g.DNSConfig == nil || len(g.DNSConfig.NameServers) != 1 || g.DNSConfig.NameServers[0] != "10.96.0.10" {
			t.Errorf("dns %+v", g.DNSConfig)
		}
		if g.IntranetIP == "" || g.ZoneID == "" || g.VSwitchID == "" {
			t.Errorf("network fields empty: ip %q zone %q vsw %q", g.IntranetIP, g.ZoneID, g.VSwitchID)
		}
	})

	t.Run("status and events", func(t *testing.T) {
		st, err := c.DescribeContainerGroupStatus(ctx, &eci.DescribeContainerGroupStatusRequest{ContainerGroupIDs: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Data) != 1 || st.Data[0].ContainerGroupID != id || st.Data[0].Status != eci.StatusRunning || st.Data[0].PodStatus.Phase != "Running" {
			t.Fatalf("status %+v", st.Data)
		}
		ps := st.Data[0].PodStatus
		var web *eci.ContainerStatus
		for i := range ps.ContainerStatuses {
			if ps.ContainerStatuses[i].Name == "web" {
				web = &ps.ContainerStatuses[i]
			}
		}
		if ps.PodIP == "" || web == nil || !web.Ready || web.State.Running == nil || web.State.Running.StartedAt == "" {
			t.Errorf("pod status %+v", ps)
		}
		ev, err := c.DescribeContainerGroupEvents(ctx, &eci.DescribeContainerGroupEventsRequest{ContainerGroupIDs: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Data) != 1 || len(ev.Data[0].Events) == 0 {
			t.Fatalf("events %+v", ev.Data)
		}
		if ev.Data[0].Events[0].Reason == "" || ev.Data[0].Events[0].InvolvedObject.Kind == "" {
			t.Errorf("event %+v", ev.Data[0].Events[0])
		}
	})

	t.Run("logs", func(t *testing.T) {
		logs, err := c.DescribeContainerLog(ctx, &eci.DescribeContainerLogRequest{ContainerGroupID: id, ContainerName: "web", Tail: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.Content, "hello from web") || logs.ContainerName != "web" {
			t.Errorf("log %+v", logs)
		}
	})

	t.Run("exec", func(t *testing.T) {
		out, err := c.ExecContainerCommand(ctx, &eci.ExecContainerCommandRequest{
			ContainerGroupID: id, ContainerName: "web", Command: []string{"cat", "/etc/web/web.conf"}, Sync: eci.Ptr(true), TTY: eci.Ptr(false),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.SyncResponse, "listen 8080") {
			t.Errorf("sync exec output %q; the config file volume should be readable", out.SyncResponse)
		}
		ws, err := c.ExecContainerCommand(ctx, &eci.ExecContainerCommandRequest{
			ContainerGroupID: id, ContainerName: "web", Command: []string{"/bin/sh"}, TTY: eci.Ptr(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		if ws.WebSocketURI == "" {
			t.Errorf("no websocket URI: %+v", ws)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		clock.Advance(time.Minute) // samples are taken every 15 s of running time
		m, err := c.DescribeContainerGroupMetric(ctx, &eci.DescribeContainerGroupMetricRequest{ContainerGroupID: id})
		if err != nil {
			t.Fatal(err)
		}
		if m.ContainerGroupID != id || len(m.Records) == 0 || len(m.Records[0].Containers) == 0 || m.Records[0].Memory.UsageBytes == 0 {
			t.Errorf("metric %+v", m)
		}
		mm, err := c.DescribeMultiContainerGroupMetric(ctx, &eci.DescribeMultiContainerGroupMetricRequest{ContainerGroupIDs: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if len(mm.MonitorDatas) != 1 || mm.MonitorDatas[0].ContainerGroupID != id || len(mm.MonitorDatas[0].Records) == 0 {
			t.Errorf("multi metric %+v", mm)
		}
	})

	t.Run("update and restart", func(t *testing.T) {
		upd := &eci.UpdateContainerGroupRequest{
			ContainerGroupID: id, ClientToken: "upd-1", UpdateType: eci.UpdateTypeIncremental,
			Tags: []eci.Tag{{Key: "eci-vnode/pod-uid", Value: "uid-web-0"}, {Key: "team", Value: "platform"}},
		}
		if err := c.UpdateContainerGroup(ctx, upd); err != nil {
			t.Fatalf("update: %v", err)
		}
		if err := c.RestartContainerGroup(ctx, &eci.RestartContainerGroupRequest{ContainerGroupID: id, ClientToken: "restart-1"}); err != nil {
			t.Fatalf("restart: %v", err)
		}
		all, err := c.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{id}})
		if err != nil || len(all) != 1 {
			t.Fatalf("describe after update: %v %d", err, len(all))
		}
		if v, _ := all[0].Tag("team"); v != "platform" {
			t.Errorf("update did not change the tag: %+v", all[0].Tags)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := c.DeleteContainerGroup(ctx, &eci.DeleteContainerGroupRequest{ContainerGroupID: id, Force: true}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		resp, err := c.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.ContainerGroups) != 0 {
			t.Errorf("deleted group still listed: %+v", resp.ContainerGroups[0].Status)
		}
		err = c.DeleteContainerGroup(ctx, &eci.DeleteContainerGroupRequest{ContainerGroupID: id})
		if !errors.Is(err, eci.ErrNotFound) {
			t.Errorf("deleting a deleted group: want ErrNotFound, got %v", err)
		}
		if err := c.RestartContainerGroup(ctx, &eci.RestartContainerGroupRequest{ContainerGroupID: "eci-doesnotexist00000"}); !errors.Is(err, eci.ErrNotFound) {
			t.Errorf("restart of a missing group: want ErrNotFound, got %v", err)
		}
	})
	_ = e
}

func TestCreateValidationAndDryRun(t *testing.T) {
	e, c := startTypedEmulator(t)
	ctx := context.Background()

	req := webRequest("web-dry", "")
	_, err := c.CreateContainerGroup(ctx, req)
	if !errors.Is(err, eci.ErrInvalidInput) || !strings.Contains(err.Error(), "ClientToken is required") {
		t.Fatalf("create without ClientToken: want a local InvalidInput error, got %v", err)
	}
	if serverCalls(e, "CreateContainerGroup") != 0 {
		t.Error("a create without ClientToken must not be sent")
	}

	req.ClientToken = "dry-1"
	req.DryRun = true
	resp, err := c.CreateContainerGroup(ctx, req)
	if err != nil || !resp.DryRun || resp.ContainerGroupID != "" || resp.RequestID == "" {
		t.Fatalf("dry run: %+v %v", resp, err)
	}

	bad := webRequest("web-bad", "bad-1")
	bad.Containers[0].CPU = -1
	_, err = c.CreateContainerGroup(ctx, bad)
	var ae *eci.APIError
	if !errors.As(err, &ae) || ae.Class != eci.ClassInvalidInput || ae.RequestID == "" || ae.Attempts > 1 {
		t.Fatalf("invalid CPU: want a server InvalidInput answer sent once, got %#v", err)
	}
	t.Logf("server validation error: %v", err)
}

func TestCreateIsIdempotent(t *testing.T) {
	e, c := startTypedEmulator(t)
	ctx := context.Background()

	first, err := c.CreateContainerGroup(ctx, webRequest("web-1", "uid-web-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateContainerGroup(ctx, webRequest("web-1", "uid-web-1"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ContainerGroupID != first.ContainerGroupID {
		t.Fatalf("same ClientToken created a second group: %s and %s", first.ContainerGroupID, again.ContainerGroupID)
	}
	changed := webRequest("web-1", "uid-web-1")
	changed.Memory = 4
	if _, err := c.CreateContainerGroup(ctx, changed); !errors.Is(err, eci.ErrInvalidInput) {
		t.Fatalf("same token, different request: want InvalidInput (IdempotentParameterMismatch), got %v", err)
	}

	// The first answer is lost on the way back: the group is created, the
	// client sees a reset connection and retries with the same token.
	lossy := &lossyTransport{base: http.DefaultTransport.(*http.Transport).Clone(), action: "CreateContainerGroup"}
	lc := newEmulatorClient(t, e, func(cfg *eci.Config) { cfg.Transport = lossy })
	t.Cleanup(lossy.base.(*http.Transport).CloseIdleConnections)
	got, err := lc.CreateContainerGroup(ctx, webRequest("web-2", "uid-web-2"))
	if err != nil {
		t.Fatalf("create with a lost answer: %v", err)
	}
	if lossy.drops.Load() < 2 {
		t.Fatal("the first answer was not dropped; the test proves nothing")
	}
	groups, err := c.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupName: "web-2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].ContainerGroupID != got.ContainerGroupID {
		t.Fatalf("after a lost answer and a retry there are %d groups named web-2 (want exactly the one returned)", len(groups))
	}
	if n := serverCalls(e, "CreateContainerGroup"); n != 5 {
		t.Errorf("server saw %d creates, want 5 (2 + mismatch + lost + retry)", n)
	}
	if st := lc.Stats()["CreateContainerGroup"]; st.Attempts != 2 || st.Retries != 1 || st.ErrorsByClass[eci.ClassTransient] != 1 {
		t.Errorf("client stats %+v", st)
	}

	// Same for a delete without a caller token: the client's generated
	// token is reused by the retry, so ECI recognises it and the caller
	// gets success rather than NotFound for a delete that did happen.
	lossy.action = "DeleteContainerGroup"
	lossy.drops.Store(0)
	if err := lc.DeleteContainerGroup(ctx, &eci.DeleteContainerGroupRequest{ContainerGroupID: got.ContainerGroupID, Force: true}); err != nil {
		t.Fatalf("delete with a lost answer: %v", err)
	}
	if lossy.drops.Load() < 2 {
		t.Fatal("the delete answer was not dropped")
	}
	if codes := e.Calls()["DeleteContainerGroup"].ByCode; codes["Success"] != 2 {
		t.Errorf("server answers to the delete and its retry: %v", codes)
	}
}

func TestPaginationHelpers(t *testing.T) {
	e, c := startTypedEmulator(t)
	ctx := context.Background()
	const n = 45
	var ids []string
	for i := 0; i < n; i++ {
		r := &eci.CreateContainerGroupRequest{
			ContainerGroupName: fmt.Sprintf("page-%02d", i), ClientToken: fmt.Sprintf("page-%02d", i),
			Containers: []eci.Container{{Name: "c", Image: "example/web:1.0"}},
			Tags:       []eci.Tag{{Key: "suite", Value: "paging"}},
		}
		resp, err := c.CreateContainerGroup(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.ContainerGroupID)
	}
	one, err := c.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{Tags: []eci.Tag{{Key: "suite", Value: "paging"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.ContainerGroups) != 20 || one.NextToken == "" || one.TotalCount != n {
		t.Fatalf("first page: %d groups, next %q, total %d", len(one.ContainerGroups), one.NextToken, one.TotalCount)
	}
	before := serverCalls(e, "DescribeContainerGroups")
	all, err := c.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{Tags: []eci.Tag{{Key: "suite", Value: "paging"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n || serverCalls(e, "DescribeContainerGroups")-before != 3 {
		t.Fatalf("all pages: %d groups in %d calls", len(all), serverCalls(e, "DescribeContainerGroups")-before)
	}
	seen := map[string]bool{}
	for _, g := range all {
		seen[g.ContainerGroupID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct groups over the pages, want %d", len(seen), n)
	}

	// More IDs than one call accepts: the helper splits them.
	byID, err := c.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: ids})
	if err != nil || len(byID) != n {
		t.Fatalf("by %d IDs: %d groups, %v", len(ids), len(byID), err)
	}
	if _, err := c.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: ids}); !errors.Is(err, eci.ErrInvalidInput) {
		t.Errorf("one page with %d IDs: want a local InvalidInput error, got %v", len(ids), err)
	}
	st, err := c.DescribeAllContainerGroupStatus(ctx, &eci.DescribeContainerGroupStatusRequest{ContainerGroupIDs: ids})
	if err != nil || len(st) != n {
		t.Fatalf("status by %d IDs: %d, %v", len(ids), len(st), err)
	}
}

func TestAccountAndRegionCalls(t *testing.T) {
	_, c := startTypedEmulator(t)
	ctx := context.Background()

	price, err := c.DescribeContainerGroupPrice(ctx, &eci.DescribeContainerGroupPriceRequest{CPU: 2, Memory: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p := price.PriceInfo.Price; p.TradePrice <= 0 || p.Currency == "" || len(p.DetailInfos.DetailInfo) == 0 {
		t.Errorf("price %+v", p)
	}

	res, err := c.DescribeAvailableResource(ctx, &eci.DescribeAvailableResourceRequest{
		DestinationResource: eci.DestinationResource{Category: "InstanceType"},
	})
	if err != nil {
		t.Fatal(err)
	}
	zones := res.AvailableZones.AvailableZone
	if len(zones) == 0 || len(zones[0].AvailableResources.AvailableResource) == 0 ||
		len(zones[0].AvailableResources.AvailableResource[0].SupportedResources.SupportedResource) == 0 {
		t.Errorf("available resources %+v", res)
	}

	usage, err := c.ListUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if max, err := usage.Number("MaxCpu"); err != nil || max <= 0 {
		t.Errorf("MaxCpu %v %v (attributes %s)", max, err, usage.Attributes)
	}

	regions, err := c.DescribeRegions(ctx)
	if err != nil || len(regions.Regions) != 1 {
		t.Fatalf("regions %+v %v", regions, err)
	}
}

func TestTagCalls(t *testing.T) {
	_, c := startTypedEmulator(t)
	ctx := context.Background()
	g, err := c.CreateContainerGroup(ctx, webRequest("tagged", "uid-tagged"))
	if err != nil {
		t.Fatal(err)
	}
	id := g.ContainerGroupID
	if err := c.TagResources(ctx, &eci.TagResourcesRequest{
		ResourceType: eci.ResourceTypeContainerGroup, ResourceIDs: []string{id},
		Tags: []eci.Tag{{Key: "cost-center", Value: "42"}},
	}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListAllTagResources(ctx, &eci.ListTagResourcesRequest{ResourceType: eci.ResourceTypeContainerGroup, ResourceIDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, tr := range tags {
		if tr.ResourceID != id || tr.ResourceType != eci.ResourceTypeContainerGroup {
			t.Errorf("unexpected %+v", tr)
		}
		found[tr.TagKey] = tr.TagValue
	}
	if found["cost-center"] != "42" || found["team"] != "web" {
		t.Errorf("tags %v", found)
	}
	if err := c.UntagResources(ctx, &eci.UntagResourcesRequest{
		ResourceType: eci.ResourceTypeContainerGroup, ResourceIDs: []string{id}, TagKeys: []string{"cost-center"},
	}); err != nil {
		t.Fatal(err)
	}
	page, err := c.ListTagResources(ctx, &eci.ListTagResourcesRequest{ResourceType: eci.ResourceTypeContainerGroup, ResourceIDs: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range page.TagResources {
		if tr.TagKey == "cost-center" {
			t.Error("untag did not remove the tag")
		}
	}
	if err := c.TagResources(ctx, &eci.TagResourcesRequest{
		ResourceType: eci.ResourceTypeContainerGroup, ResourceIDs: []string{"eci-doesnotexist00000"}, Tags: []eci.Tag{{Key: "a", Value: "b"}},
	}); !errors.Is(err, eci.ErrNotFound) {
		t.Errorf("tagging a missing group: want ErrNotFound, got %v", err)
	}
}

func TestVirtualNodeCalls(t *testing.T) {
	_, c := startTypedEmulator(t)
	ctx := context.Background()
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters: []\n"
	created, err := c.CreateVirtualNode(ctx, &eci.CreateVirtualNodeRequest{
		VirtualNodeName: "vnode-a", SecurityGroupID: "sg-emulator0001", VSwitchIDs: []string{"vsw-h-1"},
		KubeConfig: kubeconfig, ClusterDNS: "10.96.0.10", ClusterDomain: "cluster.local",
		ClientToken: "vnode-a-1",
		Tags:        []eci.Tag{{Key: "cluster", Value: "c1"}},
		Taints:      []eci.Taint{{Key: "k8s.aliyun.com/vnode", Value: "true", Effect: "NoSchedule"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.VirtualNodeID, "vnd-") {
		t.Fatalf("vnode id %q", created.VirtualNodeID)
	}
	again, err := c.CreateVirtualNode(ctx, &eci.CreateVirtualNodeRequest{
		VirtualNodeName: "vnode-a", SecurityGroupID: "sg-emulator0001", VSwitchIDs: []string{"vsw-h-1"},
		KubeConfig: kubeconfig, ClusterDNS: "10.96.0.10", ClusterDomain: "cluster.local", ClientToken: "vnode-a-1",
		Tags:   []eci.Tag{{Key: "cluster", Value: "c1"}},
		Taints: []eci.Taint{{Key: "k8s.aliyun.com/vnode", Value: "true", Effect: "NoSchedule"}},
	})
	if err != nil || again.VirtualNodeID != created.VirtualNodeID {
		t.Fatalf("idempotent vnode create: %+v %v", again, err)
	}
	if _, err := c.CreateVirtualNode(ctx, &eci.CreateVirtualNodeRequest{SecurityGroupID: "sg-1", VSwitchIDs: []string{"vsw-h-1"}}); !errors.Is(err, eci.ErrInvalidInput) {
		t.Errorf("vnode create without ClientToken: %v", err)
	}

	nodes, err := c.DescribeAllVirtualNodes(ctx, &eci.DescribeVirtualNodesRequest{VirtualNodeIDs: []string{created.VirtualNodeID}})
	if err != nil || len(nodes) != 1 {
		t.Fatalf("describe vnodes: %v %d", err, len(nodes))
	}
	n := nodes[0]
	if n.VirtualNodeName != "vnode-a" || n.Status != eci.VirtualNodeReady || n.VirtualNodeVSwitchID != "vsw-h-1" || n.VirtualNodeSecurityGroupID != "sg-emulator0001" {
		t.Errorf("vnode %+v", n)
	}
	if err := c.UpdateVirtualNode(ctx, &eci.UpdateVirtualNodeRequest{VirtualNodeID: n.VirtualNodeID, VirtualNodeName: "vnode-b"}); err != nil {
		t.Fatal(err)
	}
	page, err := c.DescribeVirtualNodes(ctx, &eci.DescribeVirtualNodesRequest{VirtualNodeName: "vnode-b"})
	if err != nil || len(page.VirtualNodes) != 1 {
		t.Fatalf("after rename: %+v %v", page, err)
	}
	if err := c.DeleteVirtualNode(ctx, &eci.DeleteVirtualNodeRequest{VirtualNodeID: n.VirtualNodeID}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteVirtualNode(ctx, &eci.DeleteVirtualNodeRequest{VirtualNodeID: "vnd-doesnotexist0000"}); !errors.Is(err, eci.ErrNotFound) {
		t.Errorf("deleting a missing vnode: want ErrNotFound, got %v", err)
	}
}

func TestImageCacheCalls(t *testing.T) {
	e, c := startTypedEmulator(t)
	ctx := context.Background()
	created, err := c.CreateImageCache(ctx, &eci.CreateImageCacheRequest{
		ImageCacheName: "web-cache", Images: []string{"example/web:1.0", "busybox:1.36"},
		SecurityGroupID: "sg-emulator0001", VSwitchID: "vsw-h-1", ClientToken: "cache-1",
		ImageRegistryCredentials: []eci.ImageRegistryCredential{{Server: "registry.example", UserName: "u", Password: "p"}},
		Tags:                     []eci.Tag{{Key: "team", Value: "web"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.ImageCacheID, "imc-") {
		t.Fatalf("cache %+v", created)
	}
	caches, err := c.DescribeAllImageCaches(ctx, &eci.DescribeImageCachesRequest{ImageCacheID: created.ImageCacheID})
	if err != nil || len(caches) != 1 {
		t.Fatalf("describe caches: %v %d", err, len(caches))
	}
	ic := caches[0]
	if ic.ImageCacheName != "web-cache" || len(ic.Images) != 2 || ic.Status == "" {
		t.Errorf("cache %+v", ic)
	}
	if err := c.DeleteImageCache(ctx, &eci.DeleteImageCacheRequest{ImageCacheID: created.ImageCacheID}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteImageCache(ctx, &eci.DeleteImageCacheRequest{ImageCacheID: created.ImageCacheID}); !errors.Is(err, eci.ErrNotFound) {
		t.Errorf("deleting a deleted cache: want ErrNotFound, got %v", err)
	}
	_ = e
}

// TestDefaultCreateLimitStaysUnderServerBucket bursts creates at the
// documented quota (bucket 100, 20/s on the emulator) with the client's
// default limits: not one Throttling answer.
func TestDefaultCreateLimitStaysUnderServerBucket(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 5 s")
	}
	e := emulator.StartForTest(t, emulator.Config{Lifecycle: instantLifecycle(), Quotas: emulator.QuotaConfig{MaxCPU: -1}})
	c := newEmulatorClient(t, e, func(cfg *eci.Config) { cfg.Retry.MaxAttempts = 1 })
	ctx := context.Background()
	const n = 160
	start := time.Now()
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := c.CreateContainerGroup(ctx, &eci.CreateContainerGroupRequest{
				ContainerGroupName: fmt.Sprintf("burst-%03d", i), ClientToken: fmt.Sprintf("burst-%03d", i),
				Containers: []eci.Container{{Name: "c", Image: "example/web:1.0"}},
			})
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("create: %v", err)
		}
	}
	took := time.Since(start)
	codes := e.Calls()["CreateContainerGroup"].ByCode
	if codes["Success"] != n || len(codes) != 1 {
		t.Fatalf("server answers %v; want %d Success and no Throttling", codes, n)
	}
	st := c.Stats()["CreateContainerGroup"]
	l := eci.DefaultRateLimits()["CreateContainerGroup"]
	t.Logf("%d creates in %v with the default limits (burst %d, %g/s): %d waited at the client, 0 throttled by the server",
		n, took.Round(time.Millisecond), l.Burst, l.PerSecond, st.LimiterDelayed)
	if floor := time.Duration(float64(n-l.Burst) / l.PerSecond * float64(time.Second)); took < floor-50*time.Millisecond {
		t.Errorf("%d creates finished in %v: faster than the limit allows (%s)", n, took, floor)
	}
}

// TestModelRoundTripThroughEmulator sends a request using most of the model
// and checks that the emulator (an independent parser of the wire format)
// reports the same values back through DescribeContainerGroups.
func TestModelRoundTripThroughEmulator(t *testing.T) {
	_, c := startTypedEmulator(t)
	ctx := context.Background()
	req := &eci.CreateContainerGroupRequest{
		ContainerGroupName: "kitchen-sink",
		ClientToken:        "uid-kitchen-sink",
		ZoneID:             "cn-hangzhou-i",
		VSwitchIDs:         []string{"vsw-i-1"},
		CPU:                2,
		Memory:             4,
		SpotStrategy:       eci.SpotStrategySpotWithPriceLimit,
		SpotPriceLimit:     0.25,
		RestartPolicy:      eci.RestartPolicyOnFailure,
		DNSPolicy:          eci.DNSPolicyDefault,
		HostAliases:        []eci.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"a.local", "b.local"}}},
		SecurityContext:    &eci.PodSecurityContext{Sysctls: []eci.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}},
		Containers: []eci.Container{{
			Name: "app", Image: "example/web:2.0", ImagePullPolicy: eci.ImagePullPolicyIfNotPresent, WorkingDir: "/srv",
			CPU: 1, Memory: 2, Stdin: eci.Ptr(true), TTY: eci.Ptr(true),
			EnvironmentVars: []eci.EnvVar{{Key: "POD_IP", FieldRef: &eci.FieldRef{FieldPath: "status.podIP"}}},
			LivenessProbe: &eci.Probe{TCPSocket: &eci.ProbeTCPSocket{Port: 9000}, InitialDelaySeconds: eci.Ptr[int32](0),
				PeriodSeconds: eci.Ptr[int32](7), TimeoutSeconds: eci.Ptr[int32](2), SuccessThreshold: eci.Ptr[int32](1), FailureThreshold: eci.Ptr[int32](4)},
			PostStart: &eci.LifecycleHandler{HTTPGet: &eci.HookHTTPGet{Path: "/started", Port: 9000, Scheme: "HTTP",
				HTTPHeaders: []eci.HTTPHeader{{Name: "X-Hook", Value: "1"}}}},
			PreStop:                  &eci.LifecycleHandler{TCPSocket: &eci.HookTCPSocket{Port: 9000}},
			SecurityContext:          &eci.ContainerSecurityContext{CapabilityAdd: []string{"NET_ADMIN", "SYS_TIME"}, RunAsUser: eci.Ptr[int64](0), ReadOnlyRootFilesystem: eci.Ptr(true)},
			TerminationMessagePath:   "/dev/termination-log",
			TerminationMessagePolicy: "FallbackToLogsOnError",
			VolumeMounts: []eci.VolumeMount{
				{Name: "nfs", MountPath: "/data", ReadOnly: eci.Ptr(false), MountPropagation: "HostToContainer"},
				{Name: "mem", MountPath: "/cache"},
				{Name: "flex", MountPath: "/flex"},
			},
		}},
		Volumes: []eci.Volume{
			{Name: "nfs", Type: eci.VolumeTypeNFS, NFS: &eci.NFSVolume{Server: "0ce1f4-abc.cn-hangzhou.nas.aliyuncs.com", Path: "/share", ReadOnly: eci.Ptr(true)}},
			{Name: "mem", Type: eci.VolumeTypeEmptyDir, EmptyDir: &eci.EmptyDirVolume{Medium: "Memory", SizeLimit: "256Mi"}},
			{Name: "flex", Type: eci.VolumeTypeFlex, Flex: &eci.FlexVolume{Driver: "alicloud/disk", FSType: "ext4", Options: `{"volumeId":"d-123"}`}},
		},
		Tags: []eci.Tag{{Key: "k", Value: ""}},
	}
	created, err := c.CreateContainerGroup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{created.ContainerGroupID}})
	if err != nil || len(groups) != 1 {
		t.Fatalf("describe: %v %d", err, len(groups))
	}
	g := groups[0]
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("zone", g.ZoneID, "cn-hangzhou-i")
	check("vswitch", g.VSwitchID, "vsw-i-1")
	check("spot strategy", g.SpotStrategy, eci.SpotStrategySpotWithPriceLimit)
	check("spot price", g.SpotPriceLimit, 0.25)
	check("restart policy", g.RestartPolicy, eci.RestartPolicyOnFailure)
	check("dns policy", g.DNSPolicy, eci.DNSPolicyDefault)
	check("host aliases", fmt.Sprint(g.HostAliases), "[{10.1.2.3 [a.local b.local]}]")
	if g.EciSecurityContext == nil || len(g.EciSecurityContext.Sysctls) != 1 || g.EciSecurityContext.Sysctls[0].Value != "1024" {
		t.Errorf("sysctls %+v", g.EciSecurityContext)
	}
	if v, ok := g.Tag("k"); !ok || v != "" {
		t.Errorf("a tag with an empty value must survive: %+v", g.Tags)
	}
	ct := g.Containers[0]
	check("pull policy", ct.ImagePullPolicy, eci.ImagePullPolicyIfNotPresent)
	check("workdir", ct.WorkingDir, "/srv")
	check("stdin/tty", fmt.Sprint(ct.Stdin, ct.TTY), "true true")
	if ct.EnvironmentVars[0].ValueFrom == nil || ct.EnvironmentVars[0].ValueFrom.FieldRef == nil || ct.EnvironmentVars[0].ValueFrom.FieldRef.FieldPath != "status.podIP" {
		t.Errorf("env field ref %+v", ct.EnvironmentVars)
	}
	if p := ct.LivenessProbe; p == nil || p.TCPSocket == nil || p.TCPSocket.Port != 9000 || p.PeriodSeconds != 7 || p.TimeoutSeconds != 2 || p.FailureThreshold != 4 {
		t.Errorf("tcp probe %+v", p)
	}
	if sc := ct.SecurityContext; sc == nil || sc.Capability == nil || fmt.Sprint(sc.Capability.Adds) != "[NET_ADMIN SYS_TIME]" || !sc.ReadOnlyRootFilesystem {
		t.Errorf("security context %+v", sc)
	}
	check("mount propagation", ct.VolumeMounts[0].MountPropagation, "HostToContainer")
	vols := map[string]eci.VolumeInfo{}
	for _, v := range g.Volumes {
		vols[v.Name] = v
	}
	check("nfs", fmt.Sprint(vols["nfs"].NFSVolumeServer, " ", vols["nfs"].NFSVolumePath, " ", vols["nfs"].NFSVolumeReadOnly), "0ce1f4-abc.cn-hangzhou.nas.aliyuncs.com /share true")
	check("emptyDir", fmt.Sprint(vols["mem"].EmptyDirVolumeMedium, " ", vols["mem"].EmptyDirVolumeSizeLimit), "Memory 256Mi")
	check("flex", fmt.Sprint(vols["flex"].FlexVolumeDriver, " ", vols["flex"].FlexVolumeFsType, " ", vols["flex"].FlexVolumeOptions), `alicloud/disk ext4 {"volumeId":"d-123"}`)
}

// TestStockOutIsReportedOnTheGroup: a create in a zone without stock is
// accepted, and the group then shows ScheduleFailed with a NoStock event.
func TestStockOutIsReportedOnTheGroup(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{
		Lifecycle: instantLifecycle(),
		Zones:     []emulator.ZoneConfig{{ID: "cn-hangzhou-h", VSwitchIDs: []string{"vsw-h-1"}, Stock: map[string]int{"*": 0}}},
	})
	c := newEmulatorClient(t, e)
	ctx := context.Background()
	created, err := c.CreateContainerGroup(ctx, &eci.CreateContainerGroupRequest{
		ContainerGroupName: "no-stock", ClientToken: "no-stock", VSwitchIDs: []string{"vsw-h-1"},
		Containers: []eci.Container{{Name: "c", Image: "example/web:1.0"}},
	})
	if err != nil {
		t.Fatalf("create is accepted even without stock: %v", err)
	}
	var g eci.ContainerGroup
	deadline := time.Now().Add(10 * time.Second)
	for {
		groups, err := c.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{created.ContainerGroupID}, WithEvent: true})
		if err != nil || len(groups) != 1 {
			t.Fatalf("describe: %v %d", err, len(groups))
		}
		g = groups[0]
		if g.Status == eci.StatusScheduleFailed || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !g.StockOut() || !eci.IsTerminalStatus(g.Status) {
		t.Fatalf("status %s, events %+v: want ScheduleFailed with a NoStock event", g.Status, g.Events)
	}
}
