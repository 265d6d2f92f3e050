package profile

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ackDefault is the selectors value of ACK's documented default eci-profile
// (https://www.alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/configure-an-eci-profile),
// as the YAML literal block delivers it: with a final newline.
const ackDefault = `[
  {"name":"default-selector-1","objectSelector":{"matchLabels":{"alibabacloud.com/eci":"true"}}},
  {"name":"default-selector-2","objectSelector":{"matchLabels":{"eci":"true"}}},
  {"name":"default-selector-3","namespaceSelector":{"matchLabels":{"alibabacloud.com/eci":"true"}}},
  {"name":"default-selector-4","namespaceSelector":{"matchLabels":{"eci":"true"}}},
  {"name":"default-selector-5","namespaceSelector":{"matchLabels":{"virtual-node-affinity-injection":"enabled"}},
   "effect":{"annotations":{"k8s.aliyun.com/eci-image-cache":"true"},"labels":{"created-by-eci":"true"}}}
]
`

// ackPretty is an ACK profile as people also write it: indented, members in their own order.
const ackPretty = `[
    {
        "name": "team-a",
        "objectSelector": {
            "matchLabels": {"app": "nginx"}
        },
        "namespaceSelector": {
            "matchLabels": {"team": "a"}
        },
        "effect": {
            "annotations": {
                "k8s.aliyun.com/eci-use-specs": "2-4Gi",
                "k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"
            }
        }
    }
]`

func ackData() map[string]string {
	return map[string]string{
		"vpcId":             "vpc-2zeghwzptn5zii0w7****",
		"securityGroupId":   "sg-2ze0b9o8pjjzts4h****",
		"vSwitchIds":        "vsw-2ze23nqzig8inprou****,vsw-2ze94pjtfuj9vaymf****",
		"enableClusterIp":   "true",
		"enableHybridMode":  "false",
		"enablePrivateZone": "false",
		"featureGates":      "MetricsVpcNet=true,ProtectionFinalizers=false",
		"selectors":         ackDefault,
	}
}

