package node

import (
	"context"
	"net/http"

	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// kubeletAPIHandler serves the kubelet API's paths with virtual-kubelet's handlers over
// the Provider's methods: GetContainerLogs (containerlogs.go), RunInContainer,
// AttachToContainer and PortForward (exec.go), GetStatsSummary and GetMetricsResource
// (stats.go), GetPods for /runningpods, and the pods bound to the node for /pods. Package
// kubeletserver puts it behind TLS, authentication and authorization.
func kubeletAPIHandler(p *Provider, pods corev1listers.PodLister) http.Handler {
	return api.PodHandler(api.PodHandlerConfig{
		RunInContainer:    p.RunInContainer,
		AttachToContainer: p.AttachToContainer,
		GetContainerLogs:  p.GetContainerLogs,
		GetPods:           p.GetPods,
		GetPodsFromKubernetes: func(context.Context) ([]*corev1.Pod, error) {
			return pods.List(labels.Everything())
		},
		GetStatsSummary:    p.GetStatsSummary,
		GetMetricsResource: p.GetMetricsResource,
		PortForward:        p.PortForward,
	}, true)
}
