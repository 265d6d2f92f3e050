package node

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// The cost metrics estimate what Alibaba Cloud bills per hour for this VNode
// (docs/design.md, "Cost"; docs/runtime.md, "Cost"):
//
//   - each billed instance costs its hourly price as DescribeContainerGroupPrice
//     quotes it for the spec ECI reports (vCPU and memory after ECI's rounding,
//     or the ECS instance type it was made with), in its zone and compute
//     category; a spot instance costs the quoted spot (market) price, capped by
//     its SpotPriceLimit under SpotWithPriceLimit;
//   - the resident node of a managed VNode (Config.ManagedVNodeID) costs
//     cost.VNodeResidentHourly in its zone from the moment the Node is Ready.
//
// Everything is computed at scrape time from what the poller last read, so a
// scrape makes no ECI read beyond price lookups, which the Estimator caches.

// billing is what the bill of one instance depends on, as the runtime last
// read it from ECI.
type billing struct {
	id              string
	status          string
	cpu, memoryGiB  float64
	instanceType    string // an ECS instance type ("ecs.*"), or "" for a vCPU/memory spec
	computeCategory string
	zoneID          string
	spotStrategy    string
	spotPriceLimit  float64 // hourly, SpotWithPriceLimit only
	tags            map[string]string
}

func billingOf(g *eci.ContainerGroup) *billing {
	b := &billing{
		id: g.ContainerGroupID, status: g.Status, cpu: g.CPU, memoryGiB: g.Memory,
		computeCategory: g.ComputeCategory, zoneID: g.ZoneID,
		spotStrategy: g.SpotStrategy, spotPriceLimit: g.SpotPriceLimit,
		tags: make(map[string]string, len(g.Tags)),
	}
	// ECI reports a vCPU/memory instance's size as Cpu and Memory; an
	// InstanceType that is not an ECS type names that same size again
	// ("2-4Gi"), and is priced by Cpu and Memory, as instanceSpec shows it.
	if strings.HasPrefix(g.InstanceType, "ecs.") {
		b.instanceType = g.InstanceType
	}
	for _, t := range g.Tags {
		b.tags[t.Key] = t.Value
	}
	return b
}

// billedStatuses are the instance states ECI bills, by the "Billed" column of
// https://www.alibabacloud.com/help/en/eci/user-guide/lifecycle-of-an-elastic-container-instance-1:
// Pending, Running, Restarting, Updating and Terminating are billed;
// Scheduling, Succeeded, Failed, Expired and ScheduleFailed are not.
var billedStatuses = map[string]bool{
	eci.StatusPending: true, eci.StatusRunning: true, eci.StatusRestarting: true,
	eci.StatusUpdating: true, eci.StatusTerminating: true,
}

func (b *billing) billed() bool { return billedStatuses[b.status] }

// spec is what to ask DescribeContainerGroupPrice for. Both spot strategies
// ask for the market (spot) price; SpotWithPriceLimit is capped afterwards.
func (b *billing) spec() cost.Spec {
	s := cost.Spec{ZoneID: b.zoneID, ComputeCategory: b.computeCategory,
		Spot: b.spotStrategy == eci.SpotStrategySpotAsPriceGo || b.spotStrategy == eci.SpotStrategySpotWithPriceLimit}
	if b.instanceType != "" {
		s.InstanceType = b.instanceType
	} else {
		s.CPU, s.MemoryGiB = b.cpu, b.memoryGiB
	}
	return s
}

// hourlyPrice is what one hour of the instance costs. A spot instance is
// billed at the market price, and one with SpotWithPriceLimit runs only
// while the market price is at most its limit (ECI releases it otherwise),
// so its estimate is the market price capped by the limit
// (https://www.alibabacloud.com/help/en/eci/user-guide/create-a-preemptible-elastic-container-instance).
func (b *billing) hourlyPrice(ctx context.Context, est *cost.Estimator) (float64, string, error) {
	p, err := est.Hourly(ctx, b.spec())
	if err != nil {
		return 0, "", err
	}
	perHour := p.PerHour
	if b.spotStrategy == eci.SpotStrategySpotWithPriceLimit && b.spotPriceLimit > 0 && perHour > b.spotPriceLimit {
		perHour = b.spotPriceLimit
	}
	return perHour, p.Currency, nil
}

// billedInstances are the instances of this VNode that ECI bills now, by
// their last read: those of the pods it runs, and those the last complete
// listing found without a pod (orphans wait for their grace period, and are
// billed meanwhile).
func (p *Provider) billedInstances() []billing {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	var out []billing
	for _, t := range p.byUID {
		switch t.state {
		case stateCreated, stateDeleting, stateAdopting:
		default:
			continue
		}
		if b := t.bill; b != nil && b.id == t.instanceID && b.billed() && !seen[b.id] {
			seen[b.id] = true
			out = append(out, *b)
		}
	}
	for id, b := range p.podless {
		if b.billed() && !seen[id] {
			seen[id] = true
			out = append(out, *b)
		}
	}
	return out
}

