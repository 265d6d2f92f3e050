package install

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The node identity of a VNode's runtime (docs/design.md, "Node identity"): it
// authenticates as system:node:<name> with a client certificate it obtains by TLS
// bootstrap. The approver mints one bootstrap token per VNode — a random secret cannot be
// rendered here without changing on every render — and the names below are how the
// approver, the runtime's Deployment and Delete agree on where it lives.
const (
	// BootstrapGroup is the extra group of the tokens the approver mints; it is bound to
	// the ClusterRole system:node-bootstrapper (create CSRs), and to nothing else.
	BootstrapGroup = "system:bootstrappers:eci-vnode"
	// BootstrapTokenEnv is the runtime's environment variable holding its token.
	BootstrapTokenEnv = "ECI_VNODE_BOOTSTRAP_TOKEN"
	// BootstrapTokenKey is the key of the token in the runtime's copy of it.
	BootstrapTokenKey = "token"
	// NodeUserPrefix is how the Node authorizer recognises a kubelet.
	NodeUserPrefix = "system:node:"
	// bootstrapperBinding binds BootstrapGroup to system:node-bootstrapper.
	bootstrapperBinding = "eci-vnode:node-bootstrapper"
)

// BootstrapTokenID is the id of the bootstrap token of VNode node in an installation in
// namespace: derived from both, so it is known before the token exists (the approver's
// rights name its Secret) and two VNodes never share one. Bootstrap token ids are six
// characters of [a-z0-9]; lower-case base32 uses a-z and 2-7.
func BootstrapTokenID(namespace, node string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + node))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:6]
}

// BootstrapTokenSecretName is the kube-system Secret of a bootstrap token, the name the
// API server's bootstrap authenticator looks for.
func BootstrapTokenSecretName(tokenID string) string { return "bootstrap-token-" + tokenID }

// BootstrapTokenCopyName is the Secret in the runtime's namespace that holds the VNode's
// token for its Deployment (a pod reads Secrets of its own namespace only).
func BootstrapTokenCopyName(node string) string { return "eci-vnode-" + node + "-bootstrap-token" }

// bootstrapObjects are the cluster-wide part of TLS bootstrap: what a token of
// BootstrapGroup may do.
func (r Runtime) bootstrapObjects() []Object {
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: r.meta(bootstrapperBinding, "", "node", nil),
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: BootstrapGroup}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-bootstrapper"},
	}
	return []Object{typed(b, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding")}
}

// nodeUser is the subject the Roles of a VNode's node identity bind.
func nodeUser(node string) []rbacv1.Subject {
	return []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: NodeUserPrefix + node}}
}

// bootstrapTokenLeftovers are the two Secrets the approver writes for v.
func (r Runtime) bootstrapTokenLeftovers(v VNode) []Object {
	id := BootstrapTokenID(r.Namespace, v.Name)
	return []Object{
		typed(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: BootstrapTokenSecretName(id), Namespace: metav1.NamespaceSystem}}, "v1", "Secret"),
		typed(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: BootstrapTokenCopyName(v.Name), Namespace: r.Namespace}}, "v1", "Secret"),
	}
}

// NodeLabelProblem says why a node may not set label key on its own Node, or "" when it
// may. NodeRestriction admission refuses a node the labels of the kubernetes.io and k8s.io
// domains except those the kubelet sets itself
// (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction),
// and a VNode's runtime registers its Node as the node.
func NodeLabelProblem(key string) string {
	prefix, _, found := strings.Cut(key, "/")
	if !found {
		return ""
	}
	domain := func(d string) bool { return prefix == d || strings.HasSuffix(prefix, "."+d) }
	if !domain("kubernetes.io") && !domain("k8s.io") {
		return ""
	}
	if domain("kubelet.kubernetes.io") || domain("node.kubernetes.io") {
		return ""
	}
	switch key {
	case "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
		"beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
		"topology.kubernetes.io/region", "topology.kubernetes.io/zone",
		"failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
		"beta.kubernetes.io/arch", "beta.kubernetes.io/os":
		return ""
	}
	return "the VNode registers its Node as a node, and NodeRestriction admission refuses a node the labels of the " +
		"kubernetes.io and k8s.io domains (except a few the kubelet sets, and any under node.kubernetes.io or kubelet.kubernetes.io); " +
		"use a label of your own domain (example.com/role), or label the Node afterwards with kubectl label"
}
