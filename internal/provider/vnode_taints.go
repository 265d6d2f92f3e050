package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// taintAttrTypes is the object type of an element of eci_vnode's taints.
var taintAttrTypes = map[string]attr.Type{"key": types.StringType, "value": types.StringType, "effect": types.StringType}

// taintsValue is the taints attribute of ts; nil is an empty list, as
// --node-taints= is no taint at all.
func taintsValue(ts []install.Taint) types.List {
	elems := make([]attr.Value, len(ts))
	for i, t := range ts {
		elems[i] = types.ObjectValueMust(taintAttrTypes, map[string]attr.Value{
			"key": types.StringValue(t.Key), "value": types.StringValue(t.Value), "effect": types.StringValue(t.Effect),
		})
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: taintAttrTypes}, elems)
}

// taintsOf reads the taints attribute; null or unknown is nil (the
// runtime's default, the VNode taint), a known empty list is none.
func taintsOf(l types.List) ([]install.Taint, error) {
	if l.IsNull() || l.IsUnknown() {
		return nil, nil
	}
	out := []install.Taint{}
	for i, e := range l.Elements() {
		o, ok := e.(types.Object)
		if !ok {
			return nil, fmt.Errorf("taints[%d] is a %T, not an object", i, e)
		}
		var t install.Taint
		for name, dst := range map[string]*string{"key": &t.Key, "value": &t.Value, "effect": &t.Effect} {
			if s, ok := o.Attributes()[name].(types.String); ok {
				*dst = s.ValueString()
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// taintsKnown reports whether every field of every taint is known.
func taintsKnown(l types.List) bool {
	if l.IsUnknown() {
		return false
	}
	for _, e := range l.Elements() {
		o, ok := e.(types.Object)
		if !ok || o.IsUnknown() {
			return false
		}
		for _, a := range o.Attributes() {
			if a.IsUnknown() {
				return false
			}
		}
	}
	return true
}

// sameTaint is how Kubernetes tells taints apart: a Node has at most one
// taint per key and effect.
func sameTaint(a install.Taint, b corev1.Taint) bool {
	return a.Key == b.Key && a.Effect == string(b.Effect)
}

// taintsRead is the VNode's taints as they run, by the rule labelsRead
// follows: those of the Deployment's arguments, each as the Node carries it
// where the arguments still agree with state, so that a taint removed or
// changed on the Node by hand is drift. n nil leaves the arguments' taints.
func taintsRead(args, state []install.Taint, n *corev1.Node) []install.Taint {
	if n == nil {
		return args
	}
	out := []install.Taint{}
	for _, t := range args {
		if slices.Contains(state, t) {
			i := slices.IndexFunc(n.Spec.Taints, func(nt corev1.Taint) bool { return sameTaint(t, nt) })
			if i < 0 {
				continue
			}
			t.Value = n.Spec.Taints[i].Value
		}
		out = append(out, t)
	}
	return out
}

// applyNodeTaints makes the Node carry want in place of prior (what the
// VNode set before), keeping every other taint (install.MergeNodeTaints).
// Node taints are an atomic list under server-side apply, so applying ours
// would take the whole list; an update of the read Node, retried on
// conflict, does not.
func applyNodeTaints(ctx context.Context, kc kubernetes.Interface, name string, want, prior []install.Taint) error {
	if want == nil {
		want = install.DefaultVNodeTaints()
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		taints := install.MergeNodeTaints(n.Spec.Taints, install.NodeTaints(prior), install.NodeTaints(want))
		if install.SameNodeTaints(taints, n.Spec.Taints) {
			return nil
		}
		n.Spec.Taints = taints
		_, err = kc.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: install.FieldManager})
		return err
	})
}