// podlessBilling keeps, from a complete listing, the instances no tracked pod
// names. Called with p.mu held.
func podlessBilling(byID map[string]*eci.ContainerGroup, known map[string]bool) map[string]*billing {
	out := map[string]*billing{}
	for id, g := range byID {
		if !known[id] {
			out[id] = billingOf(g)
		}
	}
	return out
}

// tagValue is one series of the split by tag.
type tagValue struct{ key, value, currency string }

// costEstimate is the hourly cost of a set of instances.
type costEstimate struct {
	billed   int                  // instances ECI bills
	unpriced int                  // of those, instances whose price lookup failed
	err      error                // the first lookup failure
	total    map[string]float64   // by currency
	byTag    map[tagValue]float64 // by tag key, value and currency
}

// estimateCost adds up the hourly prices of instances, in total and by the
// value each instance has for each of keys ("" for an instance without the
// tag, so the values of one key add up to the total, as in Alibaba's bill
// split by tag, where untagged resources form a group of their own).
func estimateCost(instances []billing, keys []string, price func(billing) (float64, string, error)) costEstimate {
	e := costEstimate{total: map[string]float64{}, byTag: map[tagValue]float64{}}
	for _, b := range instances {
		e.billed++
		perHour, currency, err := price(b)
		if err != nil {
			e.unpriced++
			if e.err == nil {
				e.err = err
			}
			continue
		}
		e.total[currency] += perHour
		for _, k := range keys {
			e.byTag[tagValue{k, b.tags[k], currency}] += perHour
		}
	}
	return e
}

// costPriceTTL is how long the Estimator's cached prices serve: list prices
// change rarely, spot prices follow the market, and an hourly refresh keeps
// both current for a few price lookups an hour.
const costPriceTTL = time.Hour

// costScrapeTimeout bounds the price lookups of one scrape; Prometheus's
// default scrape timeout is 10 s.
const costScrapeTimeout = 8 * time.Second

// costSource is what the cost metrics read while this replica runs a VNode.
type costSource struct {
	node      string
	instances func() []billing
	pricer    cost.Pricer
	tagKeys   []string
	// managedID is Config.ManagedVNodeID; residentZone prices its resident
	// node and gives the currency when nothing else is priced.
	managedID    string
	residentZone string
	log          *slog.Logger
}

// costMetrics are the cost families. They are computed at every scrape from
// the attached source; a replica that runs no VNode (a standby) serves only
// the lookup counter, as the leader reports the VNode's cost.
type costMetrics struct {
	instances, byTag, billed, unpriced, resident, residentSince *prometheus.Desc
	lookups                                                     *prometheus.CounterVec

	mu         sync.Mutex
	src        *costSource
	est        *cost.Estimator
	estSince   time.Time
	readySince time.Time // when the Node was first seen Ready in this run
	failing    bool
	now        func() time.Time
}

func newCostMetrics() *costMetrics {
	c := &costMetrics{
		instances: prometheus.NewDesc("eci_vnode_cost_instances_per_hour",
			"Estimated cost per hour of the VNode's billed ECI instances (Pending, Running, Restarting, Updating, Terminating): each instance's hourly price from DescribeContainerGroupPrice for the spec ECI reports, spot at its spot price. Absent while a price is unknown.",
			[]string{"node", "currency"}, nil),
		byTag: prometheus.NewDesc("eci_vnode_cost_instances_per_hour_by_tag",
			"eci_vnode_cost_instances_per_hour split by the value of each tag key of --cost-tag-keys on the instances (tag_value empty: instances without the tag); the values of one key add up to the total.",
			[]string{"node", "tag_key", "tag_value", "currency"}, nil),
		billed: prometheus.NewDesc("eci_vnode_cost_billed_instances",
			"ECI instances of the VNode in a billed state, by their last read.",
			[]string{"node"}, nil),
		unpriced: prometheus.NewDesc("eci_vnode_cost_unpriced_instances",
			"Billed instances whose price could not be looked up at the last scrape; while above 0 the cost estimates are not served.",
			[]string{"node"}, nil),
		resident: prometheus.NewDesc("eci_vnode_cost_resident_node_per_hour",
			"Estimated cost per hour of the resident node of a managed VNode (made with CreateVirtualNode): 2 x vCPU unit price + 8 x GiB unit price, from the moment the Node is Ready (0 before).",
			[]string{"node", "virtual_node_id", "currency"}, nil),
		residentSince: prometheus.NewDesc("eci_vnode_cost_resident_node_billed_since_seconds",
			"Unix time from which the resident node of a managed VNode is billed: when this run saw its Node Ready.",
			[]string{"node", "virtual_node_id"}, nil),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "eci_vnode_cost_price_lookups_total",
			Help: "DescribeContainerGroupPrice calls made for the cost metrics (cache misses), by result (ok, error). Failed lookups are not cached: the next scrape asks again."},
			[]string{"result"}),
		now: time.Now,
	}
	for _, r := range []string{"ok", "error"} {
		c.lookups.WithLabelValues(r)
	}
	return c
}

// attach makes src the source of the cost metrics until detach is called.
func (c *costMetrics) attach(src *costSource) (detach func()) {
	c.mu.Lock()
	c.src, c.est, c.readySince, c.failing = src, nil, time.Time{}, false
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		if c.src == src {
			c.src, c.est = nil, nil
		}
		c.mu.Unlock()
	}
}

