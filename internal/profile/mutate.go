package profile

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Mutation is what applying one selector changes on one pod. Mutate computes it
// without touching the pod; Apply performs it on a pod object (tests, dry runs), Patch
// turns it into the RFC 6902 JSON patch an admission response carries.
type Mutation struct {
	// Selector is the name of the applied selector; Policy the policy that applied.
	Selector string
	Policy   Policy
	// Labels, Annotations and NodeSelector are the keys to set. They never include a
	// key the pod already has, except SelectorAnnotation, which records the truth.
	Labels       map[string]string
	Annotations  map[string]string
	NodeSelector map[string]string
	// Tolerations are appended to the pod's.
	Tolerations []corev1.Toleration
	// Affinity, when not nil, is the pod's whole new affinity: its own terms plus ours.
	Affinity *corev1.Affinity
	// PlacementSkipped says why placement (tolerations, nodeSelector, affinity) was left
	// alone, when it was; effects and the record annotation still apply.
	PlacementSkipped string

	// Whether the pod had non-empty collections decides between adding one member or
	// creating the whole collection in the patch.
	hadLabels, hadAnnotations, hadNodeSelector, hadTolerations bool
}

// VNodeToleration tolerates the VNode taint. Equal/"true" rather than Exists, as the
// open eci-profile component writes it, so it tolerates exactly our taint.
func VNodeToleration() corev1.Toleration {
	return corev1.Toleration{Key: VNodeTaintKey, Operator: corev1.TolerationOpEqual, Value: VNodeTaintValue, Effect: corev1.TaintEffectNoSchedule}
}

// preferNormalNodes is the burst preference: score nodes without the VNode label
// (NotIn also matches nodes that lack the label) above VNodes, with the largest weight.
func preferNormalNodes() corev1.PreferredSchedulingTerm {
	return corev1.PreferredSchedulingTerm{Weight: 100, Preference: corev1.NodeSelectorTerm{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: VNodeLabelKey, Operator: corev1.NodeSelectorOpNotIn, Values: []string{VNodeLabelValue}}},
	}}
}

// pinTo requires the node named name. It is a field requirement on metadata.name (as
// the DaemonSet controller pins pods), so it works whatever labels the VNode has.
func pinTo(name string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{name}}
}

// Mutate computes what sel does to pod:
//
//   - effect labels and annotations, for keys the pod does not have (the pod's own
//     values win, as in ACK);
//   - SelectorAnnotation = sel.Name;
//   - placement by policy — virtualNodeOnly: VNode toleration, nodeSelector
//     k8s.aliyun.com/vnode=true (unless the pod sets that key itself) and, with
//     VirtualNode, a required node affinity on that node's name; fair: the toleration;
//     normalNodePrefer: the toleration and a preferred node affinity for nodes that are
//     not VNodes. Nothing already present is added twice.
//
// Placement is skipped for pods that already name their node (spec.nodeName: static
// and pre-bound pods) and for DaemonSet pods, which must stay on their node and cannot
// run on a VNode anyway. sel is expected to be valid, as a Matcher's selectors are.
func Mutate(pod *corev1.Pod, sel Selector) Mutation {
	m := Mutation{
		Selector:        sel.Name,
		Policy:          sel.Policy.Effective(),
		hadLabels:       len(pod.Labels) > 0,
		hadAnnotations:  len(pod.Annotations) > 0,
		hadNodeSelector: len(pod.Spec.NodeSelector) > 0,
		hadTolerations:  len(pod.Spec.Tolerations) > 0,
	}
	m.Labels = missing(pod.Labels, sel.Effect.Labels)
	m.Annotations = missing(pod.Annotations, sel.Effect.Annotations)
	if pod.Annotations[SelectorAnnotation] != sel.Name {
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[SelectorAnnotation] = sel.Name
	}

	switch {
	case pod.Spec.NodeName != "":
		m.PlacementSkipped = "the pod already names its node (spec.nodeName)"
		return m
	case IsDaemonSetPod(pod):
		m.PlacementSkipped = "DaemonSet pods stay on their node and cannot run on a VNode"
		return m
	}

	if !ToleratesVNodeTaint(pod.Spec.Tolerations) {
		m.Tolerations = []corev1.Toleration{VNodeToleration()}
	}
	var aff *corev1.Affinity
	switch m.Policy {
	case PolicyVirtualNodeOnly:
		m.NodeSelector = missing(pod.Spec.NodeSelector, map[string]string{VNodeLabelKey: VNodeLabelValue})
		if sel.VirtualNode != "" {
			aff = requireNode(pod.Spec.Affinity, sel.VirtualNode)
		}
	case PolicyNormalNodePrefer:
		aff = prefer(pod.Spec.Affinity, preferNormalNodes())
	}
	if aff != nil && !reflect.DeepEqual(aff, pod.Spec.Affinity) {
		m.Affinity = aff
	}
	return m
}

// Empty reports whether the mutation changes nothing.
func (m Mutation) Empty() bool {
	return len(m.Labels) == 0 && len(m.Annotations) == 0 && len(m.NodeSelector) == 0 &&
		len(m.Tolerations) == 0 && m.Affinity == nil
}

// Apply performs the mutation on pod, which must be the pod (or a copy of the pod)
// the mutation was computed for.
func (m Mutation) Apply(pod *corev1.Pod) {
	pod.Labels = merge(pod.Labels, m.Labels)
	pod.Annotations = merge(pod.Annotations, m.Annotations)
	pod.Spec.NodeSelector = merge(pod.Spec.NodeSelector, m.NodeSelector)
	pod.Spec.Tolerations = append(pod.Spec.Tolerations, m.Tolerations...)
	if m.Affinity != nil {
		pod.Spec.Affinity = m.Affinity.DeepCopy()
	}
}

