package install

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// The rules of a VNode's taints and spot defaults live here, once: ValidateVNode
// applies them to the settings the provider plans, and `eci-vnode node` and
// `eci-vnode render` to their flags (runtime/cmd/eci-vnode), so a value the
// provider accepts is one the runtime starts with.

// Taint is one taint of a VNode's Node: Effect is NoSchedule, PreferNoSchedule or
// NoExecute, the effects a Node taint may have (Kubernetes API, core/v1 Taint).
type Taint struct{ Key, Value, Effect string }

func (t Taint) String() string {
	if t.Value == "" {
		return t.Key + ":" + t.Effect
	}
	return t.Key + "=" + t.Value + ":" + t.Effect
}

// DefaultVNodeTaints is the VNode taint, k8s.aliyun.com/vnode=true:NoSchedule: the
// taints of a VNode whose runtime has no --node-taints (docs/design.md, "Names").
func DefaultVNodeTaints() []Taint {
	return []Taint{{Key: profile.VNodeTaintKey, Value: profile.VNodeTaintValue, Effect: profile.VNodeTaintEffect}}
}

// TaintEffects are the effects a taint may have.
var TaintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}

// TaintSyntax is the form of one taint in --node-taints, for messages.
const TaintSyntax = "key[=value]:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute, comma-separated"

// FormatTaints is the value of --node-taints: key[=value]:Effect, comma-separated, in
// the order given. An empty list is the empty string, which the runtime reads as "no
// taints".
func FormatTaints(ts []Taint) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ",")
}

// ParseTaints reads a --node-taints value (FormatTaints' syntax; spaces around items
// are ignored) and checks it with CheckTaints. The empty string is no taints: an
// empty, non-nil list. The error names every bad item and the accepted form.
func ParseTaints(s string) ([]Taint, error) {
	ts := []Taint{}
	if strings.TrimSpace(s) == "" {
		return ts, nil
	}
	var problems []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		rest, effect, ok := cutLast(item, ":")
		if item == "" || !ok {
			problems = append(problems, fmt.Sprintf("%q is not a taint", item))
			continue
		}
		key, value, _ := strings.Cut(rest, "=")
		ts = append(ts, Taint{Key: key, Value: value, Effect: effect})
	}
	problems = append(problems, CheckTaints(ts)...)
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; ") + "; write each taint as " + TaintSyntax)
	}
	return ts, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// CheckTaints returns one message per problem of ts, as Kubernetes validates a Node's
// taints: the key a qualified name, the value a label value, a known effect, and no
// two taints with the same key and effect.
func CheckTaints(ts []Taint) []string {
	var out []string
	seen := map[[2]string]bool{}
	for _, t := range ts {
		for _, msg := range validation.IsQualifiedName(t.Key) {
			out = append(out, fmt.Sprintf("taint %q: key %q: %s", t.String(), t.Key, msg))
		}
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			out = append(out, fmt.Sprintf("taint %q: value %q: %s", t.String(), t.Value, msg))
		}
		known := false
		for _, e := range TaintEffects {
			known = known || t.Effect == e
		}
		if !known {
			out = append(out, fmt.Sprintf("taint %q: effect %q is not NoSchedule, PreferNoSchedule or NoExecute", t.String(), t.Effect))
		}
		k := [2]string{t.Key, t.Effect}
		if seen[k] {
			out = append(out, fmt.Sprintf("taint %q: a second taint with key %q and effect %s", t.String(), t.Key, t.Effect))
		}
		seen[k] = true
	}
	return out
}

// CheckSpot checks a VNode's default spot strategy and price limit (a decimal
// string), the way a pod's k8s.aliyun.com/eci-spot-strategy and eci-spot-price-limit
// are checked: the strategy SpotAsPriceGo, SpotWithPriceLimit, NoSpot or empty; the
// price limit a positive decimal with at most 3 decimals, required with
// SpotWithPriceLimit and refused otherwise. It returns at most one message for each.
func CheckSpot(strategy, priceLimit string) (strategyProblem, priceLimitProblem string) {
	known := strategy == ""
	for _, s := range eci.SpotStrategies {
		known = known || strategy == s
	}
	if !known {
		strategyProblem = fmt.Sprintf("%q is not a spot strategy; use %s", strategy, strings.Join(eci.SpotStrategies, ", "))
	}
	switch {
	case priceLimit == "" && strategy == eci.SpotStrategySpotWithPriceLimit:
		priceLimitProblem = "required with the spot strategy SpotWithPriceLimit: the highest hourly price to pay, such as 0.5"
	case priceLimit == "":
	case !validPrice(priceLimit):
		priceLimitProblem = fmt.Sprintf("%q: %s", priceLimit, eci.SpotPriceLimitRule)
	case strategy != eci.SpotStrategySpotWithPriceLimit:
		priceLimitProblem = fmt.Sprintf("%s applies only with the spot strategy SpotWithPriceLimit; set that, or leave the price limit out", priceLimit)
	}
	return strategyProblem, priceLimitProblem
}

func validPrice(v string) bool {
	_, ok := eci.ParseSpotPriceLimit(v)
	return ok
}
