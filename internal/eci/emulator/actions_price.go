package emulator

import "math"

type priceRule struct {
	RuleId      int64  `json:"RuleId"`
	Description string `json:"Description"`
}

type detailInfo struct {
	Resource      string  `json:"Resource"`
	OriginalPrice float64 `json:"OriginalPrice"`
	DiscountPrice float64 `json:"DiscountPrice"`
	TradePrice    float64 `json:"TradePrice"`
	Rules         struct {
		Rule []priceRule `json:"Rule"`
	} `json:"Rules"`
}

type spotPrice struct {
	InstanceType string  `json:"InstanceType"`
	ZoneId       string  `json:"ZoneId"`
	SpotPrice    float64 `json:"SpotPrice"`
	OriginPrice  float64 `json:"OriginPrice"`
}

// roundPrice keeps 8 decimals, as the per-second list prices need.
func roundPrice(f float64) float64 { return math.Round(f*1e8) / 1e8 }

// actDescribeContainerGroupPrice prices one second of an instance: vCPU
// and memory unit prices (economy vCPU price for ComputeCategory economy),
// or the configured price of an ECS instance type. Spot requests also get
// per-zone spot prices at Prices.SpotDiscount of the list price.
func actDescribeContainerGroupPrice(c *call) (any, *apiError) {
	p := c.p
	cpu := c.rd.float(p.Get("Cpu"), 0)
	mem := c.rd.float(p.Get("Memory"), 0)
	category := c.rd.oneOf(p.Get("ComputeCategory"), "economy", "general")
	spot := c.rd.oneOf(p.Get("SpotStrategy"), "NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo")
	c.rd.float(p.Get("SpotPriceLimit"), 0)
	c.rd.int(p.Get("SpotDuration"), 0)
	c.rd.int(p.Get("EphemeralStorage"), 0)
	zone := p.Get("ZoneId").String()
	if c.rd.err != nil {
		return nil, nil
	}
	if cpu < 0 || mem < 0 {
		return nil, errInvalid("Cpu", "Cpu and Memory cannot be negative.")
	}
	if zone != "" && c.e.st.zoneIndex(zone) < 0 {
		return nil, errNotFound("InvalidZoneId.NotFound", "The specified zone %q does not exist in %s.", zone, c.e.cfg.Region)
	}
	cands, ae := c.e.sizingCandidates(p.Get("InstanceType").String(), cpu, mem)
	if ae != nil {
		return nil, ae
	}
	cd := cands[0]
	pr := c.e.cfg.Prices
	vcpuUnit := pr.VCPUPerSecond
	if category == "economy" && cd.instanceType == "" {
		vcpuUnit = pr.EconomyVCPUPerSecond
	}
	cpuPrice, memPrice := roundPrice(cd.cpu*vcpuUnit), roundPrice(cd.mem*pr.MemoryGiBPerSecond)
	total := roundPrice(cpuPrice + memPrice)
	var details []detailInfo
	if it, ok := pr.InstanceTypes[cd.instanceType]; ok && cd.instanceType != "" {
		total = roundPrice(it)
		details = append(details, detailInfo{Resource: "instanceType", OriginalPrice: total, TradePrice: total})
	} else {
		details = append(details,
			detailInfo{Resource: "cpu", OriginalPrice: cpuPrice, TradePrice: cpuPrice},
			detailInfo{Resource: "memory", OriginalPrice: memPrice, TradePrice: memPrice})
	}
	for i := range details {
		details[i].Rules.Rule = []priceRule{}
	}
	var out struct {
		PriceInfo struct {
			Price struct {
				OriginalPrice float64 `json:"OriginalPrice"`
				DiscountPrice float64 `json:"DiscountPrice"`
				TradePrice    float64 `json:"TradePrice"`
				Currency      string  `json:"Currency"`
				DetailInfos   struct {
					DetailInfo []detailInfo `json:"DetailInfo"`
				} `json:"DetailInfos"`
			} `json:"Price"`
			Rules struct {
				Rule []priceRule `json:"Rule"`
			} `json:"Rules"`
			SpotPrices struct {
				SpotPrice []spotPrice `json:"SpotPrice"`
			} `json:"SpotPrices"`
		} `json:"PriceInfo"`
	}
	pi := &out.PriceInfo
	pi.Price.OriginalPrice, pi.Price.TradePrice, pi.Price.Currency = total, total, pr.Currency
	pi.Price.DetailInfos.DetailInfo = details
	pi.Rules.Rule = []priceRule{}
	pi.SpotPrices.SpotPrice = []spotPrice{}
	if spot == "SpotWithPriceLimit" || spot == "SpotAsPriceGo" {
		name := cd.instanceType
		if name == "" {
			name = cd.key
		}
		for _, z := range c.e.cfg.Zones {
			if zone == "" || z.ID == zone {
				pi.SpotPrices.SpotPrice = append(pi.SpotPrices.SpotPrice, spotPrice{InstanceType: name, ZoneId: z.ID,
					SpotPrice: roundPrice(total * pr.SpotDiscount), OriginPrice: total})
			}
		}
	}
	return out, nil
}
