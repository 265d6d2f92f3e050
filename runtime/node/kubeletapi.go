package node

// kubeletAPI completes nodeutil.Provider. The kubelet HTTP API is not
// served by this runtime yet: nodeutil starts no HTTP server without a TLS
// config and handler. Its methods are the Provider's own, ready for that
// server: GetContainerLogs (containerlogs.go), RunInContainer,
// AttachToContainer and PortForward (exec.go), GetStatsSummary and
// GetMetricsResource (stats.go).
type kubeletAPI struct{ *Provider }
