package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// commonParams are the protocol parameters excluded from a ClientToken
// fingerprint: a retry re-signs with a new nonce and timestamp.
func isCommonParam(k string) bool {
	switch k {
	case "Action", "Version", "Format", "Timestamp", "SignatureMethod", "SignatureVersion", "SignatureType",
		"SignatureNonce", "Signature", "AccessKeyId", "SecurityToken", "BearerToken", "VkClientVersion":
		return true
	}
	return false
}

// fingerprint hashes the business parameters of a request.
func (c *call) fingerprint() string {
	keys := make([]string, 0, len(c.params.flat))
	for k := range c.params.flat {
		if !isCommonParam(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, c.params.flat[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// idempotent looks up a ClientToken. It returns the earlier resource ID,
// or IdempotentParameterMismatch when the token was used with different
// parameters.
func (c *call) idempotent(token string) (string, *apiError) {
	if token == "" {
		return "", nil
	}
	te, ok := c.e.st.tokens[c.action+"/"+token]
	if !ok {
		return "", nil
	}
	if te.fingerprint != c.fingerprint() {
		return "", newErr(http.StatusBadRequest, "IdempotentParameterMismatch",
			"The request uses the same client token as a previous, but non-identical request.")
	}
	return te.id, nil
}

func (c *call) remember(token, id string) {
	if token != "" {
		c.e.st.tokens[c.action+"/"+token] = tokenEntry{id: id, fingerprint: c.fingerprint()}
	}
}

// resolveNetwork validates SecurityGroupId, VSwitchId (comma list) and
// ZoneId and returns the candidate vSwitches in request order.
func (c *call) resolveNetwork(sg, vswList, zoneID string) (string, []string, *apiError) {
	s := c.e.st
	if sg == "" {
		sg = c.e.cfg.SecurityGroups[0]
	} else if !s.sgs[sg] {
		return "", nil, newErr(http.StatusBadRequest, "InvalidSecurityGroupId.NotFound", "The specified security group %q does not exist.", sg)
	}
	zi := -1
	if zoneID != "" {
		if zi = s.zoneIndex(zoneID); zi < 0 {
			return "", nil, newErr(http.StatusBadRequest, "InvalidZoneId.NotFound", "The specified zone %q does not exist in %s.", zoneID, c.e.cfg.Region)
		}
	}
	var vsws []string
	seen := map[string]bool{}
	for _, raw := range strings.Split(vswList, ",") {
		v := strings.TrimSpace(raw)
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		vz, ok := s.vswZone[v]
		if !ok {
			return "", nil, newErr(http.StatusBadRequest, "InvalidVSwitchId.NotFound", "The specified vSwitch %q does not exist.", v)
		}
		if zi >= 0 && vz != zi {
			return "", nil, errInvalid("VSwitchId", "vSwitch %s is in zone %s, not in the requested ZoneId %s.", v, c.e.cfg.Zones[vz].ID, zoneID)
		}
		vsws = append(vsws, v)
	}
	if len(vsws) > maxVSwitches {
		return "", nil, errInvalid("VSwitchId", "At most %d vSwitches can be specified.", maxVSwitches)
	}
	if len(vsws) == 0 {
		// Default vSwitches: those of the requested zone, else every zone's.
		for i, z := range c.e.cfg.Zones {
			if zi < 0 || i == zi {
				vsws = append(vsws, z.VSwitchIDs...)
			}
		}
	}
	return sg, vsws, nil
}

// placement is where an instance lands.
type placement struct {
	zone, vsw, ip string
	cand          candidate
	stockKey      string
}

// place tries the vSwitches (in order, or shuffled for VSwitchRandom) and
// for each the sizing candidates in order; the first with stock and a
// free IP wins. With none it reports why (NoStock or StockClose).
func (s *state) place(vsws []string, cands []candidate, random bool) (placement, string, string) {
	order := append([]string(nil), vsws...)
	if random {
		s.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	reason, open := "StockClose", false
	for _, v := range order {
		zi := s.vswZone[v]
		if s.zoneClosed[zi] {
			continue
		}
		open = true
		for _, cd := range cands {
			key, ok := s.takeStock(zi, cd.key)
			if !ok {
				continue
			}
			ip, ok := s.ipam[v].alloc()
			if !ok {
				s.returnStock(s.cfg.Zones[zi].ID, key)
				continue
			}
			return placement{zone: s.cfg.Zones[zi].ID, vsw: v, ip: ip, cand: cd, stockKey: key}, "", ""
		}
	}
	if open {
		reason = "NoStock"
	}
	names := make([]string, len(cands))
	for i, cd := range cands {
		names[i] = cd.String()
	}
	if reason == "NoStock" {
		return placement{}, reason, "Create ECI failed because the specified instance is out of stock. " + strings.Join(names, ", ")
	}
	return placement{}, reason, "Create ECI failed because current zone closed or limited without living instance."
}

func actCreateContainerGroup(c *call) (any, *apiError) {
	p := c.p
	name := p.Get("ContainerGroupName").String()
	if name == "" {
		return nil, errMissing("ContainerGroupName")
	}
	if !c.e.valid.groupName.MatchString(name) {
		return nil, errInvalid("ContainerGroupName", "The name must be 2 to 128 characters of lowercase letters, digits and hyphens, and cannot start or end with a hyphen.")
	}
	gs := groupSpec{RestartPolicy: "Always"}
	gs.Volumes = readVolumes(c, p.Get("Volume"))
	if c.rd.err != nil {
		return nil, nil
	}
	gs.Containers, gs.InitContainers = readContainers(c, gs.Volumes, true)
	if c.rd.err != nil {
		return nil, nil
	}
	readPodLevel(c, &gs)
	tags := readTags(c, p.Get("Tag"), 64)
	token := p.Get("ClientToken").String()
	checkClientToken(c, token)

	gs.DNSPolicy = c.rd.oneOf(p.Get("DnsPolicy"), "None", "Default")
	for _, s := range p.Get("SecurityContext").Get("Sysctl").Items() {
		gs.Sysctls = append(gs.Sysctls, tag{Key: s.Get("Name").String(), Value: s.Get("Value").String()})
	}
	for _, h := range p.Get("HostAliase").Items() {
		gs.HostAliases = append(gs.HostAliases, hostAlias{IP: h.Get("Ip").String(), Hostnames: h.Get("Hostname").Strings()})
	}
	gs.RAMRoleName = p.Get("RamRoleName").String()
	gs.HostName = p.Get("HostName").String()
	gs.EphemeralStorage = int(c.rd.int(p.Get("EphemeralStorage"), 0))
	gs.SpotStrategy = c.rd.oneOf(p.Get("SpotStrategy"), "NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo")
	gs.SpotPriceLimit = c.rd.float(p.Get("SpotPriceLimit"), 0)
	gs.TerminationGrace = seconds(c.rd.int(p.Get("TerminationGracePeriodSeconds"), 30))
	gs.ActiveDeadline = seconds(c.rd.int(p.Get("ActiveDeadlineSeconds"), 0))
	maxPending := c.rd.int(p.Get("MaxPendingMinute"), 0)
	gs.MaxPending = seconds(maxPending * 60)
	gs.AutoMatchImageCache = c.rd.bool(p.Get("AutoMatchImageCache"), false)
	gs.ImageSnapshotID = p.Get("ImageSnapshotId").String()
	gs.Ipv6 = c.rd.int(p.Get("Ipv6AddressCount"), 0) > 0
	gs.AutoCreateEip = c.rd.bool(p.Get("AutoCreateEip"), false)
	gs.EipInstanceID = p.Get("EipInstanceId").String()
	scheduleStrategy := c.rd.oneOf(p.Get("ScheduleStrategy"), "VSwitchOrdered", "VSwitchRandom")
	c.rd.oneOf(p.Get("OsType"), "Linux", "Windows")
	arch := c.rd.oneOf(p.Get("CpuArchitecture"), "AMD64", "ARM64")
	c.rd.oneOf(p.Get("EipISP"), "BGP", "BGP_PRO")
	c.rd.oneOf(p.Get("ImageAccelerateMode"), "nydus", "dadi", "p2p", "imc")
	c.rd.bool(p.Get("DryRun"), false)
	for _, k := range []string{"ContainerResourceView", "ShareProcessNamespace", "StrictSpot", "Ipv6GatewayBandwidthEnable", "DataCacheBurstingEnabled"} {
		c.rd.bool(p.Get(k), false)
	}
	for _, k := range []string{"EipBandwidth", "SpotDuration", "EgressBandwidth", "IngressBandwidth", "FixedIpRetainHour", "CpuOptionsCore", "CpuOptionsThreadsPerCore", "DataCacheProvisionedIops"} {
		if c.rd.int(p.Get(k), 0) < 0 {
			c.rd.fail(errInvalid(k, "It cannot be negative."))
		}
	}
	var categories []string
	for _, it := range p.Get("ComputeCategory").Items() {
		categories = append(categories, c.rd.oneOf(it, "economy", "general"))
	}
	instCPU := c.rd.float(p.Get("Cpu"), 0)
	instMem := c.rd.float(p.Get("Memory"), 0)
	if c.rd.err != nil {
		return nil, nil
	}
	switch {
	case instCPU < 0 || instMem < 0:
		return nil, errInvalid("Cpu", "Cpu and Memory cannot be negative.")
	case gs.EphemeralStorage < 0:
		return nil, errInvalid("EphemeralStorage", "It cannot be negative.")
	case gs.TerminationGrace < 0:
		return nil, errInvalid("TerminationGracePeriodSeconds", "It cannot be negative.")
	case gs.ActiveDeadline < 0:
		return nil, errInvalid("ActiveDeadlineSeconds", "It must be positive.")
	case p.Get("MaxPendingMinute").HasValue() && (maxPending < 10 || maxPending > 1440):
		return nil, errInvalid("MaxPendingMinute", "Valid values: 10 to 1440.")
	case gs.SpotStrategy == "SpotWithPriceLimit" && gs.SpotPriceLimit <= 0:
		return nil, errMissing("SpotPriceLimit")
	case len(categories) > 0 && categories[0] == "economy" && gs.SpotStrategy != "" && gs.SpotStrategy != "NoSpot",
		len(categories) > 0 && categories[0] == "economy" && arch == "ARM64":
		return nil, newErr(http.StatusBadRequest, "FeatureBasedConstraintConflict",
			"The economy compute category cannot be combined with preemptible instances or ARM64.")
	}

	if id, ae := c.idempotent(token); ae != nil || id != "" {
		if ae != nil {
			return nil, ae
		}
		return map[string]string{"ContainerGroupId": id}, nil
	}

	sg, vsws, ae := c.resolveNetwork(p.Get("SecurityGroupId").String(), p.Get("VSwitchId").String(), p.Get("ZoneId").String())
	if ae != nil {
		return nil, ae
	}
	sumCPU, sumMem := effectiveResources(gs.Containers, gs.InitContainers)
	cands, ae := c.e.sizingCandidates(p.Get("InstanceType").String(), max(instCPU, sumCPU), max(instMem, sumMem))
	if ae != nil {
		return nil, ae
	}
	category := ""
	if len(categories) > 0 && p.Get("InstanceType").String() == "" {
		category = categories[0]
		if category == "economy" && cands[0].cpu > 8 {
			return nil, errInvalid("ComputeCategory", "The economy compute category supports 0.25 to 8 vCPUs.")
		}
	}
	if maxCPU := c.e.cfg.Quotas.MaxCPU; maxCPU > 0 {
		if used := c.e.st.usedCPU(); used+cands[0].cpu > maxCPU {
			return nil, errQuota(used, cands[0].cpu, maxCPU)
		}
	}
	if c.rd.bool(p.Get("DryRun"), false) {
		return nil, newErr(http.StatusBadRequest, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
	}

	s := c.e.st
	g := &group{
		id: s.newID("eci-"), name: name, sgID: sg, vpcID: c.e.cfg.VpcID, spec: gs, tags: tags,
		status: stScheduling, created: c.now, lastChange: c.now, computeCategory: category,
		phaseUntil: c.now.Add(c.e.cfg.Lifecycle.Scheduling),
	}
	s.seq++
	g.seq = s.seq
	pl, failReason, failMsg := s.place(vsws, cands, scheduleStrategy != "VSwitchOrdered")
	if failReason != "" {
		// Creation is accepted; the instance fails to schedule, reported
		// as a ScheduleFailed status with a NoStock/StockClose event.
		g.schedFail, g.schedMsg = failReason, failMsg
		g.cpu, g.mem, g.instanceType = cands[0].cpu, cands[0].mem, cands[0].instanceType
		g.vswID = vsws[0]
		g.zoneID = c.e.cfg.Zones[s.vswZone[vsws[0]]].ID
	} else {
		g.zoneID, g.vswID, g.ip = pl.zone, pl.vsw, pl.ip
		g.cpu, g.mem, g.instanceType = pl.cand.cpu, pl.cand.mem, pl.cand.instanceType
		g.stockZone, g.stockKey = pl.zone, pl.stockKey
		if gs.AutoCreateEip || gs.EipInstanceID != "" {
			g.eip = fmt.Sprintf("47.%d.%d.%d", 96+s.rng.IntN(32), s.rng.IntN(256), 1+s.rng.IntN(254))
		}
		if gs.Ipv6 {
			g.ipv6 = fmt.Sprintf("2408:4005:3ac:%x::%x", s.seq>>16, s.seq&0xffff)
		}
	}
	for _, cs := range gs.InitContainers {
		g.inits = append(g.inits, newCtr(&c.e.cfg, cs, true, "PodInitializing"))
	}
	for _, cs := range gs.Containers {
		reason := "ContainerCreating"
		if len(gs.InitContainers) > 0 {
			reason = "PodInitializing"
		}
		g.containers = append(g.containers, newCtr(&c.e.cfg, cs, false, reason))
	}
	g.refreshConditions(c.now)
	s.groups[g.id] = g
	c.remember(token, g.id)
	return map[string]string{"ContainerGroupId": g.id}, nil
}
