package translate

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// Readers of the annotations whose values are structured: lists of specs,
// tags, hosts, DNS settings and registry instances.

// useSpecs reads eci-use-specs: "<cpu>-<mem>Gi" specs and/or ECS instance
// types, tried by ECI in order.
func (t *translator) useSpecs(key, v string) {
	const maxSpecs = 5
	items := splitList(v)
	if len(items) == 0 {
		t.bad(key, v, "want one or more specs such as 2-4Gi or ECS instance types such as ecs.c6.large, separated by commas")
		return
	}
	if len(items) > maxSpecs {
		t.bad(key, v, "ECI tries at most "+strconv.Itoa(maxSpecs)+" specs, got "+strconv.Itoa(len(items)))
		return
	}
	var sizes []Spec
	gpu := false
	for _, it := range items {
		if strings.HasPrefix(it, "ecs.") && len(it) > len("ecs.") && !strings.ContainsAny(it, " \t") {
			gpu = gpu || isGPUInstanceType(it)
			continue
		}
		sp, ok := parseSpecKey(it)
		if !ok {
			t.bad(key, v, "want <cpu>-<memory>Gi such as 2-4Gi or an ECS instance type such as ecs.c6.large; "+strconv.Quote(it)+" is neither")
			return
		}
		sizes = append(sizes, sp)
	}
	t.req.InstanceTypes = items
	t.ann.useSpecs, t.ann.specSizes, t.ann.gpuType = items, sizes, gpu
}

// isGPUInstanceType recognises GPU-accelerated ECS families: gn*, vgn*,
// sgn*, ebmgn* (ecs.gn6i-c4g1.xlarge, ecs.sgn7i-vws-m2.xlarge, ...).
func isGPUInstanceType(t string) bool {
	family, _, _ := strings.Cut(strings.TrimPrefix(t, "ecs."), ".")
	for _, p := range [...]string{"gn", "vgn", "sgn", "ebmgn"} {
		if strings.HasPrefix(family, p) {
			return true
		}
	}
	return false
}

func (t *translator) customTags(key, v string) {
	pairs := strings.Split(v, ",")
	if len(pairs) > maxCustomTags {
		t.bad(key, v, "ECI takes at most "+strconv.Itoa(maxCustomTags)+" tags here, got "+strconv.Itoa(len(pairs)))
		return
	}
	tags := make([]eci.Tag, 0, len(pairs))
	for _, p := range pairs {
		k, val, ok := strings.Cut(p, ":")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		if !ok || k == "" {
			t.bad(key, v, "want key:value pairs separated by commas, such as env:test,team:web; "+strconv.Quote(p)+" is not one")
			return
		}
		if msg := checkTag(k, val); msg != "" {
			t.bad(key, v, msg)
			return
		}
		if slices.ContainsFunc(tags, func(x eci.Tag) bool { return x.Key == k }) {
			t.bad(key, v, "tag key "+strconv.Quote(k)+" is given twice")
			return
		}
		tags = append(tags, eci.Tag{Key: k, Value: val})
	}
	t.ann.customTags = tags
}

// customHosts reads eci-custom-hosts: [{"host":"example.com","ip":"1.2.3.4"}].
func (t *translator) customHosts(key, v string) {
	const want = `want a JSON list such as [{"host":"example.com","ip":"100.100.1.1"}]`
	var entries []struct {
		Host string `json:"host"`
		IP   string `json:"ip"`
	}
	if err := json.Unmarshal([]byte(v), &entries); err != nil || len(entries) == 0 {
		t.bad(key, v, want)
		return
	}
	hosts := make([]eci.HostAlias, 0, len(entries))
	for i, e := range entries {
		if e.Host == "" || strings.ContainsAny(e.Host, " \t") || parseIP(e.IP) == nil {
			t.bad(key, v, want+"; entry "+strconv.Itoa(i+1)+" needs a host name and an IP address")
			return
		}
		hosts = append(hosts, eci.HostAlias{IP: e.IP, Hostnames: []string{e.Host}})
	}
	t.ann.customHosts = hosts
}

// customDNS reads eci-custom-dnsconfig:
// {"nameservers":"a,b","searches":"x.com","options":"ndots:2,edns0"}.
func (t *translator) customDNS(key, v string) {
	const want = `want JSON such as {"nameservers":"10.0.0.10","searches":"example.com","options":"ndots:2,edns0"}`
	var cfg struct {
		Nameservers stringOrList `json:"nameservers"`
		Searches    stringOrList `json:"searches"`
		Options     stringOrList `json:"options"`
	}
	if err := json.Unmarshal([]byte(v), &cfg); err != nil {
		t.bad(key, v, want)
		return
	}
	if len(cfg.Nameservers)+len(cfg.Searches)+len(cfg.Options) == 0 {
		t.bad(key, v, want+"; it sets nothing")
		return
	}
	out := &eci.DNSConfig{Searches: cfg.Searches}
	for _, ns := range cfg.Nameservers {
		if parseIP(ns) == nil {
			t.bad(key, v, "nameserver "+strconv.Quote(ns)+" is not an IP address")
			return
		}
		out.NameServers = append(out.NameServers, ns)
	}
	for _, o := range cfg.Options {
		name, val, _ := strings.Cut(o, ":")
		out.Options = append(out.Options, eci.DNSOption{Name: name, Value: val})
	}
	t.ann.customDNS = out
}

// acrInstances reads acr-instance-ids ("cri-x" or "cn-beijing:cri-x", comma
// separated) with the optional acr-service-arns / acr-user-arns.
func (t *translator) acrInstances(key, v string, all map[string]string) {
	items := splitList(v)
	if len(items) == 0 {
		t.bad(key, v, "want one or more ACR Enterprise Edition instance IDs such as cri-abc or cn-beijing:cri-abc")
		return
	}
	infos := make([]eci.ACRRegistryInfo, 0, len(items))
	for _, it := range items {
		region, id, cross := strings.Cut(it, ":")
		if !cross {
			region, id = t.node.Region, it
		}
		if msg := checkID(id, "cri-"); msg != "" || region == "" && cross {
			t.bad(key, v, "want cri-... or <region>:cri-..., got "+strconv.Quote(it))
			return
		}
		infos = append(infos, eci.ACRRegistryInfo{InstanceID: id, RegionID: region})
	}
	for _, arnKey := range [...]string{annACRServiceARNs, annACRUserARNs} {
		raw, ok := all[arnKey]
		if !ok {
			continue
		}
		arns := splitList(raw)
		bad := len(arns) == 0 || (len(arns) != 1 && len(arns) != len(infos)) ||
			slices.ContainsFunc(arns, func(a string) bool { return !strings.HasPrefix(a, "acs:ram::") })
		if bad {
			t.bad(arnKey, raw, "want one RAM role ARN (acs:ram::<account>:role/<name>) for all instances in "+
				annACRInstanceIDs+", or one per instance in the same order")
			continue
		}
		for i := range infos {
			a := arns[0]
			if len(arns) > 1 {
				a = arns[i]
			}
			if arnKey == annACRServiceARNs {
				infos[i].ArnService = a
			} else {
				infos[i].ArnUser = a
			}
		}
	}
	t.req.ACRRegistryInfos = infos
}

func isDottedVersion(s string) bool {
	if s == "" {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !allDigits(part) {
			return false
		}
	}
	return true
}

func isRAMRoleName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
