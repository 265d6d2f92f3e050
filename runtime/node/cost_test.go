package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// The split by tag adds each instance to the value it has for every key,
// "" when it lacks the key, so each key's values add up to the total.
func TestCostEstimateSplitsByTagAndEachKeyAddsUpToTheTotal(t *testing.T) {
	insts := []billing{
		{id: "a", tags: map[string]string{"team": "alpha", "env": "prod"}},
		{id: "b", tags: map[string]string{"team": "beta", "env": "prod"}},
		{id: "c", tags: map[string]string{"team": "alpha"}},
		{id: "d", tags: map[string]string{}},
	}
	prices := map[string]float64{"a": 0.25, "b": 1.5, "c": 0.125, "d": 2}
	e := estimateCost(insts, []string{"team", "env"}, func(b billing) (float64, string, error) {
		return prices[b.id], "USD", nil
	})
	var sum float64
	for _, v := range prices {
		sum += v
	}
	if e.billed != 4 || e.unpriced != 0 || e.err != nil {
		t.Fatalf("billed %d unpriced %d err %v; want 4, 0, nil", e.billed, e.unpriced, e.err)
	}
	if e.total["USD"] != sum || len(e.total) != 1 {
		t.Errorf("total %v, want USD %v", e.total, sum)
	}
	want := map[tagValue]float64{
		{"team", "alpha", "USD"}: prices["a"] + prices["c"],
		{"team", "beta", "USD"}:  prices["b"],
		{"team", "", "USD"}:      prices["d"],
		{"env", "prod", "USD"}:   prices["a"] + prices["b"],
		{"env", "", "USD"}:       prices["c"] + prices["d"],
	}
	if len(e.byTag) != len(want) {
		t.Errorf("by tag %v, want %v", e.byTag, want)
	}
	for k, v := range want {
		if e.byTag[k] != v {
			t.Errorf("by tag %v = %v, want %v", k, e.byTag[k], v)
		}
	}
	for _, key := range []string{"team", "env"} {
		var s float64
		for tv, v := range e.byTag {
			if tv.key == key {
				s += v
			}
		}
		if s != sum {
			t.Errorf("the values of %s add up to %v, want the total %v", key, s, sum)
		}
	}
}

// A failed lookup is counted, not priced at zero.
func TestCostEstimateCountsUnpricedInstances(t *testing.T) {
	boom := errors.New("Throttling")
	e := estimateCost([]billing{{id: "a"}, {id: "b"}}, nil, func(b billing) (float64, string, error) {
		if b.id == "b" {
			return 0, "", boom
		}
		return 1, "CNY", nil
	})
	if e.billed != 2 || e.unpriced != 1 || !errors.Is(e.err, boom) {
		t.Errorf("billed %d unpriced %d err %v; want 2, 1, %v", e.billed, e.unpriced, e.err, boom)
	}
}

func TestBilledStatusesFollowTheLifecyclePage(t *testing.T) {
	for status, want := range map[string]bool{
		eci.StatusScheduling: false, eci.StatusPending: true, eci.StatusRunning: true, eci.StatusRestarting: true,
		eci.StatusUpdating: true, eci.StatusTerminating: true, eci.StatusSucceeded: false, eci.StatusFailed: false,
		eci.StatusExpired: false, eci.StatusScheduleFailed: false,
	} {
		if got := (&billing{status: status}).billed(); got != want {
			t.Errorf("%s billed = %v, want %v", status, got, want)
		}
	}
}

