package eci

import (
	"context"
	"encoding/base64"
)

// VirtualNode statuses.
const (
	VirtualNodePending = "Pending"
	VirtualNodeReady   = "Ready"
	VirtualNodeFailed  = "Failed"
	VirtualNodeCleaned = "Cleaned"
)

// Taint is a Kubernetes taint for a VNode.
type Taint struct {
	Key    string `wire:"Key"`
	Value  string `wire:"Value"`
	Effect string `wire:"Effect"` // NoSchedule | NoExecute | PreferNoSchedule
}

// CreateVirtualNodeRequest creates a managed VNode.
type CreateVirtualNodeRequest struct {
	VirtualNodeName string   `wire:"VirtualNodeName"` // 2–128 chars: lowercase letters, digits, '.', '-'
	SecurityGroupID string   `wire:"SecurityGroupId"` // required
	VSwitchIDs      []string `wire:"VSwitchId,comma"` // required, 1–10
	ZoneID          string   `wire:"ZoneId"`
	// KubeConfig is the kubeconfig the VNode uses to join the cluster, in
	// plain text; the client Base64-encodes it as the API requires.
	KubeConfig          string  `wire:"-"`
	TLSBootstrapEnabled *bool   `wire:"TlsBootstrapEnabled"`
	ClusterDNS          string  `wire:"ClusterDNS"` // comma-separated IPs
	ClusterDomain       string  `wire:"ClusterDomain"`
	CustomResources     string  `wire:"CustomResources"` // "name=count,name=count"
	EIPInstanceID       string  `wire:"EipInstanceId"`
	EnablePublicNetwork *bool   `wire:"EnablePublicNetwork"`
	ResourceGroupID     string  `wire:"ResourceGroupId"`
	ClientToken         string  `wire:"ClientToken"`
	Tags                []Tag   `wire:"Tag"`
	Taints              []Taint `wire:"Taint"`
}

// String hides the kubeconfig, which holds cluster credentials.
func (r CreateVirtualNodeRequest) String() string {
	return "CreateVirtualNodeRequest{name " + r.VirtualNodeName + ", kubeconfig " + redacted(r.KubeConfig) + "}"
}

// CreateVirtualNodeResponse names the new VNode.
type CreateVirtualNodeResponse struct {
	RequestID     string `json:"RequestId"`
	VirtualNodeID string `json:"VirtualNodeId"` // vnd-...
}

