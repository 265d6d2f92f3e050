package eci

import (
	"math"
	"strconv"
	"strings"
)

// SpotPriceLimitRule is how ParseSpotPriceLimit's refusals read.
const SpotPriceLimitRule = "want a positive price per hour with at most 3 decimals, such as 0.5"

// ParseSpotPriceLimit reads a SpotPriceLimit written as a decimal: positive,
// with at most three decimals, the precision CreateContainerGroup takes for
// it. It is the one rule for the pod annotation k8s.aliyun.com/eci-spot-price-limit
// and a VNode's default price limit. ok is false for anything else.
func ParseSpotPriceLimit(v string) (price float64, ok bool) {
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || len(frac) > 3 || !allDigits(whole) || (frac != "" && !allDigits(frac)) {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// SpotStrategies are the values of SpotStrategy.
var SpotStrategies = []string{SpotStrategySpotAsPriceGo, SpotStrategySpotWithPriceLimit, SpotStrategyNoSpot}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
