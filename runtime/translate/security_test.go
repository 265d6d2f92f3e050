package translate_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSecurityContext(t *testing.T) {
	app := ctr("app", "img")
	app.SecurityContext = &corev1.SecurityContext{
		RunAsUser:              ptr[int64](2000), // overrides the pod's 1000
		ReadOnlyRootFilesystem: ptr(true),
		Capabilities:           &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "SYS_TIME"}},
	}
	root := ctr("root-tool", "img")
	root.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr[int64](0), Privileged: ptr(true)}
	p := pod("secure", app, root)
	p.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsUser: ptr[int64](1000), RunAsGroup: ptr[int64](3000), RunAsNonRoot: ptr(false),
		Sysctls: []corev1.Sysctl{
			{Name: "net.ipv4.ip_local_port_range", Value: "1024 65000"}, // safe
			{Name: "kernel.msgmax", Value: "65536"},                     // unsafe
			{Name: "net.core.somaxconn", Value: "4096"},                 // unsafe
		},
	}
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.SecurityContext.RunAsUser":              "2000",
		"Container.1.SecurityContextRunAsGroup":              "3000", // from the pod
		"Container.1.SecurityContextRunAsNonRoot":            "false",
		"Container.1.SecurityContext.ReadOnlyRootFilesystem": "true",
		"Container.1.SecurityContext.Capability.Add.1":       "NET_ADMIN",
		"Container.1.SecurityContext.Capability.Add.2":       "SYS_TIME",
		"Container.1.SecurityContextPrivileged":              absent,
		"Container.2.SecurityContext.RunAsUser":              "0", // root is meaningful, so it is sent
		"Container.2.SecurityContextPrivileged":              "true",
		"SecurityContext.Sysctl.1.Name":                      "net.ipv4.ip_local_port_range",
		"SecurityContext.Sysctl.1.Value":                     "1024 65000",
		"HostSecurityContext.Sysctl.1.Name":                  "kernel.msgmax",
		"HostSecurityContext.Sysctl.2.Name":                  "net.core.somaxconn",
	})
}

// A hardened pod's settings that ECI cannot apply are listed in one
// warning, not a flood of Events.
func TestIgnoredSecuritySettings(t *testing.T) {
	app := ctr("app", "img")
	app.Resources = res("", "", "1", "1Gi")
	app.SecurityContext = &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	initc := ctr("init", "img")
	p := pod("hardened", app)
	p.Spec.InitContainers = []corev1.Container{initc}
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsGroup: ptr[int64](10), FSGroup: ptr[int64](2000)}
	out := run(t, p, vnode(), cluster(t))
	want := []string{"spec.initContainers[0].securityContext.runAsGroup: ECI cannot apply these security settings, so they are ignored and the containers run with ECI's defaults: " +
		"spec.initContainers[0].securityContext.runAsGroup (ECI takes no group for init containers), " +
		"spec.initContainers[0].securityContext.runAsNonRoot (ECI takes no such check for init containers), " +
		"spec.containers[0].securityContext.capabilities.drop, spec.containers[0].securityContext.allowPrivilegeEscalation, " +
		"spec.containers[0].securityContext.seccompProfile, spec.securityContext.fsGroup"}
	if got := warnings(out.Warnings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

func TestPrivilegedInitContainerIsRefused(t *testing.T) {
	initc := ctr("sysctl", "busybox")
	initc.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
	p := pod("es-0", ctr("es", "elasticsearch:8"))
	p.Spec.InitContainers = []corev1.Container{initc}
	expectProblems(t, problems(t, p, vnode(), cluster(t)), []string{
		"Unsupported spec.initContainers[0].securityContext.privileged: ECI cannot run privileged init containers; set kernel parameters with the pod's securityContext.sysctls instead",
	})
}

// Features a VNode cannot provide are refused with what to use instead.
func TestUnsupportedPodFeatures(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*corev1.Pod)
		want   string
	}{
		{"hostNetwork", func(p *corev1.Pod) { p.Spec.HostNetwork = true },
			"Unsupported spec.hostNetwork: hostNetwork is not supported on a VNode: each ECI instance has its own network interface and there is no node network to share; to expose the pod, use a Service of type LoadBalancer"},
		{"hostPID", func(p *corev1.Pod) { p.Spec.HostPID = true },
			"Unsupported spec.hostPID: hostPID is not supported on ECI: each instance is an isolated virtual machine with no host process namespace to share (to share processes between the pod's containers, use shareProcessNamespace)"},
		{"hostIPC", func(p *corev1.Pod) { p.Spec.HostIPC = true },
			"Unsupported spec.hostIPC: hostIPC is not supported on ECI: each instance is an isolated virtual machine with no host IPC namespace to share"},
		{"DaemonSet pod", func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "node-exporter", Controller: ptr(true)}}
		}, "Unsupported metadata.ownerReferences[0]: pods of DaemonSet node-exporter cannot run on a VNode: there is no node for a per-node agent to serve; use a sidecar container in the pod instead"},
		{"Windows pod", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} },
			"Unsupported spec.os.name: this VNode runs Linux instances only; windows pods are not supported"},
		{"resource claims", func(p *corev1.Pod) { p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu"}} },
			"Unsupported spec.resourceClaims: dynamic resource allocation is not supported on ECI; request GPUs with nvidia.com/gpu limits instead"},
		{"no UID", func(p *corev1.Pod) { p.UID = "" },
			"InvalidSpec metadata.uid: the pod has no UID; only pods read from the API server can be translated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pod("p", ctr("app", "img"))
			tc.modify(p)
			expectProblems(t, problems(t, p, vnode(), cluster(t)), []string{tc.want})
		})
	}
}

func TestPodLevelSettings(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = res("", "", "1", "1Gi")
	c.Stdin, c.TTY = true, true
	c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	p := pod("misc", c)
	p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	p.Spec.ShareProcessNamespace = ptr(true)
	p.Spec.RuntimeClassName = ptr("gvisor")
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"RestartPolicy": "OnFailure", "ShareProcessNamespace": "true",
		"Container.1.Stdin": "true", "Container.1.Tty": "true", "Container.1.StdinOnce": absent,
		"Container.1.TerminationMessagePolicy": "FallbackToLogsOnError", "Container.1.TerminationMessagePath": absent,
	})
	w := "spec.runtimeClassName: ECI runs every pod in its own virtual machine with ECI's container runtime; runtime class gvisor is ignored"
	if !contains(warnings(out.Warnings), w) {
		t.Errorf("warnings %q; want %q", warnings(out.Warnings), w)
	}
}
