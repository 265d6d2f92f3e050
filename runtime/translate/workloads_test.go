package translate_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// A Job pod runs to completion: restartPolicy and the deadline carry over.
func TestJobPod(t *testing.T) {
	c := ctr("migrate", "registry.example.com/shop/migrate:7")
	c.Command = []string{"/bin/migrate", "up"}
	c.Resources = res("2", "4Gi", "", "")
	p := pod("db-migrate-28731-kx9zq", c)
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "db-migrate-28731"}}
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.ActiveDeadlineSeconds = ptr[int64](600)
	p.Spec.TerminationGracePeriodSeconds = ptr[int64](0)
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"RestartPolicy":                 "Never",
		"ActiveDeadlineSeconds":         "600",
		"TerminationGracePeriodSeconds": "0", // 0 is meaningful: kill at once
		"Cpu":                           "2", "Memory": "4",
		// requests size the instance; without limits the container may use all of it
		"Container.1.Cpu": absent, "Container.1.Memory": absent,
		"Container.1.Command.1": "/bin/migrate", "Container.1.Command.2": "up",
	})
}

// Init containers run before the app, alone: the instance must fit the
// biggest of them or the sum of the app containers, whichever is larger.
func TestInitContainers(t *testing.T) {
	app := ctr("app", "app:1")
	app.Resources = res("", "", "1", "2Gi")
	side := ctr("log-shipper", "fluent-bit:3")
	side.Resources = res("", "", "250m", "256Mi")
	schema := ctr("wait-for-db", "busybox:1.36")
	schema.Command = []string{"sh", "-c", "until nc -z db 5432; do sleep 1; done"}
	schema.Resources = res("", "", "4", "1Gi")
	schema.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr[int64](1000), ReadOnlyRootFilesystem: ptr(true),
		Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_RAW"}}}
	p := pod("api-0", app, side)
	p.Spec.InitContainers = []corev1.Container{schema}
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"InitContainer.1.Name":                                   "wait-for-db",
		"InitContainer.1.Image":                                  "busybox:1.36",
		"InitContainer.1.Command.3":                              "until nc -z db 5432; do sleep 1; done",
		"InitContainer.1.Cpu":                                    "4",
		"InitContainer.1.Memory":                                 "1",
		"InitContainer.1.SecurityContext.RunAsUser":              "1000",
		"InitContainer.1.SecurityContext.ReadOnlyRootFilesystem": "true",
		"InitContainer.1.SecurityContext.Capability.Add.1":       "NET_RAW",
		"Container.1.Name":                                       "app",
		"Container.2.Name":                                       "log-shipper",
		"Container.2.Cpu":                                        "0.25",
		"Container.2.Memory":                                     "0.25",
		// max(1.25 vCPU app sum, 4 vCPU init) / max(2.25 GiB, 1 GiB) -> 4 vCPU / 4 GiB
		"Cpu": "4", "Memory": "4",
	})
}

// Kubernetes sidecars (init containers with restartPolicy Always) have no
// ECI equivalent: they run as the first application containers, and the
// runtime is told which they are so their status goes to
// initContainerStatuses.
func TestSidecarInitContainer(t *testing.T) {
	mesh := ctr("proxy", "envoy:1.31")
	mesh.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
	mesh.Resources = res("", "", "500m", "512Mi")
	mesh.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: port(15021)}}}
	initc := ctr("init", "busybox")
	initc.Resources = res("", "", "2", "1Gi")
	app := ctr("app", "app:1")
	app.Resources = res("", "", "1", "1Gi")
	p := pod("mesh-0", app)
	p.Spec.InitContainers = []corev1.Container{mesh, initc}
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.Name":                        "proxy",
		"Container.1.ReadinessProbe.HttpGet.Port": "15021",
		"Container.2.Name":                        "app",
		"InitContainer.1.Name":                    "init",
		"InitContainer.2.Name":                    absent,
		// init step: 0.5 sidecar + 2 init = 2.5 vCPU; app phase 1.5 vCPU -> 4 vCPU spec
		"Cpu": "4", "Memory": "2",
	})
	if got := out.Options.SidecarContainers; len(got) != 1 || got[0] != "proxy" {
		t.Errorf("SidecarContainers = %q; want [proxy]", got)
	}
	if !hasWarning(out.Warnings, "spec.initContainers[0].restartPolicy", translate.WarnApproximated,
		"sidecar proxy runs as an application container on ECI: it starts together with the application containers rather than before them, so init containers cannot use it") {
		t.Errorf("missing the sidecar warning; got %q", warnings(out.Warnings))
	}
}

