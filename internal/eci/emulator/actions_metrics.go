package emulator

import (
	"math"
	"time"
)

// Metrics are synthetic and deterministic: usage is a function of the
// container's spec, its image behaviour (CPUUsage, MemoryUsage) and the
// timestamp, so two reads of the same instant agree and tests can assert
// on exact values.

const gib = 1 << 30

type cpuOut struct {
	UsageNanoCores       int64 `json:"UsageNanoCores"`
	UsageCoreNanoSeconds int64 `json:"UsageCoreNanoSeconds"`
	Load                 int64 `json:"Load"`
	Limit                int64 `json:"Limit"`
}

type memOut struct {
	AvailableBytes int64 `json:"AvailableBytes"`
	UsageBytes     int64 `json:"UsageBytes"`
	Cache          int64 `json:"Cache"`
	WorkingSet     int64 `json:"WorkingSet"`
	Rss            int64 `json:"Rss"`
}

type ifaceOut struct {
	Name      string `json:"Name"`
	TxBytes   int64  `json:"TxBytes"`
	RxBytes   int64  `json:"RxBytes"`
	TxErrors  int64  `json:"TxErrors"`
	RxErrors  int64  `json:"RxErrors"`
	TxPackets int64  `json:"TxPackets"`
	RxPackets int64  `json:"RxPackets"`
	TxDrops   int64  `json:"TxDrops"`
	RxDrops   int64  `json:"RxDrops"`
}

type ctrMetricOut struct {
	Name   string `json:"Name"`
	CPU    cpuOut `json:"CPU"`
	Memory memOut `json:"Memory"`
}

type metricRecord struct {
	Timestamp  string         `json:"Timestamp"`
	Containers []ctrMetricOut `json:"Containers"`
	CPU        cpuOut         `json:"CPU"`
	Memory     memOut         `json:"Memory"`
	Network    struct {
		Interfaces []ifaceOut `json:"Interfaces"`
	} `json:"Network"`
}

// share returns a container's vCPU and GiB: its own request, or an even
// share of the instance when it requested nothing.
func (g *group) share(c *ctr) (float64, float64) {
	cpu, mem := c.spec.CPU, c.spec.Memory
	n := float64(max(1, len(g.containers)))
	if cpu <= 0 {
		cpu = g.cpu / n
	}
	if mem <= 0 {
		mem = g.mem / n
	}
	return cpu, mem
}

// wave is a deterministic +-amp ripple with a 5-minute period, phased by
// name so containers differ.
func wave(t time.Time, name string, amp float64) float64 {
	phase := float64(len(name)%7) / 7 * 2 * math.Pi
	return 1 + amp*math.Sin(2*math.Pi*float64(t.Unix()%300)/300+phase)
}

func (g *group) metricAt(t time.Time) (metricRecord, bool) {
	if g.startedAt.IsZero() || t.Before(g.startedAt) || (!g.finishedAt.IsZero() && t.After(g.finishedAt)) {
		return metricRecord{}, false
	}
	rec := metricRecord{Timestamp: ts(t), Containers: []ctrMetricOut{}}
	up := t.Sub(g.startedAt).Seconds()
	for _, c := range g.containers {
		cpu, mem := g.share(c)
		fc, fm := c.beh.CPUUsage, c.beh.MemoryUsage
		if fc <= 0 {
			fc = 0.1
		}
		if fm <= 0 {
			fm = 0.3
		}
		if c.phase != phRunning {
			fc, fm = 0, 0
		}
		nano := int64(cpu * 1e9 * fc * wave(t, c.spec.Name, 0.2))
		used := int64(mem * gib * fm * wave(t, c.spec.Name, 0.05))
		limitBytes := int64(mem * gib)
		cm := ctrMetricOut{Name: c.spec.Name,
			CPU: cpuOut{UsageNanoCores: nano, UsageCoreNanoSeconds: int64(cpu * 1e9 * fc * up), Limit: int64(cpu * 1000)},
			Memory: memOut{UsageBytes: used, WorkingSet: used, Rss: used * 8 / 10, Cache: used * 2 / 10,
				AvailableBytes: max(0, limitBytes-used)}}
		rec.Containers = append(rec.Containers, cm)
		rec.CPU.UsageNanoCores += cm.CPU.UsageNanoCores
		rec.CPU.UsageCoreNanoSeconds += cm.CPU.UsageCoreNanoSeconds
		rec.Memory.UsageBytes += used
		rec.Memory.WorkingSet += used
		rec.Memory.Rss += cm.Memory.Rss
		rec.Memory.Cache += cm.Memory.Cache
	}
	rec.CPU.Limit = int64(g.cpu * 1000)
	rec.Memory.AvailableBytes = max(0, int64(g.mem*gib)-rec.Memory.UsageBytes)
	rec.Network.Interfaces = []ifaceOut{{Name: "eth0", RxBytes: int64(up * 2048), TxBytes: int64(up * 1024),
		RxPackets: int64(up * 4), TxPackets: int64(up * 2)}}
	return rec, true
}

