// Package nodeidentity gives a VNode's runtime the identity of a kubelet: a client
// certificate for user system:node:<name> in group system:nodes, obtained through the
// kubelet's TLS bootstrap and kept rotated
// (https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/).
//
// With that identity the API server's Node authorizer and NodeRestriction admission
// (https://kubernetes.io/docs/reference/access-authn-authz/node/) hold the runtime to what a
// kubelet may do: its own Node and Lease, the pods bound to it, and the Secrets,
// ConfigMaps, PVCs and service account tokens of those pods only.
//
// The first certificate is asked for with a bootstrap token, whose only right is to create
// certificate signing requests (signer kubernetes.io/kube-apiserver-client-kubelet); the
// installation's approver (package approver) approves it only for the VNode the token was
// minted for. Later certificates are asked for with the current one, before it expires
// (at 70–90 % of its lifetime, as the kubelet does), and connections made with the old
// certificate are closed so that every request soon carries the new one. The key and
// certificate live in memory only: a restarted runtime bootstraps again, which costs one
// CSR and leaves no private key on disk.
package nodeidentity
