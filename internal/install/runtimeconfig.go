package install

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// RuntimeConfigMapName is the ConfigMap in the runtime's namespace that records the
// runtime's non-secret settings, so that what installs a VNode later (an eci_vnode
// of another Terraform configuration) renders it with the same image, cluster name,
// region, endpoint and credentials Secret as the runtime it joins.
const RuntimeConfigMapName = "eci-vnode-runtime"

// Keys of the RuntimeConfigMapName ConfigMap.
const (
	ConfigKeyVersion           = "version"
	ConfigKeyImage             = "image"
	ConfigKeyNamespace         = "namespace"
	ConfigKeyNamespaceExists   = "namespace-exists"
	ConfigKeyClusterName       = "cluster-name"
	ConfigKeyRegion            = "region"
	ConfigKeyECIEndpoint       = "eci-endpoint"
	ConfigKeyECIScheme         = "eci-scheme"
	ConfigKeyCredentialsSecret = "credentials-secret"
	ConfigKeyCredentialsAs     = "credentials-as"
)

// ConfigMap renders the RuntimeConfigMapName ConfigMap of r: every setting a VNode
// needs, and nothing secret (the credentials Secret is named, never copied). It is
// not part of Objects, which `eci-vnode render` prints; the provider applies it with
// them.
func (r Runtime) ConfigMap() (Object, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	r = r.withDefaults()
	secret := r.CredentialsSecret
	if secret == "" && r.Credentials != nil {
		secret = CredentialsSecretName
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: r.meta(RuntimeConfigMapName, r.Namespace, "", nil),
		Data: map[string]string{
			ConfigKeyVersion:           r.Version,
			ConfigKeyImage:             r.Image,
			ConfigKeyNamespace:         r.Namespace,
			ConfigKeyNamespaceExists:   strconv.FormatBool(r.NamespaceExists),
			ConfigKeyClusterName:       r.ClusterName,
			ConfigKeyRegion:            r.Region,
			ConfigKeyECIEndpoint:       r.ECIEndpoint,
			ConfigKeyECIScheme:         r.ECIScheme,
			ConfigKeyCredentialsSecret: secret,
			ConfigKeyCredentialsAs:     string(r.CredentialsAs),
		},
	}
	return typed(cm, "v1", "ConfigMap"), nil
}

// RuntimeFromConfigMap is the Runtime a ConfigMap rendered by Runtime.ConfigMap
// records, for rendering VNodes: Credentials is nil and CredentialsSecret names the
// Secret the runtime keeps them in, and the webhook settings are not recorded.
func RuntimeFromConfigMap(cm *corev1.ConfigMap) (Runtime, error) {
	d := cm.Data
	if d[ConfigKeyNamespace] == "" || d[ConfigKeyImage] == "" {
		return Runtime{}, fmt.Errorf("ConfigMap %s/%s has no %s or %s: it was not written by an installation", cm.Namespace, cm.Name, ConfigKeyNamespace, ConfigKeyImage)
	}
	exists, _ := strconv.ParseBool(d[ConfigKeyNamespaceExists])
	return Runtime{
		Version:           d[ConfigKeyVersion],
		Image:             d[ConfigKeyImage],
		Namespace:         d[ConfigKeyNamespace],
		NamespaceExists:   exists,
		ClusterName:       d[ConfigKeyClusterName],
		Region:            d[ConfigKeyRegion],
		ECIEndpoint:       d[ConfigKeyECIEndpoint],
		ECIScheme:         d[ConfigKeyECIScheme],
		CredentialsSecret: d[ConfigKeyCredentialsSecret],
		CredentialsAs:     CredentialsAs(d[ConfigKeyCredentialsAs]),
	}, nil
}

// DefaultWebhookResources are the webhook container's requests when Webhook.Resources
// is not set.
func DefaultWebhookResources() corev1.ResourceRequirements { return requests("50m", "64Mi") }
