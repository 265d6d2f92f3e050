package emulator

import (
	"slices"
	"time"
)

// groupFilter holds the filters shared by DescribeContainerGroups,
// DescribeContainerGroupStatus and DescribeContainerGroupEvents.
type groupFilter struct {
	ids                                   []string
	name, status, zone, vsw, sg, rg, comp string
	tags                                  []tag
	since                                 time.Duration
}

func readGroupFilter(c *call) groupFilter {
	p := c.p
	f := groupFilter{
		ids: readIDs(c, "ContainerGroupIds"), name: p.Get("ContainerGroupName").String(),
		zone: p.Get("ZoneId").String(), vsw: p.Get("VSwitchId").String(), sg: p.Get("SecurityGroupId").String(),
		rg: p.Get("ResourceGroupId").String(), comp: p.Get("ComputeCategory").String(),
		status: c.rd.oneOf(p.Get("Status"), allStatuses()...),
	}
	for _, it := range p.Get("Tag").Items() {
		f.tags = append(f.tags, tag{Key: it.Get("Key").String(), Value: it.Get("Value").String()})
	}
	if n := c.rd.int(p.Get("SinceSecond"), 0); n < 0 {
		c.rd.fail(errInvalid("SinceSecond", "It cannot be negative."))
	} else {
		f.since = seconds(n)
	}
	return f
}

func (f groupFilter) match(g *group, now time.Time) bool {
	switch {
	case len(f.ids) > 0 && !slices.Contains(f.ids, g.id),
		f.name != "" && g.name != f.name,
		f.status != "" && g.status != f.status,
		f.zone != "" && g.zoneID != f.zone,
		f.vsw != "" && g.vswID != f.vsw,
		f.sg != "" && g.sgID != f.sg,
		f.rg != "" && g.spec.ResourceGroupID != f.rg,
		f.comp != "" && g.computeCategory != f.comp,
		!matchTags(g.tags, f.tags),
		f.since > 0 && now.Sub(g.lastChange) > f.since:
		return false
	}
	return true
}

func (c *call) filteredGroups(f groupFilter) []*group {
	var out []*group
	for _, g := range c.e.st.sortedGroups() {
		if f.match(g, c.now) {
			out = append(out, g)
		}
	}
	return out
}

func groupSeq(g *group) int { return g.seq }

func actDescribeContainerGroups(c *call) (any, *apiError) {
	f := readGroupFilter(c)
	limit := readLimit(c, 20, 20)
	withEvent := c.rd.bool(c.p.Get("WithEvent"), false)
	if c.rd.err != nil {
		return nil, nil
	}
	all := c.filteredGroups(f)
	page, next, ae := pageOf(all, groupSeq, "cg", c.p.Get("NextToken").String(), limit)
	if ae != nil {
		return nil, ae
	}
	out := make([]containerGroupOut, 0, len(page))
	for _, g := range page {
		out = append(out, g.toOut(c.e.cfg.Region, withEvent))
	}
	return struct {
		NextToken       string              `json:"NextToken"`
		TotalCount      int                 `json:"TotalCount"`
		ContainerGroups []containerGroupOut `json:"ContainerGroups"`
	}{next, len(all), out}, nil
}

func actDescribeContainerGroupStatus(c *call) (any, *apiError) {
	f := readGroupFilter(c)
	limit := readLimit(c, 200, 200)
	if c.rd.err != nil {
		return nil, nil
	}
	all := c.filteredGroups(f)
	page, next, ae := pageOf(all, groupSeq, "cgs", c.p.Get("NextToken").String(), limit)
	if ae != nil {
		return nil, ae
	}
	data := make([]podStatusData, 0, len(page))
	for _, g := range page {
		data = append(data, g.podStatusData())
	}
	return struct {
		Data       []podStatusData `json:"Data"`
		NextToken  string          `json:"NextToken"`
		TotalCount int             `json:"TotalCount"`
	}{data, next, len(all)}, nil
}

func actDescribeContainerGroupEvents(c *call) (any, *apiError) {
	f := readGroupFilter(c)
	since := f.since
	f.since = 0 // SinceSecond filters events here, not groups
	source := c.rd.oneOf(c.p.Get("EventSource"), "EciService", "K8sAgent")
	limit := readLimit(c, 200, 200)
	if c.rd.err != nil {
		return nil, nil
	}
	all := c.filteredGroups(f)
	page, next, ae := pageOf(all, groupSeq, "cge", c.p.Get("NextToken").String(), limit)
	if ae != nil {
		return nil, ae
	}
	data := make([]eventsData, 0, len(page))
	for _, g := range page {
		keep := func(ev *event) bool {
			return (source == "" || ev.Source == source) && (since <= 0 || c.now.Sub(ev.Last) <= since)
		}
		evs := g.recentEvents(maxEventsReturned, keep)
		d := eventsData{ContainerGroupId: g.id, Name: g.name, Namespace: "default", UUID: g.id, Annotations: "{}", Events: []k8sEventOut{}}
		for _, ev := range evs {
			d.Events = append(d.Events, ev.toK8s(g))
		}
		data = append(data, d)
	}
	return struct {
		Data       []eventsData `json:"Data"`
		NextToken  string       `json:"NextToken"`
		TotalCount int          `json:"TotalCount"`
	}{data, next, len(all)}, nil
}
