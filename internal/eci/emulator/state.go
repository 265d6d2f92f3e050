package emulator

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// state is everything the emulated account holds. It is guarded by
// Emulator.mu; handlers run with the lock held.
type state struct {
	cfg    *Config
	rng    *rand.Rand
	seq    int
	groups map[string]*group
	vnodes map[string]*vnode
	caches map[string]*imageCache
	// tokens maps "<Action>/<ClientToken>" to the created resource and a
	// fingerprint of the request, for idempotent retries.
	tokens map[string]tokenEntry
	// zone state, indexed like cfg.Zones.
	zoneClosed []bool
	stock      []map[string]int // nil map = unlimited
	vswZone    map[string]int   // vSwitch ID -> zone index
	ipam       map[string]*ipPool
	sgs        map[string]bool
	// execSessions are one-shot websocket tokens from ExecContainerCommand.
	execSessions map[string]*execSession
}

type tokenEntry struct {
	id          string
	fingerprint string
}

func newState(cfg *Config, rng *rand.Rand) *state {
	s := &state{
		cfg: cfg, rng: rng,
		groups: map[string]*group{}, vnodes: map[string]*vnode{}, caches: map[string]*imageCache{},
		tokens: map[string]tokenEntry{}, vswZone: map[string]int{}, ipam: map[string]*ipPool{},
		sgs: map[string]bool{}, execSessions: map[string]*execSession{},
	}
	k := 0
	for zi, z := range cfg.Zones {
		s.zoneClosed = append(s.zoneClosed, z.Closed)
		var st map[string]int
		if z.Stock != nil {
			st = map[string]int{}
			for key, n := range z.Stock {
				st[key] = n
			}
		}
		s.stock = append(s.stock, st)
		for _, v := range z.VSwitchIDs {
			s.vswZone[v] = zi
			s.ipam[v] = newIPPool(k)
			k++
		}
	}
	for _, sg := range cfg.SecurityGroups {
		s.sgs[sg] = true
	}
	return s
}