// The price of an instance follows its spec, zone, category and spot
// strategy, against the emulator's configured prices through the real client.
func TestInstanceHourlyPriceBySpecAndSpotStrategy(t *testing.T) {
	prices := emulator.PriceConfig{Currency: "USD", VCPUPerSecond: 0.0000081, MemoryGiBPerSecond: 0.0000011,
		EconomyVCPUPerSecond: 0.0000052, InstanceTypes: map[string]float64{"ecs.c6.large": 0.000123}, SpotDiscount: 0.3}
	emu := emulator.StartForTest(t, emulator.Config{Prices: prices, Logf: func(string, ...any) {}})
	cred := emulator.DefaultCredential()
	client, err := eci.New(eci.Config{Region: emu.Region(), Endpoint: "http://" + emu.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	est := cost.NewEstimator(client)
	zone := emu.Zones()[0].ID
	q := func(perSecond float64) float64 { return math.Round(perSecond*1e8) / 1e8 }
	list := func(vcpuUnit, cpu, mem float64) float64 {
		return q(q(cpu*vcpuUnit)+q(mem*prices.MemoryGiBPerSecond)) * 3600
	}
	for _, c := range []struct {
		name string
		b    billing
		want float64
	}{
		{"vCPU and memory", billing{cpu: 2, memoryGiB: 4, zoneID: zone}, list(prices.VCPUPerSecond, 2, 4)},
		{"economy", billing{cpu: 1, memoryGiB: 2, zoneID: zone, computeCategory: "economy"}, list(prices.EconomyVCPUPerSecond, 1, 2)},
		{"ECS type", billing{instanceType: "ecs.c6.large", cpu: 2, memoryGiB: 4, zoneID: zone}, q(prices.InstanceTypes["ecs.c6.large"]) * 3600},
		{"SpotAsPriceGo", billing{cpu: 2, memoryGiB: 4, zoneID: zone, spotStrategy: eci.SpotStrategySpotAsPriceGo},
			q(q(q(2*prices.VCPUPerSecond)+q(4*prices.MemoryGiBPerSecond))*prices.SpotDiscount) * 3600},
		{"SpotWithPriceLimit above the market", billing{cpu: 2, memoryGiB: 4, zoneID: zone, spotStrategy: eci.SpotStrategySpotWithPriceLimit, spotPriceLimit: 5},
			q(q(q(2*prices.VCPUPerSecond)+q(4*prices.MemoryGiBPerSecond))*prices.SpotDiscount) * 3600},
		{"SpotWithPriceLimit below the market", billing{cpu: 2, memoryGiB: 4, zoneID: zone, spotStrategy: eci.SpotStrategySpotWithPriceLimit, spotPriceLimit: 0.001}, 0.001},
	} {
		got, currency, err := c.b.hourlyPrice(context.Background(), est)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if math.Abs(got-c.want) > 1e-7 || currency != prices.Currency {
			t.Errorf("%s: %.8f %s per hour, want %.8f %s", c.name, got, currency, c.want, prices.Currency)
		}
	}
}

// While one billed instance cannot be priced, neither the total nor the
// split is served (a sum without it would read low); the instance is
// counted as unpriced and the failed call as an error, and once the price
// API answers again the estimate is back, with the failure not cached.
func TestCostMetricsLeaveTheEstimateOutWhileAPriceIsUnknown(t *testing.T) {
	emu := emulator.StartForTest(t, emulator.Config{Logf: func(string, ...any) {}})
	cred := emulator.DefaultCredential()
	client, err := eci.New(eci.Config{Region: emu.Region(), Endpoint: "http://" + emu.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	zone := emu.Zones()[0].ID
	insts := []billing{
		{id: "eci-a", status: eci.StatusRunning, cpu: 2, memoryGiB: 4, zoneID: zone, tags: map[string]string{"team": "a"}},
		{id: "eci-b", status: eci.StatusRunning, cpu: 1, memoryGiB: 2, zoneID: zone, tags: map[string]string{"team": "b"}},
	}
	c := newCostMetrics()
	defer c.attach(&costSource{node: "vn", instances: func() []billing { return insts }, pricer: client,
		tagKeys: []string{"team"}, log: slog.New(slog.NewTextHandler(io.Discard, nil))})()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	gather := func() map[string][]*dto.Metric {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]*dto.Metric{}
		for _, f := range fams {
			out[f.GetName()] = f.GetMetric()
		}
		return out
	}
	value := func(ms []*dto.Metric) float64 {
		if len(ms) != 1 {
			t.Fatalf("%d series, want 1", len(ms))
		}
		if ms[0].GetGauge() != nil {
			return ms[0].GetGauge().GetValue()
		}
		return ms[0].GetCounter().GetValue()
	}
	lookups := func(ms []*dto.Metric, result string) float64 {
		for _, m := range ms {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
		return -1
	}

	emu.SetFault("DescribeContainerGroupPrice", emulator.Fault{ErrorRate: 1, Code: "Forbidden.RAM", HTTPStatus: 403, Message: "User not authorized to operate on the specified resource."})
	got := gather()
	for _, f := range []string{"eci_vnode_cost_instances_per_hour", "eci_vnode_cost_instances_per_hour_by_tag"} {
		if len(got[f]) != 0 {
			t.Errorf("%s served while no price is known: %v", f, got[f])
		}
	}
	if v := value(got["eci_vnode_cost_unpriced_instances"]); v != 2 {
		t.Errorf("unpriced instances %v, want 2", v)
	}
	if v := value(got["eci_vnode_cost_billed_instances"]); v != 2 {
		t.Errorf("billed instances %v, want 2", v)
	}
	failed := lookups(got["eci_vnode_cost_price_lookups_total"], "error")
	if failed < 1 {
		t.Errorf("failed lookups %v, want at least 1", failed)
	}

	emu.ClearFaults()
	got = gather()
	if v := value(got["eci_vnode_cost_unpriced_instances"]); v != 0 {
		t.Errorf("unpriced instances %v once the API answers, want 0", v)
	}
	est := cost.NewEstimator(client)
	var want float64
	for _, b := range insts {
		p, _, err := b.hourlyPrice(context.Background(), est)
		if err != nil {
			t.Fatal(err)
		}
		want += p
	}
	if v := value(got["eci_vnode_cost_instances_per_hour"]); math.Abs(v-want) > 1e-9 || want == 0 {
		t.Errorf("total %v, want %v", v, want)
	}
	if n := len(got["eci_vnode_cost_instances_per_hour_by_tag"]); n != 2 {
		t.Errorf("%d series by tag, want 2 (teams a and b)", n)
	}
	if lookups(got["eci_vnode_cost_price_lookups_total"], "error") != failed {
		t.Errorf("more failed lookups after the API recovered")
	}
}
