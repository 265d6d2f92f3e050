package install

import (
	"crypto/rand"
	"fmt"
	"math/big"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// A managed VNode is made with ECI's VirtualNode API (CreateVirtualNode): its runtime
// runs at Alibaba Cloud as the VNode's resident node and joins the cluster with the
// kubeconfig it is given (docs/design.md, "Managed VNodes"). Its cluster identity is a
// bootstrap token of its own: the resident node obtains the client certificate of
// system:node:<name> by TLS bootstrap, as a kubelet does, so the Node authorizer and
// NodeRestriction limit it as they limit the bundled runtime. kube-controller-manager's
// csrapproving controller approves its client certificates: the token's user may ask
// for a node client certificate (the ClusterRole ...:nodeclient, as on kubeadm clusters),
// and the node may renew its own (...:selfnodeclient). Those are the rights Alibaba
// documents for a VNode's identity
// (https://www.alibabacloud.com/help/en/eci/user-guide/use-vnodectl-to-connect-a-vnode-to-a-self-managed-kubernetes-cluster).
const (
	// ComponentManaged labels the identity objects of managed VNodes.
	ComponentManaged = "managed-node"
	// nodeClientRole and selfNodeClientRole are kube-controller-manager's auto-approval
	// roles: a requester holding them gets its kubelet client CSR approved.
	nodeClientRole     = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
	selfNodeClientRole = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
	// managedTokenScope takes the place of a namespace in the token id of a managed VNode;
	// it holds a "/", which no namespace does, so it never names a bundled VNode's token.
	managedTokenScope = "eci-vnode.io/managed"
	// tokenSecretAlphabet and tokenSecretLen are the format of a bootstrap token's
	// secret part (https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/).
	tokenSecretAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	tokenSecretLen      = 16
)

// ManagedTokenID is the bootstrap token id of the managed VNode node: derived from its
// name, so an import or a destroy finds the token without anything else.
func ManagedTokenID(node string) string { return BootstrapTokenID(managedTokenScope, node) }

// NewTokenSecret returns a random bootstrap token secret.
func NewTokenSecret() (string, error) {
	b := make([]byte, tokenSecretLen)
	limit := big.NewInt(int64(len(tokenSecretAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", fmt.Errorf("draw a bootstrap token secret: %w", err)
		}
		b[i] = tokenSecretAlphabet[n.Int64()]
	}
	return string(b), nil
}

// ManagedIdentityObjects renders the cluster identity of the managed VNode node, whose
// bootstrap token is ManagedTokenID(node) + "." + secret, in the order to apply it.
func ManagedIdentityObjects(node, secret string) []Object {
	id := ManagedTokenID(node)
	meta := func(name, namespace string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{LabelName: "eci-vnode", LabelComponent: ComponentManaged, LabelNode: node}}
	}
	token := &corev1.Secret{
		ObjectMeta: meta(BootstrapTokenSecretName(id), metav1.NamespaceSystem),
		Type:       corev1.SecretTypeBootstrapToken,
		Data: map[string][]byte{
			"description":                    []byte("eci-vnode: TLS bootstrap of the managed VNode " + node),
			"token-id":                       []byte(id),
			"token-secret":                   []byte(secret),
			"usage-bootstrap-authentication": []byte("true"),
		},
	}
	bootstrapUser := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: BootstrapUserPrefix + id}}
	binding := func(suffix, role string, subjects []rbacv1.Subject) Object {
		return typed(&rbacv1.ClusterRoleBinding{ObjectMeta: meta(ManagedBindingPrefix(node)+suffix, ""), Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}},
			"rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
	}
	return []Object{
		typed(token, "v1", "Secret"),
		binding("bootstrapper", "system:node-bootstrapper", bootstrapUser),
		binding("nodeclient", nodeClientRole, bootstrapUser),
		binding("selfnodeclient", selfNodeClientRole, nodeUser(node)),
	}
}

// BootstrapUserPrefix is the user of a bootstrap token: system:bootstrap:<token id>.
const BootstrapUserPrefix = "system:bootstrap:"

// ManagedBindingPrefix starts the names of the ClusterRoleBindings of managed VNode node.
func ManagedBindingPrefix(node string) string { return "eci-vnode:managed:" + node + ":" }

// ManagedLeftovers are what the resident node of managed VNode node registers in the
// cluster, its Node and node Lease; ECI's DeleteVirtualNode stops the resident node but
// cannot remove them. Only names are set; they are for Delete.
func ManagedLeftovers(node string) []Object {
	return []Object{
		typed(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: corev1.NamespaceNodeLease}},
			"coordination.k8s.io/v1", "Lease"),
		typed(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, "v1", "Node"),
	}
}

// ManagedKubeconfig is the kubeconfig CreateVirtualNode is given: the API server at
// server, trusted by caPEM, and the bootstrap token of node.
func ManagedKubeconfig(server string, caPEM []byte, node, secret string) ([]byte, error) {
	const name = "eci-vnode"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: ManagedTokenID(node) + "." + secret}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("write the kubeconfig of managed VNode %s: %w", node, err)
	}
	return out, nil
}
