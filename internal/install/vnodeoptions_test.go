package install

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func nodeArgs(t *testing.T, v VNode) []string {
	t.Helper()
	objs := must(t)(testRuntime().VNodeObjects(v))
	return find[*appsv1.Deployment](t, objs, "eci-vnode-"+v.Name).Spec.Template.Spec.Containers[0].Args
}

// argsWith reports the arguments of args that start with one of the prefixes.
func argsWith(args []string, prefixes ...string) []string {
	var out []string
	for _, a := range args {
		for _, p := range prefixes {
			if strings.HasPrefix(a, p) {
				out = append(out, a)
			}
		}
	}
	return out
}

func TestVNodeTaintsAndSpotBecomeFlags(t *testing.T) {
	flags := []string{"--node-taints", "--spot-strategy", "--spot-price-limit", "--auto-match-image-cache"}
	for _, tc := range []struct {
		name string
		mod  func(*VNode)
		want []string
	}{
		{"nothing set: the runtime's defaults", func(*VNode) {}, nil},
		{"an empty, non-nil list: no taints", func(v *VNode) { v.Taints = []Taint{} }, []string{"--node-taints="}},
		{"taints in their order", func(v *VNode) {
			v.Taints = []Taint{{Key: "k8s.aliyun.com/vnode", Value: "true", Effect: "NoSchedule"}, {Key: "pool", Effect: "PreferNoSchedule"}}
		}, []string{"--node-taints=k8s.aliyun.com/vnode=true:NoSchedule,pool:PreferNoSchedule"}},
		{"spot with a price limit and image caches", func(v *VNode) {
			v.SpotStrategy, v.SpotPriceLimit, v.AutoMatchImageCache = "SpotWithPriceLimit", "0.125", true
		}, []string{"--spot-strategy=SpotWithPriceLimit", "--spot-price-limit=0.125", "--auto-match-image-cache=true"}},
		{"spot as price goes", func(v *VNode) { v.SpotStrategy = "SpotAsPriceGo" }, []string{"--spot-strategy=SpotAsPriceGo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := testVNode()
			tc.mod(&v)
			args := nodeArgs(t, v)
			if got := argsWith(args, flags...); !slices.Equal(got, tc.want) {
				t.Errorf("args %q, want %q", got, tc.want)
			}
			// They come after --node-labels and before the credentials, in a fixed place.
			if i := slices.Index(args, "--node-labels=pool=burst"); len(tc.want) > 0 && args[i+1] != tc.want[0] {
				t.Errorf("args %q: %s does not follow --node-labels", args, tc.want[0])
			}
		})
	}
}

func TestTaintsRoundTrip(t *testing.T) {
	for _, ts := range [][]Taint{
		{},
		DefaultVNodeTaints(),
		{{Key: "a", Effect: "NoExecute"}, {Key: "example.com/b", Value: "x-1", Effect: "NoSchedule"}, {Key: "a", Effect: "NoSchedule"}},
	} {
		s := FormatTaints(ts)
		got, err := ParseTaints(s)
		if err != nil || !reflect.DeepEqual(got, ts) {
			t.Errorf("ParseTaints(%q) = %v, %v; want %v", s, got, err, ts)
		}
	}
	if FormatTaints(DefaultVNodeTaints()) != "k8s.aliyun.com/vnode=true:NoSchedule" {
		t.Errorf("DefaultVNodeTaints %q", FormatTaints(DefaultVNodeTaints()))
	}
	if got, err := ParseTaints(" a=1:NoSchedule , b:NoExecute "); err != nil || len(got) != 2 || got[0] != (Taint{"a", "1", "NoSchedule"}) {
		t.Errorf("spaces around items: %v, %v", got, err)
	}
	if got, err := ParseTaints(""); err != nil || got == nil || len(got) != 0 {
		t.Errorf(`ParseTaints("") = %#v, %v; want an empty, non-nil list`, got, err)
	}
}