// CreateVirtualNode creates a VNode. ClientToken is required so that a
// retried create cannot make a second, separately billed VNode.
func (c *Client) CreateVirtualNode(ctx context.Context, req *CreateVirtualNodeRequest) (*CreateVirtualNodeResponse, error) {
	const a = actCreateVirtualNode
	if req == nil || req.SecurityGroupID == "" || len(req.VSwitchIDs) == 0 {
		return nil, invalidInput(a, "SecurityGroupID and at least one VSwitchID are required")
	}
	if req.ClientToken == "" {
		return nil, invalidInput(a, "ClientToken is required: it makes retries of a create idempotent")
	}
	if e := checkClientToken(a, req.ClientToken); e != nil {
		return nil, e
	}
	if e := checkTags(a, req.Tags); e != nil {
		return nil, e
	}
	params, err := encodeWire(req)
	if err != nil {
		return nil, invalidInput(a, "%v", err)
	}
	if req.KubeConfig != "" {
		params["KubeConfig"] = base64.StdEncoding.EncodeToString([]byte(req.KubeConfig))
	}
	var out CreateVirtualNodeResponse
	if err := c.call(ctx, a, params, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeVirtualNodesRequest filters DescribeVirtualNodes.
type DescribeVirtualNodesRequest struct {
	VirtualNodeIDs  []string `wire:"VirtualNodeIds,json"` // at most 20
	VirtualNodeName string   `wire:"VirtualNodeName"`
	Status          string   `wire:"Status"`
	ResourceGroupID string   `wire:"ResourceGroupId"`
	Tags            []Tag    `wire:"Tag"`
	Limit           int32    `wire:"Limit"` // default and max 20
	NextToken       string   `wire:"NextToken"`
}

// DescribeVirtualNodesResponse is one page of VNodes.
type DescribeVirtualNodesResponse struct {
	RequestID    string        `json:"RequestId"`
	VirtualNodes []VirtualNode `json:"VirtualNodes"`
	NextToken    string        `json:"NextToken"`
	TotalCount   int           `json:"TotalCount"`
}

// VirtualNode is a described VNode.
type VirtualNode struct {
	VirtualNodeID              string  `json:"VirtualNodeId"`
	VirtualNodeName            string  `json:"VirtualNodeName"`
	Status                     string  `json:"Status"`
	CreationTime               string  `json:"CreationTime"`
	RegionID                   string  `json:"RegionId"`
	ResourceGroupID            string  `json:"ResourceGroupId"`
	VirtualNodeSecurityGroupID string  `json:"VirtualNodeSecurityGroupId"`
	VirtualNodeVSwitchID       string  `json:"VirtualNodeVSwitchId"`
	VpcID                      string  `json:"VpcId"`
	IntranetIP                 string  `json:"IntranetIp"`
	InternetIP                 string  `json:"InternetIp"`
	Tags                       []Tag   `json:"Tags"`
	Events                     []Event `json:"Events"`
}

// DescribeVirtualNodes returns one page of VNodes.
func (c *Client) DescribeVirtualNodes(ctx context.Context, req *DescribeVirtualNodesRequest) (*DescribeVirtualNodesResponse, error) {
	if req == nil {
		req = &DescribeVirtualNodesRequest{}
	}
	if e := checkIDs(actDescribeVirtualNodes, "VirtualNodeIds", req.VirtualNodeIDs); e != nil {
		return nil, e
	}
	var out DescribeVirtualNodesResponse
	if err := c.send(ctx, actDescribeVirtualNodes, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeAllVirtualNodes follows NextToken through every page.
func (c *Client) DescribeAllVirtualNodes(ctx context.Context, req *DescribeVirtualNodesRequest) ([]VirtualNode, error) {
	page := DescribeVirtualNodesRequest{}
	if req != nil {
		page = *req
	}
	return allPages(actDescribeVirtualNodes, func(token string) ([]VirtualNode, string, error) {
		page.NextToken = token
		resp, err := c.DescribeVirtualNodes(ctx, &page)
		if err != nil {
			return nil, "", err
		}
		return resp.VirtualNodes, resp.NextToken, nil
	})
}

// UpdateVirtualNodeRequest changes a Ready VNode. KubeConfig, taints,
// security group and vSwitches cannot be changed.
type UpdateVirtualNodeRequest struct {
	VirtualNodeID   string `wire:"VirtualNodeId"` // required
	VirtualNodeName string `wire:"VirtualNodeName"`
	ClusterDNS      string `wire:"ClusterDNS"`
	ClusterDomain   string `wire:"ClusterDomain"`
	CustomResources string `wire:"CustomResources"`
	Tags            []Tag  `wire:"Tag"`
	ClientToken     string `wire:"ClientToken"`
}

// UpdateVirtualNode changes a VNode.
func (c *Client) UpdateVirtualNode(ctx context.Context, req *UpdateVirtualNodeRequest) error {
	if req == nil || req.VirtualNodeID == "" {
		return invalidInput(actUpdateVirtualNode, "VirtualNodeID is required")
	}
	if e := checkClientToken(actUpdateVirtualNode, req.ClientToken); e != nil {
		return e
	}
	if e := checkTags(actUpdateVirtualNode, req.Tags); e != nil {
		return e
	}
	return c.sendMutation(ctx, actUpdateVirtualNode, req)
}

// DeleteVirtualNodeRequest deletes a VNode.
type DeleteVirtualNodeRequest struct {
	VirtualNodeID string `wire:"VirtualNodeId"` // required
	ClientToken   string `wire:"ClientToken"`
}

// DeleteVirtualNode deletes a VNode; ErrNotFound if it does not exist.
func (c *Client) DeleteVirtualNode(ctx context.Context, req *DeleteVirtualNodeRequest) error {
	if req == nil || req.VirtualNodeID == "" {
		return invalidInput(actDeleteVirtualNode, "VirtualNodeID is required")
	}
	if e := checkClientToken(actDeleteVirtualNode, req.ClientToken); e != nil {
		return e
	}
	return c.sendMutation(ctx, actDeleteVirtualNode, req)
}
