package emulator

import (
	"strings"
	"time"
)

const (
	defaultTail   = 500
	maxTail       = 2000
	maxLogBytes   = 1 << 20
	logTimeLayout = "2006-01-02T15:04:05.000000000Z"
)

type logLine struct {
	t    time.Time
	text string
}

// lines returns the run's output in [from, to], at most the last tail
// lines (tail <= 0: all). Periodic lines are computed arithmetically, so a
// container that has logged for days costs nothing until read.
func (r *logRun) lines(from, to time.Time, tail int) []logLine {
	end := to
	if !r.End.IsZero() && r.End.Before(end) {
		end = r.End
	}
	var out []logLine
	for _, l := range r.Out {
		t := r.Start.Add(l.At)
		if !t.Before(from) && !t.After(end) {
			out = append(out, logLine{t, l.Text})
		}
	}
	if r.Every > 0 && !end.Before(r.Start) {
		kmax := int64(end.Sub(r.Start) / r.Every)
		kmin := int64(1)
		if from.After(r.Start) {
			kmin = max(kmin, int64((from.Sub(r.Start)+r.Every-1)/r.Every))
		}
		if tail > 0 && kmax-kmin+1 > int64(tail) {
			kmin = kmax - int64(tail) + 1
		}
		word := r.EveryLine
		if word == "" {
			word = "tick"
		}
		for k := kmin; k <= kmax; k++ {
			out = append(out, logLine{r.Start.Add(time.Duration(k) * r.Every), word + " " + itoa64(k)})
		}
	}
	if tail > 0 && len(out) > tail {
		out = out[len(out)-tail:]
	}
	return out
}

func itoa64(n int64) string { return fmtNum(float64(n)) }

func (g *group) findContainer(name string) *ctr {
	for _, c := range g.allContainers() {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

func actDescribeContainerLog(c *call) (any, *apiError) {
	g, ae := c.readGroup()
	if ae != nil {
		return nil, ae
	}
	name := c.p.Get("ContainerName").String()
	if name == "" {
		return nil, errMissing("ContainerName")
	}
	tail := int(c.rd.int(c.p.Get("Tail"), defaultTail))
	since := c.rd.int(c.p.Get("SinceSeconds"), 0)
	limitBytes := int(c.rd.int(c.p.Get("LimitBytes"), 0))
	stamps := c.rd.bool(c.p.Get("Timestamps"), false)
	previous := c.rd.bool(c.p.Get("LastTime"), false)
	var start time.Time
	if s := c.p.Get("StartTime").String(); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			c.rd.fail(errInvalid("StartTime", "Use RFC 3339 (e.g. 2018-08-02T15:00:00Z)."))
		}
		start = t
	}
	if c.rd.err != nil {
		return nil, nil
	}
	switch {
	case tail < 0 || tail > maxTail:
		return nil, errInvalid("Tail", "Valid values: 0 to %d.", maxTail)
	case since < 0:
		return nil, errInvalid("SinceSeconds", "It cannot be negative.")
	case c.p.Get("LimitBytes").HasValue() && (limitBytes < 1 || limitBytes > maxLogBytes):
		return nil, errInvalid("LimitBytes", "Valid values: 1 to %d.", maxLogBytes)
	}
	ct := g.findContainer(name)
	if ct == nil {
		return nil, errInvalid("ContainerName", "Container %q does not exist in %s.", name, g.id)
	}
	from := start
	if since > 0 {
		if s := c.now.Add(-seconds(since)); s.After(from) {
			from = s
		}
	}
	var run *logRun
	switch n := len(ct.runs); {
	case previous && n >= 2:
		run = ct.runs[n-2]
	case previous && n == 1 && !ct.runs[0].End.IsZero() && ct.phase != phRunning:
		run = ct.runs[0]
	case !previous && n >= 1:
		run = ct.runs[n-1]
	}
	var b strings.Builder
	if run != nil {
		if tail == 0 {
			tail = defaultTail
		}
		for _, l := range run.lines(from, c.now, tail) {
			if stamps {
				b.WriteString(l.t.UTC().Format(logTimeLayout))
				b.WriteByte(' ')
			}
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
	}
	content := b.String()
	lim := maxLogBytes
	if limitBytes > 0 {
		lim = limitBytes
	}
	if len(content) > lim {
		content = content[:lim]
	}
	return struct {
		ContainerName string `json:"ContainerName"`
		Content       string `json:"Content"`
	}{name, content}, nil
}
