package translate

import (
	"strconv"
	"strings"
)

// The downward API: pod fields for environment variables and volume files.

// fieldRefValue resolves a downward API field; env tells whether it is for
// an environment variable (else a volume file). For the pod IP (and the
// host IP, which on ECI is the same) it returns the ECI FieldRef instead of
// a value. Subscripted labels/annotations are allowed everywhere; whole
// maps only in volume files.
func (t *translator) fieldRefValue(path string, env bool) (value, fieldRef, problem string) {
	p := t.pod
	switch path {
	case "metadata.name":
		return p.Name, "", ""
	case "metadata.namespace":
		return p.Namespace, "", ""
	case "metadata.uid":
		return string(p.UID), "", ""
	case "spec.nodeName":
		return p.Spec.NodeName, "", ""
	case "spec.serviceAccountName":
		return p.Spec.ServiceAccountName, "", ""
	case "status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs":
		if !env {
			return "", "", path + " is only available to environment variables, not to volume files"
		}
		return "", podIPFieldPath, ""
	case "metadata.labels":
		if !env {
			return formatMap(p.Labels), "", ""
		}
	case "metadata.annotations":
		if !env {
			return formatMap(p.Annotations), "", ""
		}
	}
	if base, key, ok := splitSubscript(path); ok {
		switch base {
		case "metadata.labels":
			return p.Labels[key], "", ""
		case "metadata.annotations":
			return p.Annotations[key], "", ""
		}
	}
	return "", "", "field path " + strconv.Quote(path) + " cannot be resolved; use metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName or status.podIP"
}

// splitSubscript splits "metadata.labels['app']" into its map and key.
func splitSubscript(path string) (base, key string, ok bool) {
	if !strings.HasSuffix(path, "']") {
		return "", "", false
	}
	base, key, ok = strings.Cut(strings.TrimSuffix(path, "']"), "['")
	return base, key, ok
}

// formatMap renders labels or annotations as the kubelet writes them into a
// downward API file: sorted key="quoted value" lines.
func formatMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}