func mustParse(t *testing.T, data map[string]string) *Profile {
	t.Helper()
	p, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func mustRender(t *testing.T, p *Profile) map[string]string {
	t.Helper()
	out, err := p.Render()
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return out
}

func TestParseACKDefaultProfile(t *testing.T) {
	p := mustParse(t, ackData())
	if err := p.Validate(); err != nil {
		t.Fatalf("ACK's default profile should be valid: %v", err)
	}
	if len(p.Selectors) != 5 {
		t.Fatalf("got %d selectors, want 5", len(p.Selectors))
	}
	s1 := p.Selectors[0]
	if s1.Name != "default-selector-1" || s1.NamespaceSelector != nil ||
		s1.ObjectSelector == nil || s1.ObjectSelector.MatchLabels["alibabacloud.com/eci"] != "true" {
		t.Errorf("selector 1 = %+v", s1)
	}
	if s1.Policy.Effective() != PolicyVirtualNodeOnly || s1.Priority != 0 {
		t.Errorf("ACK selectors have no policy/priority: want virtualNodeOnly/0, got %q/%d", s1.Policy.Effective(), s1.Priority)
	}
	s5 := p.Selectors[4]
	if s5.Effect.Annotations["k8s.aliyun.com/eci-image-cache"] != "true" || s5.Effect.Labels["created-by-eci"] != "true" {
		t.Errorf("selector 5 effect = %+v", s5.Effect)
	}
	if _, ok := p.Settings[SelectorsKey]; ok || len(p.Settings) != 7 || p.Settings["vpcId"] != "vpc-2zeghwzptn5zii0w7****" {
		t.Errorf("settings = %v, want the 7 other keys", p.Settings)
	}
}

func TestRenderUnchangedIsByteIdentical(t *testing.T) {
	for name, doc := range map[string]string{
		"ACK default":         ackDefault,
		"ACK pretty":          ackPretty,
		"canonical":           "[\n  {\"name\":\"a\",\"objectSelector\":{}}\n]\n",
		"null members":        `[{"name":"a","objectSelector":{"matchLabels":{"x":"y"}},"namespaceSelector":null,"effect":{},"priority":0,"policy":""}]`,
		"unknown members":     `[{"name":"a","objectSelector":{},"x-ack-future":{"deep":[1,2,{"k":"v"}]},"effect":{"annotations":{},"sidecars":["a"]}}]`,
		"empty array":         `[]`,
		"empty":               ``,
		"blank":               "  \n",
		"html characters":     `[{"name":"a","objectSelector":{},"effect":{"annotations":{"k8s.aliyun.com/eci-custom-hosts":"<a&b>"}}}]`,
		"numbers as written":  `[{"name":"a","objectSelector":{},"priority":10}]`,
		"unicode as escaped":  `[{"name":"a","objectSelector":{},"effect":{"labels":{"x":"\u0041"}}}]`,
		"duplicate whitespce": "[ {\"name\" : \"a\" ,\t\"objectSelector\" : { } } ]",
	} {
		t.Run(name, func(t *testing.T) {
			data := map[string]string{"vpcId": "vpc-1", SelectorsKey: doc}
			out := mustRender(t, mustParse(t, data))
			if out[SelectorsKey] != doc || out["vpcId"] != "vpc-1" || len(out) != 2 {
				t.Errorf("round trip changed the data:\n got %q\nwant %q", out, data)
			}
		})
	}
}

func TestMissingSelectorsKeyStaysMissing(t *testing.T) {
	p := mustParse(t, map[string]string{"vpcId": "vpc-1"})
	if len(p.Selectors) != 0 {
		t.Fatalf("selectors = %v, want none", p.Selectors)
	}
	if out := mustRender(t, p); len(out) != 1 || out["vpcId"] != "vpc-1" {
		t.Errorf("render = %q, want the settings only", out)
	}
	p = mustParse(t, nil)
	if out := mustRender(t, p); len(out) != 0 {
		t.Errorf("render of nothing = %q", out)
	}
}

func TestUpsertAppendsOneLineAndKeepsTheRest(t *testing.T) {
	p := mustParse(t, ackData())
	p.Upsert(Selector{
		Name:           "burst-web",
		ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		Effect:         Effect{Annotations: map[string]string{"k8s.aliyun.com/eci-use-specs": "2-4Gi"}},
		Policy:         PolicyNormalNodePrefer,
		Priority:       10,
	})
	out := mustRender(t, p)
	want := `[
  {"name":"default-selector-1","objectSelector":{"matchLabels":{"alibabacloud.com/eci":"true"}}},
  {"name":"default-selector-2","objectSelector":{"matchLabels":{"eci":"true"}}},
  {"name":"default-selector-3","namespaceSelector":{"matchLabels":{"alibabacloud.com/eci":"true"}}},
  {"name":"default-selector-4","namespaceSelector":{"matchLabels":{"eci":"true"}}},
  {"name":"default-selector-5","namespaceSelector":{"matchLabels":{"virtual-node-affinity-injection":"enabled"}},"effect":{"annotations":{"k8s.aliyun.com/eci-image-cache":"true"},"labels":{"created-by-eci":"true"}}},
  {"name":"burst-web","objectSelector":{"matchLabels":{"app":"web"}},"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"}},"policy":"normalNodePrefer","priority":10}
]
`
	if out[SelectorsKey] != want {
		t.Errorf("selectors:\n%s\nwant:\n%s", out[SelectorsKey], want)
	}
	for k, v := range ackData() {
		if k != SelectorsKey && out[k] != v {
			t.Errorf("setting %s = %q, want %q untouched", k, out[k], v)
		}
	}

	// What the provider does next time: parse what it wrote, upsert the same entry.
	// Nothing changed, so nothing may move.
	again := mustParse(t, out)
	s, ok := again.Get("burst-web")
	if !ok {
		t.Fatal("Get(burst-web) after render: not found")
	}
	again.Upsert(Selector{Name: s.Name, ObjectSelector: s.ObjectSelector, Effect: Effect{Annotations: s.Effect.Annotations},
		Policy: s.Policy, Priority: s.Priority})
	if out2 := mustRender(t, again); out2[SelectorsKey] != out[SelectorsKey] {
		t.Errorf("idempotent upsert changed the document:\n%s", out2[SelectorsKey])
	}
}

func TestUpsertReplacesInPlaceKeepingUnknownMembers(t *testing.T) {
	doc := `[
  {"name":"a","objectSelector":{"matchLabels":{"app":"a"}},"x-owner":"platform-team","effect":{"labels":{"l":"1"},"sidecar":{"image":"x"}}},
  {"name":"b","objectSelector":{"matchLabels":{"app":"b"}}}
]`
	p := mustParse(t, map[string]string{SelectorsKey: doc})
	// The provider builds its entry from Terraform config: no raw JSON of its own.
	p.Upsert(Selector{Name: "a", ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a2"}},
		Effect: Effect{Labels: map[string]string{"l": "1"}}, Priority: 5})
	want := `[
  {"name":"a","objectSelector":{"matchLabels":{"app":"a2"}},"x-owner":"platform-team","effect":{"labels":{"l":"1"},"sidecar":{"image":"x"}},"priority":5},
  {"name":"b","objectSelector":{"matchLabels":{"app":"b"}}}
]`
	if got := mustRender(t, p)[SelectorsKey]; got != want {
		t.Errorf("selectors:\n%s\nwant:\n%s", got, want)
	}
	s, _ := p.Get("a")
	if string(s.Unknown()["x-owner"]) != `"platform-team"` || string(s.Effect.Unknown()["sidecar"]) != `{"image":"x"}` {
		t.Errorf("unknown members = %s / %s", s.Unknown(), s.Effect.Unknown())
	}
}

func TestEditingAFieldKeepsMemberOrderAndDropsZeroFields(t *testing.T) {
	p := mustParse(t, map[string]string{SelectorsKey: ackPretty})
	p.Selectors[0].Effect.Annotations = nil // effect had only annotations: it goes
	p.Selectors[0].Policy = PolicyFair
	got := mustRender(t, p)[SelectorsKey]
	want := "[\n  " + `{"name":"team-a","objectSelector":{"matchLabels":{"app":"nginx"}},"namespaceSelector":{"matchLabels":{"team":"a"}},"policy":"fair"}` + "\n]"
	if got != want {
		t.Errorf("selectors:\n%s\nwant:\n%s", got, want)
	}
}

func TestRemoveAndGet(t *testing.T) {
	p := mustParse(t, ackData())
	if !p.Remove("default-selector-3") {
		t.Fatal("Remove existing: false")
	}
	if p.Remove("default-selector-3") {
		t.Fatal("Remove twice: true")
	}
	if _, ok := p.Get("default-selector-3"); ok {
		t.Fatal("Get after Remove: found")
	}
	if s, ok := p.Get("default-selector-4"); !ok || s.NamespaceSelector.MatchLabels["eci"] != "true" {
		t.Fatalf("Get(default-selector-4) = %+v, %v", s, ok)
	}
	got := mustRender(t, p)[SelectorsKey]
	if strings.Contains(got, "default-selector-3") || strings.Count(got, "\n  {") != 4 {
		t.Errorf("after remove:\n%s", got)
	}
	for _, n := range []string{"1", "2", "4", "5"} {
		p.Remove("default-selector-" + n)
	}
	if got := mustRender(t, p)[SelectorsKey]; got != "[]\n" {
		t.Errorf("all removed: %q, want the key kept as an empty array", got)
	}
}

func TestFreshProfileRendersCanonically(t *testing.T) {
	p := &Profile{}
	p.Upsert(Selector{Name: "all-batch", NamespaceSelector: &metav1.LabelSelector{}, ObjectSelector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "kind", Operator: metav1.LabelSelectorOpIn, Values: []string{"batch", "cron"}},
			{Key: "gpu", Operator: metav1.LabelSelectorOpDoesNotExist}}}, VirtualNode: "cn-hangzhou.vnd-1"})
	got := mustRender(t, p)
	want := "[\n  " + `{"name":"all-batch","namespaceSelector":{},"objectSelector":{"matchExpressions":[{"key":"kind","operator":"In","values":["batch","cron"]},{"key":"gpu","operator":"DoesNotExist"}]},"virtualNode":"cn-hangzhou.vnd-1"}` + "\n]\n"
	if len(got) != 1 || got[SelectorsKey] != want {
		t.Errorf("render = %q\nwant selectors %q", got, want)
	}
	// And it reads back as the same selector.
	back := mustParse(t, got)
	if s := back.Selectors[0]; !equalLabelSelector(s.ObjectSelector, p.Selectors[0].ObjectSelector) ||
		s.NamespaceSelector == nil || s.VirtualNode != "cn-hangzhou.vnd-1" {
		t.Errorf("read back %+v", s)
	}
}

