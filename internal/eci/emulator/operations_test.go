package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
)

func TestThrottling(t *testing.T) {
	e, clk, c := fakeEmu(t, nil)
	ok, throttled := 0, 0
	for i := 0; i < 105; i++ {
		err := api(t, c, e, "CreateContainerGroup", createParams("burst", nil), nil)
		if err == nil {
			ok++
			continue
		}
		wantCode(t, err, "Throttling.User", 400)
		if se := serverErr(t, err); se.Message() != "Request was denied due to user flow control." {
			t.Fatalf("message %q", se.Message())
		}
		throttled++
	}
	if ok != 100 || throttled != 5 {
		t.Fatalf("burst: %d ok, %d throttled", ok, throttled)
	}
	// Refill: 20 tokens per second of (fake) time.
	clk.Advance(time.Second)
	ok = 0
	for i := 0; i < 25; i++ {
		if api(t, c, e, "CreateContainerGroup", createParams("burst", nil), nil) == nil {
			ok++
		}
	}
	if ok != 20 {
		t.Fatalf("after 1s refill: %d ok, want 20", ok)
	}
	// Buckets are per action: Describe is unaffected.
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"Limit": "1"}, nil)
	// Per-minute limits: 500 exec calls per minute.
	e.SetRateLimit("DescribeContainerLog", RateLimit{Burst: 3, Per: time.Minute})
	clk.Advance(time.Second)
	id := createGroup(t, c, e, "x-1", nil)
	for i := 0; i < 3; i++ {
		mustAPI(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "app"}, nil)
	}
	wantCode(t, api(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "app"}, nil), "Throttling.User", 400)
	clk.Advance(20 * time.Second) // one token per 20 s
	mustAPI(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "app"}, nil)
	// Limits can be switched off.
	e.SetRateLimitsEnabled(false)
	for i := 0; i < 10; i++ {
		mustAPI(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "app"}, nil)
	}
	if n := e.Calls()["CreateContainerGroup"].ByCode["Throttling.User"]; n != 10 {
		t.Fatalf("stats count %d throttled creates", n)
	}
}

func TestDocumentedDefaultLimits(t *testing.T) {
	l := newLimiter(RateLimitConfig{}, t0)
	for action, want := range map[string]int{"DescribeContainerGroups": 2000, "DescribeContainerGroupStatus": 10000, "ExecContainerCommand": 500, "DescribeContainerLog": 500, "CreateImageCache": 200} {
		if got := l.limitFor(action); got.Burst != want || got.Per != time.Minute {
			t.Errorf("%s: %+v", action, got)
		}
	}
	if got := l.limitFor("DeleteContainerGroup"); got.Burst != 100 || got.Refill != 20 {
		t.Errorf("delete: %+v", got)
	}
}

func TestFaultInjection(t *testing.T) {
	e, _, c := fakeEmu(t, func(cfg *Config) { cfg.FaultSeed = 42 })
	e.SetFault("DescribeRegions", Fault{ErrorRate: 1})
	_, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest())
	wantCode(t, err, "ServiceUnavailable", 503)
	e.SetFault("*", Fault{ErrorRate: 1, Code: "InternalError", HTTPStatus: 500, Message: "boom"})
	wantCode(t, api(t, c, e, "ListUsage", nil, nil), "InternalError", 500)
	_, err = c.DescribeRegions(eci.CreateDescribeRegionsRequest())
	wantCode(t, err, "ServiceUnavailable", 503) // the action's own fault wins
	e.ClearFaults()
	mustAPI(t, c, e, "ListUsage", nil, nil)

	// Half the calls fail; the pattern is fixed by the seed.
	pattern := func() string {
		e2, _, c2 := fakeEmu(t, func(cfg *Config) { cfg.FaultSeed = 42 })
		e2.SetFault("ListUsage", Fault{ErrorRate: 0.5, Code: "Throttling", HTTPStatus: 400})
		var b strings.Builder
		for i := 0; i < 40; i++ {
			if api(t, c2, e2, "ListUsage", nil, nil) == nil {
				b.WriteByte('.')
			} else {
				b.WriteByte('x')
			}
		}
		return b.String()
	}
	p1, p2 := pattern(), pattern()
	if p1 != p2 || !strings.Contains(p1, "x") || !strings.Contains(p1, ".") {
		t.Fatalf("patterns %s / %s", p1, p2)
	}
	// Latency shows up in the stats.
	e.SetFault("ListUsage", Fault{Latency: 50 * time.Millisecond})
	mustAPI(t, c, e, "ListUsage", nil, nil)
	if st := e.Calls()["ListUsage"]; st.Max < 50*time.Millisecond || st.Count < 3 || st.ByCode["InternalError"] != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestOutages(t *testing.T) {
	e, _, c := fakeEmu(t, nil)
	e.SetOutage(OutageRefuse)
	if _, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest()); err == nil {
		t.Fatalf("refused outage answered")
	}
	// The admin endpoint stays reachable and can end the outage.
	if resp, err := http.Post("http://"+e.Endpoint()+"/_admin/outage", "application/json", strings.NewReader(`{"mode":"none"}`)); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin during outage: %v", err)
	}
	if _, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest()); err != nil {
		t.Fatalf("after outage: %v", err)
	}

	// Hang: a client with a timeout gives up; a held request is answered
	// once the outage ends.
	e.SetOutage(OutageHang)
	c.SetReadTimeout(200 * time.Millisecond)
	start := time.Now()
	if _, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest()); err == nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("hang: %v after %v", err, time.Since(start))
	}
	c.SetReadTimeout(10 * time.Second)
	var wg sync.WaitGroup
	var held error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, held = c.DescribeRegions(eci.CreateDescribeRegionsRequest())
	}()
	time.Sleep(100 * time.Millisecond)
	e.SetOutage(OutageNone)
	wg.Wait()
	if held != nil {
		t.Fatalf("held request: %v", held)
	}
}