// zones returns the zones with their current open/closed state.
func (s *state) zones() []ZoneConfig {
	out := make([]ZoneConfig, len(s.cfg.Zones))
	for i, z := range s.cfg.Zones {
		out[i] = z
		out[i].Closed = s.zoneClosed[i]
		out[i].Stock = s.stock[i]
	}
	return out
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// newID returns prefix + 20 lower-case alphanumerics, drawn from the seeded
// source so a test run is reproducible.
func (s *state) newID(prefix string) string {
	b := make([]byte, 20)
	for i := range b {
		b[i] = idAlphabet[s.rng.IntN(len(idAlphabet))]
	}
	return prefix + string(b)
}

// stockKeyFor picks the stock map entry that governs a candidate.
func stockKeyFor(m map[string]int, key string) (string, bool) {
	if _, ok := m[key]; ok {
		return key, true
	}
	if _, ok := m["*"]; ok {
		return "*", true
	}
	return "", false
}

// takeStock reserves one unit of key in zone zi.
func (s *state) takeStock(zi int, key string) (string, bool) {
	m := s.stock[zi]
	if m == nil {
		return "", true // unlimited, nothing to give back later
	}
	k, ok := stockKeyFor(m, key)
	if !ok || m[k] <= 0 {
		return "", false
	}
	m[k]--
	return k, true
}

func (s *state) returnStock(zoneID, key string) {
	if key == "" {
		return
	}
	for i, z := range s.cfg.Zones {
		if z.ID == zoneID && s.stock[i] != nil {
			s.stock[i][key]++
		}
	}
}

func (s *state) zoneIndex(id string) int {
	for i, z := range s.cfg.Zones {
		if z.ID == id {
			return i
		}
	}
	return -1
}

// usedCPU is the vCPU held by live (non-terminal, placed) instances.
func (s *state) usedCPU() float64 {
	var n float64
	for _, g := range s.groups {
		if g.holdsCapacity() {
			n += g.cpu
		}
	}
	return n
}

func (g *group) holdsCapacity() bool {
	return !g.gone && !terminal(g.status) && g.schedFail == ""
}

// sortedGroups returns the visible groups, newest first (then by ID for
// equal times), the order DescribeContainerGroups pages through.
func (s *state) sortedGroups() []*group {
	out := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		if !g.gone {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}

// advance applies every lifecycle transition due at or before now, then
// enforces retention.
func (s *state) advance(now time.Time) {
	for _, g := range s.groups {
		g.advance(now, s)
	}
	for id, g := range s.groups {
		if g.gone {
			s.releaseGroup(g)
			delete(s.groups, id)
		}
	}
	s.enforceRetention(now)
	for _, v := range s.vnodes {
		v.advance(now, s.cfg)
	}
	for _, c := range s.caches {
		c.advance(now, s.cfg)
	}
	for tok, es := range s.execSessions {
		if now.After(es.expires) {
			delete(s.execSessions, tok)
		}
	}
}

// releaseGroup gives back stock and the IP address once a group is gone.
func (s *state) releaseGroup(g *group) {
	s.releaseCapacity(g)
	if p := s.ipam[g.vswID]; p != nil && g.ip != "" && !g.ipReleased {
		p.release(g.ip)
		g.ipReleased = true
	}
}

// releaseCapacity returns the stock a group took (idempotent).
func (s *state) releaseCapacity(g *group) {
	if g.stockKey != "" {
		s.returnStock(g.stockZone, g.stockKey)
		g.stockKey = ""
	}
}

// enforceRetention drops terminal groups: all are kept for Keep after
// they finished; older ones only while among the newest KeepLast.
func (s *state) enforceRetention(now time.Time) {
	var done []*group
	for _, g := range s.groups {
		if terminal(g.status) && !g.finishedAt.IsZero() {
			done = append(done, g)
		}
	}
	if len(done) <= s.cfg.Retention.KeepLast {
		return
	}
	sort.Slice(done, func(i, j int) bool {
		if !done[i].finishedAt.Equal(done[j].finishedAt) {
			return done[i].finishedAt.After(done[j].finishedAt)
		}
		return done[i].seq > done[j].seq
	})
	for i, g := range done {
		if i >= s.cfg.Retention.KeepLast && now.Sub(g.finishedAt) > s.cfg.Retention.Keep {
			s.releaseGroup(g)
			delete(s.groups, g.id)
		}
	}
}

// lookupGroup finds a visible group or returns the not-found error.
func (s *state) lookupGroup(id string) (*group, *apiError) {
	g, ok := s.groups[id]
	if !ok || g.gone {
		return nil, errNotFound("InvalidParameter.NotFound", "The specified container group %q does not exist.", id)
	}
	return g, nil
}

// ipPool hands out addresses of one vSwitch's /20 (172.16.0.0/12 split by
// vSwitch order), reusing released ones lowest first.
type ipPool struct {
	base [4]byte
	next int
	free []int
	size int
}

func newIPPool(k int) *ipPool {
	return &ipPool{base: [4]byte{172, byte(16 + k/16), byte((k % 16) * 16), 0}, next: 2, size: 4094}
}

func (p *ipPool) alloc() (string, bool) {
	var n int
	switch {
	case len(p.free) > 0:
		sort.Ints(p.free)
		n, p.free = p.free[0], p.free[1:]
	case p.next <= p.size:
		n = p.next
		p.next++
	default:
		return "", false
	}
	hi, lo := n/256, n%256
	return fmt.Sprintf("%d.%d.%d.%d", p.base[0], p.base[1], int(p.base[2])+hi, lo), true
}

func (p *ipPool) release(ip string) {
	var a, b, c, d int
	if _, err := fmt.Sscanf(ip, "%d.%d.%d.%d", &a, &b, &c, &d); err != nil {
		return
	}
	p.free = append(p.free, (c-int(p.base[2]))*256+d)
}
