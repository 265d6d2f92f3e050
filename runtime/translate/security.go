package translate

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// containerSecurity is an application container's security context, with
// the pod's runAsUser/runAsGroup/runAsNonRoot as defaults (as in
// Kubernetes).
func (t *translator) containerSecurity(field string, c *corev1.Container) *eci.ContainerSecurityContext {
	ps := t.pod.Spec.SecurityContext
	sc := c.SecurityContext
	out := &eci.ContainerSecurityContext{}
	if ps != nil {
		out.RunAsUser, out.RunAsGroup, out.RunAsNonRoot = ps.RunAsUser, ps.RunAsGroup, ps.RunAsNonRoot
	}
	if sc != nil {
		if sc.RunAsUser != nil {
			out.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			out.RunAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			out.RunAsNonRoot = sc.RunAsNonRoot
		}
		if sc.Capabilities != nil {
			out.CapabilityAdd = capabilities(sc.Capabilities.Add)
		}
		if isTrue(sc.ReadOnlyRootFilesystem) {
			out.ReadOnlyRootFilesystem = eci.Ptr(true)
		}
		if isTrue(sc.Privileged) {
			out.Privileged = eci.Ptr(true)
		}
		t.ignoredContainerSecurity(field+".securityContext", sc)
	}
	out.RunAsUser, out.RunAsGroup, out.RunAsNonRoot = copyPtr(out.RunAsUser), copyPtr(out.RunAsGroup), copyPtr(out.RunAsNonRoot)
	if out.RunAsUser == nil && out.RunAsGroup == nil && out.RunAsNonRoot == nil && len(out.CapabilityAdd) == 0 &&
		out.ReadOnlyRootFilesystem == nil && out.Privileged == nil {
		return nil
	}
	return out
}

// initContainerSecurity is an init container's security context. ECI takes
// fewer settings for init containers: no runAsGroup, runAsNonRoot or
// privileged.
func (t *translator) initContainerSecurity(field string, c *corev1.Container) *eci.InitContainerSecurityContext {
	ps := t.pod.Spec.SecurityContext
	sc := c.SecurityContext
	out := &eci.InitContainerSecurityContext{}
	var group *int64
	var nonRoot *bool
	if ps != nil {
		out.RunAsUser, group, nonRoot = ps.RunAsUser, ps.RunAsGroup, ps.RunAsNonRoot
	}
	if sc != nil {
		if sc.RunAsUser != nil {
			out.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			group = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if sc.Capabilities != nil {
			out.CapabilityAdd = capabilities(sc.Capabilities.Add)
		}
		if isTrue(sc.ReadOnlyRootFilesystem) {
			out.ReadOnlyRootFilesystem = eci.Ptr(true)
		}
		if isTrue(sc.Privileged) {
			t.c.fail(field+".securityContext.privileged", ReasonUnsupported,
				"ECI cannot run privileged init containers; set kernel parameters with the pod's securityContext.sysctls instead")
		}
		t.ignoredContainerSecurity(field+".securityContext", sc)
	}
	if group != nil {
		t.ignoredSec = append(t.ignoredSec, field+".securityContext.runAsGroup (ECI takes no group for init containers)")
	}
	if isTrue(nonRoot) {
		t.ignoredSec = append(t.ignoredSec, field+".securityContext.runAsNonRoot (ECI takes no such check for init containers)")
	}
	out.RunAsUser = copyPtr(out.RunAsUser)
	if out.RunAsUser == nil && out.ReadOnlyRootFilesystem == nil && len(out.CapabilityAdd) == 0 {
		return nil
	}
	return out
}

func (t *translator) ignoredContainerSecurity(field string, sc *corev1.SecurityContext) {
	if sc.Capabilities != nil && len(sc.Capabilities.Drop) > 0 {
		t.ignoredSec = append(t.ignoredSec, field+".capabilities.drop")
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		t.ignoredSec = append(t.ignoredSec, field+".allowPrivilegeEscalation")
	}
	if sc.SELinuxOptions != nil {
		t.ignoredSec = append(t.ignoredSec, field+".seLinuxOptions")
	}
	if sc.SeccompProfile != nil {
		t.ignoredSec = append(t.ignoredSec, field+".seccompProfile")
	}
	if sc.AppArmorProfile != nil {
		t.ignoredSec = append(t.ignoredSec, field+".appArmorProfile")
	}
	if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
		t.ignoredSec = append(t.ignoredSec, field+".procMount")
	}
	if sc.WindowsOptions != nil {
		t.ignoredSec = append(t.ignoredSec, field+".windowsOptions")
	}
}

