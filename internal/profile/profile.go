package profile

import (
	"encoding/json"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names shared with the webhook, the provider, the installer and the VNode runtime.
// They are the contract of docs/design.md ("Names", "eci-profile"); change them only
// together with it.
const (
	// ConfigMapNamespace and ConfigMapName locate the eci-profile, where ACK keeps it.
	ConfigMapNamespace = "kube-system"
	ConfigMapName      = "eci-profile"
	// SelectorsKey is the ConfigMap data key holding the JSON array of selectors.
	SelectorsKey = "selectors"

	// VNodeLabelKey/VNodeLabelValue mark a node as a VNode. Alibaba's own VNodes carry
	// the same label, so manifests written for them keep working.
	VNodeLabelKey   = "k8s.aliyun.com/vnode"
	VNodeLabelValue = "true"
	// VNodeTaintKey/VNodeTaintValue/VNodeTaintEffect form the taint every VNode carries
	// (k8s.aliyun.com/vnode=true:NoSchedule): only pods that tolerate it land there.
	VNodeTaintKey    = VNodeLabelKey
	VNodeTaintValue  = VNodeLabelValue
	VNodeTaintEffect = "NoSchedule"

	// SelectorAnnotation is written by the webhook on every pod it mutates and names the
	// selector that matched, so `kubectl get pod -o yaml` answers "why is my pod on ECI?".
	// It lives under the project's own prefix (not k8s.aliyun.com) because Alibaba's
	// components do not write it and must not be expected to understand it.
	SelectorAnnotation = "eci-vnode.io/profile-selector"

	// NamespaceNameLabel is set by Kubernetes (1.21+) on every namespace; a
	// namespaceSelector on it selects namespaces by name.
	NamespaceNameLabel = "kubernetes.io/metadata.name"
)

// Policy says where a matched pod may run.
type Policy string

const (
	// PolicyVirtualNodeOnly: the pod runs on a VNode and nowhere else (VNode toleration
	// and nodeSelector k8s.aliyun.com/vnode=true). It is the default.
	PolicyVirtualNodeOnly Policy = "virtualNodeOnly"
	// PolicyFair: the pod may run on a VNode or a normal node (toleration only); the
	// scheduler decides.
	PolicyFair Policy = "fair"
	// PolicyNormalNodePrefer: burst. The pod prefers normal nodes (preferred node
	// affinity away from VNodes) and overflows to a VNode when no normal node fits.
	PolicyNormalNodePrefer Policy = "normalNodePrefer"

	// DefaultPolicy applies when a selector has no policy. ACK's ConfigMap form has no
	// policy field and its ECI Scheduler sends every matched pod to ECI, and the open
	// eci-profile component falls back to virtualNodeOnly when policy is unset, so
	// virtualNodeOnly is the reading of an ACK document that keeps its meaning.
	DefaultPolicy = PolicyVirtualNodeOnly
)

// policies lists the valid policies, in the order error messages name them.
var policies = []Policy{PolicyVirtualNodeOnly, PolicyFair, PolicyNormalNodePrefer}

// Policies returns the valid policy values (for schema validators and docs).
func Policies() []Policy { return slices.Clone(policies) }

// Valid reports whether p is a known policy; the empty policy is valid and means DefaultPolicy.
func (p Policy) Valid() bool { return p == "" || slices.Contains(policies, p) }

// Effective returns the policy that applies: p itself, or DefaultPolicy when p is empty.
func (p Policy) Effective() Policy {
	if p == "" {
		return DefaultPolicy
	}
	return p
}

// Selector is one entry of the selectors array: which pods it matches, what it adds
// to them, and where they may run. See doc.go for the semantics of each field.
type Selector struct {
	// Name identifies the selector; unique within the profile, a DNS-1123 label.
	Name string
	// NamespaceSelector matches the labels of the pod's namespace; nil = not used.
	NamespaceSelector *metav1.LabelSelector
	// ObjectSelector matches the pod's own labels; nil = not used.
	ObjectSelector *metav1.LabelSelector
	// Effect is what a matched pod gets, unless the pod already has the key.
	Effect Effect
	// Policy is where a matched pod may run; empty = DefaultPolicy.
	Policy Policy
	// Priority orders overlapping selectors: the highest wins, ties go to the name that
	// sorts first.
	Priority int32
	// VirtualNode pins matched pods to the one VNode with this node name (only with
	// virtualNodeOnly); empty = any VNode.
	VirtualNode string

	// raw holds the members of the JSON object this selector was parsed from, so that
	// unknown fields, key order and formatting of untouched fields survive a render.
	raw *object
}

// Effect is added to a matched pod: labels and annotations. Keys the pod already has
// keep the pod's value, as in ACK ("effects do not overwrite").
type Effect struct {
	Annotations map[string]string
	Labels      map[string]string

	raw *object
}

// Profile is the eci-profile ConfigMap's data, parsed.
type Profile struct {
	// Selectors in document order. Order does not decide matching (priority and name
	// do); it is kept so a render changes only what was changed.
	Selectors []Selector
	// Settings are the ConfigMap's other keys (vpcId, securityGroupId, vSwitchIds,
	// enableClusterIp, featureGates, …). This package never interprets or changes them.
	Settings map[string]string

	// orig is the "selectors" value as parsed, for a byte-identical render when nothing
	// changed; hadKey says whether the key was present at all.
	orig   string
	hadKey bool
	// origLines are the compact JSON of each parsed selector, in document order.
	origLines []string
}

// Get returns the selector named name.
func (p *Profile) Get(name string) (Selector, bool) {
	if i := p.index(name); i >= 0 {
		return p.Selectors[i], true
	}
	return Selector{}, false
}

// Upsert replaces the selector with s's name in place, or appends s when there is none.
// Replacing keeps the old entry's position, and — when s was built fresh rather than
// read from a profile — the old entry's unknown JSON fields and key order, so a writer
// that owns one entry (the Terraform provider) never destroys what a person or a newer
// tool added to it.
func (p *Profile) Upsert(s Selector) {
	i := p.index(s.Name)
	if i < 0 {
		p.Selectors = append(p.Selectors, s)
		return
	}
	if s.raw == nil {
		s.raw = p.Selectors[i].raw
	}
	if s.Effect.raw == nil {
		s.Effect.raw = p.Selectors[i].Effect.raw
	}
	p.Selectors[i] = s
}

// Remove deletes the selector named name and reports whether there was one.
func (p *Profile) Remove(name string) bool {
	i := p.index(name)
	if i < 0 {
		return false
	}
	p.Selectors = slices.Delete(p.Selectors, i, i+1)
	return true
}

func (p *Profile) index(name string) int {
	return slices.IndexFunc(p.Selectors, func(s Selector) bool { return s.Name == name })
}

// Unknown returns the selector's JSON members that this package does not model, as
// parsed (nil when there are none). They are written back unchanged on render.
func (s Selector) Unknown() map[string]json.RawMessage { return s.raw.unknown(selectorFields) }

// Unknown returns the effect's JSON members that this package does not model.
func (e Effect) Unknown() map[string]json.RawMessage { return e.raw.unknown(effectFields) }
