package translate_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestProbes(t *testing.T) {
	c := ctr("app", "img")
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "grpc", ContainerPort: 9090}}
	c.LivenessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
		InitialDelaySeconds: 3, PeriodSeconds: 7, TimeoutSeconds: 2, SuccessThreshold: 1, FailureThreshold: 5,
	}
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: namedPort("http"), Scheme: corev1.URISchemeHTTPS}},
		SuccessThreshold: 3, PeriodSeconds: 10, TimeoutSeconds: 1, FailureThreshold: 3,
	}
	c.StartupProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/started", Port: port(8080)}},
		PeriodSeconds: 10, FailureThreshold: 30, InitialDelaySeconds: 5,
	}
	out := run(t, pod("probes", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.LivenessProbe.Exec.Command.1": "cat", "Container.1.LivenessProbe.Exec.Command.2": "/tmp/healthy",
		// the startup probe's whole budget (5 + 10 × 30 s) delays liveness checks
		"Container.1.LivenessProbe.InitialDelaySeconds": "305",
		"Container.1.LivenessProbe.PeriodSeconds":       "7", "Container.1.LivenessProbe.TimeoutSeconds": "2",
		"Container.1.LivenessProbe.SuccessThreshold": "1", "Container.1.LivenessProbe.FailureThreshold": "5",
		"Container.1.ReadinessProbe.HttpGet.Port": "8080", "Container.1.ReadinessProbe.HttpGet.Path": "/ready",
		"Container.1.ReadinessProbe.HttpGet.Scheme": "HTTPS",
		// ECI requires 1
		"Container.1.ReadinessProbe.SuccessThreshold": "1",
	})
	gotW := warnings(out.Warnings)
	for _, w := range []string{
		"spec.containers[0].readinessProbe.successThreshold: ECI requires a readiness success threshold of 1; the container becomes ready after 1 successful check instead of 3",
		"spec.containers[0].startupProbe: ECI has no startup probe: the liveness probe instead waits 305s (initialDelaySeconds + periodSeconds × failureThreshold of the startup probe) before its first check, and readiness checks start at once",
	} {
		if !contains(gotW, w) {
			t.Errorf("missing warning %q\n got: %s", w, strings.Join(gotW, "\n      "))
		}
	}
}

func TestProbeApproximations(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = res("", "", "1", "1Gi")
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}, PeriodSeconds: 10}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/", Port: port(80), Host: "example.com", HTTPHeaders: []corev1.HTTPHeader{{Name: "Host", Value: "web"}}}},
		TerminationGracePeriodSeconds: ptr[int64](5)}
	c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: port(80)}}}
	out := run(t, pod("approx", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.LivenessProbe.TcpSocket.Port":      "9090",
		"Container.1.LivenessProbe.InitialDelaySeconds": "30", // startup defaults: 10 s × 3
	})
	want := []string{
		"spec.containers[0].livenessProbe.grpc: ECI has no gRPC probe; a TCP check of port 9090 is used instead, which passes once the port accepts connections even if the gRPC health service reports NOT_SERVING",
		"spec.containers[0].readinessProbe.terminationGracePeriodSeconds: ECI has no per-probe grace period; the pod's terminationGracePeriodSeconds applies",
		"spec.containers[0].readinessProbe.httpGet.host: ECI probes always target the pod; host example.com is ignored",
		"spec.containers[0].readinessProbe.httpGet.httpHeaders: ECI probes cannot send HTTP headers; the probe is sent without them",
		"spec.containers[0].startupProbe: ECI has no startup probe: the liveness probe instead waits 30s (initialDelaySeconds + periodSeconds × failureThreshold of the startup probe) before its first check, and readiness checks start at once",
	}
	if got := warnings(out.Warnings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}

	// Without a liveness probe the startup probe has nothing to fold into.
	c.LivenessProbe = nil
	out = run(t, pod("approx", c), vnode(), cluster(t))
	w := "spec.containers[0].startupProbe: ECI has no startup probe and the container has no liveness probe to fold it into, so it is ignored: a container that never starts up is not restarted"
	if !contains(warnings(out.Warnings), w) {
		t.Errorf("warnings %q; want %q", warnings(out.Warnings), w)
	}
}