// Sizing: the sum of limits (else requests) rounded up to a spec ECI
// sells, with ECI's documented default for pods that ask for nothing.
func TestInstanceSizing(t *testing.T) {
	cases := []struct {
		name        string
		containers  []corev1.ResourceRequirements
		podLevel    *corev1.ResourceRequirements
		wantCPU     string
		wantMem     string
		wantWarning string
	}{
		{name: "nothing set gets ECI's default 2 vCPU / 4 GiB, with a warning",
			containers: []corev1.ResourceRequirements{{}}, wantCPU: "2", wantMem: "4",
			wantWarning: "spec.containers: no container sets cpu or memory requests or limits, so the instance gets ECI's default size of 2 vCPU / 4 GiB (and is billed for it); set resources to choose a size"},
		{name: "smallest spec", containers: []corev1.ResourceRequirements{res("100m", "128Mi", "", "")}, wantCPU: "0.25", wantMem: "0.5"},
		{name: "limits win over requests", containers: []corev1.ResourceRequirements{res("250m", "256Mi", "2", "3Gi")}, wantCPU: "2", wantMem: "4"},
		{name: "containers add up", containers: []corev1.ResourceRequirements{res("", "", "1500m", "1Gi"), res("", "", "500m", "1Gi")}, wantCPU: "2", wantMem: "2"},
		{name: "memory-heavy pod moves up to the next vCPU count", containers: []corev1.ResourceRequirements{res("", "", "1", "12Gi")}, wantCPU: "2", wantMem: "16"},
		{name: "documented example 7 vCPU / 13 GiB", containers: []corev1.ResourceRequirements{res("7", "13Gi", "", "")}, wantCPU: "8", wantMem: "16"},
		{name: "cpu only", containers: []corev1.ResourceRequirements{res("3", "", "", "")}, wantCPU: "4", wantMem: "2"},
		{name: "memory only", containers: []corev1.ResourceRequirements{res("", "3Gi", "", "")}, wantCPU: "1", wantMem: "4"},
		{name: "pod-level resources raise the size", containers: []corev1.ResourceRequirements{res("", "", "500m", "1Gi")},
			podLevel: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}},
			wantCPU:  "4", wantMem: "8"},
		{name: "largest spec", containers: []corev1.ResourceRequirements{res("64", "512Gi", "", "")}, wantCPU: "64", wantMem: "512"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cs []corev1.Container
			for i, rr := range tc.containers {
				c := ctr("c"+itoa(int64(i)), "img")
				c.Resources = rr
				cs = append(cs, c)
			}
			p := pod("sized", cs...)
			p.Spec.Resources = tc.podLevel
			out := run(t, p, vnode(), cluster(t))
			expectWire(t, wire(t, out.Request), map[string]string{"Cpu": tc.wantCPU, "Memory": tc.wantMem})
			if tc.wantWarning != "" && !contains(warnings(out.Warnings), tc.wantWarning) {
				t.Errorf("warnings %q; want %q", warnings(out.Warnings), tc.wantWarning)
			}
			if tc.wantWarning == "" && len(out.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings(out.Warnings))
			}
		})
	}
}

func TestTooLargeForAnySpec(t *testing.T) {
	c := ctr("big", "img")
	c.Resources = res("", "", "96", "64Gi")
	es := problems(t, pod("big", c), vnode(), cluster(t))
	expectProblems(t, es, []string{
		"TooLarge spec.containers: the pod needs 96 vCPU / 64 GiB, more than the largest ECI size (64 vCPU / 512 GiB); lower the containers' resources, or name an ECS instance type in k8s.aliyun.com/eci-use-specs",
	})
}

// With eci-use-specs the named specs decide the size: no Cpu/Memory is sent
// for the instance, and a spec smaller than the containers is flagged.
func TestUseSpecsReplaceSizing(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = res("", "", "4", "8Gi")
	p := pod("specs", c)
	p.Annotations = map[string]string{"k8s.aliyun.com/eci-use-specs": "2-4Gi,ecs.c6.xlarge"}
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"InstanceType": "2-4Gi,ecs.c6.xlarge", "Cpu": absent, "Memory": absent, "Container.1.Cpu": "4",
	})
	want := `metadata.annotations["k8s.aliyun.com/eci-use-specs"]: spec 2-4Gi is smaller than the 4 vCPU / 8 GiB the containers ask for; containers may be throttled or killed for memory if ECI picks it`
	if !contains(warnings(out.Warnings), want) {
		t.Errorf("warnings %q; want %q", warnings(out.Warnings), want)
	}
}

