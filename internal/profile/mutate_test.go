package profile

import (
	"encoding/json"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func selector(t *testing.T, doc string) Selector {
	t.Helper()
	p := mustParse(t, map[string]string{SelectorsKey: "[" + doc + "]"})
	if err := p.Validate(); err != nil {
		t.Fatalf("selector %s: %v", doc, err)
	}
	return p.Selectors[0]
}

// unchecked parses a selector without validating it. Kubernetes keys cannot contain
// '~', but the patch must escape it correctly anyway: the encoder cannot know.
func unchecked(t *testing.T, doc string) Selector {
	t.Helper()
	return mustParse(t, map[string]string{SelectorsKey: "[" + doc + "]"}).Selectors[0]
}

var (
	vnodeOnlyNodeSelector = map[string]string{VNodeLabelKey: VNodeLabelValue}
	vnodeTolerations      = []corev1.Toleration{VNodeToleration()}
	pinned                = func(node string) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{pinTo(node)}}}}}}
	}
	burst = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{preferNormalNodes()}}}
)

// TestMutateByPolicy shows what each policy does to a plain pod.
func TestMutateByPolicy(t *testing.T) {
	effect := `"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"},"labels":{"billing":"eci"}}`
	tests := []struct {
		name         string
		sel          string
		nodeSelector map[string]string
		tolerations  []corev1.Toleration
		affinity     *corev1.Affinity
	}{
		{"no policy is virtualNodeOnly", `{"name":"s","objectSelector":{},` + effect + `}`, vnodeOnlyNodeSelector, vnodeTolerations, nil},
		{"virtualNodeOnly", `{"name":"s","objectSelector":{},"policy":"virtualNodeOnly",` + effect + `}`, vnodeOnlyNodeSelector, vnodeTolerations, nil},
		{"virtualNodeOnly pinned", `{"name":"s","objectSelector":{},"virtualNode":"cn-hangzhou.vnd-1",` + effect + `}`, vnodeOnlyNodeSelector, vnodeTolerations, pinned("cn-hangzhou.vnd-1")},
		{"fair", `{"name":"s","objectSelector":{},"policy":"fair",` + effect + `}`, nil, vnodeTolerations, nil},
		{"normalNodePrefer", `{"name":"s","objectSelector":{},"policy":"normalNodePrefer",` + effect + `}`, nil, vnodeTolerations, burst},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod("web", map[string]string{"app": "web"})
			m := Mutate(p, selector(t, tt.sel))
			if !equality.Semantic.DeepEqual(m.Labels, map[string]string{"billing": "eci"}) ||
				!equality.Semantic.DeepEqual(m.Annotations, map[string]string{"k8s.aliyun.com/eci-use-specs": "2-4Gi", SelectorAnnotation: "s"}) {
				t.Errorf("effect: labels %v annotations %v", m.Labels, m.Annotations)
			}
			if !equality.Semantic.DeepEqual(m.NodeSelector, tt.nodeSelector) {
				t.Errorf("nodeSelector = %v, want %v", m.NodeSelector, tt.nodeSelector)
			}
			if !equality.Semantic.DeepEqual(m.Tolerations, tt.tolerations) {
				t.Errorf("tolerations = %v, want %v", m.Tolerations, tt.tolerations)
			}
			if !equality.Semantic.DeepEqual(m.Affinity, tt.affinity) {
				t.Errorf("affinity = %v, want %v", m.Affinity, tt.affinity)
			}
			if p.Labels["billing"] != "" || p.Spec.Tolerations != nil {
				t.Error("Mutate changed the pod it was given")
			}
		})
	}
}

func TestMutateNeverOverridesThePod(t *testing.T) {
	sel := selector(t, `{"name":"s","objectSelector":{},"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi","k8s.aliyun.com/eci-spot-strategy":"SpotAsPriceGo"},"labels":{"app":"from-profile","billing":"eci"}}}`)
	p := pod("web", map[string]string{"app": "web"})
	p.Annotations = map[string]string{"k8s.aliyun.com/eci-use-specs": "4-8Gi"}
	p.Spec.NodeSelector = map[string]string{VNodeLabelKey: "false", "disk": "ssd"}
	p.Spec.Tolerations = []corev1.Toleration{{Key: VNodeTaintKey, Operator: corev1.TolerationOpExists}}
	m := Mutate(p, sel)
	if _, ok := m.Labels["app"]; ok || m.Labels["billing"] != "eci" {
		t.Errorf("labels = %v: the pod's app label must win, billing must be added", m.Labels)
	}
	if _, ok := m.Annotations["k8s.aliyun.com/eci-use-specs"]; ok || m.Annotations["k8s.aliyun.com/eci-spot-strategy"] != "SpotAsPriceGo" {
		t.Errorf("annotations = %v: the pod's eci-use-specs must win", m.Annotations)
	}
	if m.NodeSelector != nil {
		t.Errorf("nodeSelector = %v: the pod's own k8s.aliyun.com/vnode must stand", m.NodeSelector)
	}
	if m.Tolerations != nil {
		t.Errorf("tolerations = %v: the pod already tolerates the VNode taint", m.Tolerations)
	}
}

