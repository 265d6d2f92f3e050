package provider

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// The model of eci_profile_selector and its translation to and from
// profile.Selector. The eci-profile's format belongs to internal/profile;
// this file only moves values between Terraform's types and that package's.

type profileSelectorModel struct {
	ID                types.String `tfsdk:"id"`
	Name              types.String `tfsdk:"name"`
	NamespaceSelector types.Object `tfsdk:"namespace_selector"`
	ObjectSelector    types.Object `tfsdk:"object_selector"`
	Policy            types.String `tfsdk:"policy"`
	Priority          types.Int32  `tfsdk:"priority"`
	Effect            types.Object `tfsdk:"effect"`
	VNode             types.String `tfsdk:"vnode"`
}

type labelSelectorModel struct {
	MatchLabels      types.Map  `tfsdk:"match_labels"`
	MatchExpressions types.List `tfsdk:"match_expressions"`
}

type labelExpressionModel struct {
	Key      types.String `tfsdk:"key"`
	Operator types.String `tfsdk:"operator"`
	Values   types.List   `tfsdk:"values"`
}

type selectorEffectModel struct {
	Annotations types.Map `tfsdk:"annotations"`
	Labels      types.Map `tfsdk:"labels"`
}

var (
	labelExpressionAttrTypes = map[string]attr.Type{
		"key":      types.StringType,
		"operator": types.StringType,
		"values":   types.ListType{ElemType: types.StringType},
	}
	labelSelectorAttrTypes = map[string]attr.Type{
		"match_labels":      types.MapType{ElemType: types.StringType},
		"match_expressions": types.ListType{ElemType: types.ObjectType{AttrTypes: labelExpressionAttrTypes}},
	}
	selectorEffectAttrTypes = map[string]attr.Type{
		"annotations": types.MapType{ElemType: types.StringType},
		"labels":      types.MapType{ElemType: types.StringType},
	}
)

// errUnknown says a value is not known yet (plan time): the selector
// cannot be judged until it is.
var errUnknown = errors.New("value not known yet")

// selector builds the profile.Selector m describes. It returns errUnknown
// when any part is unknown, so that validation waits for the value.
func (m profileSelectorModel) selector(ctx context.Context) (profile.Selector, error) {
	if m.Name.IsUnknown() || m.Policy.IsUnknown() || m.Priority.IsUnknown() || m.VNode.IsUnknown() {
		return profile.Selector{}, errUnknown
	}
	s := profile.Selector{
		Name:        m.Name.ValueString(),
		Policy:      profile.Policy(m.Policy.ValueString()),
		Priority:    m.Priority.ValueInt32(),
		VirtualNode: m.VNode.ValueString(),
	}
	var err error
	if s.NamespaceSelector, err = labelSelectorOf(ctx, m.NamespaceSelector); err != nil {
		return profile.Selector{}, err
	}
	if s.ObjectSelector, err = labelSelectorOf(ctx, m.ObjectSelector); err != nil {
		return profile.Selector{}, err
	}
	if m.Effect.IsUnknown() {
		return profile.Selector{}, errUnknown
	}
	if !m.Effect.IsNull() {
		var em selectorEffectModel
		if err := asStruct(ctx, m.Effect, &em); err != nil {
			return profile.Selector{}, err
		}
		if s.Effect.Annotations, err = knownMap(em.Annotations); err != nil {
			return profile.Selector{}, err
		}
		if s.Effect.Labels, err = knownMap(em.Labels); err != nil {
			return profile.Selector{}, err
		}
	}
	return s, nil
}

// labelSelectorOf is the label selector of a namespace_selector or
// object_selector: nil when the attribute is null (the part is not used),
// and an empty selector, which matches everything, for `{}`.
func labelSelectorOf(ctx context.Context, o types.Object) (*metav1.LabelSelector, error) {
	if o.IsUnknown() {
		return nil, errUnknown
	}
	if o.IsNull() {
		return nil, nil
	}
	var lm labelSelectorModel
	if err := asStruct(ctx, o, &lm); err != nil {
		return nil, err
	}
	ls := &metav1.LabelSelector{}
	var err error
	if ls.MatchLabels, err = knownMap(lm.MatchLabels); err != nil {
		return nil, err
	}
	if lm.MatchExpressions.IsUnknown() {
		return nil, errUnknown
	}
	for _, e := range lm.MatchExpressions.Elements() {
		eo, ok := e.(types.Object)
		if !ok || eo.IsUnknown() {
			return nil, errUnknown
		}
		var em labelExpressionModel
		if err := asStruct(ctx, eo, &em); err != nil {
			return nil, err
		}
		if em.Key.IsUnknown() || em.Operator.IsUnknown() {
			return nil, errUnknown
		}
		values, err := knownList(em.Values)
		if err != nil {
			return nil, err
		}
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: em.Key.ValueString(), Operator: metav1.LabelSelectorOperator(em.Operator.ValueString()), Values: values,
		})
	}
	return ls, nil
}

