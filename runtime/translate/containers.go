package translate

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// maxArgs is ECI's documented limit on Container.N.Arg.
const maxArgs = 10

// containers translates init and application containers. Kubernetes
// sidecars (init containers with restartPolicy: Always) have no ECI
// equivalent; they become application containers placed first.
func (t *translator) containers() {
	spec := &t.pod.Spec
	apps := make([]eci.Container, 0, len(spec.Containers)+1)
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		field := index("spec.initContainers", i)
		if isSidecar(c) {
			t.opts.SidecarContainers = append(t.opts.SidecarContainers, c.Name)
			t.c.warn(field+".restartPolicy", WarnApproximated,
				"sidecar %s runs as an application container on ECI: it starts together with the application containers rather than before them, so init containers cannot use it",
				c.Name)
			apps = append(apps, t.appContainer(field, c))
			continue
		}
		t.req.InitContainers = append(t.req.InitContainers, t.initContainer(field, c))
	}
	for i := range spec.Containers {
		apps = append(apps, t.appContainer(index("spec.containers", i), &spec.Containers[i]))
	}
	t.req.Containers = apps
}

// common is what init and application containers share.
type common struct {
	env            *envSet
	commands, args []string
	ports          []eci.Port
	mounts         []eci.VolumeMount
	cpu, mem       float64
	gpu            int32
}

func (t *translator) common(field string, c *corev1.Container) common {
	var out common
	out.env = t.env(field, c)
	out.commands = t.expandList(field+".command", c.Command, out.env)
	out.args = t.expandList(field+".args", c.Args, out.env)
	out.ports = t.ports(field, c)
	out.mounts = t.mounts(field, c, out.env)
	out.cpu, out.mem, out.gpu = t.containerResources(field, &c.Resources)
	if len(c.VolumeDevices) > 0 {
		t.c.fail(field+".volumeDevices", ReasonUnsupported,
			"raw block devices are not supported on ECI; use a filesystem volume (volumeMounts) instead")
	}
	if len(c.ResizePolicy) > 0 {
		t.c.warn(field+".resizePolicy", WarnIgnored, "ECI cannot resize a running instance in place; the policy is ignored")
	}
	if len(c.RestartPolicyRules) > 0 {
		t.c.warn(field+".restartPolicyRules", WarnIgnored, "ECI restarts containers by the pod's restartPolicy only; the rules are ignored")
	}
	return out
}

func (t *translator) appContainer(field string, c *corev1.Container) eci.Container {
	b := t.common(field, c)
	if len(b.args) > maxArgs {
		if len(b.commands) == 0 {
			t.c.fail(field+".args", ReasonTooLarge,
				"ECI accepts at most %d args, got %d; set command to the image's entrypoint so the arguments can be sent as part of the command",
				maxArgs, len(b.args))
		} else {
			// command + args is exactly what runs; ECI's command has no limit.
			b.commands = append(b.commands, b.args...)
			b.args = nil
		}
	}
	out := eci.Container{
		Name:                     c.Name,
		Image:                    c.Image,
		ImagePullPolicy:          string(c.ImagePullPolicy),
		Commands:                 b.commands,
		Args:                     b.args,
		WorkingDir:               c.WorkingDir,
		CPU:                      b.cpu,
		Memory:                   b.mem,
		GPU:                      b.gpu,
		EnvironmentVars:          b.env.vars,
		Ports:                    b.ports,
		VolumeMounts:             b.mounts,
		TerminationMessagePath:   terminationMessagePath(c),
		TerminationMessagePolicy: terminationMessagePolicy(c),
	}
	if b.env.fromSecret {
		// Keep Secret values out of DescribeContainerGroups output.
		out.EnvironmentVarHide = eci.Ptr(true)
	}
	out.LivenessProbe, out.ReadinessProbe = t.probes(field, c)
	if c.Lifecycle != nil {
		out.PostStart = t.hook(field+".lifecycle.postStart", c, c.Lifecycle.PostStart)
		out.PreStop = t.hook(field+".lifecycle.preStop", c, c.Lifecycle.PreStop)
		if c.Lifecycle.StopSignal != nil {
			t.c.warn(field+".lifecycle.stopSignal", WarnIgnored, "ECI stops containers with SIGTERM; the stop signal %s is ignored", *c.Lifecycle.StopSignal)
		}
	}
	out.SecurityContext = t.containerSecurity(field, c)
	if c.Stdin {
		out.Stdin = eci.Ptr(true)
	}
	if c.StdinOnce {
		out.StdinOnce = eci.Ptr(true)
	}
	if c.TTY {
		out.TTY = eci.Ptr(true)
	}
	return out
}