func TestMutateRecognisesExistingTolerations(t *testing.T) {
	for name, tc := range map[string]struct {
		tol  corev1.Toleration
		adds bool
	}{
		"ours":                       {VNodeToleration(), false},
		"key Exists":                 {corev1.Toleration{Key: VNodeTaintKey, Operator: corev1.TolerationOpExists}, false},
		"everything":                 {corev1.Toleration{Operator: corev1.TolerationOpExists}, false},
		"empty operator means Equal": {corev1.Toleration{Key: VNodeTaintKey, Value: "true"}, false},
		"other value":                {corev1.Toleration{Key: VNodeTaintKey, Value: "false"}, true},
		"NoExecute only":             {corev1.Toleration{Key: VNodeTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}, true},
		"ACK virtual-kubelet taint":  {corev1.Toleration{Key: "virtual-kubelet.io/provider", Operator: corev1.TolerationOpExists}, true},
	} {
		t.Run(name, func(t *testing.T) {
			p := pod("d", nil)
			p.Spec.Tolerations = []corev1.Toleration{tc.tol}
			m := Mutate(p, selector(t, `{"name":"s","objectSelector":{},"policy":"fair"}`))
			if got := len(m.Tolerations) == 1; got != tc.adds {
				t.Errorf("adds toleration = %v, want %v", got, tc.adds)
			}
		})
	}
}

func TestMutateLeavesPlacementOfBoundAndDaemonSetPods(t *testing.T) {
	sel := selector(t, `{"name":"s","objectSelector":{},"effect":{"labels":{"billing":"eci"}}}`)
	bound := pod("d", nil)
	bound.Spec.NodeName = "node-1"
	ds := pod("d", nil)
	ds.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent"}}
	for name, p := range map[string]*corev1.Pod{"spec.nodeName": bound, "DaemonSet": ds} {
		m := Mutate(p, sel)
		if m.PlacementSkipped == "" || m.Tolerations != nil || m.NodeSelector != nil || m.Affinity != nil {
			t.Errorf("%s: placement changed: %+v", name, m)
		}
		if m.Labels["billing"] != "eci" || m.Annotations[SelectorAnnotation] != "s" {
			t.Errorf("%s: effect and record must still apply: %+v", name, m)
		}
	}
}

func TestPinJoinsEveryRequiredTerm(t *testing.T) {
	p := pod("d", nil)
	zone := corev1.NodeSelectorRequirement{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}
	arch := corev1.NodeSelectorRequirement{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}
	p.Spec.Affinity = &corev1.Affinity{
		NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
			{MatchExpressions: []corev1.NodeSelectorRequirement{zone}}, {MatchExpressions: []corev1.NodeSelectorRequirement{arch}}, {}}}},
		PodAntiAffinity: &corev1.PodAntiAffinity{},
	}
	m := Mutate(p, selector(t, `{"name":"s","objectSelector":{},"virtualNode":"vn-1"}`))
	want := []corev1.NodeSelectorTerm{
		{MatchExpressions: []corev1.NodeSelectorRequirement{zone}, MatchFields: []corev1.NodeSelectorRequirement{pinTo("vn-1")}},
		{MatchExpressions: []corev1.NodeSelectorRequirement{arch}, MatchFields: []corev1.NodeSelectorRequirement{pinTo("vn-1")}},
		{}, // matches nothing before and after
	}
	if m.Affinity == nil || !equality.Semantic.DeepEqual(m.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms, want) ||
		m.Affinity.PodAntiAffinity == nil {
		t.Errorf("affinity = %+v", m.Affinity)
	}
	if p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields != nil {
		t.Error("Mutate changed the pod's affinity in place")
	}
}

// TestMutateIsIdempotent: a pod that went through the webhook once (a reinvocation,
// or a pod recreated from a mutated copy) gets nothing more.
func TestMutateIsIdempotent(t *testing.T) {
	for _, sel := range []string{
		`{"name":"s","objectSelector":{},"effect":{"labels":{"a":"1"},"annotations":{"k8s.aliyun.com/eci-auto-imc":"true"}}}`,
		`{"name":"s","objectSelector":{},"virtualNode":"vn-1"}`,
		`{"name":"s","objectSelector":{},"policy":"fair"}`,
		`{"name":"s","objectSelector":{},"policy":"normalNodePrefer"}`,
	} {
		s := selector(t, sel)
		p := pod("d", map[string]string{"app": "x"})
		Mutate(p, s).Apply(p)
		if m := Mutate(p, s); !m.Empty() {
			t.Errorf("%s: second mutation not empty: %+v", sel, m)
		}
	}
}