// GPUs: nvidia.com/gpu becomes the container's Gpu, and needs a GPU
// instance type because ECI only places GPU containers on one.
func TestGPU(t *testing.T) {
	gpuPod := func() *corev1.Pod {
		c := ctr("train", "registry.example.com/ml/train:2")
		c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{
			"nvidia.com/gpu": resource.MustParse("1"), corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("15Gi"),
		}}
		return pod("train-0", c)
	}
	t.Run("with a GPU instance type", func(t *testing.T) {
		p := gpuPod()
		p.Annotations = map[string]string{
			"k8s.aliyun.com/eci-use-specs":          "ecs.gn6i-c4g1.xlarge",
			"k8s.aliyun.com/eci-gpu-driver-version": "tesla=525.85.12",
		}
		out := run(t, p, vnode(), cluster(t))
		expectWire(t, wire(t, out.Request), map[string]string{
			"Container.1.Gpu": "1", "InstanceType": "ecs.gn6i-c4g1.xlarge", "GpuDriverVersion": "tesla=525.85.12",
			"Cpu": absent, "Memory": absent,
		})
	})
	t.Run("without one", func(t *testing.T) {
		es := problems(t, gpuPod(), vnode(), cluster(t))
		expectProblems(t, es, []string{
			`InvalidSpec spec.containers[0].resources.limits["nvidia.com/gpu"]: the container asks for 1 GPUs, but ECI only runs GPU containers on GPU-accelerated ECS instance types; name one in the pod annotation k8s.aliyun.com/eci-use-specs, such as ecs.gn6i-c4g1.xlarge`,
		})
	})
	t.Run("with only non-GPU types", func(t *testing.T) {
		p := gpuPod()
		p.Annotations = map[string]string{"k8s.aliyun.com/eci-use-specs": "ecs.c6.xlarge,4-16Gi"}
		es := problems(t, p, vnode(), cluster(t))
		if len(es) != 1 || es[0].Reason != translate.ReasonInvalidSpec {
			t.Fatalf("problems %v; want one InvalidSpec", es)
		}
	})
}

// Ephemeral storage beyond the 30 GiB every instance has is requested.
func TestEphemeralStorageFromRequests(t *testing.T) {
	c := ctr("cache", "img")
	c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("50Gi")}}
	out := run(t, pod("cache", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{"EphemeralStorage": "20"})
	want := "spec.containers: the containers ask for 50 GiB of ephemeral storage; ECI instances have 30 GiB, so 20 GiB extra is requested (set k8s.aliyun.com/eci-extra-ephemeral-storage to choose)"
	if !contains(warnings(out.Warnings), want) {
		t.Errorf("warnings %q; want %q", warnings(out.Warnings), want)
	}
	// The annotation wins.
	p := pod("cache", c)
	p.Annotations = map[string]string{"k8s.aliyun.com/eci-extra-ephemeral-storage": "100Gi"}
	expectWire(t, wire(t, run(t, p, vnode(), cluster(t)).Request), map[string]string{"EphemeralStorage": "100"})
}

func TestOtherResourcesAreReported(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1"), "hugepages-2Mi": resource.MustParse("64Mi"), "example.com/fpga": resource.MustParse("1"),
	}}
	out := run(t, pod("x", c), vnode(), cluster(t))
	for _, want := range []string{
		"spec.containers[0].resources: resource example.com/fpga is ignored: ECI instances offer cpu, memory, ephemeral-storage and nvidia.com/gpu only",
		"spec.containers[0].resources: resource hugepages-2Mi is ignored: ECI instances have no huge pages",
	} {
		if !contains(warnings(out.Warnings), want) {
			t.Errorf("warnings %q; want %q", warnings(out.Warnings), want)
		}
	}
}

func TestTooManyContainersAndVolumes(t *testing.T) {
	var cs []corev1.Container
	for i := 0; i < 21; i++ {
		cs = append(cs, ctr("c"+itoa(int64(i)), "img"))
	}
	p := pod("many", cs...)
	for i := 0; i < 21; i++ {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "v" + itoa(int64(i)), VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}
	es := problems(t, p, vnode(), cluster(t))
	expectProblems(t, es, []string{
		"TooLarge spec.containers: the pod has 21 containers (sidecars included); ECI runs at most 20 per instance",
		"TooLarge spec.volumes: the pod has 21 volumes; ECI allows at most 20 per instance: combine ConfigMaps, Secrets and downward API files into one projected volume",
	})
}

// ECI accepts at most 10 args; with a command they are sent as part of it.
func TestManyArgs(t *testing.T) {
	args := strings.Fields("-a -b -c -d -e -f -g -h -i -j -k")
	c := ctr("app", "img")
	c.Command = []string{"/bin/app"}
	c.Args = args
	out := run(t, pod("args", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.Command.1": "/bin/app", "Container.1.Command.2": "-a", "Container.1.Command.12": "-k", "Container.1.Arg.1": absent,
	})
	c.Command = nil
	es := problems(t, pod("args", c), vnode(), cluster(t))
	expectProblems(t, es, []string{
		"TooLarge spec.containers[0].args: ECI accepts at most 10 args, got 11; set command to the image's entrypoint so the arguments can be sent as part of the command",
	})
}

func TestNilInputs(t *testing.T) {
	if _, err := translate.Pod(context.Background(), nil, vnode(), cluster(t)); err == nil {
		t.Error("nil pod: want an error")
	}
	if _, err := translate.Pod(context.Background(), pod("x", ctr("a", "b")), vnode(), nil); err == nil {
		t.Error("nil resolver: want an error")
	}
}

// expectProblems compares problems as "<Reason> <field>: <message>".
func expectProblems(t *testing.T, es translate.Errors, want []string) {
	t.Helper()
	got := make([]string, len(es))
	for i, e := range es {
		got[i] = string(e.Reason) + " " + e.Error()
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n got: %s\nwant: %s", len(got), len(want), strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d:\n got: %s\nwant: %s", i+1, got[i], want[i])
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
