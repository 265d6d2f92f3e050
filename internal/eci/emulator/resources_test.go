package emulator

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
)

func TestMetrics(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1}
		cfg.Images = map[string]ImageBehaviour{"busy": {CPUUsage: 0.5, MemoryUsage: 0.5}}
	})
	id := createGroup(t, c, e, "busy", map[string]string{"Container.1.Image": "busy", "Container.1.Cpu": "2", "Container.1.Memory": "4"})
	clk.Advance(10 * time.Minute)
	req := eci.CreateDescribeContainerGroupMetricRequest()
	req.ContainerGroupId = id
	resp, err := c.DescribeContainerGroupMetric(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Records) != 21 { // last 5 minutes at 15 s, both ends included
		t.Fatalf("records: %d", len(resp.Records))
	}
	r := resp.Records[len(resp.Records)-1]
	if r.Timestamp != "2025-06-01T12:10:00Z" || len(r.Containers) != 1 || r.CPU.Limit != 2000 {
		t.Fatalf("record: %+v", r)
	}
	if u := float64(r.CPU.UsageNanoCores) / 1e9; u < 0.8 || u > 1.2 {
		t.Fatalf("cpu usage %v cores, want about 1 (50%% of 2)", u)
	}
	if m := float64(r.Memory.WorkingSet) / gib; m < 1.8 || m > 2.2 {
		t.Fatalf("memory %v GiB, want about 2", m)
	}
	// Deterministic: the same instant reads the same values.
	resp2, _ := c.DescribeContainerGroupMetric(req)
	if resp2.Records[len(resp2.Records)-1].CPU.UsageNanoCores != r.CPU.UsageNanoCores {
		t.Fatalf("metrics are not deterministic")
	}
	req.StartTime, req.EndTime, req.Period = "2025-06-01T12:00:00Z", "2025-06-01T12:10:00Z", "60"
	if resp, err = c.DescribeContainerGroupMetric(req); err != nil || len(resp.Records) != 11 {
		t.Fatalf("range: %v %d", err, len(resp.Records))
	}
	req.Period = "45"
	_, err = c.DescribeContainerGroupMetric(req)
	wantCode(t, err, "InvalidParameter", 400)

	mreq := eci.CreateDescribeMultiContainerGroupMetricRequest()
	mreq.ContainerGroupIds = `["` + id + `"]`
	mresp, err := c.DescribeMultiContainerGroupMetric(mreq)
	if err != nil || len(mresp.MonitorDatas) != 1 || len(mresp.MonitorDatas[0].Records) != 1 {
		t.Fatalf("multi: %v %+v", err, mresp)
	}
}

func TestPrice(t *testing.T) {
	e, _, c := fakeEmu(t, nil)
	type price struct {
		PriceInfo struct {
			Price struct {
				OriginalPrice, TradePrice float64
				Currency                  string
				DetailInfos               struct {
					DetailInfo []struct {
						Resource      string
						OriginalPrice float64
					}
				}
			}
			SpotPrices struct {
				SpotPrice []struct {
					ZoneId    string
					SpotPrice float64
				}
			}
		}
	}
	var p price
	mustAPI(t, c, e, "DescribeContainerGroupPrice", map[string]string{"Cpu": "2", "Memory": "4"}, &p)
	// The documented example: 2 vCPU / 4 GiB costs CNY 0.00012252 per second.
	if p.PriceInfo.Price.TradePrice != 0.00012252 || p.PriceInfo.Price.Currency != "CNY" ||
		p.PriceInfo.Price.DetailInfos.DetailInfo[0].Resource != "cpu" || p.PriceInfo.Price.DetailInfos.DetailInfo[0].OriginalPrice != 0.000098 {
		t.Fatalf("price: %+v", p.PriceInfo.Price)
	}
	mustAPI(t, c, e, "DescribeContainerGroupPrice", map[string]string{"Cpu": "1", "Memory": "2", "ComputeCategory": "economy", "SpotStrategy": "SpotAsPriceGo"}, &p)
	if p.PriceInfo.Price.TradePrice != 0.00003926 || len(p.PriceInfo.SpotPrices.SpotPrice) != 3 {
		t.Fatalf("economy/spot: %+v", p.PriceInfo)
	}
	// The v1 typed response declares DetailInfos/Rules as arrays whereas the
	// API nests them in objects (see the response example of
	// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-describecontainergroupprice):
	// the typed call fails to decode. The emulator follows the API.
	req := eci.CreateDescribeContainerGroupPriceRequest()
	req.Cpu, req.Memory = "2", "4"
	if _, err := c.DescribeContainerGroupPrice(req); err == nil || !strings.Contains(err.Error(), "DetailInfos") {
		t.Fatalf("want the v1 typed response to trip over the nested DetailInfos object, got %v", err)
	}
}

