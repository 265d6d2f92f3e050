// Package approver decides and approves the certificate signing requests of this
// installation's VNodes, the way a cluster approves its kubelets' (the kubelet's TLS
// bootstrap and serving certificates: https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/).
//
// kube-controller-manager signs what is approved but does not approve serving
// certificates at all, and approves client certificates for any bootstrap token; the
// approver narrows both to exactly one shape per VNode. A CSR is approved only when every
// part matches: the signer, the subject (CN system:node:<name>, O system:nodes, nothing
// else), the key usages, the SANs (serving: the Node's own addresses; client: none), and
// the requester (the identity this installation gave that VNode's runtime). A CSR that
// names one of this installation's VNodes and fails a check is denied with the reason, so
// the runtime's log and `kubectl get csr` say what was wrong; a CSR for any other node is
// left alone for whoever approves it (real kubelets, another installation).
package approver
