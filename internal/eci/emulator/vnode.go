package emulator

import (
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// vnode is a VirtualNode: Pending until its resident node is Ready.
type vnode struct {
	seq                                 int
	id, name, status                    string
	created, readyAt                    time.Time
	sg, vsw, zone, vpc, ip, eip         string
	tags                                []tag
	taints                              []taintSpec
	clusterDNS, clusterDomain, customRs string
	resourceGroup                       string
	failReason                          string
	events                              []*event
	// What the resident node is started with (resident.go): the name at
	// creation (a rename does not rename the Node), the decoded kubeconfig,
	// TlsBootstrapEnabled, the ZoneId of the request and every vSwitch it
	// named.
	nodeName     string
	kubeConfig   []byte
	tlsBootstrap bool
	reqZone      string
	vsws         []string
	// res is the running resident node, when Config.ResidentNodes is set.
	res *resident
}

type taintSpec struct{ Key, Value, Effect string }

func (v *vnode) advance(now time.Time, cfg *Config) {
	if v.status == "Pending" && !v.readyAt.IsZero() && !now.Before(v.readyAt) {
		if v.failReason != "" {
			v.status = "Failed"
			v.addEvent(v.readyAt, "Warning", v.failReason, "Create VNode failed because current zone closed or limited without living instance.")
		} else {
			v.status = "Ready"
			v.addEvent(v.readyAt, "Normal", "VirtualNodeReady", "The resident node of the virtual node is ready.")
		}
		v.readyAt = time.Time{}
	}
}

func (v *vnode) addEvent(t time.Time, typ, reason, msg string) {
	v.events = append(v.events, &event{Type: typ, Reason: reason, Message: msg, Source: "EciService", First: t, Last: t, Count: 1, Seq: len(v.events) + 1})
}

func (c *call) readTaints() []taintSpec {
	items := c.p.Get("Taint").Items()
	if len(items) > 20 {
		c.rd.fail(errInvalid("Taint", "At most 20 taints are allowed."))
		return nil
	}
	var out []taintSpec
	for _, it := range items {
		t := taintSpec{Key: it.Get("Key").String(), Value: it.Get("Value").String(),
			Effect: c.rd.oneOf(it.Get("Effect"), "NoSchedule", "NoExecute", "PreferNoSchedule")}
		if t.Key == "" {
			c.rd.fail(errMissing(it.Get("Key").Path()))
		}
		if t.Effect == "" {
			c.rd.fail(errMissing(it.Get("Effect").Path()))
		}
		out = append(out, t)
	}
	return out
}

// checkVNodeSettings validates ClusterDNS (comma-separated IPs) and
// CustomResources ("name=count,...").
func (c *call) checkVNodeSettings() {
	if dns := c.p.Get("ClusterDNS").String(); dns != "" {
		for _, ip := range strings.Split(dns, ",") {
			if net.ParseIP(strings.TrimSpace(ip)) == nil {
				c.rd.fail(errInvalid("ClusterDNS", "%q is not an IP address.", ip))
			}
		}
	}
	if cr := c.p.Get("CustomResources").String(); cr != "" {
		for _, kv := range strings.Split(cr, ",") {
			k, n, ok := strings.Cut(kv, "=")
			if _, err := strconv.Atoi(n); !ok || k == "" || err != nil {
				c.rd.fail(errInvalid("CustomResources", "Use name=count pairs separated by commas."))
			}
		}
	}
}

func actCreateVirtualNode(c *call) (any, *apiError) {
	p := c.p
	sgID := p.Get("SecurityGroupId").String()
	vswList := p.Get("VSwitchId").String()
	kube := p.Get("KubeConfig").String()
	name := p.Get("VirtualNodeName").String()
	switch {
	case sgID == "":
		return nil, errMissing("SecurityGroupId")
	case vswList == "":
		return nil, errMissing("VSwitchId")
	case kube == "":
		return nil, errMissing("KubeConfig")
	case name != "" && !c.e.valid.vnodeName.MatchString(name):
		return nil, errInvalid("VirtualNodeName", "2 to 128 characters of lowercase letters, digits, periods and hyphens.")
	}
	kubeConfig, err := base64.StdEncoding.DecodeString(kube)
	if err != nil {
		return nil, errInvalid("KubeConfig", "The kubeconfig must be Base64-encoded.")
	}
	tags := readTags(c, p.Get("Tag"), 128)
	taints := c.readTaints()
	c.checkVNodeSettings()
	tlsBootstrap := c.rd.bool(p.Get("TlsBootstrapEnabled"), false)
	public := c.rd.bool(p.Get("EnablePublicNetwork"), false)
	token := p.Get("ClientToken").String()
	checkClientToken(c, token)
	if c.rd.err != nil {
		return nil, nil
	}
	if id, ae := c.idempotent(token); ae != nil || id != "" {
		if ae != nil {
			return nil, ae
		}
		return map[string]string{"VirtualNodeId": id}, nil
	}
	sg, vsws, ae := c.resolveNetwork(sgID, vswList, p.Get("ZoneId").String())
	if ae != nil {
		return nil, ae
	}
	s := c.e.st
	live := 0
	for _, v := range s.vnodes {
		if v.status != "Failed" {
			live++
		}
	}
	if maxN := c.e.cfg.Quotas.MaxVirtualNodes; maxN > 0 && live >= maxN {
		return nil, newErr(http.StatusForbidden, "QuotaExceed.VirtualNode", "The number of virtual nodes reached the quota of %d.", maxN)
	}
	v := &vnode{id: s.newID("vnd-"), name: name, status: "Pending", created: c.now,
		readyAt: c.now.Add(c.e.cfg.Lifecycle.VirtualNodeReady), sg: sg, vpc: c.e.cfg.VpcID, tags: tags, taints: taints,
		clusterDNS: p.Get("ClusterDNS").String(), clusterDomain: p.Get("ClusterDomain").String(),
		customRs: p.Get("CustomResources").String(), resourceGroup: p.Get("ResourceGroupId").String(),
		kubeConfig: kubeConfig, tlsBootstrap: tlsBootstrap, reqZone: p.Get("ZoneId").String(), vsws: vsws}
	s.seq++
	v.seq = s.seq
	if v.name == "" {
		v.name = v.id
	}
	v.nodeName = v.name
	v.failReason = "StockClose"
	for _, vsw := range vsws {
		if !s.zoneClosed[s.vswZone[vsw]] {
			if ip, ok := s.ipam[vsw].alloc(); ok {
				v.vsw, v.ip, v.zone, v.failReason = vsw, ip, s.cfg.Zones[s.vswZone[vsw]].ID, ""
				break
			}
		}
	}
	if v.vsw == "" {
		v.vsw, v.zone = vsws[0], s.cfg.Zones[s.vswZone[vsws[0]]].ID
	}
	if public || p.Get("EipInstanceId").String() != "" {
		v.eip = "47.100." + strconv.Itoa(v.seq/250%250) + "." + strconv.Itoa(1+v.seq%250)
	}
	s.vnodes[v.id] = v
	c.remember(token, v.id)
	if v.failReason == "" && c.e.cfg.ResidentNodes != nil {
		// The VNode is Ready when its resident node says it registered,
		// not after a fixed time.
		v.readyAt = time.Time{}
		c.e.startResident(v)
	}
	return map[string]string{"VirtualNodeId": v.id}, nil
}

type vnodeOut struct {
	VirtualNodeId              string     `json:"VirtualNodeId"`
	VirtualNodeName            string     `json:"VirtualNodeName"`
	Status                     string     `json:"Status"`
	CreationTime               string     `json:"CreationTime"`
	RegionId                   string     `json:"RegionId"`
	ZoneId                     string     `json:"ZoneId"`
	ResourceGroupId            string     `json:"ResourceGroupId"`
	VirtualNodeSecurityGroupId string     `json:"VirtualNodeSecurityGroupId"`
	VirtualNodeVSwitchId       string     `json:"VirtualNodeVSwitchId"`
	VpcId                      string     `json:"VpcId"`
	IntranetIp                 string     `json:"IntranetIp"`
	InternetIp                 string     `json:"InternetIp"`
	Tags                       []kvOut    `json:"Tags"`
	Events                     []eventOut `json:"Events"`
}

func (v *vnode) toOut(region string) vnodeOut {
	o := vnodeOut{VirtualNodeId: v.id, VirtualNodeName: v.name, Status: v.status, CreationTime: ts(v.created), RegionId: region,
		ZoneId: v.zone, ResourceGroupId: v.resourceGroup, VirtualNodeSecurityGroupId: v.sg, VirtualNodeVSwitchId: v.vsw,
		VpcId: v.vpc, IntranetIp: v.ip, InternetIp: v.eip, Tags: []kvOut{}, Events: []eventOut{}}
	for _, t := range v.tags {
		o.Tags = append(o.Tags, kvOut(t))
	}
	for _, ev := range v.events {
		o.Events = append(o.Events, eventOut{Count: ev.Count, Type: ev.Type, Name: v.id + "." + shortHash(ev.Reason, 16),
			Message: ev.Message, FirstTimestamp: ts(ev.First), LastTimestamp: ts(ev.Last), Reason: ev.Reason})
	}
	return o
}

func actDescribeVirtualNodes(c *call) (any, *apiError) {
	ids := readIDs(c, "VirtualNodeIds")
	name := c.p.Get("VirtualNodeName").String()
	status := c.rd.oneOf(c.p.Get("Status"), "Pending", "Ready", "Failed", "Cleaned")
	rg := c.p.Get("ResourceGroupId").String()
	var want []tag
	for _, it := range c.p.Get("Tag").Items() {
		want = append(want, tag{Key: it.Get("Key").String(), Value: it.Get("Value").String()})
	}
	limit := readLimit(c, 20, 20)
	if c.rd.err != nil {
		return nil, nil
	}
	var all []*vnode
	for _, v := range c.e.st.vnodes {
		if (len(ids) == 0 || contains(ids, v.id)) && (name == "" || v.name == name) && (status == "" || v.status == status) &&
			(rg == "" || v.resourceGroup == rg) && matchTags(v.tags, want) {
			all = append(all, v)
		}
	}
	sortBySeqDesc(all, func(v *vnode) int { return v.seq })
	page, next, ae := pageOf(all, func(v *vnode) int { return v.seq }, "vn", c.p.Get("NextToken").String(), limit)
	if ae != nil {
		return nil, ae
	}
	out := make([]vnodeOut, 0, len(page))
	for _, v := range page {
		out = append(out, v.toOut(c.e.cfg.Region))
	}
	return struct {
		NextToken    string     `json:"NextToken"`
		TotalCount   int        `json:"TotalCount"`
		VirtualNodes []vnodeOut `json:"VirtualNodes"`
	}{next, len(all), out}, nil
}

func (c *call) readVNode() (*vnode, *apiError) {
	id := c.p.Get("VirtualNodeId").String()
	if id == "" {
		return nil, errMissing("VirtualNodeId")
	}
	v, ok := c.e.st.vnodes[id]
	if !ok {
		return nil, errNotFound("InvalidVirtualNodeId.NotFound", "The specified virtual node %q does not exist.", id)
	}
	return v, nil
}

func actUpdateVirtualNode(c *call) (any, *apiError) {
	v, ae := c.readVNode()
	if ae != nil {
		return nil, ae
	}
	name := c.p.Get("VirtualNodeName").String()
	if name != "" && !c.e.valid.vnodeName.MatchString(name) {
		return nil, errInvalid("VirtualNodeName", "2 to 128 characters of lowercase letters, digits, periods and hyphens.")
	}
	c.checkVNodeSettings()
	var tags []tag
	if c.p.Get("Tag").Exists() {
		tags = readTags(c, c.p.Get("Tag"), 128)
	}
	checkClientToken(c, c.p.Get("ClientToken").String())
	if c.rd.err != nil {
		return nil, nil
	}
	if v.status != "Ready" {
		return nil, newErr(http.StatusForbidden, "IncorrectStatus",
			"The current status of the resource does not support this operation. %s is %s; only Ready virtual nodes can be updated.", v.id, v.status)
	}
	if name != "" {
		v.name = name
	}
	before := [3]string{v.clusterDNS, v.clusterDomain, v.customRs}
	if x := c.p.Get("ClusterDNS"); x.HasValue() {
		v.clusterDNS = x.String()
	}
	if x := c.p.Get("ClusterDomain"); x.HasValue() {
		v.clusterDomain = x.String()
	}
	if x := c.p.Get("CustomResources"); x.HasValue() {
		v.customRs = x.String()
	}
	if tags != nil {
		merged, ae := mergeTags(v.tags, tags)
		if ae != nil {
			return nil, ae
		}
		v.tags = merged
	}
	if old := v.res; old != nil && before != [3]string{v.clusterDNS, v.clusterDomain, v.customRs} {
		// The resident node reads these settings when it starts, so it is
		// restarted with the new ones. The old one is stopped once the
		// mutex is released (it may be calling the API), then the new one
		// starts; the VNode stays Ready throughout.
		v.addEvent(c.now, "Normal", "ResidentNodeRestarted", "The resident node restarts with the new cluster DNS, cluster domain and custom resources.")
		v.res = nil
		c.afterUnlock(func() {
			c.e.stopResident(old)
			c.e.mu.Lock()
			defer c.e.mu.Unlock()
			if cur := c.e.st.vnodes[v.id]; cur == v && v.res == nil && v.status == "Ready" {
				c.e.startResident(v)
			}
		})
	}
	return struct{}{}, nil
}

func actDeleteVirtualNode(c *call) (any, *apiError) {
	v, ae := c.readVNode()
	if ae != nil {
		return nil, ae
	}
	if p := c.e.st.ipam[v.vsw]; p != nil && v.ip != "" {
		p.release(v.ip)
	}
	delete(c.e.st.vnodes, v.id)
	if r := v.res; r != nil {
		// DeleteVirtualNode answers once the resident node has stopped
		// (bounded), so a caller that then removes the node's identity does
		// not race a node still using it.
		c.afterUnlock(func() { c.e.stopResident(r) })
	}
	return struct{}{}, nil
}