func TestAvailableResourceAndRegions(t *testing.T) {
	e, _, c := fakeEmu(t, func(cfg *Config) {
		cfg.Zones = []ZoneConfig{
			{ID: "cn-hangzhou-h", VSwitchIDs: []string{"vsw-h"}, Stock: map[string]int{"ecs.c6.large": 0, "*": 5}},
			{ID: "cn-hangzhou-i", VSwitchIDs: []string{"vsw-i"}, Closed: true},
		}
	})
	var out struct {
		AvailableZones struct {
			AvailableZone []struct {
				ZoneId             string
				AvailableResources struct {
					AvailableResource []struct {
						Type               string
						SupportedResources struct {
							SupportedResource []struct{ Value, StatusCategory string }
						}
					}
				}
			}
		}
	}
	mustAPI(t, c, e, "DescribeAvailableResource", map[string]string{"DestinationResource.Category": "InstanceType", "DestinationResource.Cores": "2"}, &out)
	got := map[string]string{}
	for _, z := range out.AvailableZones.AvailableZone {
		for _, r := range z.AvailableResources.AvailableResource[0].SupportedResources.SupportedResource {
			got[z.ZoneId+"/"+r.Value] = r.StatusCategory
		}
	}
	if got["cn-hangzhou-h/ecs.c6.large"] != "WithoutStock" || got["cn-hangzhou-h/ecs.g6.large"] != "WithStock" ||
		got["cn-hangzhou-i/ecs.g6.large"] != "ClosedWithoutStock" || got["cn-hangzhou-h/ecs.c6.xlarge"] != "" {
		t.Fatalf("available: %v", got)
	}
	wantCode(t, api(t, c, e, "DescribeAvailableResource", nil, nil), "MissingParameter", 400)
	resp, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest())
	if err != nil || len(resp.Regions[0].Zones) != 2 {
		t.Fatalf("regions: %v %+v", err, resp)
	}
}

func TestVirtualNodes(t *testing.T) {
	e, clk, c := fakeEmu(t, nil)
	kube := base64.StdEncoding.EncodeToString([]byte("apiVersion: v1\nkind: Config\n"))
	params := map[string]string{"SecurityGroupId": "sg-emulator0001", "VSwitchId": "vsw-h-1", "KubeConfig": kube,
		"VirtualNodeName": "vnode-a", "ClientToken": "tok-1", "Tag.1.Key": "team", "Tag.1.Value": "blue",
		"Taint.1.Key": "k8s.aliyun.com/vnode", "Taint.1.Value": "true", "Taint.1.Effect": "NoSchedule", "ClusterDNS": "10.96.0.10"}
	var created struct{ VirtualNodeId string }
	mustAPI(t, c, e, "CreateVirtualNode", params, &created)
	var again struct{ VirtualNodeId string }
	mustAPI(t, c, e, "CreateVirtualNode", params, &again)
	if !strings.HasPrefix(created.VirtualNodeId, "vnd-") || again.VirtualNodeId != created.VirtualNodeId {
		t.Fatalf("ids %q %q", created.VirtualNodeId, again.VirtualNodeId)
	}
	type vnodes struct {
		TotalCount   int
		VirtualNodes []struct {
			VirtualNodeId, VirtualNodeName, Status, VirtualNodeVSwitchId, IntranetIp string
			Tags                                                                     []struct{ Key, Value string }
		}
	}
	var vs vnodes
	mustAPI(t, c, e, "DescribeVirtualNodes", map[string]string{"VirtualNodeIds": `["` + created.VirtualNodeId + `"]`}, &vs)
	if vs.TotalCount != 1 || vs.VirtualNodes[0].Status != "Pending" || vs.VirtualNodes[0].IntranetIp == "" {
		t.Fatalf("pending: %+v", vs)
	}
	wantCode(t, api(t, c, e, "UpdateVirtualNode", map[string]string{"VirtualNodeId": created.VirtualNodeId, "VirtualNodeName": "vnode-b"}, nil), "IncorrectStatus", 403)
	clk.Advance(10 * time.Second)
	mustAPI(t, c, e, "DescribeVirtualNodes", map[string]string{"Status": "Ready", "Tag.1.Key": "team", "Tag.1.Value": "blue"}, &vs)
	if vs.TotalCount != 1 {
		t.Fatalf("ready: %+v", vs)
	}
	mustAPI(t, c, e, "UpdateVirtualNode", map[string]string{"VirtualNodeId": created.VirtualNodeId, "VirtualNodeName": "vnode-b"}, nil)
	mustAPI(t, c, e, "DescribeVirtualNodes", map[string]string{"VirtualNodeName": "vnode-b"}, &vs)
	if vs.TotalCount != 1 {
		t.Fatalf("renamed: %+v", vs)
	}
	for name, q := range map[string]map[string]string{
		"MissingParameter":          {"VSwitchId": "vsw-h-1", "KubeConfig": kube},
		"InvalidParameter":          {"SecurityGroupId": "sg-emulator0001", "VSwitchId": "vsw-h-1", "KubeConfig": "%%%"},
		"InvalidVSwitchId.NotFound": {"SecurityGroupId": "sg-emulator0001", "VSwitchId": "vsw-zz", "KubeConfig": kube},
	} {
		wantCode(t, api(t, c, e, "CreateVirtualNode", q, nil), name, 0)
	}
	wantCode(t, api(t, c, e, "CreateVirtualNode", map[string]string{"SecurityGroupId": "sg-emulator0001", "VSwitchId": "vsw-h-1",
		"KubeConfig": kube, "Taint.1.Key": "a", "Taint.1.Effect": "Sometimes"}, nil), "InvalidParameter", 400)
	mustAPI(t, c, e, "DeleteVirtualNode", map[string]string{"VirtualNodeId": created.VirtualNodeId}, nil)
	mustAPI(t, c, e, "DescribeVirtualNodes", nil, &vs)
	if vs.TotalCount != 0 {
		t.Fatalf("deleted node still listed")
	}
	wantCode(t, api(t, c, e, "DeleteVirtualNode", map[string]string{"VirtualNodeId": created.VirtualNodeId}, nil), "InvalidVirtualNodeId.NotFound", 404)
}

