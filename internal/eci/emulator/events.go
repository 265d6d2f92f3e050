package emulator

import (
	"sort"
	"time"
)

// maxEventsKept bounds the events stored per group; Describe returns the
// newest 50 as documented.
const (
	maxEventsKept     = 200
	maxEventsReturned = 50
)

// addEvent records an event, folding it into an existing one with the
// same type, reason, message and container (Count, LastTimestamp), as
// Kubernetes aggregates repeated events.
func (g *group) addEvent(t time.Time, typ, reason, msg, source, container string) {
	for _, ev := range g.events {
		if ev.Type == typ && ev.Reason == reason && ev.Message == msg && ev.Container == container {
			ev.Count++
			ev.Last = t
			g.eventSeq++
			ev.Seq = g.eventSeq
			return
		}
	}
	g.eventSeq++
	g.events = append(g.events, &event{Type: typ, Reason: reason, Message: msg, Source: source,
		Container: container, First: t, Last: t, Count: 1, Seq: g.eventSeq})
	if len(g.events) > maxEventsKept {
		sort.SliceStable(g.events, func(i, j int) bool { return g.events[i].Seq < g.events[j].Seq })
		g.events = g.events[len(g.events)-maxEventsKept:]
	}
}

// recentEvents returns up to n events, oldest first, by last occurrence.
func (g *group) recentEvents(n int, keep func(*event) bool) []*event {
	var out []*event
	for _, ev := range g.events {
		if keep == nil || keep(ev) {
			out = append(out, ev)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}
