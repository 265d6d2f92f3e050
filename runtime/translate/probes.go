package translate

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// Kubernetes probe defaults, for the startup budget when a field is unset.
const (
	defaultProbePeriod  = 10
	defaultProbeFailure = 3
)

// probes translates the liveness and readiness probes. ECI has no startup
// probe: its role (hold liveness checks off until the program is up) is
// kept by delaying the liveness probe by the startup probe's whole budget.
func (t *translator) probes(field string, c *corev1.Container) (live, ready *eci.Probe) {
	live = t.probe(field+".livenessProbe", c, c.LivenessProbe)
	ready = t.probe(field+".readinessProbe", c, c.ReadinessProbe)
	if ready != nil && ready.SuccessThreshold != nil && *ready.SuccessThreshold > 1 {
		t.c.warn(field+".readinessProbe.successThreshold", WarnApproximated,
			"ECI requires a readiness success threshold of 1; the container becomes ready after 1 successful check instead of %d", *ready.SuccessThreshold)
		ready.SuccessThreshold = eci.Ptr[int32](1)
	}
	if sp := c.StartupProbe; sp != nil {
		period, failures := sp.PeriodSeconds, sp.FailureThreshold
		if period <= 0 {
			period = defaultProbePeriod
		}
		if failures <= 0 {
			failures = defaultProbeFailure
		}
		budget := int64(sp.InitialDelaySeconds) + int64(period)*int64(failures)
		budget = min(budget, 1<<31-1)
		if live == nil {
			t.c.warn(field+".startupProbe", WarnIgnored,
				"ECI has no startup probe and the container has no liveness probe to fold it into, so it is ignored: a container that never starts up is not restarted")
			return live, ready
		}
		delay := int64(0)
		if live.InitialDelaySeconds != nil {
			delay = int64(*live.InitialDelaySeconds)
		}
		if budget > delay {
			live.InitialDelaySeconds = eci.Ptr(int32(budget))
		}
		t.c.warn(field+".startupProbe", WarnApproximated,
			"ECI has no startup probe: the liveness probe instead waits %ds (initialDelaySeconds + periodSeconds × failureThreshold of the startup probe) before its first check, and readiness checks start at once",
			max(budget, delay))
	}
	return live, ready
}

func (t *translator) probe(field string, c *corev1.Container, p *corev1.Probe) *eci.Probe {
	if p == nil {
		return nil
	}
	out := &eci.Probe{
		InitialDelaySeconds: positive(p.InitialDelaySeconds),
		PeriodSeconds:       positive(p.PeriodSeconds),
		TimeoutSeconds:      positive(p.TimeoutSeconds),
		SuccessThreshold:    positive(p.SuccessThreshold),
		FailureThreshold:    positive(p.FailureThreshold),
	}
	if p.TerminationGracePeriodSeconds != nil {
		t.c.warn(field+".terminationGracePeriodSeconds", WarnIgnored,
			"ECI has no per-probe grace period; the pod's terminationGracePeriodSeconds applies")
	}
	switch h := &p.ProbeHandler; {
	case h.Exec != nil:
		out.Exec = &eci.ExecAction{Command: append([]string(nil), h.Exec.Command...)}
	case h.HTTPGet != nil:
		port, ok := t.resolvePort(field+".httpGet.port", c, h.HTTPGet.Port)
		if !ok {
			return nil
		}
		if h.HTTPGet.Host != "" {
			t.c.warn(field+".httpGet.host", WarnIgnored, "ECI probes always target the pod; host %s is ignored", h.HTTPGet.Host)
		}
		if len(h.HTTPGet.HTTPHeaders) > 0 {
			t.c.warn(field+".httpGet.httpHeaders", WarnIgnored, "ECI probes cannot send HTTP headers; the probe is sent without them")
		}
		if h.HTTPGet.Protocol != nil && *h.HTTPGet.Protocol != corev1.HTTPProtocolHTTP1 {
			t.c.warn(field+".httpGet.protocol", WarnIgnored, "ECI probes use HTTP/1.1; protocol %s is ignored", *h.HTTPGet.Protocol)
		}
		out.HTTPGet = &eci.ProbeHTTPGet{Path: h.HTTPGet.Path, Port: port, Scheme: string(h.HTTPGet.Scheme)}
	case h.TCPSocket != nil:
		port, ok := t.resolvePort(field+".tcpSocket.port", c, h.TCPSocket.Port)
		if !ok {
			return nil
		}
		if h.TCPSocket.Host != "" {
			t.c.warn(field+".tcpSocket.host", WarnIgnored, "ECI probes always target the pod; host %s is ignored", h.TCPSocket.Host)
		}
		out.TCPSocket = &eci.ProbeTCPSocket{Port: port}
	case h.GRPC != nil:
		if h.GRPC.Port < 1 || h.GRPC.Port > 65535 {
			t.c.fail(field+".grpc.port", ReasonInvalidSpec, "port %d is not a port number (1-65535)", h.GRPC.Port)
			return nil
		}
		t.c.warn(field+".grpc", WarnApproximated,
			"ECI has no gRPC probe; a TCP check of port %d is used instead, which passes once the port accepts connections even if the gRPC health service reports NOT_SERVING",
			h.GRPC.Port)
		out.TCPSocket = &eci.ProbeTCPSocket{Port: h.GRPC.Port}
	default:
		t.c.fail(field, ReasonInvalidSpec, "the probe has no handler; set exec, httpGet, tcpSocket or grpc")
		return nil
	}
	return out
}