func TestTags(t *testing.T) {
	e, _, c := fakeEmu(t, nil)
	a := createGroup(t, c, e, "tag-a", map[string]string{"Tag.1.Key": "env", "Tag.1.Value": "dev"})
	b := createGroup(t, c, e, "tag-b", nil)
	mustAPI(t, c, e, "TagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": a, "ResourceId.2": b,
		"Tag.1.Key": "team", "Tag.1.Value": "blue", "Tag.2.Key": "env", "Tag.2.Value": "prod"}, nil)
	type list struct {
		NextToken    string
		TagResources []struct{ ResourceId, ResourceType, TagKey, TagValue string }
	}
	var l list
	mustAPI(t, c, e, "ListTagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": a}, &l)
	got := map[string]string{}
	for _, tr := range l.TagResources {
		got[tr.TagKey] = tr.TagValue
	}
	if len(got) != 2 || got["env"] != "prod" || got["team"] != "blue" {
		t.Fatalf("tags of a: %+v", l)
	}
	// Tag filters of DescribeContainerGroups see the new tags.
	var out struct{ TotalCount int }
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"Tag.1.Key": "team", "Tag.1.Value": "blue"}, &out)
	if out.TotalCount != 2 {
		t.Fatalf("describe by new tag: %d", out.TotalCount)
	}
	mustAPI(t, c, e, "UntagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": a, "TagKey.1": "team"}, nil)
	mustAPI(t, c, e, "ListTagResources", map[string]string{"ResourceType": "ContainerGroup", "Tag.1.Key": "team"}, &l)
	if len(l.TagResources) != 2 || l.TagResources[0].ResourceId != b {
		t.Fatalf("after untag: %+v", l)
	}
	mustAPI(t, c, e, "UntagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": b, "All": "true"}, nil)
	mustAPI(t, c, e, "ListTagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": b}, &l)
	if len(l.TagResources) != 0 {
		t.Fatalf("after untag all: %+v", l)
	}
	// Limits and errors: 21 tags on a resource, unknown IDs, missing keys.
	q := map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": a}
	for i := 1; i <= 20; i++ {
		q[fmt.Sprintf("Tag.%d.Key", i)] = fmt.Sprintf("k%d", i)
	}
	wantCode(t, api(t, c, e, "TagResources", q, nil), "InvalidParameter.TagCount", 400)
	wantCode(t, api(t, c, e, "TagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": "eci-nope", "Tag.1.Key": "x"}, nil), "InvalidResourceId.NotFound", 404)
	wantCode(t, api(t, c, e, "TagResources", map[string]string{"ResourceType": "Instance", "ResourceId.1": a, "Tag.1.Key": "x"}, nil), "InvalidParameter", 400)
	wantCode(t, api(t, c, e, "UntagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": a}, nil), "MissingParameter", 400)
	wantCode(t, api(t, c, e, "TagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": a, "Tag.1.Key": "acs:x"}, nil), "InvalidParameter", 400)
	// Pagination of ListTagResources.
	mustAPI(t, c, e, "TagResources", map[string]string{"ResourceType": "ContainerGroup", "ResourceId.1": b, "Tag.1.Key": "x"}, nil)
	mustAPI(t, c, e, "ListTagResources", map[string]string{"ResourceType": "ContainerGroup", "Limit": "1"}, &l)
	if len(l.TagResources) != 1 || l.NextToken == "" {
		t.Fatalf("page 1: %+v", l)
	}
	mustAPI(t, c, e, "ListTagResources", map[string]string{"ResourceType": "ContainerGroup", "Limit": "1", "NextToken": l.NextToken}, &l)
	if len(l.TagResources) != 1 || l.NextToken != "" {
		t.Fatalf("page 2: %+v", l)
	}
}

