package install

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Cluster IP access: every ECI instance of a VNode runs a kube-proxy
// (runtime/translate, "Cluster IP access"). Its identity is a ServiceAccount
// of the installation bound to the ClusterRole system:node-proxier, which
// Kubernetes ships for kube-proxy (list and watch Services, EndpointSlices,
// ServiceCIDRs and Nodes, write Events) and nothing else; the runtime of
// each VNode may ask the TokenRequest API for tokens of that account only.

const (
	// KubeProxyServiceAccount is the kube-proxy's ServiceAccount, in the
	// runtime's namespace.
	KubeProxyServiceAccount = "eci-vnode-kube-proxy"
	// kubeProxyRBACName names the ClusterRoleBinding to system:node-proxier.
	kubeProxyRBACName = "eci-vnode:kube-proxy"
	// NodeProxierClusterRole is Kubernetes' role for kube-proxy.
	NodeProxierClusterRole = "system:node-proxier"
)

// kubeProxyObjects are the cluster-wide part: the kube-proxy's ServiceAccount
// and its binding to system:node-proxier. They are rendered whether or not a
// VNode has cluster IP access: a VNode that turns it on needs no change of
// the installation.
func (r Runtime) kubeProxyObjects() []Object {
	const component = "kube-proxy"
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: KubeProxyServiceAccount, Namespace: r.Namespace}}
	return []Object{
		typed(&corev1.ServiceAccount{
			ObjectMeta: r.meta(KubeProxyServiceAccount, r.Namespace, component, nil),
			// Nothing mounts its tokens: the runtime asks for them.
			AutomountServiceAccountToken: ptr.To(false),
		}, "v1", "ServiceAccount"),
		typed(&rbacv1.ClusterRoleBinding{ObjectMeta: r.meta(kubeProxyRBACName, "", component, nil), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: NodeProxierClusterRole}},
			"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
	}
}

// kubeProxyNodeObjects are what one VNode's runtime needs for cluster IP
// access: in the runtime's namespace, tokens of the kube-proxy's
// ServiceAccount (kubeProxyTokenRules), for the runtime's own ServiceAccount
// (sa) — those tokens are bound to no pod, and NodeRestriction refuses a node
// any token not bound to a pod on it; in default, for the node identity
// (node), the EndpointSlices of the kubernetes Service, whose endpoints are the
// API server's address as the instances reach it (apiServerAddressRules).
// Nothing for a VNode without cluster IP access.
func (r Runtime) kubeProxyNodeObjects(v *VNode, rbacName string, sa, node []rbacv1.Subject) []Object {
	if v.NoClusterIPAccess {
		return nil
	}
	objs := r.role(rbacName+":kube-proxy", r.Namespace, "node", v, sa, kubeProxyTokenRules())
	return append(objs, r.role(rbacName+":kube-proxy", metav1.NamespaceDefault, "node", v, node, apiServerAddressRules())...)
}

// kubeProxyTokenRules: create tokens of the kube-proxy's ServiceAccount, and
// of no other (the TokenRequest API is the subresource token of the account).
func kubeProxyTokenRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{rule("", []string{"serviceaccounts/token"}, []string{"create"}, KubeProxyServiceAccount)}
}

// apiServerAddressRules (namespace default): list EndpointSlices, to find
// those of the Service kubernetes (a list by label cannot be limited to
// names).
func apiServerAddressRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{rule("discovery.k8s.io", []string{"endpointslices"}, []string{"list"})}
}

// kubeProxyArgs are the flags of `eci-vnode node` for cluster IP access;
// on is the runtime's default and renders nothing.
func (v VNode) kubeProxyArgs() []string {
	var args []string
	if v.NoClusterIPAccess {
		args = append(args, "--cluster-ip-access=false")
	}
	if v.KubeProxyImage != "" {
		args = append(args, "--kube-proxy-image="+v.KubeProxyImage)
	}
	return args
}
