package translate

import "github.com/eci-vnode/terraform-provider-eci/internal/eci"

// crossCheckAnnotations enforces the rules between annotations.
func (t *translator) crossCheckAnnotations(all map[string]string) {
	r := t.req
	_, hasPrice := all[annSpotPriceLimit]
	if t.ann.podSpot && !hasPrice {
		// The pod's strategy replaces the VNode's spot settings as a whole:
		// the VNode's price limit is not carried over to it.
		r.SpotPriceLimit = 0
	}
	switch {
	case t.ann.podSpot && t.ann.spotStrategy == eci.SpotStrategySpotWithPriceLimit && !hasPrice:
		t.c.fail(annotationField(annSpotStrategy), ReasonInvalidAnnotation,
			"SpotWithPriceLimit needs %s, the highest hourly price to pay (such as 0.5); set it, or use SpotAsPriceGo", annSpotPriceLimit)
	case t.ann.priceLimit && t.ann.spotStrategy != eci.SpotStrategySpotWithPriceLimit:
		t.c.fail(annotationField(annSpotPriceLimit), ReasonInvalidAnnotation,
			"only applies with %s: SpotWithPriceLimit; set that, or remove this annotation", annSpotStrategy)
	}
	spot := t.ann.spotStrategy == eci.SpotStrategySpotWithPriceLimit || t.ann.spotStrategy == eci.SpotStrategySpotAsPriceGo
	if _, ok := all[annSpotDuration]; ok && !spot {
		t.noEffect(annSpotDuration, "it only applies to spot instances; set "+annSpotStrategy)
	}
	if t.opts.SpotFallback && !spot {
		t.noEffect(annSpotFallback, "it only applies to spot instances; set "+annSpotStrategy)
	}
	if t.ann.withEIP && r.EIPInstanceID != "" {
		t.c.fail(annotationField(annWithEIP), ReasonInvalidAnnotation,
			"conflicts with %s: either bind an existing EIP or create one, not both", annEIPInstanceID)
	}
	for _, k := range [...]string{annEIPBandwidth, annEIPISP} {
		if _, ok := all[k]; ok && !t.ann.withEIP {
			t.noEffect(k, "it only applies to an EIP ECI creates; set "+annWithEIP+`: "true"`)
		}
	}
	if _, ok := all[annFixedIPRetainHour]; ok && (r.FixedIP == nil || !*r.FixedIP) {
		t.noEffect(annFixedIPRetainHour, "it only applies with "+annFixedIP+`: "true"`)
	}
	for _, k := range [...]string{annIPv6BandwidthOn, annIPv6Bandwidth} {
		if _, ok := all[k]; ok && r.IPv6AddressCount == 0 {
			t.noEffect(k, "it only applies with "+annEnableIPv6+`: "true"`)
		}
	}
	if _, ok := all[annIPv6Bandwidth]; ok && r.IPv6AddressCount > 0 && (r.IPv6GatewayBandwidthEnable == nil || !*r.IPv6GatewayBandwidthEnable) {
		t.noEffect(annIPv6Bandwidth, "it only applies with "+annIPv6BandwidthOn+`: "true"`)
	}
	if r.DataCacheBucket == "" {
		for _, k := range [...]string{annDataCachePL, annDataCacheIOPS, annDataCacheBursting} {
			if _, ok := all[k]; ok {
				t.noEffect(k, "data cache settings need "+annDataCacheBucket)
			}
		}
	}
	_, hasIDs := all[annACRInstanceIDs]
	_, hasLegacyID := all[annLegacyACRInstance]
	for _, k := range [...]string{annACRServiceARNs, annACRUserARNs} {
		if _, ok := all[k]; ok && !hasIDs && !hasLegacyID {
			t.c.fail(annotationField(k), ReasonInvalidAnnotation,
				"needs %s, the ACR Enterprise Edition instances the role gives access to", annACRInstanceIDs)
		}
	}
}
