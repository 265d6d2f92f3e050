package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// adminPrefix is the path of the admin API; the SDK only ever requests "/".
// The admin API is unauthenticated: the emulator is a loopback test tool.
const adminPrefix = "/_admin/"

// SetZoneClosed opens or closes a zone for new instances.
func (e *Emulator) SetZoneClosed(zone string, closed bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	zi := e.st.zoneIndex(zone)
	if zi < 0 {
		return fmt.Errorf("set zone %s closed=%v: no such zone", zone, closed)
	}
	e.st.zoneClosed[zi] = closed
	e.logf("zone %s closed=%v", zone, closed)
	return nil
}

// SetZoneStock replaces a zone's remaining stock (nil = unlimited). Keys
// are "<cpu>-<mem>Gi", ECS instance types or "*".
func (e *Emulator) SetZoneStock(zone string, stock map[string]int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	zi := e.st.zoneIndex(zone)
	if zi < 0 {
		return fmt.Errorf("set stock of zone %s: no such zone", zone)
	}
	if stock == nil {
		e.st.stock[zi] = nil
		return nil
	}
	m := make(map[string]int, len(stock))
	for k, v := range stock {
		m[k] = v
	}
	e.st.stock[zi] = m
	return nil
}

// Zones returns the zones with their current closed flag and stock.
func (e *Emulator) Zones() []ZoneConfig {
	e.mu.Lock()
	defer e.mu.Unlock()
	zs := e.st.zones()
	for i := range zs {
		if zs[i].Stock != nil {
			cp := map[string]int{}
			for k, v := range zs[i].Stock {
				cp[k] = v
			}
			zs[i].Stock = cp
		}
	}
	return zs
}

func writeAdmin(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func adminError(w http.ResponseWriter, status int, format string, args ...any) {
	writeAdmin(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func (e *Emulator) readAdminBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := e.readBodyBounded(w, r)
	if err != nil {
		return err
	}
	return DecodeJSON(body, v)
}

// serveAdmin implements the JSON admin API (see README.md):
//
//	GET  /_admin/stats                         per-action call statistics
//	DELETE /_admin/stats                       reset them
//	GET  /_admin/faults                        installed faults and outage
//	POST /_admin/faults   {"action","fault"}   install a fault ("*" = all)
//	DELETE /_admin/faults                      clear faults and outage
//	POST /_admin/outage   {"mode"}             none | refuse | hang
//	GET  /_admin/zones                         zones, closed flags, stock
//	POST /_admin/zones    {"zone","closed"?,"stock"?,"unlimited"?}
//	GET  /_admin/clock                         current time, fake or not
//	POST /_admin/clock    {"advance":"30s"} | {"set":"RFC3339"} (fake clock only)
//	POST /_admin/ratelimits {"enabled"} | {"action","limit":{burst,per,refill}}
//	GET  /_admin/config                        effective configuration
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, adminPrefix), "/")
	switch p + " " + r.Method {
	case " GET":
		writeAdmin(w, 200, map[string][]string{"endpoints": {"stats", "faults", "outage", "zones", "clock", "ratelimits", "config"}})
	case "stats GET":
		writeAdmin(w, 200, e.Calls())
	case "stats DELETE":
		e.ResetCalls()
		writeAdmin(w, 200, map[string]bool{"ok": true})
	case "faults GET":
		writeAdmin(w, 200, map[string]any{"faults": e.Faults(), "outage": e.Outage().String()})
	case "faults POST", "faults PUT":
		var req struct {
			Action string `json:"action"`
			Fault  Fault  `json:"fault"`
		}
		if err := e.readAdminBody(w, r, &req); err != nil {
			adminError(w, 400, "%v", err)
			return
		}
		if req.Fault.ErrorRate < 0 || req.Fault.ErrorRate > 1 {
			adminError(w, 400, "errorRate must be within 0..1")
			return
		}
		e.SetFault(req.Action, req.Fault)
		writeAdmin(w, 200, map[string]any{"faults": e.Faults()})
	case "faults DELETE":
		e.ClearFaults()
		writeAdmin(w, 200, map[string]bool{"ok": true})
	case "outage POST", "outage PUT":
		var req struct {
			Mode string `json:"mode"`
		}
		if err := e.readAdminBody(w, r, &req); err != nil {
			adminError(w, 400, "%v", err)
			return
		}
		m, ok := ParseOutageMode(req.Mode)
		if !ok {
			adminError(w, 400, "mode must be none, refuse or hang")
			return
		}
		e.SetOutage(m)
		writeAdmin(w, 200, map[string]string{"outage": m.String()})
	case "zones GET":
		writeAdmin(w, 200, e.Zones())
	case "zones POST", "zones PUT":
		var req struct {
			Zone      string         `json:"zone"`
			Closed    *bool          `json:"closed"`
			Stock     map[string]int `json:"stock"`
			Unlimited bool           `json:"unlimited"`
		}
		if err := e.readAdminBody(w, r, &req); err != nil {
			adminError(w, 400, "%v", err)
			return
		}
		if req.Closed != nil {
			if err := e.SetZoneClosed(req.Zone, *req.Closed); err != nil {
				adminError(w, 404, "%v", err)
				return
			}
		}
		if req.Stock != nil || req.Unlimited {
			if err := e.SetZoneStock(req.Zone, req.Stock); err != nil {
				adminError(w, 404, "%v", err)
				return
			}
		}
		writeAdmin(w, 200, e.Zones())
	case "clock GET":
		_, fake := e.clock.(*FakeClock)
		writeAdmin(w, 200, map[string]any{"now": e.clock.Now().UTC().Format(time.RFC3339Nano), "fake": fake})
	case "clock POST", "clock PUT":
		fc, ok := e.clock.(*FakeClock)
		if !ok {
			adminError(w, 409, "the emulator runs on the real clock")
			return
		}
		var req struct {
			Advance time.Duration `json:"advance"`
			Set     string        `json:"set"`
		}
		if err := e.readAdminBody(w, r, &req); err != nil {
			adminError(w, 400, "%v", err)
			return
		}
		if req.Set != "" {
			t, err := time.Parse(time.RFC3339Nano, req.Set)
			if err != nil {
				adminError(w, 400, "set: %v", err)
				return
			}
			fc.Set(t)
		}
		fc.Advance(req.Advance)
		writeAdmin(w, 200, map[string]any{"now": fc.Now().UTC().Format(time.RFC3339Nano), "fake": true})
	case "ratelimits POST", "ratelimits PUT":
		var req struct {
			Enabled *bool      `json:"enabled"`
			Action  string     `json:"action"`
			Limit   *RateLimit `json:"limit"`
		}
		if err := e.readAdminBody(w, r, &req); err != nil {
			adminError(w, 400, "%v", err)
			return
		}
		if req.Enabled != nil {
			e.SetRateLimitsEnabled(*req.Enabled)
		}
		if req.Action != "" && req.Limit != nil {
			e.SetRateLimit(req.Action, *req.Limit)
		}
		writeAdmin(w, 200, map[string]bool{"ok": true})
	case "config GET":
		writeAdmin(w, 200, e.cfg)
	default:
		adminError(w, 404, "unknown admin endpoint %s %s", r.Method, r.URL.Path)
	}
}
