package emulator

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// imageCache: Preparing (first quarter of ImageCacheReady) -> Creating
// (progress grows with time) -> Ready, or Failed if an image cannot be
// pulled (per Config.Images PullError).
type imageCache struct {
	seq                 int
	id, name, status    string
	cgID, snapshotID    string
	images              []string
	size, retention     int
	created, creatingAt time.Time
	readyAt             time.Time
	tags                []tag
	resourceGroup       string
	failImage           string
	events              []*event
}

func (ic *imageCache) advance(now time.Time, cfg *Config) {
	if ic.status == "Preparing" && !now.Before(ic.creatingAt) {
		ic.status = "Creating"
		ic.addEvent(ic.creatingAt, "Normal", "ImageCacheCreating", "Pulling images to create the image cache.")
	}
	if ic.status == "Creating" && !now.Before(ic.readyAt) {
		if ic.failImage != "" {
			ic.status = "Failed"
			ic.addEvent(ic.readyAt, "Warning", "ImageCacheFailed", fmt.Sprintf("Failed to pull image %q.", ic.failImage))
		} else {
			ic.status = "Ready"
			ic.snapshotID = "s-" + shortHash(ic.id, 20)
			ic.addEvent(ic.readyAt, "Normal", "ImageCacheReady", "The image cache was created.")
		}
	}
}

func (ic *imageCache) addEvent(t time.Time, typ, reason, msg string) {
	ic.events = append(ic.events, &event{Type: typ, Reason: reason, Message: msg, Source: "EciService", First: t, Last: t, Count: 1})
}

func (ic *imageCache) progress(now time.Time) string {
	switch ic.status {
	case "Ready":
		return "100%"
	case "Creating":
		total := ic.readyAt.Sub(ic.creatingAt)
		if total <= 0 {
			return "99%"
		}
		return fmt.Sprintf("%d%%", min(99, int(100*now.Sub(ic.creatingAt)/total)))
	}
	return "0%"
}

// imageCached reports whether an image is served from a Ready image cache
// the group asked for (ImageSnapshotId) or matched (AutoMatchImageCache).
func (g *group) imageCached(image string, s *state) bool {
	if g.spec.ImageSnapshotID == "" && !g.spec.AutoMatchImageCache {
		return false
	}
	for _, ic := range s.caches {
		if ic.status != "Ready" || (g.spec.ImageSnapshotID != "" && ic.id != g.spec.ImageSnapshotID) {
			continue
		}
		if contains(ic.images, image) {
			return true
		}
	}
	return false
}

func actCreateImageCache(c *call) (any, *apiError) {
	p := c.p
	name := p.Get("ImageCacheName").String()
	images := p.Get("Image").Strings()
	switch {
	case name == "":
		return nil, errMissing("ImageCacheName")
	case !c.e.valid.cacheName.MatchString(name):
		return nil, errInvalid("ImageCacheName", "2 to 128 characters of lowercase letters, digits and hyphens, not starting or ending with a hyphen.")
	case len(images) == 0:
		return nil, errMissing("Image")
	case len(images) > 20:
		return nil, errInvalid("Image", "At most 20 images per image cache.")
	}
	size := int(c.rd.int(p.Get("ImageCacheSize"), 20))
	retention := int(c.rd.int(p.Get("RetentionDays"), 0))
	tags := readTags(c, p.Get("Tag"), 128)
	c.rd.oneOf(p.Get("EliminationStrategy"), "LRU")
	token := p.Get("ClientToken").String()
	checkClientToken(c, token)
	if c.rd.err != nil {
		return nil, nil
	}
	if size < 20 || size > 2000 {
		return nil, errInvalid("ImageCacheSize", "Valid values: 20 to 2000 GiB.")
	}
	if retention < 0 {
		return nil, errInvalid("RetentionDays", "It cannot be negative.")
	}
	if id, ae := c.idempotent(token); ae != nil || id != "" {
		if ae != nil {
			return nil, ae
		}
		return map[string]string{"ImageCacheId": id, "ContainerGroupId": c.e.st.caches[id].cgID}, nil
	}
	if _, _, ae := c.resolveNetwork(p.Get("SecurityGroupId").String(), p.Get("VSwitchId").String(), p.Get("ZoneId").String()); ae != nil {
		return nil, ae
	}
	s := c.e.st
	live := 0
	for _, ic := range s.caches {
		if ic.status != "Failed" {
			live++
		}
	}
	if maxN := c.e.cfg.Quotas.MaxImageCaches; maxN > 0 && live >= maxN {
		return nil, newErr(http.StatusForbidden, "QuotaExceed.ImageCache", "The number of image caches reached the quota of %d.", maxN)
	}
	total := c.e.cfg.Lifecycle.ImageCacheReady
	ic := &imageCache{id: s.newID("imc-"), cgID: s.newID("eci-"), name: name, status: "Preparing", images: images,
		size: size, retention: retention, created: c.now, creatingAt: c.now.Add(total / 4), readyAt: c.now.Add(total),
		tags: tags, resourceGroup: p.Get("ResourceGroupId").String()}
	for _, im := range images {
		if c.e.cfg.imagePullError(im) != "" && ic.failImage == "" {
			ic.failImage = im
		}
	}
	s.seq++
	ic.seq = s.seq
	s.caches[ic.id] = ic
	c.remember(token, ic.id)
	return map[string]string{"ImageCacheId": ic.id, "ContainerGroupId": ic.cgID}, nil
}