func TestLifecycleHooks(t *testing.T) {
	c := ctr("app", "img")
	c.Ports = []corev1.ContainerPort{{Name: "admin", ContainerPort: 9000}}
	c.Lifecycle = &corev1.Lifecycle{
		PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{
			Host: "127.0.0.1", Path: "/warmup", Port: namedPort("admin"), Scheme: corev1.URISchemeHTTP,
			HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Warmup", Value: "1"}, {Name: "X-Env", Value: "prod"}}}},
		PreStop: &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Host: "127.0.0.1", Port: port(9001)}},
	}
	out := run(t, pod("hooks", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.LifecyclePostStartHandlerHttpGetHost":               "127.0.0.1",
		"Container.1.LifecyclePostStartHandlerHttpGetPath":               "/warmup",
		"Container.1.LifecyclePostStartHandlerHttpGetPort":               "9000",
		"Container.1.LifecyclePostStartHandlerHttpGetScheme":             "HTTP",
		"Container.1.LifecyclePostStartHandlerHttpGetHttpHeader.1.Name":  "X-Warmup",
		"Container.1.LifecyclePostStartHandlerHttpGetHttpHeader.2.Value": "prod",
		"Container.1.LifecyclePreStopHandlerTcpSocketHost":               "127.0.0.1",
		"Container.1.LifecyclePreStopHandlerTcpSocketPort":               "9001",
	})

	// ECI has no sleep action: it becomes a sleep command.
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 15}}}
	out = run(t, pod("hooks", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.LifecyclePreStopHandlerExec.1": "sleep", "Container.1.LifecyclePreStopHandlerExec.2": "15",
	})
	w := "spec.containers[0].lifecycle.preStop.sleep: ECI has no sleep action; the hook runs the command sleep 15 in the container instead, which needs a sleep program in the image"
	if !contains(warnings(out.Warnings), w) {
		t.Errorf("warnings %q; want %q", warnings(out.Warnings), w)
	}
}

func TestUnknownNamedPort(t *testing.T) {
	c := ctr("app", "img")
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: namedPort("http")}}}
	c.Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: namedPort("admin")}}}
	es := problems(t, pod("ports", c), vnode(), cluster(t))
	expectProblems(t, es, []string{
		`InvalidSpec spec.containers[0].readinessProbe.httpGet.port: port name "http" is not declared in the container's ports; declare it there or use the port number`,
		`InvalidSpec spec.containers[0].lifecycle.postStart.tcpSocket.port: port name "admin" is not declared in the container's ports; declare it there or use the port number`,
	})
}

func TestPorts(t *testing.T) {
	c := ctr("app", "img")
	c.Resources = res("", "", "1", "1Gi")
	c.Ports = []corev1.ContainerPort{
		{ContainerPort: 53, Protocol: corev1.ProtocolUDP},
		{ContainerPort: 8080, HostPort: 80},
		{ContainerPort: 3868, Protocol: corev1.ProtocolSCTP},
	}
	out := run(t, pod("ports", c), vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"Container.1.Port.1.Port": "53", "Container.1.Port.1.Protocol": "UDP",
		"Container.1.Port.2.Port": "8080", "Container.1.Port.2.Protocol": "TCP",
		"Container.1.Port.3.Port": absent,
	})
	want := []string{
		"spec.containers[0].ports[1].hostPort: an ECI instance is its own host, so there is no port mapping: the container is reached at the pod IP on port 8080, not 80",
		"spec.containers[0].ports[2].protocol: ECI declares TCP and UDP ports only; SCTP port 3868 is not declared (the container can still listen on it)",
	}
	if got := warnings(out.Warnings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	c.Ports = []corev1.ContainerPort{{ContainerPort: 10250}}
	expectProblems(t, problems(t, pod("ports", c), vnode(), cluster(t)), []string{
		"Unsupported spec.containers[0].ports[0].containerPort: port 10250 is reserved on ECI, which uses ports 111, 10250 and 10255 itself (exec, logs and metrics); listen on another port",
	})
}
