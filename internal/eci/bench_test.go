package eci_test

import (
	"context"
	"testing"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// BenchmarkDescribeRegions measures the client's per-call cost end to end
// (encode, sign, fresh SDK client, HTTP to the emulator, decode).
func BenchmarkDescribeRegions(b *testing.B) {
	e := emulator.StartForTest(b, emulator.Config{RateLimits: emulator.RateLimitConfig{Disabled: true}, Logf: func(string, ...any) {}})
	c := newEmulatorClient(b, e, func(cfg *eci.Config) { cfg.DisableRateLimits = true })
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.DescribeRegions(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEncodeCreateRequest measures the wire encoder on a realistic pod.
func BenchmarkEncodeCreateRequest(b *testing.B) {
	req := webRequest("web-0", "uid-web-0")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := req.WireParams(); err != nil {
			b.Fatal(err)
		}
	}
}