// TestPatchMatchesApply applies the JSON patch with an independent RFC 6902
// implementation to the pod's JSON, and compares with Apply on the typed pod.
func TestPatchMatchesApply(t *testing.T) {
	effect := `"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi","odd~key/with~1slash":"v"},"labels":{"app.kubernetes.io/part-of":"shop"}}`
	pods := map[string]func() *corev1.Pod{
		"bare pod": func() *corev1.Pod { return pod("d", nil) },
		"pod with everything": func() *corev1.Pod {
			p := pod("d", map[string]string{"app": "x"})
			p.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "now", SelectorAnnotation: "stale"}
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
			p.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}}}}}}}
			return p
		},
		"empty but present collections": func() *corev1.Pod {
			p := pod("d", map[string]string{})
			p.Annotations = map[string]string{}
			p.Spec.NodeSelector = map[string]string{}
			p.Spec.Tolerations = []corev1.Toleration{}
			return p
		},
	}
	sels := []string{
		`{"name":"vn","objectSelector":{},` + effect + `}`,
		`{"name":"pin","objectSelector":{},"virtualNode":"cn-hangzhou.vnd-1",` + effect + `}`,
		`{"name":"fair","objectSelector":{},"policy":"fair"}`,
		`{"name":"burst","objectSelector":{},"policy":"normalNodePrefer",` + effect + `}`,
	}
	for pname, mk := range pods {
		for _, sdoc := range sels {
			s := unchecked(t, sdoc)
			t.Run(pname+"/"+s.Name, func(t *testing.T) {
				orig := mk()
				m := Mutate(orig, s)
				patch, err := m.Patch()
				if err != nil {
					t.Fatalf("Patch: %v", err)
				}
				doc, err := json.Marshal(orig)
				if err != nil {
					t.Fatal(err)
				}
				// The API server sends "labels": {} etc. for present-but-empty maps;
				// json.Marshal drops them (omitempty). Put them back so the patch meets
				// the worst case: an existing empty object or array.
				if pname == "empty but present collections" {
					doc = []byte(strings.Replace(string(doc), `"spec":{`, `"spec":{"nodeSelector":{},"tolerations":[],`, 1))
					doc = []byte(strings.Replace(string(doc), `"metadata":{`, `"metadata":{"labels":{},"annotations":{},`, 1))
				}
				dp, err := jsonpatch.DecodePatch(patch)
				if err != nil {
					t.Fatalf("decode patch %s: %v", patch, err)
				}
				patched, err := dp.Apply(doc)
				if err != nil {
					t.Fatalf("apply patch %s to %s: %v", patch, doc, err)
				}
				var got corev1.Pod
				if err := json.Unmarshal(patched, &got); err != nil {
					t.Fatal(err)
				}
				want := mk()
				m.Apply(want)
				if !equality.Semantic.DeepEqual(&got, want) {
					t.Errorf("patched pod differs from Apply\npatch: %s\n got: %s", patch, patched)
				}
				if got.Annotations[SelectorAnnotation] != s.Name {
					t.Errorf("record annotation = %q", got.Annotations[SelectorAnnotation])
				}
			})
		}
	}
}

func TestPatchEscapesKeysAndAddsMembersOneByOne(t *testing.T) {
	p := pod("d", map[string]string{"app": "x"})
	p.Annotations = map[string]string{"a": "b"}
	m := Mutate(p, unchecked(t, `{"name":"s","objectSelector":{},"policy":"fair","effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi","x~y":"1"}}}`))
	var ops []PatchOperation
	b, _ := m.Patch()
	if err := json.Unmarshal(b, &ops); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, op := range ops {
		paths = append(paths, op.Op+" "+op.Path)
	}
	want := []string{
		"add /metadata/annotations/eci-vnode.io~1profile-selector",
		"add /metadata/annotations/k8s.aliyun.com~1eci-use-specs",
		"add /metadata/annotations/x~0y",
		"add /spec/tolerations",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("operations:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
}

func TestEmptyMutationHasNoPatch(t *testing.T) {
	p := pod("d", nil)
	s := selector(t, `{"name":"s","objectSelector":{},"policy":"fair"}`)
	Mutate(p, s).Apply(p)
	m := Mutate(p, s)
	if b, err := m.Patch(); b != nil || err != nil || !m.Empty() {
		t.Errorf("Patch of an empty mutation = %s, %v", b, err)
	}
}
