package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

func limitsValue(qps, burst, perMinute, share attr.Value) types.Object {
	return types.ObjectValueMust(eciAPILimitsAttrTypes, map[string]attr.Value{
		"create_qps": qps, "create_burst": burst, "create_per_minute": perMinute, "read_share": share})
}

func TestECIAPILimitsReadBackAsWrittenAndEmptyStaysEmpty(t *testing.T) {
	null := types.ObjectNull(eciAPILimitsAttrTypes)
	empty := limitsValue(types.Float64Null(), types.Int64Null(), types.Int64Null(), types.Float64Null())
	set := limitsValue(types.Float64Value(40.5), types.Int64Value(200), types.Int64Value(3000), types.Float64Value(0.25))

	// What install renders is read back as it was given.
	var v install.VNode
	setECIAPILimits(&v, set)
	if v.ECICreateQPS != 40.5 || v.ECICreateBurst != 200 || v.ECICreatePerMinute != 3000 || v.ECIReadShare != 0.25 {
		t.Fatalf("limits %v %v %v %v", v.ECICreateQPS, v.ECICreateBurst, v.ECICreatePerMinute, v.ECIReadShare)
	}
	args := []string{"node", "--eci-create-qps=40.5", "--eci-create-burst=200", "--eci-create-per-minute=3000", "--eci-read-share=0.25"}
	if got := eciAPILimitsRead(null, args); !got.Equal(set) {
		t.Errorf("read %v, want %v", got, set)
	}
	// One flag alone is that attribute alone.
	if got, want := eciAPILimitsRead(null, []string{"--eci-create-burst=7"}),
		limitsValue(types.Float64Null(), types.Int64Value(7), types.Int64Null(), types.Float64Null()); !got.Equal(want) {
		t.Errorf("read %v, want %v", got, want)
	}
	// No flag: null, but `{}` stays `{}`, and limits removed by hand are null.
	for _, c := range []struct {
		name        string
		state, want types.Object
	}{{"null", null, null}, {"{}", empty, empty}, {"set", set, null}} {
		if got := eciAPILimitsRead(c.state, []string{"node"}); !got.Equal(c.want) {
			t.Errorf("state %s, no flags: read %v, want %v", c.name, got, c.want)
		}
	}
	// A flag edited into something that does not parse keeps state's value,
	// so the Deployment shows as drifted instead.
	if got := eciAPILimitsRead(set, []string{"--eci-create-qps=fast", "--eci-create-burst=200", "--eci-create-per-minute=3000", "--eci-read-share=0.25"}); !got.Equal(set) {
		t.Errorf("read %v, want state's %v", got, set)
	}
}

func TestECIAPILimitsOutOfRangeAreRefusedAtPlan(t *testing.T) {
	var diags diag.Diagnostics
	checkECIAPILimits(&diags, limitsValue(types.Float64Value(0), types.Int64Value(0), types.Int64Value(0), types.Float64Value(0)))
	var got []string
	for _, d := range diags.Errors() {
		got = append(got, d.Summary()+": "+d.Detail())
	}
	want := []string{"create_qps = 0: give", "create_burst = 0: give", "create_per_minute = 0: give", "read_share = 0: give"}
	if len(got) != len(want) {
		t.Fatalf("errors %q, want one per attribute", got)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) || !strings.Contains(got[i], "leave it out for the default") {
			t.Errorf("error %q, want %q and how to get the default", got[i], want[i])
		}
	}

	diags = nil
	checkECIAPILimits(&diags, limitsValue(types.Float64Value(1000), types.Int64Value(1), types.Int64Value(1), types.Float64Value(1)))
	checkECIAPILimits(&diags, limitsValue(types.Float64Unknown(), types.Int64Null(), types.Int64Unknown(), types.Float64Null()))
	checkECIAPILimits(&diags, types.ObjectNull(eciAPILimitsAttrTypes))
	if diags.HasError() {
		t.Errorf("valid, unknown or absent limits refused: %v", diags)
	}
}
