package install

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

func rule(group string, resources, verbs []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: verbs, ResourceNames: names}
}

var (
	read        = []string{"get", "list", "watch"}
	createPatch = []string{"create", "patch"}
)

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
// are this installation's, and the copies of their bootstrap tokens that it creates.
func approverOwnRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule("apps", []string{"deployments"}, read),
		rule("", []string{"secrets"}, []string{"create"}),
	}
}

// approverTokenCreateRules (kube-system): the approver creates the VNodes' bootstrap
// tokens. create cannot be limited to names; reading and changing a token Secret is
// granted per VNode (approverTokenRules).
func approverTokenCreateRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{rule("", []string{"secrets"}, []string{"create"})}
}

// approverTokenRules let the approver read, rewrite and delete one VNode's token Secret.
func approverTokenRules(secret string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{rule("", []string{"secrets"}, []string{"get", "update", "delete"}, secret)}
}

// taintRules are all the runtime's own ServiceAccount may do: read and update its Node,
// to keep the Node's taints as configured. NodeRestriction forbids a node to change its
// own taints, so its node identity cannot; everything else the runtime does as the node.
func taintRules(node string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{rule("", []string{"nodes"}, []string{"get", "update"}, node)}
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