func TestParseTaintsNamesEveryBadItem(t *testing.T) {
	for in, want := range map[string][]string{
		"pool":                          {`"pool" is not a taint`},
		"a:NoSchedule,,b:NoSchedule":    {`"" is not a taint`},
		"a:Never":                       {`taint "a:Never": effect "Never" is not NoSchedule, PreferNoSchedule or NoExecute`},
		"-a:NoSchedule":                 {`taint "-a:NoSchedule": key "-a": name part must consist of`},
		"a=b c:NoSchedule":              {`taint "a=b c:NoSchedule": value "b c": a valid label must be`},
		"a=1:NoSchedule,a=2:NoSchedule": {`taint "a=2:NoSchedule": a second taint with key "a" and effect NoSchedule`},
		"x,a:Never":                     {`"x" is not a taint`, `taint "a:Never": effect "Never"`},
	} {
		_, err := ParseTaints(in)
		if err == nil {
			t.Errorf("ParseTaints(%q) accepted", in)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseTaints(%q): %v\nwant it to say %s", in, err, w)
			}
		}
		if !strings.HasSuffix(err.Error(), "write each taint as "+TaintSyntax) {
			t.Errorf("ParseTaints(%q): %v\ndoes not say the accepted form", in, err)
		}
	}
}

func TestValidateVNodeChecksTaintsAndSpot(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*VNode)
		want map[string]string // setting -> part of its message
	}{
		{"duplicate taints", func(v *VNode) {
			v.Taints = []Taint{{Key: "a", Effect: "NoSchedule"}, {Key: "a", Value: "x", Effect: "NoSchedule"}}
		}, map[string]string{"VNode.Taints": `a second taint with key "a" and effect NoSchedule`}},
		{"bad taint key, value and effect", func(v *VNode) { v.Taints = []Taint{{Key: "a b", Value: "c:d", Effect: "Sometimes"}} },
			map[string]string{"VNode.Taints": `effect "Sometimes"`}},
		{"unknown strategy", func(v *VNode) { v.SpotStrategy = "Cheap" },
			map[string]string{"VNode.SpotStrategy": `"Cheap" is not a spot strategy; use SpotAsPriceGo, SpotWithPriceLimit, NoSpot`}},
		{"price limit missing", func(v *VNode) { v.SpotStrategy = "SpotWithPriceLimit" },
			map[string]string{"VNode.SpotPriceLimit": "required with the spot strategy SpotWithPriceLimit"}},
		{"price limit without SpotWithPriceLimit", func(v *VNode) { v.SpotStrategy, v.SpotPriceLimit = "SpotAsPriceGo", "0.5" },
			map[string]string{"VNode.SpotPriceLimit": "applies only with the spot strategy SpotWithPriceLimit"}},
		{"price limit with 4 decimals", func(v *VNode) { v.SpotStrategy, v.SpotPriceLimit = "SpotWithPriceLimit", "0.1234" },
			map[string]string{"VNode.SpotPriceLimit": `"0.1234": want a positive price per hour with at most 3 decimals`}},
		{"price limit zero", func(v *VNode) { v.SpotStrategy, v.SpotPriceLimit = "SpotWithPriceLimit", "0" },
			map[string]string{"VNode.SpotPriceLimit": `"0": want a positive price`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := testVNode()
			tc.mod(&v)
			var ps Problems
			if err := testRuntime().ValidateVNode(v); !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			for setting, part := range tc.want {
				found := false
				for _, p := range ps {
					found = found || p.Setting == setting && strings.Contains(p.Message, part)
				}
				if !found {
					t.Errorf("no %s problem saying %s; got %v", setting, part, ps)
				}
			}
			if len(ps) != len(tc.want) && tc.name != "bad taint key, value and effect" {
				t.Errorf("problems %v, want only %v", ps, tc.want)
			}
		})
	}
	ok := testVNode()
	ok.Taints, ok.SpotStrategy, ok.SpotPriceLimit = []Taint{}, "SpotWithPriceLimit", "1.5"
	if err := testRuntime().ValidateVNode(ok); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}
}
