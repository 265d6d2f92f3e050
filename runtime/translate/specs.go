package translate

import (
	"math"
	"strconv"
	"strings"
)

// Spec is one vCPU / memory size ECI sells.
type Spec struct {
	CPU    float64 // vCPUs
	Memory float64 // GiB
}

// String is the form ECI uses in k8s.aliyun.com/eci-use-specs: "2-4Gi".
func (s Spec) String() string {
	return strconv.FormatFloat(s.CPU, 'f', -1, 64) + "-" + strconv.FormatFloat(s.Memory, 'f', -1, 64) + "Gi"
}

// SupportedSpecs is ECI's table of vCPU / memory sizes available in every
// region (docs/design.md, "Instance specs"; from
// https://www.alibabacloud.com/help/en/eci/user-guide/specify-the-number-of-vcpus-and-memory-size-to-create-a-pod),
// smallest first: by vCPUs, then memory.
// This is the one copy the runtime uses; the emulator keeps its own on
// purpose, so a mistake here is not mirrored there.
func SupportedSpecs() []Spec {
	rows := [...]struct {
		cpu  float64
		mems []float64
	}{
		{0.25, []float64{0.5, 1}},
		{0.5, []float64{1, 2}},
		{1, []float64{2, 4, 8}},
		{2, []float64{1, 2, 4, 8, 16}},
		{4, []float64{2, 4, 8, 16, 32}},
		{8, []float64{4, 8, 16, 32, 64}},
		{12, []float64{12, 24, 48, 96}},
		{16, []float64{16, 32, 64, 128}},
		{24, []float64{24, 48, 96, 192}},
		{32, []float64{32, 64, 128, 256}},
		{52, []float64{96, 192, 384}},
		{64, []float64{128, 256, 512}},
	}
	out := make([]Spec, 0, 44)
	for _, r := range rows {
		for _, m := range r.mems {
			out = append(out, Spec{CPU: r.cpu, Memory: m})
		}
	}
	return out
}

// DefaultSpec returns ECI's documented default size, 2 vCPU / 4 GiB.
func DefaultSpec() Spec { return Spec{CPU: 2, Memory: 4} }

// RoundUpSpec returns the smallest supported spec with at least cpu vCPUs
// and mem GiB — fewest vCPUs first, then least memory — as ECI itself rounds
// (7 vCPU / 13 GiB becomes 8 / 16 with the all-regions table). ok is false
// when the request exceeds the largest spec.
func RoundUpSpec(cpu, mem float64) (s Spec, ok bool) {
	const eps = 1e-9 // tolerate float error from summing millicores
	for _, s := range SupportedSpecs() {
		if s.CPU+eps >= cpu && s.Memory+eps >= mem {
			return s, true
		}
	}
	return Spec{}, false
}

// parseSpecKey parses "2-4Gi" (also "2-4" and "0.5-1Gi").
func parseSpecKey(s string) (Spec, bool) {
	c, m, ok := strings.Cut(s, "-")
	if !ok {
		return Spec{}, false
	}
	m = strings.TrimSuffix(m, "Gi")
	cf, err1 := strconv.ParseFloat(c, 64)
	mf, err2 := strconv.ParseFloat(m, 64)
	if err1 != nil || err2 != nil || !(cf > 0) || !(mf > 0) || math.IsInf(cf, 0) || math.IsInf(mf, 0) {
		return Spec{}, false
	}
	return Spec{CPU: cf, Memory: mf}, true
}