type imageCacheOut struct {
	ContainerGroupId    string     `json:"ContainerGroupId"`
	ImageCacheId        string     `json:"ImageCacheId"`
	ImageCacheName      string     `json:"ImageCacheName"`
	SnapshotId          string     `json:"SnapshotId"`
	Progress            string     `json:"Progress"`
	Status              string     `json:"Status"`
	ExpireDateTime      string     `json:"ExpireDateTime"`
	CreationTime        string     `json:"CreationTime"`
	EliminationStrategy string     `json:"EliminationStrategy"`
	ImageCacheSize      int        `json:"ImageCacheSize"`
	RegionId            string     `json:"RegionId"`
	ResourceGroupId     string     `json:"ResourceGroupId"`
	Images              []string   `json:"Images"`
	Events              []eventOut `json:"Events"`
	Tags                []kvOut    `json:"Tags"`
}

func actDescribeImageCaches(c *call) (any, *apiError) {
	p := c.p
	var ids []string
	for _, id := range strings.Split(p.Get("ImageCacheId").String(), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	name, snap, image := p.Get("ImageCacheName").String(), p.Get("SnapshotId").String(), p.Get("Image").String()
	match := p.Get("MatchImage").Strings()
	if len(match) > 100 {
		c.rd.fail(errInvalid("MatchImage", "At most 100 images."))
	}
	var want []tag
	for _, it := range p.Get("Tag").Items() {
		want = append(want, tag{Key: it.Get("Key").String(), Value: it.Get("Value").String()})
	}
	limit := readLimit(c, 100, 100)
	if c.rd.err != nil {
		return nil, nil
	}
	var all []*imageCache
	for _, ic := range c.e.st.caches {
		ok := (len(ids) == 0 || contains(ids, ic.id)) && (name == "" || ic.name == name) && (snap == "" || ic.snapshotID == snap) &&
			(image == "" || contains(ic.images, image)) && matchTags(ic.tags, want)
		for _, m := range match {
			ok = ok && contains(ic.images, m)
		}
		if ok {
			all = append(all, ic)
		}
	}
	sortBySeqDesc(all, func(ic *imageCache) int { return ic.seq })
	page, next, ae := pageOf(all, func(ic *imageCache) int { return ic.seq }, "imc", p.Get("NextToken").String(), limit)
	if ae != nil {
		return nil, ae
	}
	out := make([]imageCacheOut, 0, len(page))
	for _, ic := range page {
		o := imageCacheOut{ContainerGroupId: ic.cgID, ImageCacheId: ic.id, ImageCacheName: ic.name, SnapshotId: ic.snapshotID,
			Progress: ic.progress(c.now), Status: ic.status, CreationTime: ts(ic.created), EliminationStrategy: "LRU",
			ImageCacheSize: ic.size, RegionId: c.e.cfg.Region, ResourceGroupId: ic.resourceGroup, Images: ic.images,
			Events: []eventOut{}, Tags: []kvOut{}}
		if ic.retention > 0 {
			o.ExpireDateTime = ts(ic.created.AddDate(0, 0, ic.retention))
		}
		for _, ev := range ic.events {
			o.Events = append(o.Events, eventOut{Count: ev.Count, Type: ev.Type, Name: ic.id + "." + shortHash(ev.Reason, 16),
				Message: ev.Message, FirstTimestamp: ts(ev.First), LastTimestamp: ts(ev.Last), Reason: ev.Reason})
		}
		for _, t := range ic.tags {
			o.Tags = append(o.Tags, kvOut(t))
		}
		out = append(out, o)
	}
	return struct {
		NextToken   string          `json:"NextToken"`
		TotalCount  int             `json:"TotalCount"`
		ImageCaches []imageCacheOut `json:"ImageCaches"`
	}{next, len(all), out}, nil
}

func actDeleteImageCache(c *call) (any, *apiError) {
	id := c.p.Get("ImageCacheId").String()
	if id == "" {
		return nil, errMissing("ImageCacheId")
	}
	if _, ok := c.e.st.caches[id]; !ok {
		return nil, errNotFound("InvalidImageCacheId.NotFound", "The specified image cache %q does not exist.", id)
	}
	delete(c.e.st.caches, id)
	return struct{}{}, nil
}
