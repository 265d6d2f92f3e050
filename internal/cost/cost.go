// Package cost estimates what ECI charges per hour, from the prices the ECI
// API itself quotes (DescribeContainerGroupPrice), so an estimate follows
// the account's site, currency and region instead of a price list copied
// into this repository.
//
// DescribeContainerGroupPrice quotes per second; everything here is per
// hour (× 3600). Prices are cached per spec for the Estimator's lifetime:
// list prices change rarely and a plan or a table of pods asks for the
// same few specs many times.
//
//	est := cost.NewEstimator(client)
//	p, err := est.Hourly(ctx, cost.Spec{CPU: 2, MemoryGiB: 4, ZoneID: "cn-hangzhou-h"})
//	node, err := est.VNodeResidentHourly(ctx, "cn-hangzhou-h")
package cost

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// Resident node of a VNode: Alibaba bills each VNode like an ECI instance
// of 2 vCPU and 8 GiB, "(2 × vCPU unit price + 8 × memory unit price) ×
// run duration" (https://www.alibabacloud.com/help/en/eci/product-overview/virtual-node-billing).
const (
	ResidentVCPU      = 2
	ResidentMemoryGiB = 8
)

const secondsPerHour = 3600

// Spec is what to price: either CPU and MemoryGiB, or an InstanceType (an
// ECS type such as "ecs.c6.large", or "<cpu>-<mem>Gi"), which wins when
// both are set, as in the API.
type Spec struct {
	CPU, MemoryGiB float64
	InstanceType   string
	// ZoneID prices in one zone; "" lets the API price the region.
	ZoneID string
	// ComputeCategory is the instance's compute category ("economy",
	// "general" or "" for the API's default), which sets the vCPU unit
	// price of a vCPU/memory spec.
	ComputeCategory string
	// Spot asks for the SpotAsPriceGo price, the strategy that bids at
	// the market price.
	Spot bool
}

func (s Spec) String() string {
	var b strings.Builder
	if s.InstanceType != "" {
		b.WriteString(s.InstanceType)
	} else {
		b.WriteString(num(s.CPU) + " vCPU / " + num(s.MemoryGiB) + " GiB")
	}
	if s.ComputeCategory != "" {
		b.WriteString(" " + s.ComputeCategory)
	}
	if s.ZoneID != "" {
		b.WriteString(" in " + s.ZoneID)
	}
	if s.Spot {
		b.WriteString(" (spot)")
	}
	return b.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Price is an hourly estimate.
type Price struct {
	// PerHour is the charge for one hour: TradePrice × 3600, or for a spot
	// spec the quoted spot price × 3600 when the API gives one.
	PerHour float64
	// SpotApplied is true when PerHour is a spot price; a spot spec for
	// which the API quoted no spot price falls back to TradePrice.
	SpotApplied bool
	// PerResource is true when the API priced the spec per vCPU and GiB
	// (not by instance type); only then are the unit prices set.
	PerResource bool
	// CPUUnitPerHour and MemoryGiBUnitPerHour are the pay-as-you-go list
	// prices of one vCPU and one GiB for an hour in the spec's zone (see
	// UnitPrices), never spot prices.
	CPUUnitPerHour, MemoryGiBUnitPerHour float64
	// Currency is what the API quotes in: CNY on aliyun.com, USD on
	// alibabacloud.com; "" if it said nothing.
	Currency string
}

// Units are the hourly list prices of one vCPU and one GiB of memory.
type Units struct {
	CPUPerHour, MemoryGiBPerHour float64
	Currency                     string
}

// Pricer is the one ECI call an Estimator makes; *eci.Client has it.
type Pricer interface {
	DescribeContainerGroupPrice(ctx context.Context, req *eci.DescribeContainerGroupPriceRequest) (*eci.DescribeContainerGroupPriceResponse, error)
}

var _ Pricer = (*eci.Client)(nil)

// Estimator prices specs through DescribeContainerGroupPrice and caches
// each answer. It is safe for concurrent use; concurrent asks for the same
// spec share one API call. Failed calls are not cached.
type Estimator struct {
	api Pricer

	mu    sync.Mutex
	cache map[Spec]*flight
}

// flight is one price lookup, in progress or done.
type flight struct {
	done chan struct{}
	resp *eci.DescribeContainerGroupPriceResponse
	err  error
}

// NewEstimator returns an Estimator that calls client (an *eci.Client, or
// a wrapper of one that counts the calls).
func NewEstimator(client Pricer) *Estimator {
	return &Estimator{api: client, cache: map[Spec]*flight{}}
}

// Hourly prices spec for one hour.
func (e *Estimator) Hourly(ctx context.Context, spec Spec) (Price, error) {
	spec, err := normalise(spec)
	if err != nil {
		return Price{}, err
	}
	resp, err := e.quote(ctx, spec)
	if err != nil {
		return Price{}, err
	}
	p := resp.PriceInfo.Price
	out := Price{PerHour: perHour(p.TradePrice), Currency: p.Currency}
	if spec.Spot {
		if sp, ok := spotPrice(resp.PriceInfo, spec.ZoneID); ok {
			out.PerHour, out.SpotApplied = perHour(sp), true
		}
	}
	if _, _, ok := cpuMemoryDetail(resp.PriceInfo); ok {
		u, err := e.UnitPrices(ctx, spec.ZoneID)
		if err != nil {
			return Price{}, err
		}
		out.PerResource = true
		out.CPUUnitPerHour, out.MemoryGiBUnitPerHour = u.CPUPerHour, u.MemoryGiBPerHour
	}
	return out, nil
}

// UnitPrices are the hourly pay-as-you-go prices of one vCPU and one GiB
// in zoneID ("" for the region), read from the per-resource lines
// (DetailInfo "cpu" and "memory") of the price of the resident-node spec,
// 2 vCPU / 8 GiB, divided by 2 and by 8. That spec is one ECI sells as is,
// so the API prices exactly it rather than a spec rounded up.
func (e *Estimator) UnitPrices(ctx context.Context, zoneID string) (Units, error) {
	ref := Spec{CPU: ResidentVCPU, MemoryGiB: ResidentMemoryGiB, ZoneID: strings.TrimSpace(zoneID)}
	resp, err := e.quote(ctx, ref)
	if err != nil {
		return Units{}, err
	}
	cpu, mem, ok := cpuMemoryDetail(resp.PriceInfo)
	if !ok {
		return Units{}, fmt.Errorf("price %s: DescribeContainerGroupPrice gave no per-vCPU and per-GiB lines (DetailInfo cpu and memory), so there are no unit prices", ref)
	}
	return Units{
		CPUPerHour:       perHour(cpu / ResidentVCPU),
		MemoryGiBPerHour: perHour(mem / ResidentMemoryGiB),
		Currency:         resp.PriceInfo.Price.Currency,
	}, nil
}

// VNodeResidentHourly is what one VNode's resident node costs per hour in
// zoneID by Alibaba's VNode formula: 2 × vCPU unit price + 8 × GiB unit
// price, with the unit prices of UnitPrices. It does not depend on the
// pods the VNode runs; those are billed as their own ECI instances. The
// charge is for VNodes made with ECI's VirtualNode API; a VNode of the
// bundled runtime is a Deployment in the user's cluster, which Alibaba
// does not bill, and this is then what the managed equivalent would cost.
func (e *Estimator) VNodeResidentHourly(ctx context.Context, zoneID string) (float64, error) {
	u, err := e.UnitPrices(ctx, zoneID)
	if err != nil {
		return 0, err
	}
	return round(ResidentVCPU*u.CPUPerHour + ResidentMemoryGiB*u.MemoryGiBPerHour), nil
}

// quote returns the API's answer for spec, from the cache when it has it.
func (e *Estimator) quote(ctx context.Context, spec Spec) (*eci.DescribeContainerGroupPriceResponse, error) {
	e.mu.Lock()
	f, ok := e.cache[spec]
	if !ok {
		f = &flight{done: make(chan struct{})}
		e.cache[spec] = f
	}
	e.mu.Unlock()
	if ok {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("price %s: %w", spec, ctx.Err())
		}
		if f.err == nil {
			return f.resp, nil
		}
		// The call this one waited for failed and was dropped from the
		// cache; try again in this caller's own context.
		return e.quote(ctx, spec)
	}
	req := &eci.DescribeContainerGroupPriceRequest{ZoneID: spec.ZoneID}
	if spec.InstanceType != "" {
		req.InstanceType = spec.InstanceType
	} else {
		req.CPU, req.Memory = spec.CPU, spec.MemoryGiB
		req.ComputeCategory = spec.ComputeCategory
	}
	if spec.Spot {
		req.SpotStrategy = eci.SpotStrategySpotAsPriceGo
	}
	f.resp, f.err = e.api.DescribeContainerGroupPrice(ctx, req)
	if f.err != nil {
		f.err = fmt.Errorf("price %s: %w", spec, f.err)
		e.mu.Lock()
		delete(e.cache, spec)
		e.mu.Unlock()
	}
	close(f.done)
	return f.resp, f.err
}

