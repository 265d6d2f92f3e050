package node

import (
	"context"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// kubeletAPI completes nodeutil.Provider. The kubelet HTTP API is not
// served by this runtime yet — nodeutil starts no HTTP server without a TLS
// config and handler, so these are never reached; they answer with a clear
// error should a handler be attached before runtime/kubeletapi exists.
// GetContainerLogs (containerlogs.go), RunInContainer, AttachToContainer
// and PortForward (exec.go) are the Provider's own, ready for that server.
type kubeletAPI struct{ *Provider }

func notServed(what string) error {
	return errdefs.InvalidInput(fmt.Sprintf("%s is not served by eci-vnode yet", what))
}

func (kubeletAPI) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return nil, notServed("/stats/summary")
}

func (kubeletAPI) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, notServed("/metrics/resource")
}