func actDescribeContainerGroupMetric(c *call) (any, *apiError) {
	g, ae := c.readGroup()
	if ae != nil {
		return nil, ae
	}
	period := c.rd.int(c.p.Get("Period"), 60)
	var start, end time.Time
	for _, x := range []struct {
		name string
		dst  *time.Time
	}{{"StartTime", &start}, {"EndTime", &end}} {
		if s := c.p.Get(x.name).String(); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				c.rd.fail(errInvalid(x.name, "Use RFC 3339 (e.g. 2018-08-02T15:00:00Z)."))
			}
			*x.dst = t
		}
	}
	if c.rd.err != nil {
		return nil, nil
	}
	if period != 15 && period != 30 && period != 60 && period != 600 {
		return nil, errInvalid("Period", "Valid values: 15, 30, 60, 600.")
	}
	if start.IsZero() && end.IsZero() {
		// Without a range: the last 5 minutes at 15-second resolution.
		end, start, period = c.now, c.now.Add(-5*time.Minute), 15
	}
	if end.IsZero() {
		end = c.now
	}
	if start.IsZero() {
		start = end.Add(-5 * time.Minute)
	}
	switch {
	case end.Before(start):
		return nil, errInvalid("EndTime", "EndTime is before StartTime.")
	case c.now.Sub(start) > 30*24*time.Hour:
		return nil, errInvalid("StartTime", "StartTime must be within the last 30 days.")
	}
	step := time.Duration(period) * time.Second
	first := start.Truncate(step)
	if first.Before(start) {
		first = first.Add(step)
	}
	recs := []metricRecord{}
	for t := first; !t.After(end) && !t.After(c.now); t = t.Add(step) {
		if r, ok := g.metricAt(t); ok {
			recs = append(recs, r)
		}
	}
	if len(recs) > 50 {
		recs = recs[len(recs)-50:]
	}
	return struct {
		ContainerGroupId string         `json:"ContainerGroupId"`
		Records          []metricRecord `json:"Records"`
	}{g.id, recs}, nil
}

func actDescribeMultiContainerGroupMetric(c *call) (any, *apiError) {
	if !c.p.Get("ContainerGroupIds").HasValue() {
		return nil, errMissing("ContainerGroupIds")
	}
	ids := readIDs(c, "ContainerGroupIds")
	c.rd.oneOf(c.p.Get("MetricType"), "summary")
	if c.rd.err != nil {
		return nil, nil
	}
	type monitorData struct {
		ContainerGroupId string         `json:"ContainerGroupId"`
		Records          []metricRecord `json:"Records"`
	}
	out := []monitorData{}
	// Only the latest entry per instance, at the last whole 15 seconds.
	at := c.now.Truncate(15 * time.Second)
	for _, id := range ids {
		g, ok := c.e.st.groups[id]
		if !ok || g.gone {
			continue
		}
		md := monitorData{ContainerGroupId: id, Records: []metricRecord{}}
		if r, ok := g.metricAt(at); ok {
			md.Records = append(md.Records, r)
		}
		out = append(out, md)
	}
	return struct {
		MonitorDatas []monitorData `json:"MonitorDatas"`
	}{out}, nil
}