// normalise checks spec and gives equal specs one cache key.
func normalise(s Spec) (Spec, error) {
	s.InstanceType = strings.TrimSpace(s.InstanceType)
	s.ZoneID = strings.TrimSpace(s.ZoneID)
	s.ComputeCategory = strings.TrimSpace(s.ComputeCategory)
	if s.InstanceType != "" {
		s.CPU, s.MemoryGiB = 0, 0 // the API ignores them then
		s.ComputeCategory = ""    // a category applies to vCPU/memory specs only
		return s, nil
	}
	if !(s.CPU > 0) || !(s.MemoryGiB > 0) || math.IsInf(s.CPU, 0) || math.IsInf(s.MemoryGiB, 0) {
		return s, errors.New("price: want an instance type, or a positive number of vCPUs and GiB of memory")
	}
	return s, nil
}

// cpuMemoryDetail returns the per-second prices of the "cpu" and "memory"
// lines, and false unless both are there.
func cpuMemoryDetail(pi eci.PriceInfo) (cpu, mem float64, ok bool) {
	var haveCPU, haveMem bool
	for _, d := range pi.Price.DetailInfos.DetailInfo {
		switch strings.ToLower(d.Resource) {
		case "cpu":
			cpu, haveCPU = d.TradePrice, true
		case "memory":
			mem, haveMem = d.TradePrice, true
		}
	}
	return cpu, mem, haveCPU && haveMem
}

// spotPrice is the quoted per-second spot price in zone; without a zone
// the highest of the zones quoted, so the estimate does not undercount
// wherever ECI places the instance.
func spotPrice(pi eci.PriceInfo, zone string) (float64, bool) {
	var best float64
	found := false
	for _, sp := range pi.SpotPrices.SpotPrice {
		if zone != "" && sp.ZoneID != zone {
			continue
		}
		if !found || sp.SpotPrice > best {
			best, found = sp.SpotPrice, true
		}
	}
	return best, found
}

func perHour(perSecond float64) float64 { return round(perSecond * secondsPerHour) }

// round drops the float noise of × 3600 (0.44107200000000004); the API
// quotes 8 decimals per second, so 8 decimals per hour lose nothing.
func round(f float64) float64 { return math.Round(f*1e8) / 1e8 }
