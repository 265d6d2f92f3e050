package translate_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// ECI's rule for ContainerGroupName.
var validName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,126}[a-z0-9])$`)

func TestInstanceName(t *testing.T) {
	long := strings.Repeat("x", 200)
	cases := []struct{ ns, name, want string }{
		{"shop", "web-7d9c6b5f4-x2x8q", "shop-web-7d9c6b5f4-x2x8q"},
		{"default", "my.dotted.pod", "default-my-dotted-pod"},
		{"kube-system", "coredns-0", "kube-system-coredns-0"},
		{"Team", "API", "team-api"}, // not valid in Kubernetes, still a valid instance name
		{"shop", long, "shop-" + strings.Repeat("x", 112) + "-" + translate.InstanceName("shop", long)[118:]},
		{"", "", "pod-" + translate.InstanceName("", "")[4:]},
		{"-", "a", "a-" + translate.InstanceName("-", "a")[2:]},
	}
	for _, tc := range cases {
		got := translate.InstanceName(tc.ns, tc.name)
		if got != tc.want {
			t.Errorf("InstanceName(%q, %q) = %q; want %q", tc.ns, tc.name, got, tc.want)
		}
		if !validName.MatchString(got) {
			t.Errorf("InstanceName(%q, %q) = %q is not a valid ECI name", tc.ns, tc.name, got)
		}
	}
	// Long names that share a prefix still differ.
	a := translate.InstanceName("shop", long+"-a")
	b := translate.InstanceName("shop", long+"-b")
	if a == b || len(a) != 128 {
		t.Errorf("long names: %q and %q", a, b)
	}
}

// Property: for any namespace and name, the instance name is valid and the
// same every time.
func TestInstanceNameProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "abcdefghijklmnopqrstuvwxyz0123456789-.ABCZ_ é/"
	gen := func() string {
		n := rng.IntN(300)
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := 0; i < 20000; i++ {
		ns, name := gen(), gen()
		got := translate.InstanceName(ns, name)
		if !validName.MatchString(got) {
			t.Fatalf("InstanceName(%q, %q) = %q is not a valid ECI name", ns, name, got)
		}
		if again := translate.InstanceName(ns, name); again != got {
			t.Fatalf("InstanceName(%q, %q) is not deterministic: %q then %q", ns, name, got, again)
		}
	}
}

func FuzzInstanceName(f *testing.F) {
	for _, s := range [][2]string{{"shop", "web-1"}, {"", ""}, {"-", "-"}, {"a", strings.Repeat("b", 300)}, {"é", "..."}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, ns, name string) {
		got := translate.InstanceName(ns, name)
		if !validName.MatchString(got) {
			t.Fatalf("InstanceName(%q, %q) = %q is not a valid ECI name", ns, name, got)
		}
		if translate.InstanceName(ns, name) != got {
			t.Fatal("not deterministic")
		}
	})
}

func FuzzTagValue(f *testing.F) {
	f.Add("short")
	f.Add(strings.Repeat("é", 100))
	f.Fuzz(func(t *testing.T, v string) {
		got := translate.TagValue(v)
		if len(got) > 128 {
			t.Fatalf("TagValue(%q) is %d bytes", v, len(got))
		}
		if len(v) <= 128 && got != v {
			t.Fatalf("TagValue changed a short value: %q -> %q", v, got)
		}
		if translate.TagValue(v) != got {
			t.Fatal("not deterministic")
		}
	})
}
