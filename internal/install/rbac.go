package install

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

func rule(group string, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: verbs, ResourceNames: names}
}

var (
	read        = []string{"get", "list", "watch"}
	listWatch   = []string{"list", "watch"}
	createPatch = []string{"create", "patch"}
)

// nodeClusterRules are what one VNode's runtime may do across the cluster. Its pods can
// be in any namespace, and so can what they mount: virtual-kubelet watches pods bound to
// the node and every ConfigMap, Secret and Service (node/nodeutil), and the translation
// reads volumes and claims from informers and asks for service account tokens. create on
// nodes cannot be limited to a name, so the VNode's own Node is in nodeOwnRules.
func nodeClusterRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("", []string{"pods"}, []string{"get", "list", "watch", "patch", "delete"}),
		rule("", []string{"pods/status"}, []string{"update", "patch"}),
		rule("", []string{"configmaps", "secrets", "services", "persistentvolumeclaims", "persistentvolumes"}, listWatch),
		rule("", []string{"serviceaccounts/token"}, []string{"create"}),
		rule("", []string{"events"}, createPatch),
		rule("", []string{"nodes"}, []string{"create"}),
	}
}

// nodeOwnRules let the runtime read and write its Node only: virtual-kubelet patches
// its status, the runtime updates its taints.
func nodeOwnRules(node string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("", []string{"nodes"}, []string{"get", "update", "patch"}, node),
		rule("", []string{"nodes/status"}, []string{"patch"}, node),
	}
}

// leaseRules cover one Lease by name: the node's heartbeat in kube-node-lease, or the
// leader Lease in the runtime's namespace.
func leaseRules(name string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("coordination.k8s.io", []string{"leases"}, []string{"create"}),
		rule("coordination.k8s.io", []string{"leases"}, []string{"get", "update"}, name),
	}
}

// webhookClusterRules: namespaces for the profile's namespace selectors, nodes and pods
// to find pods on VNodes and give them a deletion cost, and the webhook's own
// configurations, which it writes by server-side apply (create, then patch).
func webhookClusterRules() []rbacv1.PolicyRule {
	configs := []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"}
	return []rbacv1.PolicyRule{
		rule("", []string{"namespaces", "nodes"}, read),
		rule("", []string{"pods"}, []string{"get", "list", "watch", "patch"}),
		rule("admissionregistration.k8s.io", configs, []string{"create"}),
		rule("admissionregistration.k8s.io", configs, []string{"get", "patch"}, WebhookConfigurationName),
	}
}

// webhookProfileRules (kube-system): the eci-profile ConfigMap, and Events about it.
func webhookProfileRules(configMap string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("", []string{"configmaps"}, read, configMap),
		rule("", []string{"events"}, createPatch),
	}
}

// webhookOwnRules (the runtime's namespace): the TLS Secret with the webhook's CA.
func webhookOwnRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("", []string{"secrets"}, []string{"create"}),
		rule("", []string{"secrets"}, []string{"get", "list", "watch", "update"}, WebhookSecretName),
	}
}