// asStruct reads a known object into a model struct.
func asStruct(ctx context.Context, o types.Object, target any) error {
	if d := o.As(ctx, target, basetypes.ObjectAsOptions{}); d.HasError() {
		return diagsError(d)
	}
	return nil
}

// knownMap is a map of strings, nil when null; errUnknown when it or an
// element is unknown.
func knownMap(m types.Map) (map[string]string, error) {
	if !fullyKnown(m) {
		return nil, errUnknown
	}
	return strMap(m), nil
}

// knownList is knownMap for lists.
func knownList(l types.List) ([]string, error) {
	if !fullyKnown(l) {
		return nil, errUnknown
	}
	return strList(l), nil
}

func diagsError(d diag.Diagnostics) error {
	var msgs []string
	for _, e := range d.Errors() {
		msgs = append(msgs, e.Summary()+": "+e.Detail())
	}
	return errors.New(strings.Join(msgs, "; "))
}

// profileSelectorModelOf is the model of the live selector s. prior is the
// state before (null parts on import): where the cluster has an empty
// collection and prior wrote `{}` or `[]` for it, prior's empty value is
// kept, because the eci-profile does not record the difference between
// empty and absent and a configuration with `{}` must not plan a change.
func profileSelectorModelOf(s profile.Selector, prior profileSelectorModel) (profileSelectorModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	m := profileSelectorModel{
		ID:       types.StringValue(s.Name),
		Name:     types.StringValue(s.Name),
		Policy:   types.StringValue(string(s.Policy.Effective())),
		Priority: types.Int32Value(s.Priority),
		VNode:    types.StringNull(),
	}
	if s.VirtualNode != "" {
		m.VNode = types.StringValue(s.VirtualNode)
	}
	var d diag.Diagnostics
	m.NamespaceSelector, d = labelSelectorValue(s.NamespaceSelector, prior.NamespaceSelector)
	diags.Append(d...)
	m.ObjectSelector, d = labelSelectorValue(s.ObjectSelector, prior.ObjectSelector)
	diags.Append(d...)
	m.Effect, d = effectValue(s.Effect, prior.Effect)
	diags.Append(d...)
	return m, diags
}

func labelSelectorValue(ls *metav1.LabelSelector, prior types.Object) (types.Object, diag.Diagnostics) {
	if ls == nil {
		return types.ObjectNull(labelSelectorAttrTypes), nil
	}
	priorLabels, priorExprs := types.MapNull(types.StringType), types.ListNull(types.ObjectType{AttrTypes: labelExpressionAttrTypes})
	if known(prior) {
		priorLabels, _ = prior.Attributes()["match_labels"].(types.Map)
		priorExprs, _ = prior.Attributes()["match_expressions"].(types.List)
	}
	var priorExprElems []attr.Value
	if !priorExprs.IsNull() && !priorExprs.IsUnknown() {
		priorExprElems = priorExprs.Elements()
	}
	exprType := types.ObjectType{AttrTypes: labelExpressionAttrTypes}
	exprs := types.ListNull(exprType)
	var diags diag.Diagnostics
	if len(ls.MatchExpressions) > 0 {
		elems := make([]attr.Value, len(ls.MatchExpressions))
		for i, e := range ls.MatchExpressions {
			priorValues := types.ListNull(types.StringType)
			if i < len(priorExprElems) {
				if po, ok := priorExprElems[i].(types.Object); ok && known(po) {
					priorValues, _ = po.Attributes()["values"].(types.List)
				}
			}
			values := keepEmptyList(priorValues, listOf(nonEmpty(e.Values)))
			o, d := types.ObjectValue(labelExpressionAttrTypes, map[string]attr.Value{
				"key": types.StringValue(e.Key), "operator": types.StringValue(string(e.Operator)), "values": values,
			})
			diags.Append(d...)
			elems[i] = o
		}
		l, d := types.ListValue(exprType, elems)
		diags.Append(d...)
		exprs = l
	}
	exprs = keepEmptyObjectList(priorExprs, exprs)
	o, d := types.ObjectValue(labelSelectorAttrTypes, map[string]attr.Value{
		"match_labels":      keepEmptyMap(priorLabels, mapOf(nonEmptyMap(ls.MatchLabels))),
		"match_expressions": exprs,
	})
	diags.Append(d...)
	return o, diags
}