func TestParseReportsEveryMalformedField(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"not JSON", "[\n  {\"name\": \"a\",}\n]", []string{`selectors: invalid JSON at line 2, column 16`}},
		{"not an array", `{"name":"a"}`, []string{`selectors: want a JSON array of selector objects, got object`}},
		{"entry not an object", `["a", 1]`, []string{`selectors[0]: want an object, got string "a"`, `selectors[1]: want an object, got number 1`}},
		{"wrong member types", `[{"name":7,"priority":"high","policy":true,"effect":[],"virtualNode":{}}]`, []string{
			`selectors[0].name: want a string, got number 7`,
			`selectors[0].effect: want an object, got array`,
			`selectors[0].policy: want a string, got boolean true`,
			`selectors[0].priority: want a whole number from -2147483648 to 2147483647, got string "high"`,
			`selectors[0].virtualNode: want a string, got object`}},
		{"fractional and huge priority", `[{"name":"a","priority":1.5},{"name":"b","priority":3000000000}]`, []string{
			`selectors[0].priority: want a whole number from -2147483648 to 2147483647, got number 1.5`,
			`selectors[1].priority: want a whole number from -2147483648 to 2147483647, got number 3000000000`}},
		{"misspelt label selector member", `[{"name":"a","objectSelector":{"matchlabels":{"app":"x"}}}]`, []string{
			`selectors[0].objectSelector.matchlabels: unknown field; a label selector has only matchLabels and matchExpressions`}},
		{"bad expression", `[{"name":"a","namespaceSelector":{"matchExpressions":[{"key":"k","operator":"In","values":"x","value":["y"]}]}}]`, []string{
			`selectors[0].namespaceSelector.matchExpressions[0].values: want an array, got string "x"`,
			`selectors[0].namespaceSelector.matchExpressions[0].value: unknown field; an expression has only key, operator and values`}},
		{"repeated members", `[{"name":"a","objectSelector":{"matchLabels":{"app":"x","app":"y"}},"name":"b"}]`, []string{
			`selectors[0].name: appears more than once; a member must be unique`,
			`selectors[0].objectSelector.matchLabels[app]: appears more than once; a member must be unique`}},
		{"non-string map values", `[{"name":"a","objectSelector":{"matchLabels":{"app":true}},"effect":{"annotations":{"k8s.aliyun.com/eci-with-eip":true}}}]`, []string{
			`selectors[0].objectSelector.matchLabels[app]: want a string, got boolean true`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-with-eip]: want a string, got boolean true`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(map[string]string{SelectorsKey: tt.doc})
			if err == nil {
				t.Fatal("Parse: no error")
			}
			if !strings.HasPrefix(err.Error(), "parse eci-profile: ") {
				t.Errorf("error %q does not say what was being done", err)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %v is not Problems", err)
			}
			got := make([]string, len(ps))
			for i, p := range ps {
				got[i] = p.Error()
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q\nwant prefix %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestRenderedJSONIsValidAndSemanticallyEqual(t *testing.T) {
	// Whatever a render writes must be a JSON array that parses back to the same
	// selectors, including after edits.
	p := mustParse(t, map[string]string{SelectorsKey: ackPretty + "\n"})
	p.Upsert(Selector{Name: "z", ObjectSelector: &metav1.LabelSelector{}, Effect: Effect{Annotations: map[string]string{"a/b": "<&>"}}})
	out := mustRender(t, p)
	var v []map[string]any
	if err := json.Unmarshal([]byte(out[SelectorsKey]), &v); err != nil || len(v) != 2 {
		t.Fatalf("rendered selectors are not a JSON array of 2: %v\n%s", err, out[SelectorsKey])
	}
	if !strings.Contains(out[SelectorsKey], `"a/b":"<&>"`) {
		t.Errorf("HTML characters escaped: %s", out[SelectorsKey])
	}
	back := mustParse(t, out)
	if len(back.Selectors) != 2 || back.Selectors[1].Effect.Annotations["a/b"] != "<&>" || back.Selectors[0].Effect.Annotations["k8s.aliyun.com/eci-use-specs"] != "2-4Gi" {
		t.Errorf("read back %+v", back.Selectors)
	}
	if !strings.HasSuffix(out[SelectorsKey], "]\n") {
		t.Errorf("final newline of the original lost: %q", out[SelectorsKey])
	}
}
