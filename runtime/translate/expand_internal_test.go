package translate

import "testing"

// The kubelet's $(VAR) rules, case by case.
func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "1"},
		{"x$(A)y$(B)z", "x1ytwoz"},
		{"$(EMPTY)", ""},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$1"},
		{"$$", "$"},
		{"$", "$"},
		{"a$", "a$"},
		{"$A", "$A"},
		{"$(A", "$(A"},
		{"$()", "$()"},
		{"$(A)$(B", "1$(B"},
		{"100$", "100$"},
	}
	for _, tc := range cases {
		if got := expand(tc.in, lookup); got != tc.want {
			t.Errorf("expand(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestSupportedSpecsAreSorted(t *testing.T) {
	specs := SupportedSpecs()
	if len(specs) != 44 {
		t.Fatalf("%d specs; the all-regions table has 44", len(specs))
	}
	for i := 1; i < len(specs); i++ {
		a, b := specs[i-1], specs[i]
		if a.CPU > b.CPU || a.CPU == b.CPU && a.Memory >= b.Memory {
			t.Errorf("specs out of order at %d: %v then %v", i, a, b)
		}
	}
	if s, ok := RoundUpSpec(0, 0); !ok || s != (Spec{CPU: 0.25, Memory: 0.5}) {
		t.Errorf("RoundUpSpec(0, 0) = %v %v", s, ok)
	}
	if _, ok := RoundUpSpec(64, 513); ok {
		t.Error("RoundUpSpec(64, 513) must fail")
	}
	if got := (Spec{CPU: 0.5, Memory: 1}).String(); got != "0.5-1Gi" {
		t.Errorf("String() = %q", got)
	}
}
