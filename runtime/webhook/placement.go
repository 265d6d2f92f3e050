package webhook

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// nodeNameField is the field a node selector term's matchFields may require; the
// DaemonSet controller pins its pods to one node with it.
const nodeNameField = "metadata.name"

// isVNode reports whether node is a VNode (label k8s.aliyun.com/vnode=true).
func isVNode(node *corev1.Node) bool {
	return node != nil && node.Labels[profile.VNodeLabelKey] == profile.VNodeLabelValue
}

// requiredTerms returns the required node affinity terms of spec, or nil.
func requiredTerms(spec *corev1.PodSpec) []corev1.NodeSelectorTerm {
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil ||
		spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	return spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
}

// affinityDemandsVNode reports whether the required node affinity of spec admits
// VNodes only: terms are ORed, so every term must demand a VNode — by requiring the
// label k8s.aliyun.com/vnode=true, or by naming nodes (matchFields metadata.name In)
// that are all VNodes. isVNodeName answers the latter.
func affinityDemandsVNode(spec *corev1.PodSpec, isVNodeName func(string) bool) bool {
	terms := requiredTerms(spec)
	if len(terms) == 0 {
		return false
	}
	for _, t := range terms {
		if !termDemandsVNode(t, isVNodeName) {
			return false
		}
	}
	return true
}

func termDemandsVNode(t corev1.NodeSelectorTerm, isVNodeName func(string) bool) bool {
	for _, r := range t.MatchExpressions {
		if r.Key == profile.VNodeLabelKey && r.Operator == corev1.NodeSelectorOpIn &&
			len(r.Values) == 1 && r.Values[0] == profile.VNodeLabelValue {
			return true
		}
	}
	for _, r := range t.MatchFields {
		if r.Key != nodeNameField || r.Operator != corev1.NodeSelectorOpIn || len(r.Values) == 0 {
			continue
		}
		all := true
		for _, name := range r.Values {
			if !isVNodeName(name) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// keptOffVNodes reports whether the pod template's own constraints keep it off every
// VNode structurally, whatever VNodes exist: a nodeSelector on k8s.aliyun.com/vnode with
// another value than "true", or a required node affinity each of whose terms excludes
// the VNode label (NotIn "true", DoesNotExist, or In without "true").
func keptOffVNodes(spec *corev1.PodSpec) bool {
	if v, ok := spec.NodeSelector[profile.VNodeLabelKey]; ok && v != profile.VNodeLabelValue {
		return true
	}
	terms := requiredTerms(spec)
	if len(terms) == 0 {
		return false
	}
	for _, t := range terms {
		if !termExcludesVNodes(t) {
			return false
		}
	}
	return true
}

func termExcludesVNodes(t corev1.NodeSelectorTerm) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return true // an empty term matches no node
	}
	for _, r := range t.MatchExpressions {
		if r.Key != profile.VNodeLabelKey {
			continue
		}
		hasTrue := slices.Contains(r.Values, profile.VNodeLabelValue)
		switch r.Operator {
		case corev1.NodeSelectorOpNotIn:
			if hasTrue {
				return true
			}
		case corev1.NodeSelectorOpDoesNotExist:
			return true
		case corev1.NodeSelectorOpIn:
			if !hasTrue {
				return true
			}
		}
	}
	return false
}

// nodeFits reports whether node satisfies the pod spec's nodeSelector and required
// node affinity (the scheduler's NodeAffinity filter, without taints or resources).
func nodeFits(spec *corev1.PodSpec, node *corev1.Node) bool {
	if len(spec.NodeSelector) > 0 && !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return false
	}
	terms := requiredTerms(spec)
	if terms == nil {
		return true
	}
	for _, t := range terms {
		if termMatches(t, node) {
			return true
		}
	}
	return false
}

func termMatches(t corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	if len(t.MatchExpressions) > 0 {
		sel, err := nodeRequirements(t.MatchExpressions)
		if err != nil || !sel.Matches(labels.Set(node.Labels)) {
			return false
		}
	}
	for _, r := range t.MatchFields {
		if r.Key != nodeNameField {
			return false
		}
		in := slices.Contains(r.Values, node.Name)
		switch r.Operator {
		case corev1.NodeSelectorOpIn:
			if !in {
				return false
			}
		case corev1.NodeSelectorOpNotIn:
			if in {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// nodeRequirements converts node selector requirements to a label selector.
func nodeRequirements(rs []corev1.NodeSelectorRequirement) (labels.Selector, error) {
	sel := labels.NewSelector()
	for _, r := range rs {
		var op selection.Operator
		switch r.Operator {
		case corev1.NodeSelectorOpIn:
			op = selection.In
		case corev1.NodeSelectorOpNotIn:
			op = selection.NotIn
		case corev1.NodeSelectorOpExists:
			op = selection.Exists
		case corev1.NodeSelectorOpDoesNotExist:
			op = selection.DoesNotExist
		case corev1.NodeSelectorOpGt:
			op = selection.GreaterThan
		case corev1.NodeSelectorOpLt:
			op = selection.LessThan
		default:
			return nil, fmt.Errorf("unknown node selector operator %q", r.Operator)
		}
		req, err := labels.NewRequirement(r.Key, op, r.Values)
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*req)
	}
	return sel, nil
}
