package translate

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// podAnnotations keeps the parsed annotations later steps need.
type podAnnotations struct {
	customTags  []eci.Tag
	useSpecs    []string // eci-use-specs entries as given
	specSizes   []Spec   // the "<cpu>-<mem>Gi" entries among them
	gpuType     bool     // an entry is a GPU-accelerated ECS type
	customHosts []eci.HostAlias
	customDNS   *eci.DNSConfig
	extraDisk   bool // eci-extra-ephemeral-storage given

	spotStrategy string // the pod's eci-spot-strategy, else the VNode's
	podSpot      bool   // eci-spot-strategy is the pod's own
	priceLimit   bool   // the pod gave eci-spot-price-limit
	withEIP      bool
}

// annotations applies the ECI annotations over the VNode defaults. Keys are
// handled in sorted order so problems are reported in a stable order.
func (t *translator) annotations() {
	all := t.pod.Annotations
	keys := make([]string, 0, 8)
	for k := range all {
		if strings.HasPrefix(k, aliyunPrefix) || k == annIngressBandwidth || k == annEgressBandwidth {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.annotation(k, all[k], all)
	}
	t.crossCheckAnnotations(all)
}

// bad records an invalid annotation value.
func (t *translator) bad(key, value, problem string) {
	t.c.fail(annotationField(key), ReasonInvalidAnnotation, "invalid value %s: %s", strconv.Quote(value), problem)
}

// noEffect records a documented annotation this VNode cannot honour.
func (t *translator) noEffect(key, why string) {
	t.c.warn(annotationField(key), WarnNoEffect, "has no effect on this VNode: %s", why)
}

// legacyAlias handles an old key whose new spelling may also be set: they
// must agree. It reports whether the old key should be applied.
func (t *translator) legacyAlias(key, value, newKey string, all map[string]string) bool {
	other, ok := all[newKey]
	if !ok {
		return true
	}
	if other != value {
		t.c.fail(annotationField(key), ReasonInvalidAnnotation,
			"conflicts with %s (%s vs %s); remove the legacy key", newKey, strconv.Quote(value), strconv.Quote(other))
	}
	return false
}

func (t *translator) annotation(key, v string, all map[string]string) {
	r := t.req
	switch key {
	// Placement.
	case annVSwitch:
		ids, msg := parseIDList(v, "vsw-", maxVSwitches)
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		// The zone follows the pod's vSwitches, not the VNode's zone.
		r.VSwitchIDs, r.ZoneID = ids, ""
	case annScheduleStrategy:
		if msg := oneOf(v, eci.ScheduleStrategyVSwitchOrdered, eci.ScheduleStrategyVSwitchRandom); msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.ScheduleStrategy = v
	case annSecurityGroup:
		ids, msg := parseIDList(v, "sg-", 5)
		switch {
		case msg != "":
			t.bad(key, v, msg)
		case len(ids) > 1:
			t.c.fail(annotationField(key), ReasonUnsupported,
				"%d security groups given; this VNode sends one security group per instance, as the CreateContainerGroup API takes one: give a single sg- ID", len(ids))
		default:
			r.SecurityGroupID = ids[0]
		}
	case annLegacyResourceGroup:
		if msg := checkID(v, "rg-"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.ResourceGroupID = v

	// Size and hardware.
	case annUseSpecs:
		t.useSpecs(key, v)
	case annGPUDriverVersion:
		ver, ok := strings.CutPrefix(v, "tesla=")
		if !ok || !isDottedVersion(ver) {
			t.bad(key, v, "want a driver such as tesla=525.85.12")
			return
		}
		r.GPUDriverVersion = v
	case annComputeCategory:
		cats := splitList(v)
		if len(cats) == 0 {
			t.bad(key, v, "want economy, general, or both in order of preference, such as economy,general")
			return
		}
		for _, c := range cats {
			if msg := oneOf(c, "economy", "general"); msg != "" {
				t.bad(key, v, msg+" (one or more, comma-separated, in order of preference)")
				return
			}
		}
		r.ComputeCategory = cats
	case annInstanceFamily, annInstanceGeneration:
		t.noEffect(key, "CreateContainerGroup has no parameter to filter instance families; name ECS instance types in "+annUseSpecs+" instead")
	case annLegacyCPUCore:
		if n, msg := parseInt(v, 1, -1, "physical cores"); msg != "" {
			t.bad(key, v, msg)
		} else {
			r.CPUOptionsCore = int32(min(n, math.MaxInt32))
		}
	case annLegacyCPUThreads:
		if n, msg := parseInt(v, 1, 2, "threads per core"); msg != "" {
			t.bad(key, v, msg)
		} else {
			r.CPUOptionsThreadsPerCore = int32(n)
		}
	case annExtraStorage:
		gib, msg := parseGiB(v)
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.EphemeralStorage = int32(gib)
		t.ann.extraDisk = true
	case annStorageOptions, annEvictionEnable:
		t.noEffect(key, "CreateContainerGroup has no parameter for it")

	// Preemptible instances.
	case annSpotStrategy:
		if msg := oneOf(v, eci.SpotStrategySpotWithPriceLimit, eci.SpotStrategySpotAsPriceGo, eci.SpotStrategyNoSpot); msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.SpotStrategy = v
		t.ann.spotStrategy = v
		t.ann.podSpot = true
	case annSpotPriceLimit:
		p, msg := parsePrice(v)
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.SpotPriceLimit = p
		t.ann.priceLimit = true
	case annSpotDuration:
		n, msg := parseInt(v, 0, -1, "hours")
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.SpotDuration = eci.Ptr(n)
	case annSpotFallback:
		b, msg := parseBool(v)
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.opts.SpotFallback = b
	case annPrivatePoolMatch:
		if msg := oneOf(v, "Open", "Target"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.noEffect(key, "CreateContainerGroup has no parameter for elasticity-assurance private pools")
	case annPrivatePoolID:
		t.noEffect(key, "CreateContainerGroup has no parameter for elasticity-assurance private pools")

	// Runtime behaviour.
	case annFailStrategy:
		if msg := oneOf(v, string(FailBack), string(FailOver), string(FailFast)); msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.opts.FailStrategy = FailStrategy(v)
	case annLegacyFailOnCreate:
		b, msg := parseBool(v)
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		if _, newer := all[annFailStrategy]; b && !newer {
			t.opts.FailStrategy = FailFast
		}
	case annLegacyReschedule:
		if _, msg := parseBool(v); msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.noEffect(key, "it is a retired ECI setting; use "+annFailStrategy+" to choose between retrying (fail-back) and failing the pod (fail-fast)")
	case annMaxPendingMinute:
		n, msg := parseInt(v, 10, 1440, "minutes")
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.MaxPendingMinute = int32(n)

	// Identity, DNS and hosts.
	case annCustomTags:
		t.customTags(key, v)
	case annCustomHosts:
		t.customHosts(key, v)
	case annCustomDNSConfig:
		t.customDNS(key, v)
	case annRAMRoleName:
		if !isRAMRoleName(v) {
			t.bad(key, v, "want a RAM role name of 1 to 64 letters, digits, periods, hyphens and underscores")
			return
		}
		r.RAMRoleName = v
	case annNTPServer:
		servers := splitList(v)
		if len(servers) == 0 || slices.ContainsFunc(servers, func(s string) bool { return strings.ContainsAny(s, " \t/") }) {
			t.bad(key, v, "want one or more NTP server addresses separated by commas")
			return
		}
		r.NTPServers = servers
	case annCorePattern:
		if !strings.HasPrefix(v, "/") {
			t.bad(key, v, "want an absolute path such as /pod/data/dump/core")
			return
		}
		r.CorePattern = v
	case annSLSEnable:
		if _, msg := parseBool(v); msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.noEffect(key, "SLS log collection is not configured by this VNode (the current CreateContainerGroup API has no SlsEnable parameter)")

	// Images.
	case annAutoIMC:
		t.setBool(key, v, &r.AutoMatchImageCache)
	case annLegacyImageCache:
		if t.legacyAlias(key, v, annAutoIMC, all) {
			t.setBool(key, v, &r.AutoMatchImageCache)
		}
	case annIMCID:
		t.imageCacheID(key, v)
	case annLegacyImageSnapshot:
		if t.legacyAlias(key, v, annIMCID, all) {
			t.imageCacheID(key, v)
		}
	case annIMCPerfectMatch:
		if _, msg := parseBool(v); msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.noEffect(key, "CreateContainerGroup has no parameter for it; name the cache with "+annIMCID+" for an exact choice")
	case annIMCMatchCount:
		if _, msg := parseInt(v, 1, -1, "images"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.noEffect(key, "CreateContainerGroup has no parameter for it; name the cache with "+annIMCID+" for an exact choice")
	case annACRInstanceIDs:
		t.acrInstances(key, v, all)
	case annLegacyACRInstance:
		if t.legacyAlias(key, v, annACRInstanceIDs, all) {
			t.acrInstances(key, v, all)
		}
	case annACRServiceARNs, annACRUserARNs:
		// Applied with the instance IDs; checked in crossCheckAnnotations.
	case annPlainHTTPRegistry:
		t.registryList(key, v, &r.PlainHTTPRegistries)
	case annInsecureRegistry:
		t.registryList(key, v, &r.InsecureRegistries)

	// Data caches.
	case annDataCacheBucket:
		if strings.TrimSpace(v) == "" {
			t.bad(key, v, "want a bucket name such as default")
			return
		}
		r.DataCacheBucket = v
	case annDataCachePL:
		if msg := oneOf(v, "PL0", "PL1", "PL2", "PL3"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.DataCachePL = v
	case annDataCacheIOPS:
		n, msg := parseInt(v, 0, -1, "IOPS")
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.DataCacheProvisionedIOPS = n
	case annDataCacheBursting:
		t.setBool(key, v, &r.DataCacheBurstingEnabled)

	// Public and private addresses.
	case annEIPInstanceID:
		if msg := checkID(v, "eip-"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.EIPInstanceID = v
	case annWithEIP:
		t.setBool(key, v, &r.AutoCreateEIP)
		t.ann.withEIP = r.AutoCreateEIP != nil && *r.AutoCreateEIP
	case annEIPBandwidth:
		n, msg := parseInt(v, 1, -1, "Mbit/s")
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.EIPBandwidth = int32(min(n, math.MaxInt32))
	case annEIPCommonBandwidth:
		if msg := checkID(v, "cbwp-"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.EIPCommonBandwidthPackage = v
	case annEIPISP:
		if msg := oneOf(v, "BGP", "BGP_PRO"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.EIPISP = v
	case annEIPChargeType:
		if msg := oneOf(v, "PayByBandwidth", "PayByTraffic"); msg != "" {
			t.bad(key, v, msg)
			return
		}
		t.noEffect(key, "CreateContainerGroup has no parameter for the EIP billing method; ECI creates the EIP with its default")
	case annEIPPoolID:
		t.noEffect(key, "CreateContainerGroup has no parameter for an IP address pool")
	case annEnableIPv6:
		b, msg := parseBool(v)
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		if b {
			r.IPv6AddressCount = 1
		}
	case annIPv6BandwidthOn:
		t.setBool(key, v, &r.IPv6GatewayBandwidthEnable)
	case annIPv6Bandwidth:
		n, msg := parseMbit(v)
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.IPv6GatewayBandwidth = strconv.FormatInt(n, 10)
	case annPrivateIP:
		if !isIPv4(v) {
			t.bad(key, v, "want an IPv4 address such as 172.16.0.1")
			return
		}
		r.PrivateIPAddress = v
	case annFixedIP:
		t.setBool(key, v, &r.FixedIP)
	case annFixedIPRetainHour:
		n, msg := parseInt(v, 1, -1, "hours")
		if msg != "" {
			t.bad(key, v, msg)
			return
		}
		r.FixedIPRetainHour = eci.Ptr(int32(min(n, math.MaxInt32)))
	case annIngressBandwidth:
		if n, msg := parseBandwidth(v); msg != "" {
			t.bad(key, v, msg)
		} else {
			r.IngressBandwidth = n
		}
	case annEgressBandwidth:
		if n, msg := parseBandwidth(v); msg != "" {
			t.bad(key, v, msg)
		} else {
			r.EgressBandwidth = n
		}

	default:
		if looksLikeECIAnnotation(key) && !isOutputAnnotation(key) {
			t.c.warn(annotationField(key), WarnNoEffect,
				"is not an ECI annotation this VNode knows, so it has no effect; check its spelling against the ECI pod annotation list")
		}
	}
}

func (t *translator) setBool(key, v string, dst **bool) {
	b, msg := parseBool(v)
	if msg != "" {
		t.bad(key, v, msg)
		return
	}
	*dst = eci.Ptr(b)
}

func (t *translator) imageCacheID(key, v string) {
	if msg := checkID(v, "imc-"); msg != "" {
		t.bad(key, v, msg)
		return
	}
	t.req.ImageSnapshotID = v
}

func (t *translator) registryList(key, v string, dst *[]string) {
	regs := splitList(v)
	if len(regs) == 0 || slices.ContainsFunc(regs, func(s string) bool { return strings.ContainsAny(s, " \t/") }) {
		t.bad(key, v, "want registry addresses (host or host:port) separated by commas, such as harbor.example.com,192.168.1.2:5000")
		return
	}
	*dst = regs
}
