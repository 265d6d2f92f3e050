package profile

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Validate checks every selector and returns all problems found (as Problems), or nil.
// The webhook refuses to use a profile that fails it (and keeps the last good one);
// the provider refuses to write one.
func (p *Profile) Validate() error {
	var c collector
	seen := make(map[string]int, len(p.Selectors))
	for i, s := range p.Selectors {
		path := index(SelectorsKey, i)
		validateSelector(&c, i, path, s)
		if s.Name == "" {
			continue
		}
		if j, dup := seen[s.Name]; dup {
			c.addf(i, field(path, "name"), "%q is already used by %s; names must be unique", s.Name, index(SelectorsKey, j))
			continue
		}
		seen[s.Name] = i
	}
	return c.err()
}

// ValidateSelector checks one selector on its own (paths are relative to it, e.g.
// "objectSelector.matchLabels[app]"), for a writer such as the provider that validates
// its entry before it reads the ConfigMap. Name uniqueness needs the whole profile and
// is Validate's job.
func ValidateSelector(s Selector) error {
	var c collector
	validateSelector(&c, -1, "", s)
	return c.err()
}

func validateSelector(c *collector, i int, path string, s Selector) {
	switch {
	case s.Name == "":
		c.addf(i, field(path, "name"), "required; every selector needs a unique name such as \"burst-web\"")
	case len(content.IsDNS1123Label(s.Name)) > 0:
		c.addf(i, field(path, "name"), "%q is not a valid name; use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", s.Name)
	}

	// ACK's webhook requires one of the two, and an entry with neither is an easy
	// mistake (a typo in the member name) that would otherwise route every pod in the
	// cluster to ECI. Matching everything is allowed, but only when written down.
	if s.NamespaceSelector == nil && s.ObjectSelector == nil {
		c.addf(i, path, "needs a namespaceSelector or an objectSelector (or both); to match every pod on purpose, write \"objectSelector\": {}")
	}
	validateLabelSelector(c, i, field(path, "namespaceSelector"), s.NamespaceSelector)
	validateLabelSelector(c, i, field(path, "objectSelector"), s.ObjectSelector)

	epath := field(path, "effect")
	for _, k := range sortedKeys(s.Effect.Labels) {
		p := index(field(epath, "labels"), k)
		checkLabelKey(c, i, p, k)
		checkLabelValue(c, i, p, s.Effect.Labels[k])
	}
	for _, k := range sortedKeys(s.Effect.Annotations) {
		p := index(field(epath, "annotations"), k)
		// Annotation keys follow the label-key rule, case-insensitively (as the API server checks them).
		if msgs := content.IsLabelKey(strings.ToLower(k)); len(msgs) > 0 {
			c.addf(i, p, "%q is not a valid annotation key: %s", k, strings.Join(msgs, "; "))
			continue
		}
		if k == SelectorAnnotation {
			c.addf(i, p, "is written by the webhook to record the matched selector; an effect cannot set it")
			continue
		}
		if err := ValidateECIAnnotation(k, s.Effect.Annotations[k]); err != nil {
			c.addf(i, p, "%v", err)
		}
	}

	if !s.Policy.Valid() {
		c.addf(i, field(path, "policy"), "%q is not a valid policy; use %s (the default), %s or %s",
			s.Policy, PolicyVirtualNodeOnly, PolicyFair, PolicyNormalNodePrefer)
	}

	if s.VirtualNode != "" {
		p := field(path, "virtualNode")
		if msgs := content.IsDNS1123Subdomain(s.VirtualNode); len(msgs) > 0 {
			c.addf(i, p, "%q is not a valid node name: %s", s.VirtualNode, strings.Join(msgs, "; "))
		}
		if s.Policy.Valid() && s.Policy.Effective() != PolicyVirtualNodeOnly {
			c.addf(i, p, "pins pods to one VNode, which only policy %s does; remove virtualNode or use policy %s (policy %s lets the scheduler choose)",
				PolicyVirtualNodeOnly, PolicyVirtualNodeOnly, s.Policy)
		}
	}

	// Unknown members are kept, so a newer ACK field survives the provider; but one
	// that is a near miss of ours is almost certainly a typo whose intent is lost.
	for _, k := range sortedKeys(s.Unknown()) {
		if want := nearMiss(k, selectorFields); want != "" {
			c.addf(i, field(path, k), "unknown field; did you mean %q?", want)
		}
	}
	for _, k := range sortedKeys(s.Effect.Unknown()) {
		if want := nearMiss(k, effectFields); want != "" {
			c.addf(i, field(epath, k), "unknown field; did you mean %q?", want)
		}
	}
}

func validateLabelSelector(c *collector, i int, path string, ls *metav1.LabelSelector) {
	if ls == nil {
		return
	}
	for _, k := range sortedKeys(ls.MatchLabels) {
		p := index(field(path, "matchLabels"), k)
		checkLabelKey(c, i, p, k)
		checkLabelValue(c, i, p, ls.MatchLabels[k])
	}
	for j, e := range ls.MatchExpressions {
		p := index(field(path, "matchExpressions"), j)
		if e.Key == "" {
			c.addf(i, field(p, "key"), "required; name the label to test")
		} else {
			checkLabelKey(c, i, field(p, "key"), e.Key)
		}
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				c.addf(i, field(p, "values"), "%s needs at least one value", e.Operator)
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				c.addf(i, field(p, "values"), "%s takes no values; remove them or use In/NotIn", e.Operator)
			}
		case "":
			c.addf(i, field(p, "operator"), "required; use In, NotIn, Exists or DoesNotExist")
		default:
			c.addf(i, field(p, "operator"), "%q is not a valid operator; use In, NotIn, Exists or DoesNotExist", e.Operator)
		}
		for m, v := range e.Values {
			checkLabelValue(c, i, index(field(p, "values"), m), v)
		}
	}
}

func checkLabelKey(c *collector, i int, path, k string) {
	if msgs := content.IsLabelKey(k); len(msgs) > 0 {
		c.addf(i, path, "%q is not a valid label key: %s", k, strings.Join(msgs, "; "))
	}
}

func checkLabelValue(c *collector, i int, path, v string) {
	if msgs := content.IsLabelValue(v); len(msgs) > 0 {
		c.addf(i, path, "%q is not a valid label value: %s", v, strings.Join(msgs, "; "))
	}
}

// nearMiss returns the known name that name is probably a typo of (same letters in
// another case, or at most two edits away), or "".
func nearMiss(name string, known []string) string {
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d <= 2 && d < len(k)/2 {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b (bytes; names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
