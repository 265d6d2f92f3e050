package translate

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// ECI's environment variable limits (docs/design.md, "Quotas"; the
// EnvironmentVar parameters of CreateContainerGroup).
const (
	maxEnvKeyLen   = 128
	maxEnvValueLen = 256
	podIPFieldPath = "status.podIP" // the one FieldRef ECI resolves itself
)

// envSet is a container's environment in kubelet precedence: envFrom in
// order, then env (each entry may refer to the ones before it), then the
// service link variables the container does not define itself.
type envSet struct {
	vars  []eci.EnvVar
	index map[string]int // name -> position in vars
	// services resolves service link variables; $(NAME) may refer to them.
	services func(name string) (string, bool)
	// fromSecret: a value came from a Secret, so ECI is asked to hide the
	// container's variables in DescribeContainerGroups.
	fromSecret bool
}

func (e *envSet) set(v eci.EnvVar) {
	if i, ok := e.index[v.Key]; ok {
		e.vars[i] = v
		return
	}
	e.index[v.Key] = len(e.vars)
	e.vars = append(e.vars, v)
}

// lookup is the $(NAME) mapping: literal values resolve; a FieldRef
// (status.podIP) is only known when the instance runs and stays unexpanded.
func (e *envSet) lookup(name string) (string, bool) {
	i, ok := e.index[name]
	if !ok {
		if e.services == nil {
			return "", false
		}
		return e.services(name)
	}
	if e.vars[i].FieldRef != nil {
		return "", false
	}
	return e.vars[i].Value, true
}

// runtimeOnly reports a variable ECI fills in at start (a FieldRef).
func (e *envSet) runtimeOnly(name string) bool {
	i, ok := e.index[name]
	return ok && e.vars[i].FieldRef != nil
}

// env resolves a container's environment to literals (and status.podIP
// FieldRefs), as the kubelet would at container start.
func (t *translator) env(field string, c *corev1.Container) *envSet {
	svc := t.serviceEnv()
	e := &envSet{
		vars:     make([]eci.EnvVar, 0, len(c.Env)+len(svc)+8*len(c.EnvFrom)),
		index:    make(map[string]int, len(c.Env)+8*len(c.EnvFrom)),
		services: t.serviceValue,
	}
	for i := range c.EnvFrom {
		t.envFrom(index(field+".envFrom", i), &c.EnvFrom[i], e)
	}
	envField := field + ".env"
	for i := range c.Env {
		t.envVar(fieldPath{envField, i}, c, &c.Env[i], e)
	}
	// Service variables come last and never override the container's own;
	// they are not indexed (lookup falls back to services), which keeps the
	// per-container map small in namespaces with many Services.
	for _, sv := range svc {
		if _, ok := e.index[sv.Key]; !ok {
			e.vars = append(e.vars, sv)
		}
	}
	return e
}

func (t *translator) envFrom(field string, src *corev1.EnvFromSource, e *envSet) {
	var data map[string]string
	var kind, name string
	switch {
	case src.ConfigMapRef != nil:
		kind, name = "ConfigMap", src.ConfigMapRef.Name
		cm := t.configMap(field+".configMapRef", name, isTrue(src.ConfigMapRef.Optional))
		if cm == nil {
			return
		}
		data = cm.Data
	case src.SecretRef != nil:
		kind, name = "Secret", src.SecretRef.Name
		s := t.secret(field+".secretRef", name, isTrue(src.SecretRef.Optional))
		if s == nil {
			return
		}
		data = make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			data[k] = string(v)
		}
		e.fromSecret = e.fromSecret || len(data) > 0
	default:
		return
	}
	var skipped []string
	for _, k := range sortedKeys(data) {
		key := src.Prefix + k
		if !isECIEnvName(key) {
			skipped = append(skipped, key)
			continue
		}
		if v := data[k]; t.checkEnvValue(field, key, v) {
			e.set(eci.EnvVar{Key: key, Value: v})
		}
	}
	if len(skipped) > 0 {
		// The kubelet skips keys that are not valid variable names too;
		// ECI's rule is stricter than Kubernetes' (no dots or dashes).
		t.c.warn(field, WarnIgnored, "keys of %s %s that are not valid ECI environment variable names were skipped: %s (ECI accepts letters, digits and underscores, not starting with a digit)",
			kind, name, strings.Join(skipped, ", "))
	}
}

// fieldPath is "<base>[i]", built only when a problem is reported: most env
// vars have none, and a large pod has hundreds.
type fieldPath struct {
	base string
	i    int
}

func (f fieldPath) String() string { return index(f.base, f.i) }

