package provider

import (
	"fmt"
	"math"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// eci_vnode's eci_api_limits: the limits of a bundled VNode's ECI client,
// the runtime's --eci-create-qps, --eci-create-burst and --eci-read-share.
// Each one left out passes no flag, so the runtime keeps its default.

// eciAPILimitsAttrTypes is the object type of eci_api_limits.
var eciAPILimitsAttrTypes = map[string]attr.Type{
	"create_qps": types.Float64Type, "create_burst": types.Int64Type, "create_per_minute": types.Int64Type, "read_share": types.Float64Type,
}

// The flags of eci_api_limits' attributes.
const (
	flagCreateQPS       = "eci-create-qps"
	flagCreateBurst     = "eci-create-burst"
	flagCreatePerMinute = "eci-create-per-minute"
	flagReadShare       = "eci-read-share"
)

// defaultReadShare is the runtime's --eci-read-share when none is given
// (runtime/node Config.ReadBudgetShare).
const defaultReadShare = 0.5

// eciFlowControlURL is ECI's documented per-account quota of each action.
const eciFlowControlURL = "https://help.aliyun.com/en/eci/developer-reference/api-eci-2018-08-08-quota"

// eciAPILimitsPath is the path of one attribute of eci_api_limits.
func eciAPILimitsPath(name string) path.Path { return path.Root("eci_api_limits").AtName(name) }

func eciAPILimitsAttribute() schema.SingleNestedAttribute {
	def := eci.DefaultRateLimits()["CreateContainerGroup"]
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: "Limits of the VNode's ECI client, so that its runtime stays within the account's API quotas. " +
			"The quotas are per Alibaba Cloud account, shared by every VNode and every other client of the account, and " +
			"each VNode's runtime keeps limits of its own: with several VNodes on one account, theirs add up. ECI " +
			"documents CreateContainerGroup (and DeleteContainerGroup) as a bucket of 100 calls refilled at 20 a second, " +
			"and at most 1000 calls a minute, and DescribeContainerGroups as 2000 calls a minute ([flow control](" +
			eciFlowControlURL + ")); Alibaba raises them on request. A call over the quota fails with `Throttling` and " +
			"is retried with back-off, so lower the limits when others share the account, and raise them only when " +
			"Alibaba raised its quota. Each attribute left out keeps the runtime's default (no flag is passed). " +
			"Bundled mode only: a managed VNode's resident node runs with ECI's own settings. Updated in place: the " +
			"runtime restarts with the new limits.",
		Attributes: map[string]schema.Attribute{
			"create_qps": schema.Float64Attribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("CreateContainerGroup and DeleteContainerGroup calls a second, above 0, once "+
					"the burst is spent (`--%s`). Default `%g`, under the documented 20 a second.", flagCreateQPS, def.PerSecond)},
			"create_per_minute": schema.Int64Attribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("CreateContainerGroup and DeleteContainerGroup calls in any minute, at most, a "+
					"whole number, 1 or more (`--%s`). Default `%d`, the documented figure; the runtime counts a minute and a "+
					"second, a margin for uneven delays on the way.", flagCreatePerMinute, def.PerMinuteCap)},
			"create_burst": schema.Int64Attribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("CreateContainerGroup and DeleteContainerGroup calls the runtime may make at "+
					"once, a whole number, 1 or more (`--%s`). Default `%d`, under the documented bucket of 100.",
					flagCreateBurst, def.Burst)},
			"read_share": schema.Float64Attribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("Share of the account's read quotas the runtime may spend, above 0 and at "+
					"most 1 (`--%s`): of DescribeContainerGroups' 2000 calls a minute and DescribeContainerGroupStatus' "+
					"10000, which watch its instances, and of DescribeMultiContainerGroupMetric's 2000, which serves their "+
					"metrics. Default `%g`. With several VNodes on one account, give them shares that add up to 1 at most.",
					flagReadShare, defaultReadShare)},
		},
	}
}

// eciAPILimitsKnown reports whether eci_api_limits and each of its
// attributes is known.
func eciAPILimitsKnown(o types.Object) bool {
	if o.IsUnknown() {
		return false
	}
	for _, a := range o.Attributes() {
		if a.IsUnknown() {
			return false
		}
	}
	return true
}

// setECIAPILimits copies the known limits of eci_api_limits into v; those
// left out stay zero, the runtime's defaults.
func setECIAPILimits(v *install.VNode, o types.Object) {
	if o.IsNull() || o.IsUnknown() {
		return
	}
	as := o.Attributes()
	if q, ok := as["create_qps"].(types.Float64); ok && !q.IsNull() && !q.IsUnknown() {
		v.ECICreateQPS = q.ValueFloat64()
	}
	if b, ok := as["create_burst"].(types.Int64); ok && !b.IsNull() && !b.IsUnknown() {
		v.ECICreateBurst = int(b.ValueInt64())
	}
	if m, ok := as["create_per_minute"].(types.Int64); ok && !m.IsNull() && !m.IsUnknown() {
		v.ECICreatePerMinute = int(m.ValueInt64())
	}
	if s, ok := as["read_share"].(types.Float64); ok && !s.IsNull() && !s.IsUnknown() {
		v.ECIReadShare = s.ValueFloat64()
	}
}

