package translate

import (
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// lookups caches the objects read for one pod: a ConfigMap used by three
// containers is read once, and every reference sees the same version.
type lookups struct {
	configMaps map[string]lookupResult[*corev1.ConfigMap]
	secrets    map[string]lookupResult[*corev1.Secret]

	servicesDone bool
	serviceVars  []eci.EnvVar
	serviceIndex map[string]string
}

type lookupResult[T any] struct {
	obj T
	err error
}

// configMap returns the named ConfigMap of the pod's namespace, or nil after
// reporting why at field: a missing optional map is a warning (skipped, as
// the kubelet does), a missing mandatory one a MissingReference.
func (t *translator) configMap(field, name string, optional bool) *corev1.ConfigMap {
	if t.look.configMaps == nil {
		t.look.configMaps = map[string]lookupResult[*corev1.ConfigMap]{}
	}
	res, ok := t.look.configMaps[name]
	if !ok {
		res.obj, res.err = t.r.ConfigMap(t.pod.Namespace, name)
		t.look.configMaps[name] = res
	}
	if res.err != nil || res.obj == nil {
		t.lookupFailed(field, "ConfigMap", name, optional, res.err)
		return nil
	}
	return res.obj
}

// secret is configMap for Secrets.
func (t *translator) secret(field, name string, optional bool) *corev1.Secret {
	if t.look.secrets == nil {
		t.look.secrets = map[string]lookupResult[*corev1.Secret]{}
	}
	res, ok := t.look.secrets[name]
	if !ok {
		res.obj, res.err = t.r.Secret(t.pod.Namespace, name)
		t.look.secrets[name] = res
	}
	if res.err != nil || res.obj == nil {
		t.lookupFailed(field, "Secret", name, optional, res.err)
		return nil
	}
	return res.obj
}

func (t *translator) lookupFailed(field, kind, name string, optional bool, err error) {
	ref := kind + " " + t.pod.Namespace + "/" + name
	switch {
	case err == nil || apierrors.IsNotFound(err):
		if optional {
			t.c.warn(field, WarnOptionalMissing, "optional %s does not exist; skipped", ref)
			return
		}
		t.c.failCause(field, ReasonMissingReference, err,
			"%s does not exist; create it (the pod is retried until it exists), or mark the reference optional", ref)
	default:
		t.c.failCause(field, ReasonLookupFailed, err, "reading %s failed: %v", ref, err)
	}
}

// serviceEnv returns the service link variables a kubelet gives every
// container: those of the master Service default/kubernetes always (in-
// cluster clients find the API server by KUBERNETES_SERVICE_HOST/PORT), and
// those of every Service in the pod's namespace unless
// spec.enableServiceLinks is false. Headless Services have none.
func (t *translator) serviceEnv() []eci.EnvVar {
	if t.look.servicesDone {
		return t.look.serviceVars
	}
	t.look.servicesDone = true
	links := t.pod.Spec.EnableServiceLinks == nil || *t.pod.Spec.EnableServiceLinks
	byName := map[string]*corev1.Service{}
	add := func(ns string, filter func(*corev1.Service) bool) {
		svcs, err := t.r.Services(ns)
		if err != nil {
			t.c.failCause("spec.enableServiceLinks", ReasonLookupFailed, err,
				"listing the Services of namespace %s for the service environment variables failed: %v", ns, err)
			return
		}
		for _, s := range svcs {
			if s == nil || !filter(s) || s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
				continue
			}
			if _, dup := byName[s.Name]; !dup {
				byName[s.Name] = s
			}
		}
	}
	// A Service of the pod's own namespace named "kubernetes" wins over the
	// master Service, as in the kubelet.
	if links {
		add(t.pod.Namespace, func(*corev1.Service) bool { return true })
	}
	add("default", func(s *corev1.Service) bool { return s.Name == "kubernetes" })
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	var vars []eci.EnvVar
	if len(names) > 0 {
		vars = make([]eci.EnvVar, 0, len(names)*10)
	}
	for _, n := range names {
		vars = appendServiceVars(vars, byName[n])
	}
	t.look.serviceVars = vars
	return vars
}

// serviceValue is the value of a service link variable, for $(NAME)
// references. The index is built on first use: most pods never refer to
// one, and a namespace may have hundreds.
func (t *translator) serviceValue(name string) (string, bool) {
	if t.look.serviceIndex == nil {
		vars := t.serviceEnv()
		t.look.serviceIndex = make(map[string]string, len(vars))
		for _, v := range vars {
			t.look.serviceIndex[v.Key] = v.Value
		}
	}
	v, ok := t.look.serviceIndex[name]
	return v, ok
}

// appendServiceVars adds the Docker-link style variables of one Service:
// NAME_SERVICE_HOST, NAME_SERVICE_PORT[_PORTNAME], NAME_PORT and
// NAME_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR].
func appendServiceVars(out []eci.EnvVar, s *corev1.Service) []eci.EnvVar {
	name := envName(s.Name)
	ip := s.Spec.ClusterIP
	out = append(out, eci.EnvVar{Key: name + "_SERVICE_HOST", Value: ip})
	if len(s.Spec.Ports) == 0 {
		return out
	}
	first := s.Spec.Ports[0]
	out = append(out, eci.EnvVar{Key: name + "_SERVICE_PORT", Value: strconv.Itoa(int(first.Port))})
	for _, p := range s.Spec.Ports {
		if p.Name != "" {
			out = append(out, eci.EnvVar{Key: name + "_SERVICE_PORT_" + envName(p.Name), Value: strconv.Itoa(int(p.Port))})
		}
	}
	url := func(p corev1.ServicePort) string {
		return strings.ToLower(protocol(p.Protocol)) + "://" + net.JoinHostPort(ip, strconv.Itoa(int(p.Port)))
	}
	out = append(out, eci.EnvVar{Key: name + "_PORT", Value: url(first)})
	for _, p := range s.Spec.Ports {
		proto := protocol(p.Protocol)
		prefix := name + "_PORT_" + strconv.Itoa(int(p.Port)) + "_" + proto
		out = append(out,
			eci.EnvVar{Key: prefix, Value: url(p)},
			eci.EnvVar{Key: prefix + "_PROTO", Value: strings.ToLower(proto)},
			eci.EnvVar{Key: prefix + "_PORT", Value: strconv.Itoa(int(p.Port))},
			eci.EnvVar{Key: prefix + "_ADDR", Value: ip},
		)
	}
	return out
}

func protocol(p corev1.Protocol) string {
	if p == "" {
		return string(corev1.ProtocolTCP)
	}
	return string(p)
}

// envName turns a DNS label into an environment variable name.
func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