// security handles the pod-level security context: sysctls, and the
// settings ECI cannot apply. It runs after the containers so the one
// warning covers them too.
func (t *translator) security() {
	if ps := t.pod.Spec.SecurityContext; ps != nil {
		const f = "spec.securityContext"
		t.sysctls(ps.Sysctls)
		type opt struct {
			set  bool
			name string
		}
		for _, o := range [...]opt{
			{ps.FSGroup != nil, ".fsGroup"},
			{ps.FSGroupChangePolicy != nil, ".fsGroupChangePolicy"},
			{len(ps.SupplementalGroups) > 0, ".supplementalGroups"},
			{ps.SupplementalGroupsPolicy != nil, ".supplementalGroupsPolicy"},
			{ps.SELinuxOptions != nil, ".seLinuxOptions"},
			{ps.SELinuxChangePolicy != nil, ".seLinuxChangePolicy"},
			{ps.SeccompProfile != nil, ".seccompProfile"},
			{ps.AppArmorProfile != nil, ".appArmorProfile"},
			{ps.WindowsOptions != nil, ".windowsOptions"},
		} {
			if o.set {
				t.ignoredSec = append(t.ignoredSec, f+o.name)
			}
		}
	}
	if hu := t.pod.Spec.HostUsers; hu != nil && !*hu {
		t.ignoredSec = append(t.ignoredSec, "spec.hostUsers (ECI instances are isolated virtual machines; no user namespace is set up)")
	}
	if len(t.ignoredSec) > 0 {
		t.c.warn(strings.Fields(t.ignoredSec[0])[0], WarnIgnored,
			"ECI cannot apply these security settings, so they are ignored and the containers run with ECI's defaults: %s",
			strings.Join(t.ignoredSec, ", "))
	}
}

// sysctls splits the pod's sysctls as Kubernetes does: the safe set goes to
// SecurityContext; every other (unsafe) one to HostSecurityContext, which
// ECI accepts for namespaced kernel parameters.
func (t *translator) sysctls(in []corev1.Sysctl) {
	for _, s := range in {
		sc := eci.Sysctl{Name: s.Name, Value: s.Value}
		if isSafeSysctl(s.Name) {
			if t.req.SecurityContext == nil {
				t.req.SecurityContext = &eci.PodSecurityContext{}
			}
			t.req.SecurityContext.Sysctls = append(t.req.SecurityContext.Sysctls, sc)
			continue
		}
		if t.req.HostSecurityContext == nil {
			t.req.HostSecurityContext = &eci.PodSecurityContext{}
		}
		t.req.HostSecurityContext.Sysctls = append(t.req.HostSecurityContext.Sysctls, sc)
	}
}

// isSafeSysctl is the kubelet's safe sysctl set (namespaced, isolated from
// the host and other pods); Kubernetes allows these without opt-in.
func isSafeSysctl(name string) bool {
	// The kubelet accepts both separators (net/ipv4/... and net.ipv4...).
	name = strings.ReplaceAll(name, "/", ".")
	switch name {
	case "kernel.shm_rmid_forced",
		"net.ipv4.ip_local_port_range",
		"net.ipv4.tcp_syncookies",
		"net.ipv4.ping_group_range",
		"net.ipv4.ip_unprivileged_port_start",
		"net.ipv4.ip_local_reserved_ports",
		"net.ipv4.tcp_keepalive_time",
		"net.ipv4.tcp_fin_timeout",
		"net.ipv4.tcp_keepalive_intvl",
		"net.ipv4.tcp_keepalive_probes",
		"net.ipv4.tcp_rmem",
		"net.ipv4.tcp_wmem":
		return true
	}
	return false
}

func capabilities(in []corev1.Capability) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, c := range in {
		out[i] = string(c)
	}
	return out
}

// copyPtr copies a pointed-to value so the request never aliases the pod.
func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