func TestImageCaches(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{ImageCacheReady: 20 * time.Second, Scheduling: -1, ContainerStart: -1, ImagePull: time.Minute}
		cfg.Images = map[string]ImageBehaviour{"private/broken": {PullError: "ErrImagePull"}}
		cfg.Quotas.MaxImageCaches = 2
	})
	req := eci.CreateCreateImageCacheRequest()
	req.ImageCacheName = "web-cache"
	req.Image = []string{"nginx:1.25", "busybox"}
	resp, err := c.CreateImageCache(req)
	if err != nil || !strings.HasPrefix(resp.ImageCacheId, "imc-") || resp.ContainerGroupId == "" {
		t.Fatalf("create: %v %+v", err, resp)
	}
	dreq := eci.CreateDescribeImageCachesRequest()
	dreq.ImageCacheId = resp.ImageCacheId
	status := func() (string, string) {
		d, err := c.DescribeImageCaches(dreq)
		if err != nil || len(d.ImageCaches) != 1 {
			t.Fatalf("describe: %v %+v", err, d)
		}
		return d.ImageCaches[0].Status, d.ImageCaches[0].Progress
	}
	if s, p := status(); s != "Preparing" || p != "0%" {
		t.Fatalf("%s %s", s, p)
	}
	clk.Advance(10 * time.Second)
	if s, p := status(); s != "Creating" || p != "33%" {
		t.Fatalf("%s %s", s, p)
	}
	clk.Advance(10 * time.Second)
	if s, p := status(); s != "Ready" || p != "100%" {
		t.Fatalf("%s %s", s, p)
	}
	bad := eci.CreateCreateImageCacheRequest()
	bad.ImageCacheName = "bad-cache"
	bad.Image = []string{"private/broken:1"}
	badResp, err := c.CreateImageCache(bad)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Second)
	dreq.ImageCacheId = badResp.ImageCacheId
	if s, _ := status(); s != "Failed" {
		t.Fatalf("broken image cache: %s", s)
	}
	third := eci.CreateCreateImageCacheRequest()
	third.ImageCacheName = "third"
	third.Image = []string{"redis"}
	_, err = c.CreateImageCache(third)
	if err != nil {
		t.Fatalf("failed caches do not count against the quota: %v", err)
	}
	fourth := eci.CreateCreateImageCacheRequest()
	fourth.ImageCacheName = "fourth"
	fourth.Image = []string{"redis"}
	_, err = c.CreateImageCache(fourth)
	wantCode(t, err, "QuotaExceed.ImageCache", 403)

	// A group using the cache skips the pull.
	id := createGroup(t, c, e, "cached", map[string]string{"ImageSnapshotId": resp.ImageCacheId})
	clk.Advance(time.Second)
	if g := mustDescribe(t, c, e, id); g.Status != "Running" {
		t.Fatalf("cached image still pulled: %s", g.Status)
	}
	del := eci.CreateDeleteImageCacheRequest()
	del.ImageCacheId = resp.ImageCacheId
	if _, err := c.DeleteImageCache(del); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteImageCache(del)
	wantCode(t, err, "InvalidImageCacheId.NotFound", 404)
}
