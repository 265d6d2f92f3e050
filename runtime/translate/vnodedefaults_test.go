package translate_test

import (
	"testing"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The VNode's spot and image-cache defaults apply to a pod without the
// annotations; a pod's eci-spot-strategy replaces the VNode's spot settings
// as a whole, and eci-auto-imc (or its legacy key) wins over the default.
func TestVNodeSpotAndImageCacheDefaults(t *testing.T) {
	asPriceGo := func(v *translate.VNode) { v.SpotStrategy = "SpotAsPriceGo" }
	withLimit := func(v *translate.VNode) { v.SpotStrategy, v.SpotPriceLimit = "SpotWithPriceLimit", 0.25 }
	autoIMC := func(v *translate.VNode) { v.AutoMatchImageCache = true }
	cases := []struct {
		name  string
		vnode func(*translate.VNode)
		ann   map[string]string
		want  map[string]string
	}{
		{"no defaults, no annotations", nil, nil,
			map[string]string{"SpotStrategy": absent, "SpotPriceLimit": absent, "AutoMatchImageCache": absent}},
		{"the VNode's SpotAsPriceGo", asPriceGo, nil,
			map[string]string{"SpotStrategy": "SpotAsPriceGo", "SpotPriceLimit": absent}},
		{"the VNode's SpotWithPriceLimit and its price", withLimit, nil,
			map[string]string{"SpotStrategy": "SpotWithPriceLimit", "SpotPriceLimit": "0.25"}},
		{"other annotations keep the VNode's spot settings", withLimit, map[string]string{"k8s.aliyun.com/eci-ram-role-name": "r"},
			map[string]string{"SpotStrategy": "SpotWithPriceLimit", "SpotPriceLimit": "0.25"}},
		{"a pod's NoSpot gets no price limit from the VNode", withLimit, map[string]string{"k8s.aliyun.com/eci-spot-strategy": "NoSpot"},
			map[string]string{"SpotStrategy": "NoSpot", "SpotPriceLimit": absent}},
		{"a pod's SpotAsPriceGo replaces the VNode's price limit", withLimit, map[string]string{"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"},
			map[string]string{"SpotStrategy": "SpotAsPriceGo", "SpotPriceLimit": absent}},
		{"a pod's SpotWithPriceLimit with its own price", asPriceGo, map[string]string{
			"k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit", "k8s.aliyun.com/eci-spot-price-limit": "0.125"},
			map[string]string{"SpotStrategy": "SpotWithPriceLimit", "SpotPriceLimit": "0.125"}},
		{"a pod's price limit under the VNode's SpotWithPriceLimit", withLimit, map[string]string{"k8s.aliyun.com/eci-spot-price-limit": "0.5"},
			map[string]string{"SpotStrategy": "SpotWithPriceLimit", "SpotPriceLimit": "0.5"}},
		{"spot duration applies under the VNode's spot strategy", asPriceGo, map[string]string{"k8s.aliyun.com/eci-spot-duration": "1"},
			map[string]string{"SpotStrategy": "SpotAsPriceGo", "SpotDuration": "1"}},
		{"the VNode's image cache matching", autoIMC, nil,
			map[string]string{"AutoMatchImageCache": "true"}},
		{"eci-auto-imc false wins over the VNode", autoIMC, map[string]string{"k8s.aliyun.com/eci-auto-imc": "false"},
			map[string]string{"AutoMatchImageCache": "false"}},
		{"the legacy eci-image-cache false wins over the VNode", autoIMC, map[string]string{"k8s.aliyun.com/eci-image-cache": "false"},
			map[string]string{"AutoMatchImageCache": "false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := vnode()
			if tc.vnode != nil {
				tc.vnode(&n)
			}
			out := run(t, annotated(tc.ann), n, cluster(t))
			expectWire(t, wire(t, out.Request), tc.want)
			if len(out.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings(out.Warnings))
			}
		})
	}
}

func TestVNodeSpotDefaultsRefused(t *testing.T) {
	cases := []struct {
		name  string
		vnode func(*translate.VNode)
		ann   map[string]string
		want  []string
	}{
		{"a pod's SpotWithPriceLimit needs its own price, not the VNode's",
			func(v *translate.VNode) { v.SpotStrategy, v.SpotPriceLimit = "SpotWithPriceLimit", 0.25 },
			map[string]string{"k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-strategy"]: SpotWithPriceLimit needs k8s.aliyun.com/eci-spot-price-limit, the highest hourly price to pay (such as 0.5); set it, or use SpotAsPriceGo`}},
		{"a pod's price limit under the VNode's SpotAsPriceGo",
			func(v *translate.VNode) { v.SpotStrategy = "SpotAsPriceGo" },
			map[string]string{"k8s.aliyun.com/eci-spot-price-limit": "0.5"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-price-limit"]: only applies with k8s.aliyun.com/eci-spot-strategy: SpotWithPriceLimit; set that, or remove this annotation`}},
		{"an unknown VNode strategy",
			func(v *translate.VNode) { v.SpotStrategy = "Spot" }, nil,
			[]string{`InvalidNodeConfig vnode.spotStrategy: spot strategy "Spot" is not SpotAsPriceGo, SpotWithPriceLimit or NoSpot`}},
		{"a VNode's SpotWithPriceLimit without a price",
			func(v *translate.VNode) { v.SpotStrategy = "SpotWithPriceLimit" }, nil,
			[]string{`InvalidNodeConfig vnode.spotPriceLimit: a spot price limit (0) goes with the spot strategy SpotWithPriceLimit, and only with it (the VNode has "SpotWithPriceLimit")`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := vnode()
			tc.vnode(&n)
			expectProblems(t, problems(t, annotated(tc.ann), n, cluster(t)), tc.want)
		})
	}
}
