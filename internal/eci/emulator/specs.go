package emulator

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Spec is one vCPU/memory combination ECI sells.
type Spec struct {
	CPU    float64 `json:"cpu"`
	Memory float64 `json:"memory"` // GiB
}

// Key is the stock/annotation form "<cpu>-<mem>Gi" ("0.25-0.5Gi", "2-4Gi").
func (s Spec) Key() string { return fmtNum(s.CPU) + "-" + fmtNum(s.Memory) + "Gi" }

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// defaultSpecs is the "supported in all regions" table of ECI's page on
// choosing vCPU and memory
// (https://www.alibabacloud.com/help/zh/elastic-container-instance/latest/specify-the-number-of-vcpus-and-memory-size-to-create-an-elastic-container-instance).
// Regions with finer-grained specs (e.g. 8 vCPU / 14 GiB in cn-hangzhou)
// can add them with Config.ExtraSpecs.
func defaultSpecs() []Spec {
	table := []struct {
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
	var out []Spec
	for _, row := range table {
		for _, m := range row.mems {
			out = append(out, Spec{row.cpu, m})
		}
	}
	return out
}

// InstanceType is an ECS instance type ECI can be created with.
type InstanceType struct {
	CPU    float64 `json:"cpu"`
	Memory float64 `json:"memory"`
	GPU    int     `json:"gpu,omitempty"`
}

// defaultInstanceTypes is a small, representative set of ECS types
// (enterprise-level families and one GPU type) with their public sizes.
func defaultInstanceTypes() map[string]InstanceType {
	return map[string]InstanceType{
		"ecs.c6.large":          {2, 4, 0},
		"ecs.c6.xlarge":         {4, 8, 0},
		"ecs.c6.2xlarge":        {8, 16, 0},
		"ecs.g6.large":          {2, 8, 0},
		"ecs.g6.xlarge":         {4, 16, 0},
		"ecs.g6.2xlarge":        {8, 32, 0},
		"ecs.r6.large":          {2, 16, 0},
		"ecs.r6.xlarge":         {4, 32, 0},
		"ecs.c7.large":          {2, 4, 0},
		"ecs.c7.xlarge":         {4, 8, 0},
		"ecs.g7.large":          {2, 8, 0},
		"ecs.g7.xlarge":         {4, 16, 0},
		"ecs.gn6i-c4g1.xlarge":  {4, 15, 1},
		"ecs.gn6i-c8g1.2xlarge": {8, 31, 1},
	}
}

// specTable is the sorted (by CPU, then memory) list used for rounding.
func (cfg *Config) specTable() []Spec {
	specs := append(defaultSpecs(), cfg.ExtraSpecs...)
	sort.Slice(specs, func(i, j int) bool {
		if specs[i].CPU != specs[j].CPU {
			return specs[i].CPU < specs[j].CPU
		}
		return specs[i].Memory < specs[j].Memory
	})
	return specs
}

// roundUpSpec returns the smallest supported spec with at least cpu vCPUs
// and mem GiB: the fewest vCPUs first, then the least memory at that
// vCPU count, which reproduces the documented 7/13 -> 8/16 example of the
// all-regions table.
func roundUpSpec(table []Spec, cpu, mem float64) (Spec, bool) {
	const eps = 1e-9
	for _, s := range table {
		if s.CPU+eps >= cpu && s.Memory+eps >= mem {
			return s, true
		}
	}
	return Spec{}, false
}

// parseSpecKey parses "2-4Gi" (also "2-4", "0.5-1Gi").
func parseSpecKey(s string) (Spec, bool) {
	c, m, ok := strings.Cut(s, "-")
	if !ok {
		return Spec{}, false
	}
	m = strings.TrimSuffix(m, "Gi")
	cf, err1 := strconv.ParseFloat(c, 64)
	mf, err2 := strconv.ParseFloat(m, 64)
	if err1 != nil || err2 != nil || cf <= 0 || mf <= 0 || math.IsInf(cf, 0) || math.IsInf(mf, 0) {
		return Spec{}, false
	}
	return Spec{cf, mf}, true
}

// candidate is one way to size an instance: a vCPU/memory spec or an ECS
// instance type. Stock is looked up by key.
type candidate struct {
	key          string // stock key: "2-4Gi" or "ecs.c6.large"
	instanceType string // reported InstanceType ("" for spec sizing)
	cpu, mem     float64
	gpu          int
}

// sizingCandidates resolves the InstanceType parameter (comma-separated
// ECS types and/or "<cpu>-<mem>Gi" specs, tried in order) or, without it,
// the rounded-up vCPU/memory spec.
func (e *Emulator) sizingCandidates(instanceTypes string, cpu, mem float64) ([]candidate, *apiError) {
	table := e.cfg.specTable()
	if strings.TrimSpace(instanceTypes) != "" {
		var out []candidate
		seen := map[string]bool{}
		for _, raw := range strings.Split(instanceTypes, ",") {
			name := strings.TrimSpace(raw)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			if it, ok := e.instanceTypes[name]; ok {
				out = append(out, candidate{key: name, instanceType: name, cpu: it.CPU, mem: it.Memory, gpu: it.GPU})
				continue
			}
			if sp, ok := parseSpecKey(name); ok {
				r, ok := roundUpSpec(table, sp.CPU, sp.Memory)
				if !ok {
					return nil, errInvalid("InstanceType", "Spec %s exceeds the largest supported specification.", name)
				}
				out = append(out, candidate{key: r.Key(), cpu: r.CPU, mem: r.Memory})
				continue
			}
			return nil, newErr(400, "InvalidInstanceType.ValueNotSupported",
				"The specified InstanceType %q is not supported. Use an ECS instance type or <cpu>-<memory>Gi.", name)
		}
		if len(out) == 0 {
			return nil, errInvalid("InstanceType", "No instance type given.")
		}
		if len(out) > 5 {
			return nil, errInvalid("InstanceType", "At most 5 instance types can be specified.")
		}
		return out, nil
	}
	if cpu <= 0 && mem <= 0 {
		cpu, mem = 2, 4 // documented default
	}
	r, ok := roundUpSpec(table, cpu, mem)
	if !ok {
		return nil, newErr(400, "InvalidParameter",
			"The requested %s vCPU / %s GiB exceeds the largest supported specification (64 vCPU, 512 GiB per instance).", fmtNum(cpu), fmtNum(mem))
	}
	return []candidate{{key: r.Key(), cpu: r.CPU, mem: r.Memory}}, nil
}

func (c candidate) String() string {
	if c.instanceType != "" {
		return c.instanceType
	}
	return fmt.Sprintf("%s vCPU %s GiB", fmtNum(c.cpu), fmtNum(c.mem))
}
