package emulator

type regionOut struct {
	RegionId         string   `json:"RegionId"`
	RegionEndpoint   string   `json:"RegionEndpoint"`
	Zones            []string `json:"Zones"`
	RecommendZones   []string `json:"RecommendZones"`
	UnavailableZones []string `json:"UnavailableZones"`
}

// actDescribeRegions lists the one served region with its zones; closed
// zones are reported as unavailable.
func actDescribeRegions(c *call) (any, *apiError) {
	cfg := &c.e.cfg
	r := regionOut{RegionId: cfg.Region, RegionEndpoint: "eci." + cfg.Region + ".aliyuncs.com",
		Zones: []string{}, RecommendZones: []string{}, UnavailableZones: []string{}}
	for _, z := range c.e.st.zones() {
		r.Zones = append(r.Zones, z.ID)
		if z.Closed {
			r.UnavailableZones = append(r.UnavailableZones, z.ID)
		} else {
			r.RecommendZones = append(r.RecommendZones, z.ID)
		}
	}
	return struct {
		Regions []regionOut `json:"Regions"`
	}{[]regionOut{r}}, nil
}