// hook translates a postStart or preStop handler.
func (t *translator) hook(field string, c *corev1.Container, h *corev1.LifecycleHandler) *eci.LifecycleHandler {
	if h == nil {
		return nil
	}
	switch {
	case h.Exec != nil:
		return &eci.LifecycleHandler{Exec: append([]string(nil), h.Exec.Command...)}
	case h.HTTPGet != nil:
		port, ok := t.resolvePort(field+".httpGet.port", c, h.HTTPGet.Port)
		if !ok {
			return nil
		}
		g := &eci.HookHTTPGet{Host: h.HTTPGet.Host, Path: h.HTTPGet.Path, Port: port, Scheme: string(h.HTTPGet.Scheme)}
		for _, hd := range h.HTTPGet.HTTPHeaders {
			g.HTTPHeaders = append(g.HTTPHeaders, eci.HTTPHeader{Name: hd.Name, Value: hd.Value})
		}
		return &eci.LifecycleHandler{HTTPGet: g}
	case h.TCPSocket != nil:
		port, ok := t.resolvePort(field+".tcpSocket.port", c, h.TCPSocket.Port)
		if !ok {
			return nil
		}
		return &eci.LifecycleHandler{TCPSocket: &eci.HookTCPSocket{Host: h.TCPSocket.Host, Port: port}}
	case h.Sleep != nil:
		// ECI has no sleep action; running sleep(1) in the container is the
		// same wait, provided the image has it.
		t.c.warn(field+".sleep", WarnApproximated,
			"ECI has no sleep action; the hook runs the command sleep %d in the container instead, which needs a sleep program in the image",
			h.Sleep.Seconds)
		return &eci.LifecycleHandler{Exec: []string{"sleep", strconv.FormatInt(h.Sleep.Seconds, 10)}}
	}
	t.c.fail(field, ReasonInvalidSpec, "the hook has no handler; set exec, httpGet, tcpSocket or sleep")
	return nil
}

// resolvePort turns a probe or hook port into a number; a named port is
// looked up among the container's ports, as the kubelet does.
func (t *translator) resolvePort(field string, c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	if p.Type == intstr.Int {
		if p.IntVal < 1 || p.IntVal > 65535 {
			t.c.fail(field, ReasonInvalidSpec, "port %d is not a port number (1-65535)", p.IntVal)
			return 0, false
		}
		return p.IntVal, true
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, true
		}
	}
	t.c.fail(field, ReasonInvalidSpec,
		"port name %s is not declared in the container's ports; declare it there or use the port number", strconv.Quote(p.StrVal))
	return 0, false
}

func positive(n int32) *int32 {
	if n <= 0 {
		return nil
	}
	return &n
}
