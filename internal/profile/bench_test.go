package profile

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// benchProfile builds n selectors shaped like real ones (a namespace label plus an
// object selector with expressions and an effect). The benchmark pod matches only the
// last in precedence, so Match has to try every selector: the worst case.
func benchProfile(n int) string {
	entries := make([]string, 0, n)
	for i := range n - 1 {
		entries = append(entries, fmt.Sprintf(`{"name":"team-%02d","priority":%d,
			"namespaceSelector":{"matchLabels":{"team":"t%d"}},
			"objectSelector":{"matchLabels":{"eci":"true"},"matchExpressions":[{"key":"tier","operator":"In","values":["web","api"]},{"key":"gpu","operator":"DoesNotExist"}]},
			"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"},"labels":{"team":"t%d"}},"policy":"normalNodePrefer"}`, i, i%7, i, i))
	}
	entries = append(entries, `{"name":"zz-catch-all","priority":-100,"objectSelector":{"matchLabels":{"eci":"true"}},
		"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi","k8s.aliyun.com/eci-spot-strategy":"SpotAsPriceGo"}},"virtualNode":"cn-hangzhou.vnd-1"}`)
	return "[" + strings.Join(entries, ",") + "]"
}

// BenchmarkMatchAndPatch measures what the webhook does per pod: find the selector,
// compute the mutation, encode the JSON patch; and Match alone. The webhook's p99 budget
// is 5 ms. Run: go test ./internal/profile -run '^$' -bench . -benchmem
func BenchmarkMatchAndPatch(b *testing.B) {
	for _, n := range []int{1, 50} {
		m := mustCompile(b, benchProfile(n))
		p := pod("shop", map[string]string{"eci": "true", "app": "cart", "tier": "web", "pod-template-hash": "5d9c7b"})
		p.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
		p.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
		nsLabels := map[string]string{NamespaceNameLabel: "shop", "team": "shop"}

		b.Run(fmt.Sprintf("match+patch/selectors=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, ok := m.Match(p, nsLabels)
				if !ok || s.Name != "zz-catch-all" {
					b.Fatalf("matched %q, %v", s.Name, ok)
				}
				if _, err := Mutate(p, s).Patch(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("match/selectors=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := m.Match(p, nsLabels); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}