func (t *translator) envVar(fp fieldPath, c *corev1.Container, ev *corev1.EnvVar, e *envSet) {
	if !isECIEnvName(ev.Name) {
		field := fp.String()
		t.c.fail(field+".name", ReasonUnsupported,
			"environment variable name %s is valid in Kubernetes but not on ECI, which accepts 1 to %d letters, digits and underscores, not starting with a digit; rename it",
			strconv.Quote(ev.Name), maxEnvKeyLen)
		return
	}
	if ev.ValueFrom == nil {
		v := expand(ev.Value, e.lookup)
		if strings.IndexByte(ev.Value, '$') >= 0 {
			t.warnRuntimeRefs(fp.String()+".value", ev.Value, e)
		}
		if len(v) > maxEnvValueLen {
			t.checkEnvValue(fp.String(), ev.Name, v)
			return
		}
		e.set(eci.EnvVar{Key: ev.Name, Value: v})
		return
	}
	field := fp.String()
	src := ev.ValueFrom
	switch {
	case src.FieldRef != nil:
		v, ref, problem := t.fieldRefValue(src.FieldRef.FieldPath, true)
		switch {
		case problem != "":
			t.c.fail(field+".valueFrom.fieldRef", ReasonUnsupported, "%s", problem)
		case ref != "":
			if src.FieldRef.FieldPath == "status.hostIP" || src.FieldRef.FieldPath == "status.hostIPs" {
				t.c.warn(field+".valueFrom.fieldRef", WarnApproximated,
					"%s is the pod's own IP on ECI: each instance is its own host, so there is no separate node address (a node-local agent is not reachable this way)",
					src.FieldRef.FieldPath)
			}
			if src.FieldRef.FieldPath == "status.podIPs" && t.req.IPv6AddressCount > 0 {
				t.c.warn(field+".valueFrom.fieldRef", WarnApproximated, "status.podIPs resolves to the IPv4 address only; ECI resolves no other pod field at run time")
			}
			e.set(eci.EnvVar{Key: ev.Name, FieldRef: &eci.FieldRef{FieldPath: ref}})
		case t.checkEnvValue(field, ev.Name, v):
			e.set(eci.EnvVar{Key: ev.Name, Value: v})
		}
	case src.ResourceFieldRef != nil:
		target := c
		if n := src.ResourceFieldRef.ContainerName; n != "" && n != c.Name {
			target = t.findContainer(n)
		}
		if target == nil {
			t.c.fail(field+".valueFrom.resourceFieldRef.containerName", ReasonInvalidSpec, "no container named %s in the pod", strconv.Quote(src.ResourceFieldRef.ContainerName))
			return
		}
		v, approx, problem := t.resourceFieldValue(target, src.ResourceFieldRef)
		if problem != "" {
			t.c.fail(field+".valueFrom.resourceFieldRef", ReasonUnsupported, "%s", problem)
			return
		}
		if approx {
			t.c.warn(field+".valueFrom.resourceFieldRef", WarnApproximated,
				"the container sets no %s, so the value is the instance's (%s vCPU / %s GiB, %d GiB ephemeral storage), fixed at creation",
				src.ResourceFieldRef.Resource, fmtFloat(t.size.CPU), fmtFloat(t.size.Memory), baseEphemeralGiB+int(t.req.EphemeralStorage))
		}
		e.set(eci.EnvVar{Key: ev.Name, Value: v})
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		optional := isTrue(ref.Optional)
		cm := t.configMap(field+".valueFrom.configMapKeyRef", ref.Name, optional)
		if cm == nil {
			return
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			t.missingKey(field+".valueFrom.configMapKeyRef", "ConfigMap", ref.Name, ref.Key, optional)
			return
		}
		if t.checkEnvValue(field, ev.Name, v) {
			e.set(eci.EnvVar{Key: ev.Name, Value: v})
		}
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		optional := isTrue(ref.Optional)
		s := t.secret(field+".valueFrom.secretKeyRef", ref.Name, optional)
		if s == nil {
			return
		}
		b, ok := s.Data[ref.Key]
		if !ok {
			t.missingKey(field+".valueFrom.secretKeyRef", "Secret", ref.Name, ref.Key, optional)
			return
		}
		e.fromSecret = true
		if v := string(b); t.checkEnvValue(field, ev.Name, v) {
			e.set(eci.EnvVar{Key: ev.Name, Value: v})
		}
	case src.FileKeyRef != nil:
		t.c.fail(field+".valueFrom.fileKeyRef", ReasonUnsupported,
			"fileKeyRef is not supported on ECI: the file only exists once an init container writes it, after the instance is created; read the file from the volume in the container's command instead")
	}
}

// warnRuntimeRefs warns about $(NAME) references to variables ECI fills in
// at start (status.podIP): they cannot be expanded at creation.
func (t *translator) warnRuntimeRefs(field, s string, e *envSet) {
	if strings.IndexByte(s, '$') < 0 {
		return
	}
	for _, name := range references(s) {
		if e.runtimeOnly(name) {
			t.c.warn(field, WarnApproximated,
				"$(%s) is passed unexpanded: its value (the pod IP) is only known when the instance starts; expand it at run time instead, e.g. sh -c '... $%s'",
				name, name)
		}
	}
}

// checkEnvValue refuses a value longer than ECI accepts; truncating would
// silently change what the program sees.
func (t *translator) checkEnvValue(field, name, v string) bool {
	if len(v) <= maxEnvValueLen {
		return true
	}
	t.c.fail(field, ReasonTooLarge,
		"the value of %s is %d bytes; ECI accepts at most %d: shorten it, or put it in a ConfigMap mounted as a file",
		name, len(v), maxEnvValueLen)
	return false
}

func (t *translator) missingKey(field, kind, name, key string, optional bool) {
	ns := t.pod.Namespace
	if optional {
		t.c.warn(field, WarnOptionalMissing, "optional key %s is not in %s %s/%s; skipped", strconv.Quote(key), kind, ns, name)
		return
	}
	t.c.fail(field, ReasonMissingReference, "key %s is not in %s %s/%s; add it, or mark the reference optional", strconv.Quote(key), kind, ns, name)
}

// isECIEnvName is ECI's rule: 1–128 of [A-Za-z0-9_], not starting with a digit.
func isECIEnvName(s string) bool {
	if len(s) == 0 || len(s) > maxEnvKeyLen || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (t *translator) findContainer(name string) *corev1.Container {
	for _, cs := range [...][]corev1.Container{t.pod.Spec.Containers, t.pod.Spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }
