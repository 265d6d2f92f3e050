package emulator

import (
	"net/http"
	"slices"
	"sort"
	"time"
)

// tagTarget is the tag list of one resource, and for a container group
// the group (whose view changes with its tags).
type tagTarget struct {
	tags  *[]tag
	group *group
}

// set replaces the tags; a container group whose tags really change is
// stamped as changed (DescribeContainerGroupStatus SinceSecond).
func (tt tagTarget) set(tags []tag, now time.Time) {
	if tt.group != nil && !slices.Equal(*tt.tags, tags) {
		tt.group.changed(now)
	}
	*tt.tags = tags
}

// taggable returns the tag list of one resource.
func (c *call) taggable(typ, id string) (tagTarget, *apiError) {
	s := c.e.st
	switch typ {
	case "ContainerGroup":
		if g, ok := s.groups[id]; ok && !g.gone {
			return tagTarget{tags: &g.tags, group: g}, nil
		}
	case "VirtualNode":
		if v, ok := s.vnodes[id]; ok {
			return tagTarget{tags: &v.tags}, nil
		}
	case "ImageCache":
		if ic, ok := s.caches[id]; ok {
			return tagTarget{tags: &ic.tags}, nil
		}
	case "DataCache":
		// Data caches are not emulated: every ID is unknown.
	}
	return tagTarget{}, errNotFound("InvalidResourceId.NotFound", "The specified %s %q does not exist.", typ, id)
}

func readResourceType(c *call) string {
	typ := c.p.Get("ResourceType").String()
	if typ == "" {
		c.rd.fail(errMissing("ResourceType"))
		return ""
	}
	return c.rd.oneOf(c.p.Get("ResourceType"), "ContainerGroup", "ImageCache", "DataCache", "VirtualNode")
}

func readResourceIDs(c *call, required bool) []string {
	ids := c.p.Get("ResourceId").Strings()
	if required && len(ids) == 0 {
		c.rd.fail(errMissing("ResourceId.1"))
	}
	if len(ids) > 50 {
		c.rd.fail(errInvalid("ResourceId", "At most 50 resource IDs per call."))
	}
	return ids
}

// actTagResources adds (or overwrites) tags on every listed resource; it
// checks all resources before changing any.
func actTagResources(c *call) (any, *apiError) {
	typ := readResourceType(c)
	ids := readResourceIDs(c, true)
	if !c.p.Get("Tag").Exists() {
		c.rd.fail(errMissing("Tag.1.Key"))
	}
	tags := readTags(c, c.p.Get("Tag"), maxTagKeyLen)
	if c.rd.err != nil {
		return nil, nil
	}
	var targets []tagTarget
	var merged [][]tag
	for _, id := range ids {
		t, ae := c.taggable(typ, id)
		if ae != nil {
			return nil, ae
		}
		m, ae := mergeTags(*t.tags, tags)
		if ae != nil {
			return nil, ae
		}
		targets, merged = append(targets, t), append(merged, m)
	}
	for i, t := range targets {
		t.set(merged[i], c.now)
	}
	return struct{}{}, nil
}

func actUntagResources(c *call) (any, *apiError) {
	typ := readResourceType(c)
	ids := readResourceIDs(c, true)
	keys := c.p.Get("TagKey").Strings()
	all := c.rd.bool(c.p.Get("All"), false)
	checkClientToken(c, c.p.Get("ClientToken").String())
	if c.rd.err != nil {
		return nil, nil
	}
	switch {
	case len(keys) > maxTags:
		return nil, errInvalid("TagKey", "At most %d tag keys.", maxTags)
	case all && len(keys) > 0:
		return nil, errInvalid("All", "All can only be used without TagKey.")
	case !all && len(keys) == 0:
		return nil, errMissing("TagKey.1")
	}
	var targets []tagTarget
	for _, id := range ids {
		t, ae := c.taggable(typ, id)
		if ae != nil {
			return nil, ae
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		var kept []tag
		for _, tg := range *t.tags {
			if !all && !contains(keys, tg.Key) {
				kept = append(kept, tg)
			}
		}
		t.set(kept, c.now)
	}
	return struct{}{}, nil
}

type tagResourceOut struct {
	ResourceId   string `json:"ResourceId"`
	ResourceType string `json:"ResourceType"`
	TagKey       string `json:"TagKey"`
	TagValue     string `json:"TagValue"`
}

// actListTagResources lists (resource, tag) pairs of one resource type,
// narrowed by ResourceId.N and/or Tag.N (a resource must carry all).
func actListTagResources(c *call) (any, *apiError) {
	typ := readResourceType(c)
	ids := readResourceIDs(c, false)
	var want []tag
	for _, it := range c.p.Get("Tag").Items() {
		want = append(want, tag{Key: it.Get("Key").String(), Value: it.Get("Value").String()})
	}
	limit := readLimit(c, 20, 1000)
	if c.rd.err != nil {
		return nil, nil
	}
	type res struct {
		id   string
		seq  int
		tags []tag
	}
	var list []res
	s := c.e.st
	switch typ {
	case "ContainerGroup":
		for _, g := range s.groups {
			if !g.gone {
				list = append(list, res{g.id, g.seq, g.tags})
			}
		}
	case "VirtualNode":
		for _, v := range s.vnodes {
			list = append(list, res{v.id, v.seq, v.tags})
		}
	case "ImageCache":
		for _, ic := range s.caches {
			list = append(list, res{ic.id, ic.seq, ic.tags})
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
	var pairs []tagResourceOut
	for _, r := range list {
		if (len(ids) > 0 && !contains(ids, r.id)) || !matchTags(r.tags, want) {
			continue
		}
		for _, t := range r.tags {
			pairs = append(pairs, tagResourceOut{ResourceId: r.id, ResourceType: typ, TagKey: t.Key, TagValue: t.Value})
		}
	}
	start := 0
	if tok := c.p.Get("NextToken").String(); tok != "" {
		n, ok := decodeToken("tag", tok)
		if !ok || n > len(pairs) {
			return nil, newErr(http.StatusBadRequest, "InvalidParameter", "The specified NextToken is not valid.")
		}
		start = n
	}
	end := min(start+limit, len(pairs))
	next := ""
	if end < len(pairs) {
		next = encodeToken("tag", end)
	}
	return struct {
		NextToken    string           `json:"NextToken"`
		TagResources []tagResourceOut `json:"TagResources"`
	}{next, append([]tagResourceOut{}, pairs[start:end]...)}, nil
}
