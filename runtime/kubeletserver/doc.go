// Package kubeletserver serves a VNode's kubelet API (logs, exec, stats, pods) the way a
// kubelet does: over HTTPS with a serving certificate from the CSR API
// (kubernetes.io/kubelet-serving) whose SANs are the Node's addresses, rotated before it
// expires; callers authenticated by a client certificate of the cluster's client CA (the
// API server's kubelet client) or a bearer token (TokenReview); each request authorized by a
// SubjectAccessReview of the kubelet's resource mapping (nodes/proxy, nodes/log,
// nodes/stats, nodes/metrics); anonymous callers refused
// (https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/).
package kubeletserver
