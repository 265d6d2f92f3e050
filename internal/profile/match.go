package profile

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Matcher answers "which selector applies to this pod?" for one version of the
// profile. It is immutable and safe for concurrent use; the webhook builds a new one
// whenever the ConfigMap changes and swaps it in.
type Matcher struct {
	rules []rule // in precedence order: priority descending, then name ascending
}

type rule struct {
	sel     Selector
	ns, obj labels.Selector // nil when the selector does not use that part
}

// Compile validates p and prepares it for matching. An invalid profile is an error
// (the whole profile, not just the bad entry: silently dropping one selector would send
// its pods elsewhere, which is worse than keeping the last good profile).
func Compile(p *Profile) (*Matcher, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("compile eci-profile: %w", err)
	}
	m := &Matcher{rules: make([]rule, 0, len(p.Selectors))}
	for _, s := range p.Selectors {
		r := rule{sel: cloneSelector(s)}
		var err error
		if r.ns, err = compileLabelSelector(s.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("compile eci-profile selector %q namespaceSelector: %w", s.Name, err)
		}
		if r.obj, err = compileLabelSelector(s.ObjectSelector); err != nil {
			return nil, fmt.Errorf("compile eci-profile selector %q objectSelector: %w", s.Name, err)
		}
		m.rules = append(m.rules, r)
	}
	slices.SortFunc(m.rules, func(a, b rule) int { return Precedence(a.sel, b.sel) })
	return m, nil
}

// Precedence orders selectors for matching: the higher priority first, and among
// equal priorities the name that sorts first (as EKS breaks ties between Fargate
// profiles), so the winner never depends on the order of the JSON array.
func Precedence(a, b Selector) int {
	if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

func compileLabelSelector(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(ls) // {} becomes labels.Everything()
}

// Len is the number of selectors.
func (m *Matcher) Len() int { return len(m.rules) }

// Match returns the selector that applies to pod, whose namespace carries
// namespaceLabels, and false when none does. A selector matches when every part it
// has matches: its namespaceSelector the namespace's labels, its objectSelector the
// pod's labels. Of several matching selectors the first in Precedence order wins.
//
// The namespace's name is matched as the label kubernetes.io/metadata.name, which
// Kubernetes sets on every namespace; it is filled in from pod.Namespace when
// namespaceLabels lacks it, so callers that only know the name still match correctly.
func (m *Matcher) Match(pod *corev1.Pod, namespaceLabels map[string]string) (Selector, bool) {
	// Converted to the interface once, not once per selector (each conversion allocates).
	var ns labels.Labels = namespaceSet{labels: namespaceLabels, name: pod.Namespace}
	var podLabels labels.Labels = labels.Set(pod.Labels)
	for i := range m.rules {
		r := &m.rules[i]
		if r.ns != nil && !r.ns.Matches(ns) {
			continue
		}
		if r.obj != nil && !r.obj.Matches(podLabels) {
			continue
		}
		return r.sel, true
	}
	return Selector{}, false
}

// namespaceSet is a namespace's labels plus kubernetes.io/metadata.name, without
// copying the map on every admission request.
type namespaceSet struct {
	labels map[string]string
	name   string
}

func (n namespaceSet) Lookup(key string) (string, bool) {
	if v, ok := n.labels[key]; ok {
		return v, true
	}
	if key == NamespaceNameLabel && n.name != "" {
		return n.name, true
	}
	return "", false
}

func (n namespaceSet) Has(key string) bool { _, ok := n.Lookup(key); return ok }

func (n namespaceSet) Get(key string) string { v, _ := n.Lookup(key); return v }

// cloneSelector copies s deeply enough that later edits of the Profile cannot reach a
// compiled Matcher.
func cloneSelector(s Selector) Selector {
	s.NamespaceSelector = s.NamespaceSelector.DeepCopy()
	s.ObjectSelector = s.ObjectSelector.DeepCopy()
	s.Effect.Annotations = maps.Clone(s.Effect.Annotations)
	s.Effect.Labels = maps.Clone(s.Effect.Labels)
	return s
}
