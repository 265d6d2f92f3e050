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
		// The kubelet API (runtime/kubeletserver): its serving certificate from the CSR API,
		// and delegated authentication and authorization of every caller.
		rule("certificates.k8s.io", []string{"certificatesigningrequests"}, []string{"create", "get", "list", "watch"}),
		rule("authentication.k8s.io", []string{"tokenreviews"}, []string{"create"}),
		rule("authorization.k8s.io", []string{"subjectaccessreviews"}, []string{"create"}),
	}
}

// clientCARules (kube-system): the ConfigMap in which the API server publishes its client
// CA, which verifies the client certificates of kubelet API callers.
func clientCARules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{rule("", []string{"configmaps"}, read, ClientCAConfigMap)}
}

// approverClusterRules: watch CSRs and decide those of the two kubelet signers only (the
// signers rule is what the API server checks for approval), and read the Nodes whose
// addresses a serving certificate may name.
func approverClusterRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("certificates.k8s.io", []string{"certificatesigningrequests"}, read),
		rule("certificates.k8s.io", []string{"certificatesigningrequests/approval"}, []string{"update"}),
		rule("certificates.k8s.io", []string{"signers"}, []string{"approve"},
			"kubernetes.io/kubelet-serving", "kubernetes.io/kube-apiserver-client-kubelet"),
		rule("", []string{"nodes"}, []string{"get"}),
	}
}

// approverOwnRules (the runtime's namespace): the VNode Deployments that say which nodes
// are this installation's.
func approverOwnRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{rule("apps", []string{"deployments"}, []string{"get"})}
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
