package sandbox

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// envResolver resolves a container's environment as the kubelet does, reading Secrets and
// ConfigMaps with the node's identity (so the Node authorizer decides, as on a real node).
type envResolver struct {
	client kubernetes.Interface
	pod    *corev1.Pod
	podIP  string
	hostIP string
	// cache so one container's many refs to one object read it once per resolution
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

// configError is a missing or unreadable reference: the kubelet reports it as the container
// waiting with reason CreateContainerConfigError and keeps retrying.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// envVar is one resolved variable; order matters for $(VAR) expansion and for duplicates
// (the last definition wins, as in a container runtime).
type envVar struct{ Name, Value string }

// resolve returns base, then envFrom, then env of c, with $(VAR) expanded.
func (r *envResolver) resolve(ctx context.Context, c *corev1.Container, base []envVar) ([]envVar, error) {
	var vars []envVar
	index := map[string]int{}
	set := func(name, value string) {
		if i, ok := index[name]; ok {
			vars[i].Value = value
			return
		}
		index[name] = len(vars)
		vars = append(vars, envVar{name, value})
	}
	for _, v := range base {
		set(v.Name, v.Value)
	}
	lookup := func(name string) (string, bool) {
		if i, ok := index[name]; ok {
			return vars[i].Value, true
		}
		return "", false
	}

	for _, from := range c.EnvFrom {
		data, err := r.envFromData(ctx, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(from.Prefix+k, data[k])
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expandVars(e.Value, lookup))
			continue
		}
		v, ok, err := r.valueFrom(ctx, c, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	return vars, nil
}

// envFromData reads the whole ConfigMap or Secret of an envFrom source; an optional missing
// source yields nothing.
func (r *envResolver) envFromData(ctx context.Context, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := r.configMap(ctx, from.ConfigMapRef.Name)
		if err != nil {
			if isOptional(from.ConfigMapRef.Optional) && apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, refError("configmap", from.ConfigMapRef.Name, err)
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := r.secret(ctx, from.SecretRef.Name)
		if err != nil {
			if isOptional(from.SecretRef.Optional) && apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, refError("secret", from.SecretRef.Name, err)
		}
		out := make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// valueFrom resolves one valueFrom; ok is false when an optional reference is missing (the
// variable is then not set at all, as in Kubernetes).
func (r *envResolver) valueFrom(ctx context.Context, c *corev1.Container, src *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := r.secret(ctx, ref.Name)
		if err != nil {
			if isOptional(ref.Optional) && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, refError("secret", ref.Name, err)
		}
		v, found := s.Data[ref.Key]
		if !found {
			if isOptional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, r.pod.Namespace, ref.Name)}
		}
		return string(v), true, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := r.configMap(ctx, ref.Name)
		if err != nil {
			if isOptional(ref.Optional) && apierrors.IsNotFound(err) {
				return "", false, nil
			}
			return "", false, refError("configmap", ref.Name, err)
		}
		v, found := cm.Data[ref.Key]
		if !found {
			if isOptional(ref.Optional) {
				return "", false, nil
			}
			return "", false, &configError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, r.pod.Namespace, ref.Name)}
		}
		return v, true, nil
	case src.FieldRef != nil:
		v, err := r.fieldValue(src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := resourceFieldValue(c, src.ResourceFieldRef)
		return v, err == nil, err
	}
	return "", false, &configError{"unsupported env valueFrom source"}
}

// fieldValue implements the downward API field paths the kubelet supports for env.
func (r *envResolver) fieldValue(path string) (string, error) {
	p := r.pod
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return p.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return r.podIP, nil
	case "status.hostIP", "status.hostIPs":
		return r.hostIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": p.Labels, "metadata.annotations": p.Annotations} {
		if strings.HasPrefix(path, prefix+"['") && strings.HasSuffix(path, "']") {
			return m[path[len(prefix)+2:len(path)-2]], nil
		}
	}
	return "", &configError{fmt.Sprintf("unsupported fieldRef %q", path)}
}

// resourceFieldValue implements resourceFieldRef for cpu/memory/ephemeral-storage requests and
// limits, rounding up to the divisor as the kubelet does.
func resourceFieldValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	var q resource.Quantity
	var found bool
	switch {
	case strings.HasPrefix(ref.Resource, "limits."):
		q, found = c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))]
	case strings.HasPrefix(ref.Resource, "requests."):
		q, found = c.Resources.Requests[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "requests."))]
	default:
		return "", &configError{fmt.Sprintf("unsupported resourceFieldRef %q", ref.Resource)}
	}
	if !found {
		// A kubelet substitutes node allocatable for a missing limit; "0" for a missing
		// request is what it reports too.
		return "0", nil
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if strings.HasSuffix(ref.Resource, ".cpu") {
		v := (q.MilliValue() + divisor.MilliValue() - 1) / divisor.MilliValue()
		return fmt.Sprint(v), nil
	}
	v := (q.Value() + divisor.Value() - 1) / divisor.Value()
	return fmt.Sprint(v), nil
}

func (r *envResolver) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	if s, ok := r.secrets[name]; ok {
		return s, nil
	}
	s, err := r.client.CoreV1().Secrets(r.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if r.secrets == nil {
		r.secrets = map[string]*corev1.Secret{}
	}
	r.secrets[name] = s
	return s, nil
}

func (r *envResolver) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	if cm, ok := r.configMaps[name]; ok {
		return cm, nil
	}
	cm, err := r.client.CoreV1().ConfigMaps(r.pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if r.configMaps == nil {
		r.configMaps = map[string]*corev1.ConfigMap{}
	}
	r.configMaps[name] = cm
	return cm, nil
}

func isOptional(b *bool) bool { return b != nil && *b }

// refError words a failed read like the kubelet: `secret "x" not found`.
func refError(kind, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return &configError{fmt.Sprintf("%s %q not found", kind, name)}
	}
	return fmt.Errorf("read %s %q: %w", kind, name, err)
}