func effectValue(e profile.Effect, prior types.Object) (types.Object, diag.Diagnostics) {
	if len(e.Annotations) == 0 && len(e.Labels) == 0 && !known(prior) {
		return types.ObjectNull(selectorEffectAttrTypes), nil
	}
	priorAnn, priorLabels := types.MapNull(types.StringType), types.MapNull(types.StringType)
	if known(prior) {
		priorAnn, _ = prior.Attributes()["annotations"].(types.Map)
		priorLabels, _ = prior.Attributes()["labels"].(types.Map)
	}
	return types.ObjectValue(selectorEffectAttrTypes, map[string]attr.Value{
		"annotations": keepEmptyMap(priorAnn, mapOf(nonEmptyMap(e.Annotations))),
		"labels":      keepEmptyMap(priorLabels, mapOf(nonEmptyMap(e.Labels))),
	})
}

// known reports whether an object is neither null nor unknown.
func known(o types.Object) bool { return !o.IsNull() && !o.IsUnknown() }

// keepEmptyObjectList is keepEmptyList for lists of objects.
func keepEmptyObjectList(state, live types.List) types.List {
	if live.IsNull() && !state.IsNull() && !state.IsUnknown() && len(state.Elements()) == 0 {
		return state
	}
	return live
}

func nonEmpty(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return ss
}

func nonEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// profileAttrPath maps the path of a problem profile.ValidateSelector
// reports (relative to the selector, such as
// "objectSelector.matchExpressions[0].operator" or
// "effect.annotations[k8s.aliyun.com/eci-spot-strategy]") to the attribute
// it comes from; false when it names none.
func profileAttrPath(p string) (path.Path, bool) {
	if p == "" {
		return path.Empty(), false
	}
	attrs := map[string]string{
		"name": "name", "namespaceSelector": "namespace_selector", "objectSelector": "object_selector",
		"effect": "effect", "policy": "policy", "priority": "priority", "virtualNode": "vnode",
		"matchLabels": "match_labels", "matchExpressions": "match_expressions",
		"key": "key", "operator": "operator", "values": "values",
		"annotations": "annotations", "labels": "labels",
	}
	// Members whose [...] is a map key: the key is the rest of the path up to
	// its last ']', whatever characters it holds (a bad key may hold '.').
	keyed := map[string]bool{"matchLabels": true, "annotations": true, "labels": true}
	out := path.Empty()
	first := true
	for rest := p; rest != ""; {
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		member := rest[:end]
		name, ok := attrs[member]
		if !ok {
			return path.Empty(), false
		}
		if first {
			out, first = path.Root(name), false
		} else {
			out = out.AtName(name)
		}
		rest = rest[end:]
		switch {
		case rest == "":
		case rest[0] == '.':
			rest = rest[1:]
		case keyed[member]:
			last := strings.LastIndexByte(rest, ']')
			if last < 1 || last != len(rest)-1 {
				return path.Empty(), false
			}
			return out.AtMapKey(rest[1:last]), true
		default: // a list index, then '.' or the end
			rb := strings.IndexByte(rest, ']')
			if rb < 0 {
				return path.Empty(), false
			}
			i, err := strconv.Atoi(rest[1:rb])
			if err != nil {
				return path.Empty(), false
			}
			out = out.AtListIndex(i)
			rest = strings.TrimPrefix(rest[rb+1:], ".")
		}
	}
	return out, true
}

// addSelectorProblems turns profile's problems with one selector into
// attribute errors, each with profile's own message.
func addSelectorProblems(diags *diag.Diagnostics, err error) {
	var ps profile.Problems
	if !errors.As(err, &ps) {
		diags.AddError("Invalid eci-profile selector", err.Error())
		return
	}
	for _, pr := range ps {
		if at, ok := profileAttrPath(pr.Path); ok {
			diags.AddAttributeError(at, "Invalid "+attrName(at), pr.Message)
			continue
		}
		msg := pr.Error()
		if pr.Path == "" && strings.Contains(pr.Message, "objectSelector") {
			msg += ". In Terraform: object_selector = {} matches every pod."
		}
		diags.AddError("Invalid eci-profile selector", msg)
	}
}

// attrName is the name of the innermost attribute of p ("operator" for
// object_selector.match_expressions[0].operator), for a diagnostic's summary.
func attrName(p path.Path) string {
	name := p.String()
	for _, st := range p.Steps() {
		if a, ok := st.(path.PathStepAttributeName); ok {
			name = string(a)
		}
	}
	return name
}