// PatchOperation is one RFC 6902 operation. Only "add" is used: on an existing object
// member it replaces the value, on an array index "-" it appends.
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// Operations returns the mutation as JSON patch operations against the pod it was
// computed for, in a stable order. A map the pod lacks (or has empty) is added whole,
// because a member cannot be added under a missing parent; otherwise each key is
// added on its own, so the patch touches only what it changes.
func (m Mutation) Operations() []PatchOperation {
	var ops []PatchOperation
	addMap := func(path string, had bool, kv map[string]string) {
		switch {
		case len(kv) == 0:
		case !had:
			ops = append(ops, PatchOperation{Op: "add", Path: path, Value: kv})
		default:
			for _, k := range sortedKeys(kv) {
				ops = append(ops, PatchOperation{Op: "add", Path: path + "/" + escapePointer(k), Value: kv[k]})
			}
		}
	}
	addMap("/metadata/labels", m.hadLabels, m.Labels)
	addMap("/metadata/annotations", m.hadAnnotations, m.Annotations)
	addMap("/spec/nodeSelector", m.hadNodeSelector, m.NodeSelector)
	switch {
	case len(m.Tolerations) == 0:
	case !m.hadTolerations:
		ops = append(ops, PatchOperation{Op: "add", Path: "/spec/tolerations", Value: m.Tolerations})
	default:
		for _, t := range m.Tolerations {
			ops = append(ops, PatchOperation{Op: "add", Path: "/spec/tolerations/-", Value: t})
		}
	}
	if m.Affinity != nil {
		ops = append(ops, PatchOperation{Op: "add", Path: "/spec/affinity", Value: m.Affinity})
	}
	return ops
}

// Patch returns Operations encoded for AdmissionResponse.Patch (PatchType JSONPatch),
// or nil when there is nothing to change.
func (m Mutation) Patch() ([]byte, error) {
	ops := m.Operations()
	if len(ops) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, fmt.Errorf("encode JSON patch for selector %q: %w", m.Selector, err)
	}
	return b, nil
}

// escapePointer escapes a map key for a JSON pointer (RFC 6901): "~" first, then "/",
// so k8s.aliyun.com/eci-use-specs becomes k8s.aliyun.com~1eci-use-specs.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// missing returns the entries of add whose keys have is lacking, or nil.
func missing(have, add map[string]string) map[string]string {
	var out map[string]string
	for k, v := range add {
		if _, ok := have[k]; ok {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(add))
		}
		out[k] = v
	}
	return out
}

func merge(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	maps.Copy(dst, src)
	return dst
}

// ToleratesVNodeTaint reports whether one of ts already tolerates the VNode taint — our own
// toleration, key k8s.aliyun.com/vnode with Exists, or a blanket {operator: Exists}.
// (Toleration.ToleratesTaint in k8s.io/api wants a logger and a feature flag; the rule
// for one fixed NoSchedule taint is short enough to state here.)
func ToleratesVNodeTaint(ts []corev1.Toleration) bool {
	for _, t := range ts {
		if t.Effect != "" && t.Effect != corev1.TaintEffectNoSchedule {
			continue
		}
		switch {
		case t.Key == "" && t.Operator == corev1.TolerationOpExists:
			return true
		case t.Key != VNodeTaintKey:
		case t.Operator == corev1.TolerationOpExists:
			return true
		case (t.Operator == "" || t.Operator == corev1.TolerationOpEqual) && t.Value == VNodeTaintValue:
			return true
		}
	}
	return false
}

// IsDaemonSetPod reports whether a DaemonSet created the pod.
func IsDaemonSetPod(pod *corev1.Pod) bool {
	for _, o := range pod.OwnerReferences {
		if o.Kind == "DaemonSet" && strings.HasPrefix(o.APIVersion, "apps/") {
			return true
		}
	}
	return false
}

// requireNode returns a copy of aff whose required node affinity also demands the
// node named name. Required terms are ORed, so the requirement joins every term (an
// empty term matches nothing and is left so); with no terms it becomes the only one.
func requireNode(aff *corev1.Affinity, name string) *corev1.Affinity {
	out := aff.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.NodeAffinity == nil {
		out.NodeAffinity = &corev1.NodeAffinity{}
	}
	req := pinTo(name)
	ns := out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	if ns == nil || len(ns.NodeSelectorTerms) == 0 {
		out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{req}}},
		}
		return out
	}
	for i := range ns.NodeSelectorTerms {
		t := &ns.NodeSelectorTerms[i]
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			continue
		}
		if !containsRequirement(t.MatchFields, req) {
			t.MatchFields = append(t.MatchFields, req)
		}
	}
	return out
}

// prefer returns a copy of aff with term among the preferred node affinity terms.
func prefer(aff *corev1.Affinity, term corev1.PreferredSchedulingTerm) *corev1.Affinity {
	out := aff.DeepCopy()
	if out == nil {
		out = &corev1.Affinity{}
	}
	if out.NodeAffinity == nil {
		out.NodeAffinity = &corev1.NodeAffinity{}
	}
	for _, t := range out.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if reflect.DeepEqual(t, term) {
			return out
		}
	}
	out.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(out.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution, term)
	return out
}

func containsRequirement(rs []corev1.NodeSelectorRequirement, r corev1.NodeSelectorRequirement) bool {
	for _, x := range rs {
		if reflect.DeepEqual(x, r) {
			return true
		}
	}
	return false
}
