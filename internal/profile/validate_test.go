package profile

import (
	"errors"
	"strings"
	"testing"
)

// validate parses doc (which must be well-formed) and returns Validate's messages.
func validate(t *testing.T, doc string) []string {
	t.Helper()
	p := mustParse(t, map[string]string{SelectorsKey: doc})
	err := p.Validate()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Validate error %v is not Problems", err)
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return msgs
}

func TestValidateAcceptsGoodProfiles(t *testing.T) {
	for name, doc := range map[string]string{
		"ACK default": ackDefault,
		"ACK pretty":  ackPretty,
		"every extension": `[{"name":"pin","namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["batch"]}]},
			"objectSelector":{"matchExpressions":[{"key":"gpu","operator":"DoesNotExist"},{"key":"tier","operator":"NotIn","values":["db"]},{"key":"app","operator":"Exists"}]},
			"effect":{"annotations":{"k8s.aliyun.com/eci-spot-strategy":"SpotWithPriceLimit","k8s.aliyun.com/eci-spot-price-limit":"0.25",
			"k8s.aliyun.com/eci-max-pending-minute":"30","k8s.aliyun.com/eci-custom-tags":"env:test,team:web","k8s.aliyun.com/eci-compute-category":"economy,general",
			"Example.com/Mixed-Case":"ok"},"labels":{"billing":"eci"}},
			"policy":"virtualNodeOnly","priority":-5,"virtualNode":"cn-hangzhou.vnd-2ze2qhf8lmp5kgsx"}]`,
		"explicit match-all": `[{"name":"everything","objectSelector":{}}]`,
		"fair and burst":     `[{"name":"f","objectSelector":{},"policy":"fair"},{"name":"b","namespaceSelector":{},"policy":"normalNodePrefer"}]`,
		"unrelated unknown":  `[{"name":"a","objectSelector":{},"x-ack-future":1,"effect":{"sidecars":[]}}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if msgs := validate(t, doc); msgs != nil {
				t.Errorf("Validate:\n%s", strings.Join(msgs, "\n"))
			}
		})
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // each message must start with the corresponding entry
	}{
		{"unknown operator", `[{"name":"a","objectSelector":{"matchExpressions":[{"key":"app","operator":"Equals","values":["x"]}]}}]`,
			[]string{`selectors[0].objectSelector.matchExpressions[0].operator: "Equals" is not a valid operator; use In, NotIn, Exists or DoesNotExist`}},
		{"missing operator and key", `[{"name":"a","objectSelector":{"matchExpressions":[{"values":["x"]}]}}]`, []string{
			`selectors[0].objectSelector.matchExpressions[0].key: required; name the label to test`,
			`selectors[0].objectSelector.matchExpressions[0].operator: required; use In, NotIn, Exists or DoesNotExist`}},
		{"values vs operator", `[{"name":"a","namespaceSelector":{"matchExpressions":[{"key":"a","operator":"In"},{"key":"b","operator":"Exists","values":["x"]}]}}]`, []string{
			`selectors[0].namespaceSelector.matchExpressions[0].values: In needs at least one value`,
			`selectors[0].namespaceSelector.matchExpressions[1].values: Exists takes no values; remove them or use In/NotIn`}},
		{"bad label key and values", `[{"name":"a","objectSelector":{"matchLabels":{"bad key":"ok","app":"has space"},"matchExpressions":[{"key":"-x","operator":"NotIn","values":["ok","/no"]}]}}]`, []string{
			`selectors[0].objectSelector.matchLabels[app]: "has space" is not a valid label value: `,
			`selectors[0].objectSelector.matchLabels[bad key]: "bad key" is not a valid label key: `,
			`selectors[0].objectSelector.matchExpressions[0].key: "-x" is not a valid label key: `,
			`selectors[0].objectSelector.matchExpressions[0].values[1]: "/no" is not a valid label value: `}},
		{"missing name", `[{"objectSelector":{}}]`, []string{`selectors[0].name: required; every selector needs a unique name`}},
		{"bad name", `[{"name":"Burst_Web","objectSelector":{}}]`, []string{
			`selectors[0].name: "Burst_Web" is not a valid name; use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`}},
		{"duplicate names", `[{"name":"a","objectSelector":{}},{"name":"b","objectSelector":{}},{"name":"a","namespaceSelector":{}}]`, []string{
			`selectors[2].name: "a" is already used by selectors[0]; names must be unique`}},
		{"no selector part", `[{"name":"a","effect":{"labels":{"x":"y"}}},{"name":"b","objectSelector":null,"namespaceSelector":null}]`, []string{
			`selectors[0]: needs a namespaceSelector or an objectSelector (or both); to match every pod on purpose, write "objectSelector": {}`,
			`selectors[1]: needs a namespaceSelector or an objectSelector (or both)`}},
		{"unknown policy", `[{"name":"a","objectSelector":{},"policy":"virtualOnly"}]`, []string{
			`selectors[0].policy: "virtualOnly" is not a valid policy; use virtualNodeOnly (the default), fair or normalNodePrefer`}},
		{"virtualNode needs virtualNodeOnly", `[{"name":"a","objectSelector":{},"policy":"fair","virtualNode":"vn-1"}]`, []string{
			`selectors[0].virtualNode: pins pods to one VNode, which only policy virtualNodeOnly does; remove virtualNode or use policy virtualNodeOnly`}},
		{"bad virtualNode", `[{"name":"a","objectSelector":{},"virtualNode":"VN_1"}]`, []string{
			`selectors[0].virtualNode: "VN_1" is not a valid node name: `}},
		{"effect labels", `[{"name":"a","objectSelector":{},"effect":{"labels":{"ok":"bad value!","bad/key/x":"v"}}}]`, []string{
			`selectors[0].effect.labels[bad/key/x]: "bad/key/x" is not a valid label key: `,
			`selectors[0].effect.labels[ok]: "bad value!" is not a valid label value: `}},
		{"effect annotation key", `[{"name":"a","objectSelector":{},"effect":{"annotations":{"no spaces":"v","eci-vnode.io/profile-selector":"x"}}}]`, []string{
			`selectors[0].effect.annotations[eci-vnode.io/profile-selector]: is written by the webhook to record the matched selector; an effect cannot set it`,
			`selectors[0].effect.annotations[no spaces]: "no spaces" is not a valid annotation key: `}},
		{"ECI annotation values", `[{"name":"a","objectSelector":{},"effect":{"annotations":{
			"k8s.aliyun.com/eci-with-eip":"yes",
			"k8s.aliyun.com/eci-max-pending-minute":"5",
			"k8s.aliyun.com/eip-bandwidth":"0",
			"k8s.aliyun.com/eci-spot-price-limit":"0.1234",
			"k8s.aliyun.com/eci-spot-strategy":"Spot",
			"k8s.aliyun.com/eci-compute-category":"economy,cheap",
			"k8s.aliyun.com/eci-custom-tags":"a:1,b:2,c:3,d:4",
			"k8s.aliyun.com/eci-fail-strategy":"fail-slow",
			"k8s.aliyun.com/eci-use-specs":"anything goes: ECI decides"}}}]`, []string{
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-compute-category]: "economy,cheap" is not a valid value: use economy, general (one or more, comma-separated, in order of preference)`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-custom-tags]: "a:1,b:2,c:3,d:4" is not a valid value: ECI takes at most 3 tags here, got 4`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-fail-strategy]: "fail-slow" is not a valid value: use fail-back, fail-over, fail-fast`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-max-pending-minute]: "5" is not a valid value: want a whole number from 10 to 1440`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-spot-price-limit]: "0.1234" is not a valid value: want a positive price per hour with at most 3 decimals, such as 0.5`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-spot-strategy]: "Spot" is not a valid value: use SpotWithPriceLimit, SpotAsPriceGo`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eci-with-eip]: "yes" is not a valid value: use "true" or "false"`,
			`selectors[0].effect.annotations[k8s.aliyun.com/eip-bandwidth]: "0" is not a valid value: want a whole number of at least 1`}},
		{"typo of a known member", `[{"name":"a","objectSelector":{},"namspaceSelector":{"matchLabels":{"team":"a"}},"Priority":5,"effect":{"label":{"x":"y"}}}]`, []string{
			`selectors[0].Priority: unknown field; did you mean "priority"?`,
			`selectors[0].namspaceSelector: unknown field; did you mean "namespaceSelector"?`,
			`selectors[0].effect.label: unknown field; did you mean "labels"?`}},
		{"all problems at once, in document order", `[{"name":"A","policy":"x"},{"name":"b","objectSelector":{"matchExpressions":[{"key":"k","operator":"Equals"}]}}]`, []string{
			`selectors[0].name: "A" is not a valid name`,
			`selectors[0]: needs a namespaceSelector or an objectSelector`,
			`selectors[0].policy: "x" is not a valid policy`,
			`selectors[1].objectSelector.matchExpressions[0].operator: "Equals" is not a valid operator`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := validate(t, tt.doc)
			if len(got) != len(tt.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %q\nwant %q...", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestProblemsCarryTheSelectorIndex(t *testing.T) {
	p := mustParse(t, map[string]string{SelectorsKey: `[{"name":"ok","objectSelector":{}},{"name":"bad","objectSelector":{},"policy":"x"}]`})
	var ps Problems
	if !errors.As(p.Validate(), &ps) || len(ps) != 1 || ps[0].Selector != 1 {
		t.Fatalf("problems = %v", ps)
	}
	var fe *FieldError
	if !errors.As(p.Validate(), &fe) || fe.Path != "selectors[1].policy" {
		t.Errorf("errors.As(*FieldError) = %v", fe)
	}
}

func TestValidateSelectorUsesRelativePaths(t *testing.T) {
	p := mustParse(t, map[string]string{SelectorsKey: `[{"name":"a","objectSelector":{"matchLabels":{"app":"a b"}},"policy":"burst"}]`})
	err := ValidateSelector(p.Selectors[0])
	want := "objectSelector.matchLabels[app]: \"a b\" is not a valid label value"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "\npolicy: \"burst\" is not a valid policy") {
		t.Errorf("ValidateSelector = %v, want %q... and the policy problem", err, want)
	}
	if err := ValidateSelector(mustParse(t, map[string]string{SelectorsKey: ackPretty}).Selectors[0]); err != nil {
		t.Errorf("ValidateSelector(good) = %v", err)
	}
}

func TestValidateECIAnnotationLeavesUnknownAndFreeFormAlone(t *testing.T) {
	for k, v := range map[string]string{
		"k8s.aliyun.com/eci-use-specs":        "2-4Gi,ecs.c6.large",
		"k8s.aliyun.com/eci-vswitch":          "vsw-a,vsw-b",
		"k8s.aliyun.com/eci-some-future-key":  "whatever",
		"example.com/eci-with-eip":            "yes",
		"k8s.aliyun.com/eci-with-eip":         "false",
		"k8s.aliyun.com/eci-spot-duration":    "0",
		"k8s.aliyun.com/eci-spot-price-limit": "12.5",
		"k8s.aliyun.com/eci-custom-tags":      "env:test",
	} {
		if err := ValidateECIAnnotation(k, v); err != nil {
			t.Errorf("ValidateECIAnnotation(%q, %q) = %v", k, v, err)
		}
	}
}
