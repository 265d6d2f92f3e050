package emulator

import (
	"sort"
	"strings"
)

// actDescribeAvailableResource reports, per zone, which instance types (or
// families) can be created now: WithStock / WithoutStock in open zones,
// ClosedWithoutStock in closed ones.
func actDescribeAvailableResource(c *call) (any, *apiError) {
	dr := c.p.Get("DestinationResource")
	category := dr.Get("Category").String()
	if category == "" {
		return nil, errMissing("DestinationResource.Category")
	}
	c.rd.oneOf(dr.Get("Category"), "InstanceTypeFamily", "InstanceType")
	value := dr.Get("Value").String()
	cores := c.rd.float(dr.Get("Cores"), 0)
	memory := c.rd.float(dr.Get("Memory"), 0)
	zone := c.p.Get("ZoneId").String()
	if c.rd.err != nil {
		return nil, nil
	}
	if zone != "" && c.e.st.zoneIndex(zone) < 0 {
		return nil, errNotFound("InvalidZoneId.NotFound", "The specified zone %q does not exist in %s.", zone, c.e.cfg.Region)
	}
	names := make([]string, 0, len(c.e.instanceTypes))
	for n, it := range c.e.instanceTypes {
		if (cores == 0 || it.CPU == cores) && (memory == 0 || it.Memory == memory) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	type supported struct {
		Value          string `json:"Value"`
		StatusCategory string `json:"StatusCategory"`
	}
	type availableResource struct {
		Type               string `json:"Type"`
		SupportedResources struct {
			SupportedResource []supported `json:"SupportedResource"`
		} `json:"SupportedResources"`
	}
	type availableZone struct {
		RegionId           string `json:"RegionId"`
		ZoneId             string `json:"ZoneId"`
		AvailableResources struct {
			AvailableResource []availableResource `json:"AvailableResource"`
		} `json:"AvailableResources"`
	}
	var out struct {
		AvailableZones struct {
			AvailableZone []availableZone `json:"AvailableZone"`
		} `json:"AvailableZones"`
	}
	out.AvailableZones.AvailableZone = []availableZone{}
	s := c.e.st
	for zi, z := range c.e.cfg.Zones {
		if zone != "" && z.ID != zone {
			continue
		}
		status := map[string]string{}
		for _, n := range names {
			key := n
			if category == "InstanceTypeFamily" {
				key = n[:strings.LastIndex(n, ".")]
			}
			if value != "" && key != value {
				continue
			}
			st := "WithoutStock"
			if m := s.stock[zi]; m == nil {
				st = "WithStock"
			} else if k, ok := stockKeyFor(m, n); ok && m[k] > 0 {
				st = "WithStock"
			}
			if s.zoneClosed[zi] {
				st = "ClosedWithoutStock"
			}
			if status[key] != "WithStock" {
				status[key] = st
			}
		}
		keys := make([]string, 0, len(status))
		for k := range status {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ar := availableResource{Type: category}
		ar.SupportedResources.SupportedResource = []supported{}
		for _, k := range keys {
			ar.SupportedResources.SupportedResource = append(ar.SupportedResources.SupportedResource, supported{k, status[k]})
		}
		az := availableZone{RegionId: c.e.cfg.Region, ZoneId: z.ID}
		az.AvailableResources.AvailableResource = []availableResource{ar}
		out.AvailableZones.AvailableZone = append(out.AvailableZones.AvailableZone, az)
	}
	return out, nil
}

// actListUsage reports quota usage as the Attributes map.
func actListUsage(c *call) (any, *apiError) {
	s := c.e.st
	caches := 0
	for _, ic := range s.caches {
		if ic.status != "Failed" {
			caches++
		}
	}
	return struct {
		Attributes map[string]any `json:"Attributes"`
	}{map[string]any{
		"UsedCpu":               s.usedCPU(),
		"MaxCpu":                c.e.cfg.Quotas.MaxCPU,
		"UsedImageCacheCount":   caches,
		"MaxImageCacheCount":    c.e.cfg.Quotas.MaxImageCaches,
		"UsedVirtualNodeCount":  len(s.vnodes),
		"MaxVirtualNodeCount":   c.e.cfg.Quotas.MaxVirtualNodes,
		"UsedContainerGroupNum": countLive(s),
	}}, nil
}

func countLive(s *state) int {
	n := 0
	for _, g := range s.groups {
		if g.holdsCapacity() {
			n++
		}
	}
	return n
}
