package translate

import (
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const (
	// gpuResource is the extended resource ECI maps to Container.N.Gpu.
	gpuResource corev1.ResourceName = "nvidia.com/gpu"
	// baseEphemeralGiB is the temporary storage every ECI instance has.
	baseEphemeralGiB = 30
	gib              = 1 << 30
	mib              = 1 << 20
)

// amounts is a container's or a pod's size: for each resource the limit if
// set, else the request ("When Limit and Request differ, the system uses
// Limit", ECI docs).
type amounts struct {
	milliCPU int64
	memBytes int64
	disk     int64 // ephemeral-storage bytes
}

func (a amounts) plus(b amounts) amounts {
	return amounts{a.milliCPU + b.milliCPU, a.memBytes + b.memBytes, a.disk + b.disk}
}

func (a amounts) max(b amounts) amounts {
	return amounts{max(a.milliCPU, b.milliCPU), max(a.memBytes, b.memBytes), max(a.disk, b.disk)}
}

func (a amounts) cores() float64 { return float64(a.milliCPU) / 1000 }
func (a amounts) gib() float64   { return float64(a.memBytes) / gib }

// sizeOf is the amount a set of requirements reserves.
func sizeOf(rr *corev1.ResourceRequirements) amounts {
	pick := func(name corev1.ResourceName) (resource.Quantity, bool) {
		if q, ok := rr.Limits[name]; ok {
			return q, true
		}
		q, ok := rr.Requests[name]
		return q, ok
	}
	var a amounts
	if q, ok := pick(corev1.ResourceCPU); ok {
		a.milliCPU = q.MilliValue()
	}
	if q, ok := pick(corev1.ResourceMemory); ok {
		a.memBytes = q.Value()
	}
	if q, ok := pick(corev1.ResourceEphemeralStorage); ok {
		a.disk = q.Value()
	}
	return a
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// sizing chooses the instance's vCPU and memory the way Kubernetes computes
// a pod's effective request: application containers (and sidecars) add up;
// an init container runs alone (beside the sidecars started before it), so
// the largest init step counts if it is bigger. The sum is rounded up to the
// nearest size ECI sells.
func (t *translator) sizing() {
	spec := &t.pod.Spec
	var app, initPeak, sidecars amounts
	for i := range spec.Containers {
		app = app.plus(sizeOf(&spec.Containers[i].Resources))
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		a := sizeOf(&c.Resources)
		if isSidecar(c) {
			sidecars = sidecars.plus(a)
			initPeak = initPeak.max(sidecars)
		} else {
			initPeak = initPeak.max(sidecars.plus(a))
		}
	}
	need := app.plus(sidecars).max(initPeak)
	if spec.Resources != nil { // pod-level resources
		need = need.max(sizeOf(spec.Resources))
	}
	own := need // what the pod asks for itself
	if t.proxy {
		// The kube-proxy container runs beside every container, so it adds
		// to the size before rounding (and so to the bill).
		need = need.plus(kubeProxyOverhead)
	}
	t.sizeGPU()
	t.sizeDisk(need)

	if len(t.ann.useSpecs) > 0 {
		// The instance types decide the size; Cpu/Memory would conflict.
		for _, s := range t.ann.specSizes {
			if s.CPU+1e-9 < need.cores() || s.Memory+1e-9 < need.gib() {
				t.c.warn(annotationField(annUseSpecs), WarnApproximated,
					"spec %s is smaller than the %s vCPU / %s GiB the containers ask for; containers may be throttled or killed for memory if ECI picks it",
					s, fmtFloat(need.cores()), fmtFloat(need.gib()))
			}
		}
		if len(t.ann.specSizes) > 0 {
			t.size, _ = RoundUpSpec(t.ann.specSizes[0].CPU, t.ann.specSizes[0].Memory)
		} else {
			t.size, _ = RoundUpSpec(need.cores(), need.gib())
		}
		return
	}
	if own.milliCPU == 0 && own.memBytes == 0 {
		// ECI's default size holds the kube-proxy container as well.
		t.size = DefaultSpec()
		t.c.warn("spec.containers", WarnDefaulted,
			"no container sets cpu or memory requests or limits, so the instance gets ECI's default size of 2 vCPU / 4 GiB (and is billed for it); set resources to choose a size")
	} else {
		s, ok := RoundUpSpec(need.cores(), need.gib())
		if !ok {
			t.c.fail("spec.containers", ReasonTooLarge,
				"the pod needs %s vCPU / %s GiB, more than the largest ECI size (64 vCPU / 512 GiB); lower the containers' resources, or name an ECS instance type in %s",
				fmtFloat(need.cores()), fmtFloat(need.gib()), annUseSpecs)
			return
		}
		t.size = s
		if t.proxy {
			if bare, _ := RoundUpSpec(own.cores(), own.gib()); bare != s {
				t.c.warn("spec.containers", WarnDefaulted,
					"the kube-proxy this VNode adds to every instance (%s vCPU / %s GiB, for ClusterIP Services and cluster DNS) makes the instance %s vCPU / %s GiB instead of %s vCPU / %s GiB; size the containers with room for it, or set %s: %q if the pod needs neither",
					fmtFloat(kubeProxyOverhead.cores()), fmtFloat(kubeProxyOverhead.gib()), fmtFloat(s.CPU), fmtFloat(s.Memory),
					fmtFloat(bare.CPU), fmtFloat(bare.Memory), AnnotationKubeProxy, KubeProxyDisabled)
			}
		}
	}
	t.req.CPU, t.req.Memory = t.size.CPU, t.size.Memory
}

// sizeGPU checks that a pod asking for GPUs names a GPU instance type: ECI
// only places GPU containers on GPU-accelerated ECS types.
func (t *translator) sizeGPU() {
	if t.ann.gpuType {
		return
	}
	check := func(base string, cs []corev1.Container) bool {
		for i := range cs {
			if gpus(&cs[i].Resources) > 0 {
				t.c.fail(index(base, i)+`.resources.limits["nvidia.com/gpu"]`, ReasonInvalidSpec,
					"the container asks for %d GPUs, but ECI only runs GPU containers on GPU-accelerated ECS instance types; name one in the pod annotation %s, such as ecs.gn6i-c4g1.xlarge",
					gpus(&cs[i].Resources), annUseSpecs)
				return true
			}
		}
		return false
	}
	if !check("spec.initContainers", t.pod.Spec.InitContainers) {
		check("spec.containers", t.pod.Spec.Containers)
	}
}

// sizeDisk asks for extra temporary storage when the containers' ephemeral
// storage exceeds the 30 GiB every instance has, unless the pod sets
// eci-extra-ephemeral-storage itself.
func (t *translator) sizeDisk(need amounts) {
	if t.ann.extraDisk || need.disk <= baseEphemeralGiB*gib {
		return
	}
	extra := ceilDiv(need.disk-baseEphemeralGiB*gib, gib)
	t.req.EphemeralStorage = int32(min(extra, math.MaxInt32))
	t.c.warn("spec.containers", WarnDefaulted,
		"the containers ask for %s GiB of ephemeral storage; ECI instances have %d GiB, so %d GiB extra is requested (set %s to choose)",
		fmtFloat(float64(need.disk)/gib), baseEphemeralGiB, extra, annExtraStorage)
}

func gpus(rr *corev1.ResourceRequirements) int64 {
	if q, ok := rr.Limits[gpuResource]; ok {
		return q.Value()
	}
	q := rr.Requests[gpuResource]
	return q.Value()
}

// containerResources sets a container's own Cpu/Memory/Gpu. Only limits are
// sent: on a node a container without a limit may use the whole node, and on
// ECI a container without Cpu/Memory may use the whole instance — the same
// behaviour. Requests only size the instance.
func (t *translator) containerResources(field string, rr *corev1.ResourceRequirements) (cpu, mem float64, gpu int32) {
	if q, ok := rr.Limits[corev1.ResourceCPU]; ok {
		cpu = float64(q.MilliValue()) / 1000
	}
	if q, ok := rr.Limits[corev1.ResourceMemory]; ok {
		// Whole MiB keep the value short on the wire and never below the limit.
		mem = float64(ceilDiv(q.Value(), mib)) / 1024
	}
	gpu = int32(min(gpus(rr), math.MaxInt32))
	if len(rr.Claims) > 0 {
		t.c.fail(field+".resources.claims", ReasonUnsupported,
			"dynamic resource allocation claims are not supported on ECI; remove them (GPUs are requested with nvidia.com/gpu limits)")
	}
	t.otherResources(field, rr)
	return cpu, mem, gpu
}

// otherResources reports resource names ECI cannot provide.
func (t *translator) otherResources(field string, rr *corev1.ResourceRequirements) {
	var names []string
	for _, list := range [...]corev1.ResourceList{rr.Limits, rr.Requests} {
		for name := range list {
			switch name {
			case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, gpuResource:
				continue
			}
			if !slices.Contains(names, string(name)) {
				names = append(names, string(name))
			}
		}
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	for _, n := range names {
		why := "ECI instances offer cpu, memory, ephemeral-storage and nvidia.com/gpu only"
		if strings.HasPrefix(n, corev1.ResourceHugePagesPrefix) {
			why = "ECI instances have no huge pages"
		}
		t.c.warn(field+".resources", WarnIgnored, "resource %s is ignored: %s", n, why)
	}
}

// resourceFieldValue resolves a resourceFieldRef the way the kubelet does:
// the value divided by the divisor, rounded up. A limit the container does
// not set resolves, as on a node, to the capacity the container can use —
// here the instance's size — and approx is true.
func (t *translator) resourceFieldValue(c *corev1.Container, sel *corev1.ResourceFieldSelector) (value string, approx bool, problem string) {
	divisor := sel.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	kind, res, _ := strings.Cut(sel.Resource, ".")
	name := corev1.ResourceName(res)
	var list corev1.ResourceList
	switch kind {
	case "limits":
		list = c.Resources.Limits
	case "requests":
		list = c.Resources.Requests
	default:
		return "", false, "resource " + strconv.Quote(sel.Resource) + " is not one of limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, requests.memory, requests.ephemeral-storage"
	}
	q, set := list[name]
	if !set && kind == "limits" {
		approx = true
		switch name {
		case corev1.ResourceCPU:
			q = *resource.NewMilliQuantity(int64(math.Round(t.size.CPU*1000)), resource.DecimalSI)
		case corev1.ResourceMemory:
			q = *resource.NewQuantity(int64(t.size.Memory*gib), resource.BinarySI)
		case corev1.ResourceEphemeralStorage:
			q = *resource.NewQuantity((baseEphemeralGiB+int64(t.req.EphemeralStorage))*gib, resource.BinarySI)
		}
	}
	switch name {
	case corev1.ResourceCPU:
		if divisor.MilliValue() <= 0 {
			return "", false, "the divisor must be at least 1m"
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), approx, ""
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		if divisor.Value() <= 0 {
			return "", false, "the divisor must be at least 1"
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), approx, ""
	}
	if strings.HasPrefix(res, corev1.ResourceHugePagesPrefix) {
		return "", false, "ECI instances have no huge pages"
	}
	return "", false, "resource " + strconv.Quote(sel.Resource) + " cannot be resolved; use cpu, memory or ephemeral-storage"
}

func fmtFloat(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}