// checkECIAPILimits refuses, at plan time, limits the runtime would refuse.
// Zero is refused too: install takes it for "the default", which a value
// given in the configuration never means.
func checkECIAPILimits(diags *diag.Diagnostics, o types.Object) {
	if o.IsNull() || o.IsUnknown() {
		return
	}
	def := eci.DefaultRateLimits()["CreateContainerGroup"]
	as := o.Attributes()
	if q, ok := as["create_qps"].(types.Float64); ok && !q.IsNull() && !q.IsUnknown() {
		if v := q.ValueFloat64(); !(v > 0) || math.IsInf(v, 0) {
			diags.AddAttributeError(eciAPILimitsPath("create_qps"), "Invalid eci_api_limits.create_qps",
				fmt.Sprintf("create_qps = %g: give the CreateContainerGroup and DeleteContainerGroup calls a second, a number "+
					"above 0, such as %g (the runtime's default), or leave it out for the default.", v, def.PerSecond))
		}
	}
	if b, ok := as["create_burst"].(types.Int64); ok && !b.IsNull() && !b.IsUnknown() {
		if v := b.ValueInt64(); v < 1 || v > math.MaxInt32 {
			diags.AddAttributeError(eciAPILimitsPath("create_burst"), "Invalid eci_api_limits.create_burst",
				fmt.Sprintf("create_burst = %d: give the calls the runtime may make at once, a whole number from 1 to %d, "+
					"such as %d (the runtime's default), or leave it out for the default.", v, math.MaxInt32, def.Burst))
		}
	}
	if m, ok := as["create_per_minute"].(types.Int64); ok && !m.IsNull() && !m.IsUnknown() {
		if v := m.ValueInt64(); v < 1 || v > math.MaxInt32 {
			diags.AddAttributeError(eciAPILimitsPath("create_per_minute"), "Invalid eci_api_limits.create_per_minute",
				fmt.Sprintf("create_per_minute = %d: give the calls the runtime may make in any minute, a whole number from 1 "+
					"to %d, such as %d (the runtime's default, ECI's documented figure), or leave it out for the default.",
					v, math.MaxInt32, def.PerMinuteCap))
		}
	}
	if s, ok := as["read_share"].(types.Float64); ok && !s.IsNull() && !s.IsUnknown() {
		if v := s.ValueFloat64(); !(v > 0 && v <= 1) {
			diags.AddAttributeError(eciAPILimitsPath("read_share"), "Invalid eci_api_limits.read_share",
				fmt.Sprintf("read_share = %g: give a share of the account's read quotas above 0 and at most 1, such as "+
					"%g (the runtime's default: half of each), or leave it out for the default.", v, defaultReadShare))
		}
	}
}

// eciAPILimitsRead is eci_api_limits as the Deployment's arguments run it.
// Without any of its flags it is null, except that `{}` in state stays `{}`
// (it renders no flag either, and must not plan a change to null). A flag
// that does not parse (an edit by hand) keeps state's value: the Deployment
// then differs from what state renders, so it shows as drifted and the next
// apply writes it again.
func eciAPILimitsRead(state types.Object, args []string) types.Object {
	var prior map[string]attr.Value
	if !state.IsNull() && !state.IsUnknown() {
		prior = state.Attributes()
	}
	priorOr := func(name string, null attr.Value) attr.Value {
		if v, ok := prior[name]; ok {
			return v
		}
		return null
	}
	read := map[string]attr.Value{
		"create_qps": types.Float64Null(), "create_burst": types.Int64Null(), "create_per_minute": types.Int64Null(),
		"read_share": types.Float64Null(),
	}
	if s, ok := flagOf(args, flagCreateQPS); ok {
		read["create_qps"] = priorOr("create_qps", types.Float64Null())
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			read["create_qps"] = types.Float64Value(v)
		}
	}
	for name, flag := range map[string]string{"create_burst": flagCreateBurst, "create_per_minute": flagCreatePerMinute} {
		if s, ok := flagOf(args, flag); ok {
			read[name] = priorOr(name, types.Int64Null())
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				read[name] = types.Int64Value(v)
			}
		}
	}
	if s, ok := flagOf(args, flagReadShare); ok {
		read["read_share"] = priorOr("read_share", types.Float64Null())
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			read["read_share"] = types.Float64Value(v)
		}
	}
	for _, v := range read {
		if !v.IsNull() {
			return types.ObjectValueMust(eciAPILimitsAttrTypes, read)
		}
	}
	if prior != nil {
		for _, v := range prior {
			if !v.IsNull() {
				return types.ObjectNull(eciAPILimitsAttrTypes)
			}
		}
		return state
	}
	return types.ObjectNull(eciAPILimitsAttrTypes)
}