func (t *translator) initContainer(field string, c *corev1.Container) eci.InitContainer {
	b := t.common(field, c)
	return eci.InitContainer{
		Name:                     c.Name,
		Image:                    c.Image,
		ImagePullPolicy:          string(c.ImagePullPolicy),
		Commands:                 b.commands,
		Args:                     b.args,
		WorkingDir:               c.WorkingDir,
		CPU:                      b.cpu,
		Memory:                   b.mem,
		GPU:                      b.gpu,
		EnvironmentVars:          b.env.vars,
		Ports:                    b.ports,
		VolumeMounts:             b.mounts,
		SecurityContext:          t.initContainerSecurity(field, c),
		TerminationMessagePath:   terminationMessagePath(c),
		TerminationMessagePolicy: terminationMessagePolicy(c),
	}
}

// expandList expands $(VAR) in command or args with the container's
// environment, as the kubelet does before starting the container.
func (t *translator) expandList(field string, in []string, env *envSet) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, env.lookup)
		t.warnRuntimeRefs(index(field, i), s, env)
	}
	return out
}

// ports declares container ports. ECI gives every instance its own IP, so a
// containerPort is reachable at the pod IP as in Kubernetes.
func (t *translator) ports(field string, c *corev1.Container) []eci.Port {
	if len(c.Ports) == 0 {
		return nil
	}
	out := make([]eci.Port, 0, len(c.Ports))
	for j := range c.Ports {
		p := &c.Ports[j]
		pf := index(field+".ports", j)
		switch p.ContainerPort {
		case 111, 10250, 10255:
			t.c.fail(pf+".containerPort", ReasonUnsupported,
				"port %d is reserved on ECI, which uses ports 111, 10250 and 10255 itself (exec, logs and metrics); listen on another port", p.ContainerPort)
			continue
		}
		proto := protocol(p.Protocol)
		if proto != string(corev1.ProtocolTCP) && proto != string(corev1.ProtocolUDP) {
			t.c.warn(pf+".protocol", WarnIgnored, "ECI declares TCP and UDP ports only; %s port %d is not declared (the container can still listen on it)", proto, p.ContainerPort)
			continue
		}
		if p.HostPort != 0 && p.HostPort != p.ContainerPort {
			t.c.warn(pf+".hostPort", WarnApproximated,
				"an ECI instance is its own host, so there is no port mapping: the container is reached at the pod IP on port %d, not %d", p.ContainerPort, p.HostPort)
		}
		if p.HostIP != "" {
			t.c.warn(pf+".hostIP", WarnIgnored, "an ECI instance is its own host; hostIP is ignored")
		}
		out = append(out, eci.Port{Port: p.ContainerPort, Protocol: proto})
	}
	return out
}

// terminationMessagePath is sent only when it differs from the Kubernetes
// default, which ECI also uses.
func terminationMessagePath(c *corev1.Container) string {
	if c.TerminationMessagePath == corev1.TerminationMessagePathDefault {
		return ""
	}
	return c.TerminationMessagePath
}

func terminationMessagePolicy(c *corev1.Container) string {
	if c.TerminationMessagePolicy == corev1.TerminationMessageReadFile {
		return ""
	}
	return string(c.TerminationMessagePolicy)
}
