package profile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ValidateECIAnnotation checks the value of a known ECI pod annotation (k8s.aliyun.com/eci-*,
// …; listed at https://www.alibabacloud.com/help/en/eci/user-guide/pod-annotations-1) whose
// format is simple enough to check here: booleans, whole numbers with their documented
// ranges, and fixed choices.
// Unknown keys and free-form values (IDs, specs, JSON) pass: ECI itself is the judge.
// It is exported so that the webhook can hold pods' own annotations to the same rules.
func ValidateECIAnnotation(key, value string) error {
	name, ok := strings.CutPrefix(key, "k8s.aliyun.com/")
	if !ok {
		return nil
	}
	var problem string
	switch name {
	case "eci-spot-fallback", "eci-auto-imc", "imc-perfect-match", "eci-with-eip",
		"eci-enable-ipv6", "eci-ipv6-bandwidth-enable", "eci-fixed-ip", "eci-eviction-enable",
		"eci-sls-enable", "eci-data-cache-burstingEnabled", "eci-image-cache",
		"eci-reschedule-enable", "pod-fail-on-create-err":
		problem = checkBool(value)
	case "eci-max-pending-minute":
		problem = checkInt(value, 10, 1440)
	case "eci-spot-duration", "eci-fixed-ip-retain-hour", "eci-data-cache-provisionedIops":
		problem = checkInt(value, 0, -1)
	case "eip-bandwidth", "imc-match-count-request", "eci-cpu-option-core", "eci-cpu-option-ht":
		problem = checkInt(value, 1, -1)
	case "eci-spot-price-limit":
		problem = checkPrice(value)
	case "eci-schedule-strategy":
		problem = checkOneOf(value, "VSwitchOrdered", "VSwitchRandom")
	case "eci-spot-strategy":
		problem = checkOneOf(value, "SpotWithPriceLimit", "SpotAsPriceGo")
	case "eci-fail-strategy":
		problem = checkOneOf(value, "fail-back", "fail-over", "fail-fast")
	case "eci-privatepool-matchcriteria":
		problem = checkOneOf(value, "Open", "Target")
	case "eip-isp":
		problem = checkOneOf(value, "BGP", "BGP_PRO")
	case "eip-internet-charge-type":
		problem = checkOneOf(value, "PayByBandwidth", "PayByTraffic")
	case "eci-compute-category":
		for c := range strings.SplitSeq(value, ",") {
			if problem = checkOneOf(strings.TrimSpace(c), "economy", "general"); problem != "" {
				problem += " (one or more, comma-separated, in order of preference)"
				break
			}
		}
	case "eci-custom-tags":
		problem = checkCustomTags(value)
	}
	if problem != "" {
		return fmt.Errorf("%q is not a valid value: %s", value, problem)
	}
	return nil
}

func checkBool(v string) string {
	if v == "true" || v == "false" {
		return ""
	}
	return `use "true" or "false"`
}

// checkInt wants a whole number in [lo, hi]; hi < 0 means no upper bound.
func checkInt(v string, lo, hi int64) string {
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil && n >= lo && (hi < 0 || n <= hi) {
		return ""
	}
	if hi < 0 {
		return fmt.Sprintf("want a whole number of at least %d", lo)
	}
	return fmt.Sprintf("want a whole number from %d to %d", lo, hi)
}

// checkPrice wants a positive hourly price with at most three decimals (ECI's rule).
func checkPrice(v string) string {
	f, err := strconv.ParseFloat(v, 64)
	whole, frac, _ := strings.Cut(v, ".")
	if err != nil || f <= 0 || len(frac) > 3 || strings.ContainsAny(v, "eE+-") || whole == "" {
		return "want a positive price per hour with at most 3 decimals, such as 0.5"
	}
	return ""
}

func checkOneOf(v string, choices ...string) string {
	if slices.Contains(choices, v) {
		return ""
	}
	return "use " + strings.Join(choices, ", ")
}

// checkCustomTags: ECI takes at most 3 tags from the annotation, as key:value pairs
// separated by commas.
func checkCustomTags(v string) string {
	pairs := strings.Split(v, ",")
	if len(pairs) > 3 {
		return fmt.Sprintf("ECI takes at most 3 tags here, got %d", len(pairs))
	}
	for _, p := range pairs {
		if k, _, ok := strings.Cut(p, ":"); !ok || strings.TrimSpace(k) == "" {
			return fmt.Sprintf("want key:value pairs separated by commas, such as env:test,team:web; %q is not one", p)
		}
	}
	return ""
}
