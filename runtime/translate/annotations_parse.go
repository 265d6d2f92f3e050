package translate

import (
	"encoding/json"
	"math"
	"net"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// Parsers for annotation values. Each returns the value and, when the input
// is not acceptable, a problem phrased as what is wanted ("want ..."), which
// the caller prefixes with the offending value.

func parseBool(v string) (bool, string) {
	switch v {
	case "true":
		return true, ""
	case "false":
		return false, ""
	}
	return false, `want "true" or "false"`
}

// parseInt wants a whole number in [lo, hi]; hi < 0 means no upper bound.
func parseInt(v string, lo, hi int64, unit string) (int64, string) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err == nil && n >= lo && (hi < 0 || n <= hi) {
		return n, ""
	}
	if unit != "" {
		unit = " (" + unit + ")"
	}
	if hi < 0 {
		return 0, "want a whole number of at least " + strconv.FormatInt(lo, 10) + unit
	}
	return 0, "want a whole number from " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10) + unit
}

// parsePrice wants a positive decimal with at most three decimals, ECI's
// rule for SpotPriceLimit (internal/eci, shared with the VNode's default).
func parsePrice(v string) (float64, string) {
	if f, ok := eci.ParseSpotPriceLimit(v); ok {
		return f, ""
	}
	return 0, eci.SpotPriceLimitRule
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func oneOf(v string, choices ...string) string {
	for _, c := range choices {
		if v == c {
			return ""
		}
	}
	return "want one of " + strings.Join(choices, ", ")
}

// splitList splits a comma-separated list, trimming blanks and dropping
// empty items.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// parseIDList wants one or more comma-separated resource IDs with a prefix
// (vsw-, cri-, ...), at most max of them (max <= 0: no limit).
func parseIDList(v, prefix string, max int) ([]string, string) {
	ids := splitList(v)
	if len(ids) == 0 {
		return nil, "want one or more " + prefix + "... IDs separated by commas"
	}
	if max > 0 && len(ids) > max {
		return nil, "ECI accepts at most " + strconv.Itoa(max) + ", got " + strconv.Itoa(len(ids))
	}
	for _, id := range ids {
		if msg := checkID(id, prefix); msg != "" {
			return nil, msg
		}
	}
	return ids, ""
}

// checkID wants one resource ID such as "vsw-bp1abc".
func checkID(id, prefix string) string {
	if !strings.HasPrefix(id, prefix) || len(id) == len(prefix) || strings.ContainsAny(id, " \t,;") {
		return "want an ID of the form " + prefix + "..., got " + strconv.Quote(id)
	}
	return ""
}

// parseBandwidth reads a Kubernetes bandwidth quantity ("10M" = 10 Mbit/s)
// into bit/s, within the bounds the kubelet's bandwidth shaping accepts.
func parseBandwidth(v string) (int64, string) {
	const want = "want a bandwidth in bit/s from 1k to 1P, such as 10M"
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return 0, want
	}
	if q.Cmp(resource.MustParse("1k")) < 0 || q.Cmp(resource.MustParse("1P")) > 0 {
		return 0, want
	}
	return q.Value(), ""
}

// parseMbit reads an IPv6 bandwidth: a bare whole number is Mbit/s (the
// API's unit); a quantity with a suffix is bit/s ("100M") and must be a
// whole number of Mbit/s.
func parseMbit(v string) (int64, string) {
	const want = "want a whole number of Mbit/s such as 100, or a quantity such as 100M"
	if allDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, want
		}
		return n, ""
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return 0, want
	}
	bits := q.Value()
	if bits < 1_000_000 || bits%1_000_000 != 0 {
		return 0, want
	}
	return bits / 1_000_000, ""
}

// parseGiB reads a storage size: a bare whole number is GiB (the API's
// unit); a quantity ("50Gi") is rounded up to whole GiB.
func parseGiB(v string) (int64, string) {
	const want = "want a size such as 50Gi (or a whole number of GiB)"
	if allDigits(v) {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return 0, want
		}
		return n, ""
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() <= 0 {
		return 0, want
	}
	gib := ceilDiv(q.Value(), 1<<30)
	if gib > math.MaxInt32 {
		return 0, want
	}
	return gib, ""
}

func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

func isIPv4(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.To4() != nil && !strings.Contains(s, ":")
}

// stringOrList decodes a JSON value that is either a comma-separated string
// or a list of strings (the ECI docs show the former; people write both).
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = splitList(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = nil
	for _, m := range many {
		*s = append(*s, splitList(m)...)
	}
	return nil
}