// nodeReady records that the Node is Ready: the resident node of a managed
// VNode is billed from then on.
func (c *costMetrics) nodeReady(at time.Time) {
	c.mu.Lock()
	if c.readySince.IsZero() {
		c.readySince = at
	}
	c.mu.Unlock()
}

// estimator returns the current Estimator, a new one once the old one's
// prices are older than costPriceTTL. Called with c.mu held.
func (c *costMetrics) estimator() *cost.Estimator {
	if c.est == nil || c.now().Sub(c.estSince) >= costPriceTTL {
		c.est = cost.NewEstimator(countedPricer{api: c.src.pricer, lookups: c.lookups})
		c.estSince = c.now()
	}
	return c.est
}

func (c *costMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.instances, c.byTag, c.billed, c.unpriced, c.resident, c.residentSince} {
		ch <- d
	}
	c.lookups.Describe(ch)
}

func (c *costMetrics) Collect(ch chan<- prometheus.Metric) {
	defer c.lookups.Collect(ch)
	c.mu.Lock()
	src := c.src
	if src == nil || src.pricer == nil {
		c.mu.Unlock()
		return
	}
	est, ready := c.estimator(), c.readySince
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), costScrapeTimeout)
	defer cancel()
	e := estimateCost(src.instances(), src.tagKeys, func(b billing) (float64, string, error) {
		return b.hourlyPrice(ctx, est)
	})
	var errs []error
	if e.err != nil {
		errs = append(errs, e.err)
	}
	ch <- prometheus.MustNewConstMetric(c.billed, prometheus.GaugeValue, float64(e.billed), src.node)
	ch <- prometheus.MustNewConstMetric(c.unpriced, prometheus.GaugeValue, float64(e.unpriced), src.node)
	// A sum with an instance missing would read as a lower cost than the
	// bill's: while any price is unknown the estimates are left out.
	if e.unpriced == 0 {
		if e.billed == 0 {
			// Nothing is billed: 0, in the currency the account is quoted in.
			if u, err := est.UnitPrices(ctx, src.residentZone); err != nil {
				errs = append(errs, err)
			} else {
				e.total[u.Currency] = 0
			}
		}
		for currency, v := range e.total {
			ch <- prometheus.MustNewConstMetric(c.instances, prometheus.GaugeValue, v, src.node, currency)
		}
		for tv, v := range e.byTag {
			ch <- prometheus.MustNewConstMetric(c.byTag, prometheus.GaugeValue, v, src.node, tv.key, tv.value, tv.currency)
		}
	}
	if src.managedID != "" {
		u, err := est.UnitPrices(ctx, src.residentZone)
		perHour, err2 := est.VNodeResidentHourly(ctx, src.residentZone)
		if err = errors.Join(err, err2); err != nil {
			errs = append(errs, err)
		} else {
			if ready.IsZero() {
				perHour = 0
			} else {
				ch <- prometheus.MustNewConstMetric(c.residentSince, prometheus.GaugeValue, float64(ready.UnixNano())/1e9, src.node, src.managedID)
			}
			ch <- prometheus.MustNewConstMetric(c.resident, prometheus.GaugeValue, perHour, src.node, src.managedID, u.Currency)
		}
	}
	c.reportLookups(src.log, errors.Join(errs...))
}

// reportLookups logs the first failure of a run of failed price lookups at
// Warn, the rest at Debug, and the recovery at Info.
func (c *costMetrics) reportLookups(log *slog.Logger, err error) {
	c.mu.Lock()
	was := c.failing
	c.failing = err != nil
	c.mu.Unlock()
	switch {
	case err != nil && !was:
		log.Warn("cannot price this VNode's instances; the cost metrics are left out until the prices are known", "err", oneLine(err))
	case err != nil:
		log.Debug("price lookups for the cost metrics failed again", "err", oneLine(err))
	case was:
		log.Info("price lookups for the cost metrics work again")
	}
}

// countedPricer counts the price lookups the Estimator makes.
type countedPricer struct {
	api     cost.Pricer
	lookups *prometheus.CounterVec
}

func (c countedPricer) DescribeContainerGroupPrice(ctx context.Context, req *eci.DescribeContainerGroupPriceRequest) (*eci.DescribeContainerGroupPriceResponse, error) {
	resp, err := c.api.DescribeContainerGroupPrice(ctx, req)
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.lookups.WithLabelValues(result).Inc()
	return resp, err
}

// costTagKeys are the tag keys the cost is split by: Config.CostTagKeys, or
// by default the keys of the VNode's own tags.
func (c *Config) costTagKeys() []string {
	if c.CostTagKeys != nil {
		return slices.Clone(c.CostTagKeys)
	}
	return slices.Sorted(maps.Keys(c.Tags))
}

// residentZone is the zone whose prices the resident node is billed at: the
// first of Config.ZoneIDs, or "" for the region's price.
func (c *Config) residentZone() string {
	if len(c.ZoneIDs) > 0 {
		return c.ZoneIDs[0]
	}
	return ""
}
