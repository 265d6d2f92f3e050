package node

import (
	"context"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// ECI is the part of the ECI API the node uses. *eci.Client implements it;
// the interface exists so the node states what it depends on.
type ECI interface {
	CreateContainerGroup(ctx context.Context, req *eci.CreateContainerGroupRequest) (*eci.CreateContainerGroupResponse, error)
	DeleteContainerGroup(ctx context.Context, req *eci.DeleteContainerGroupRequest) error
	DescribeAllContainerGroups(ctx context.Context, req *eci.DescribeContainerGroupsRequest) ([]eci.ContainerGroup, error)
	DescribeAllContainerGroupStatus(ctx context.Context, req *eci.DescribeContainerGroupStatusRequest) ([]eci.ContainerGroupStatus, error)
	DescribeRegions(ctx context.Context) (*eci.DescribeRegionsResponse, error)
	DescribeMultiContainerGroupMetric(ctx context.Context, req *eci.DescribeMultiContainerGroupMetricRequest) (*eci.DescribeMultiContainerGroupMetricResponse, error)
	TagResources(ctx context.Context, req *eci.TagResourcesRequest) error
	UntagResources(ctx context.Context, req *eci.UntagResourcesRequest) error
	DescribeContainerLog(ctx context.Context, req *eci.DescribeContainerLogRequest) (*eci.DescribeContainerLogResponse, error)
	ExecContainerCommand(ctx context.Context, req *eci.ExecContainerCommandRequest) (*eci.ExecContainerCommandResponse, error)
	// UpdateContainerGroup replaces the kube-proxy's config-file volume
	// (kubeproxytoken.go).
	UpdateContainerGroup(ctx context.Context, req *eci.UpdateContainerGroupRequest) error
}

var _ ECI = (*eci.Client)(nil)