func TestAdminEndpoint(t *testing.T) {
	e, clk, c := fakeEmu(t, nil)
	base := "http://" + e.Endpoint() + "/_admin/"
	post := func(path, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %v", path, body, resp.StatusCode, out)
		}
		return out
	}
	get := func(path string, out any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	post("faults", `{"action":"ListUsage","fault":{"errorRate":1,"code":"ServiceUnavailable","latency":"1ms"}}`)
	wantCode(t, api(t, c, e, "ListUsage", nil, nil), "ServiceUnavailable", 503)
	req, _ := http.NewRequest(http.MethodDelete, base+"faults", nil)
	if _, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	mustAPI(t, c, e, "ListUsage", nil, nil)

	var stats map[string]ActionStats
	get("stats", &stats)
	if stats["ListUsage"].Count != 2 || stats["ListUsage"].ByCode["Success"] != 1 {
		t.Fatalf("stats: %+v", stats["ListUsage"])
	}
	post("clock", `{"advance":"90s"}`)
	if got := clk.Now().Sub(t0); got != 90*time.Second {
		t.Fatalf("clock advanced %v", got)
	}
	post("zones", `{"zone":"cn-hangzhou-h","closed":true,"stock":{"*":0}}`)
	var zones []ZoneConfig
	get("zones", &zones)
	if !zones[0].Closed || zones[0].Stock["*"] != 0 {
		t.Fatalf("zones: %+v", zones[0])
	}
	post("ratelimits", `{"action":"ListUsage","limit":{"burst":1,"per":"1h"}}`)
	mustAPI(t, c, e, "ListUsage", nil, nil)
	wantCode(t, api(t, c, e, "ListUsage", nil, nil), "Throttling.User", 400)
	post("ratelimits", `{"enabled":false}`)
	mustAPI(t, c, e, "ListUsage", nil, nil)
	resp, err := http.Post(base+"faults", "application/json", bytes.NewReader([]byte(`{"action":"X","fault":{"errorRat":1}}`)))
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("unknown field accepted: %v %d", err, resp.StatusCode)
	}
}

func TestDecodeJSONConfig(t *testing.T) {
	var cfg Config
	err := DecodeJSON([]byte(`{
		"region": "cn-shanghai",
		"credentials": [{"AccessKeyID": "ak", "AccessKeySecret": "sk"}],
		"zones": [{"id": "cn-shanghai-a", "vSwitchIds": ["vsw-a"], "stock": {"2-4Gi": 3}}],
		"lifecycle": {"scheduling": "5s", "imagePull": 2000000000},
		"images": {"busybox": {"runFor": "1m", "exitCode": 3, "logs": ["hi"]}},
		"quotas": {"maxCpu": 64},
		"rateLimits": {"override": {"DescribeContainerGroups": {"burst": 10, "per": "1s"}}}
	}`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Lifecycle.Scheduling != 5*time.Second || cfg.Lifecycle.ImagePull != 2*time.Second || cfg.Images["busybox"].RunFor != time.Minute ||
		cfg.RateLimits.Override["DescribeContainerGroups"].Per != time.Second || cfg.Zones[0].Stock["2-4Gi"] != 3 {
		t.Fatalf("decoded: %+v", cfg)
	}
	if _, err := New(cfg); err != nil {
		t.Fatalf("decoded config rejected: %v", err)
	}
	if err := DecodeJSON([]byte(`{"lifecycle":{"scheduling":"soon"}}`), &cfg); err == nil {
		t.Fatalf("bad duration accepted")
	}
	if err := DecodeJSON([]byte(`{"regoin":"x"}`), &cfg); err == nil {
		t.Fatalf("unknown field accepted")
	}
	if _, err := New(Config{Zones: []ZoneConfig{{ID: "z"}}}); err == nil {
		t.Fatalf("zone without vSwitch accepted")
	}
}
