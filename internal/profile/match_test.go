package profile

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func mustCompile(t testing.TB, doc string) *Matcher {
	t.Helper()
	p, err := Parse(map[string]string{SelectorsKey: doc})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	m, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

func pod(ns string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "p", Labels: labels}}
}

func TestMatchACKDefaultProfile(t *testing.T) {
	m := mustCompile(t, ackDefault)
	tests := []struct {
		name     string
		ns       string
		nsLabels map[string]string
		labels   map[string]string
		want     string // "" = no match
	}{
		{"plain pod in plain namespace stays off ECI", "default", nil, map[string]string{"app": "web"}, ""},
		{"pod label alibabacloud.com/eci", "default", nil, map[string]string{"alibabacloud.com/eci": "true"}, "default-selector-1"},
		{"pod label eci", "default", nil, map[string]string{"eci": "true"}, "default-selector-2"},
		{"pod label with another value", "default", nil, map[string]string{"eci": "false"}, ""},
		{"namespace label", "batch", map[string]string{"eci": "true"}, nil, "default-selector-4"},
		{"namespace affinity injection", "x", map[string]string{"virtual-node-affinity-injection": "enabled"}, nil, "default-selector-5"},
		// Both 1 and 4 match; equal priority, so the name that sorts first wins.
		{"several match: name decides", "batch", map[string]string{"eci": "true"}, map[string]string{"alibabacloud.com/eci": "true"}, "default-selector-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := m.Match(pod(tt.ns, tt.labels), tt.nsLabels)
			if got := map[bool]string{true: s.Name}[ok]; got != tt.want {
				t.Errorf("Match = %q (%v), want %q", s.Name, ok, tt.want)
			}
		})
	}
}

func TestMatchSemantics(t *testing.T) {
	m := mustCompile(t, `[
	  {"name":"both","namespaceSelector":{"matchLabels":{"team":"web"}},"objectSelector":{"matchLabels":{"burst":"yes"}},"priority":5},
	  {"name":"by-namespace-name","namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["jobs"]}]}},
	  {"name":"no-gpu","objectSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":["batch"]},{"key":"gpu","operator":"DoesNotExist"}]}},
	  {"name":"not-db","objectSelector":{"matchExpressions":[{"key":"role","operator":"NotIn","values":["db"]},{"key":"role","operator":"Exists"}]},"priority":-1}
	]`)
	tests := []struct {
		name     string
		ns       string
		nsLabels map[string]string
		labels   map[string]string
		want     string
	}{
		{"both parts match", "web", map[string]string{"team": "web"}, map[string]string{"burst": "yes"}, "both"},
		{"namespace matches, pod does not", "web", map[string]string{"team": "web"}, map[string]string{"burst": "no"}, ""},
		{"pod matches, namespace does not", "api", map[string]string{"team": "api"}, map[string]string{"burst": "yes"}, ""},
		{"namespace by name from its label", "jobs", map[string]string{NamespaceNameLabel: "jobs"}, nil, "by-namespace-name"},
		{"namespace by name when the caller only knows the name", "jobs", nil, nil, "by-namespace-name"},
		{"namespace name label wins over pod.Namespace", "jobs", map[string]string{NamespaceNameLabel: "other"}, nil, ""},
		{"In plus DoesNotExist", "x", nil, map[string]string{"tier": "batch"}, "no-gpu"},
		{"DoesNotExist fails", "x", nil, map[string]string{"tier": "batch", "gpu": "a10"}, ""},
		{"NotIn with Exists", "x", nil, map[string]string{"role": "cache"}, "not-db"},
		{"NotIn excluded value", "x", nil, map[string]string{"role": "db"}, ""},
		{"NotIn alone would match a missing label; Exists stops it", "x", nil, nil, ""},
		{"priority beats name", "jobs", nil, map[string]string{"role": "cache"}, "by-namespace-name"},
		{"higher priority wins over alphabetical", "web", map[string]string{"team": "web"}, map[string]string{"burst": "yes", "tier": "batch"}, "both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := m.Match(pod(tt.ns, tt.labels), tt.nsLabels)
			if got := map[bool]string{true: s.Name}[ok]; got != tt.want {
				t.Errorf("Match = %q (%v), want %q", s.Name, ok, tt.want)
			}
		})
	}
}

func TestMatchPrecedenceIgnoresDocumentOrder(t *testing.T) {
	// The same three selectors in every order: the winner is always the same.
	entries := []string{
		`{"name":"b-low","objectSelector":{},"priority":1}`,
		`{"name":"a-high","objectSelector":{"matchLabels":{"app":"x"}},"priority":9}`,
		`{"name":"c-high","namespaceSelector":{},"priority":9}`,
	}
	for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		doc := "[" + entries[order[0]] + "," + entries[order[1]] + "," + entries[order[2]] + "]"
		m := mustCompile(t, doc)
		if s, _ := m.Match(pod("default", map[string]string{"app": "x"}), nil); s.Name != "a-high" {
			t.Errorf("order %v: winner %q, want a-high (priority 9, name first)", order, s.Name)
		}
		if s, _ := m.Match(pod("default", nil), nil); s.Name != "c-high" {
			t.Errorf("order %v: winner %q, want c-high", order, s.Name)
		}
	}
}

func TestExplicitMatchAllMatchesEveryPod(t *testing.T) {
	m := mustCompile(t, `[{"name":"everything","objectSelector":{}}]`)
	for _, p := range []*corev1.Pod{pod("kube-system", nil), pod("default", map[string]string{"a": "b"})} {
		if _, ok := m.Match(p, map[string]string{"x": "y"}); !ok {
			t.Errorf("objectSelector {} did not match pod %s", p.Namespace)
		}
	}
}

func TestCompileRefusesAnInvalidProfile(t *testing.T) {
	p := mustParse(t, map[string]string{SelectorsKey: `[{"name":"a","objectSelector":{"matchExpressions":[{"key":"k","operator":"Equals"}]}}]`})
	_, err := Compile(p)
	if err == nil || !strings.HasPrefix(err.Error(), "compile eci-profile: selectors[0].objectSelector.matchExpressions[0].operator") {
		t.Fatalf("Compile = %v", err)
	}
}

func TestMatcherIsNotAffectedByLaterProfileEdits(t *testing.T) {
	p := mustParse(t, map[string]string{SelectorsKey: `[{"name":"a","objectSelector":{"matchLabels":{"app":"x"}},"effect":{"labels":{"l":"1"}}}]`})
	m, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Selectors[0].ObjectSelector.MatchLabels["app"] = "y"
	p.Selectors[0].Effect.Labels["l"] = "2"
	s, ok := m.Match(pod("d", map[string]string{"app": "x"}), nil)
	if !ok || s.Effect.Labels["l"] != "1" {
		t.Errorf("Match after editing the profile = %+v, %v", s, ok)
	}
}
