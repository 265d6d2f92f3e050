package eci

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CreateContainerGroupResponse is the answer to CreateContainerGroup.
type CreateContainerGroupResponse struct {
	RequestID        string `json:"RequestId"`
	ContainerGroupID string `json:"ContainerGroupId"`
	// DryRun is true when the request was a dry run that passed
	// validation (ECI answers those with the code DryRunOperation).
	DryRun bool `json:"-"`
}

// Validate checks what the API requires and what the client relies on,
// before anything is sent.
func (r *CreateContainerGroupRequest) Validate() error {
	const a = actCreateContainerGroup
	if r.ClientToken == "" {
		// Creates are retried after lost answers; only the token makes
		// that safe, so a create without one is refused.
		return invalidInput(a, "ClientToken is required: it makes retries of a create idempotent (use e.g. the pod UID)")
	}
	if e := checkClientToken(a, r.ClientToken); e != nil {
		return e
	}
	if r.ContainerGroupName == "" {
		return invalidInput(a, "ContainerGroupName is required")
	}
	if len(r.Containers) == 0 {
		return invalidInput(a, "at least one container is required")
	}
	if len(r.Containers) > maxContainers {
		return invalidInput(a, "%d containers; at most %d are allowed per instance", len(r.Containers), maxContainers)
	}
	if len(r.Volumes) > maxVolumes {
		return invalidInput(a, "%d volumes; at most %d are allowed per instance", len(r.Volumes), maxVolumes)
	}
	volumes := map[string]bool{}
	for i, v := range r.Volumes {
		if err := validateVolume(v); err != "" {
			return invalidInput(a, "volume %d (%s): %s", i+1, v.Name, err)
		}
		if volumes[v.Name] {
			return invalidInput(a, "volume name %q is used twice", v.Name)
		}
		volumes[v.Name] = true
	}
	names := map[string]bool{}
	checkContainer := func(kind string, i int, name, image string, mounts []VolumeMount) *APIError {
		if name == "" || image == "" {
			return invalidInput(a, "%s %d: Name and Image are required", kind, i+1)
		}
		if names[name] {
			return invalidInput(a, "container name %q is used twice", name)
		}
		names[name] = true
		for _, m := range mounts {
			if !volumes[m.Name] {
				return invalidInput(a, "%s %s mounts volume %q, which is not declared", kind, name, m.Name)
			}
			if m.MountPath == "" {
				return invalidInput(a, "%s %s: the mount of volume %q has no MountPath", kind, name, m.Name)
			}
		}
		return nil
	}
	for i, ct := range r.InitContainers {
		if e := checkContainer("init container", i, ct.Name, ct.Image, ct.VolumeMounts); e != nil {
			return e
		}
	}
	for i, ct := range r.Containers {
		if e := checkContainer("container", i, ct.Name, ct.Image, ct.VolumeMounts); e != nil {
			return e
		}
	}
	if e := checkTags(a, r.Tags); e != nil {
		return e
	}
	return nil
}

// validateVolume checks that Type names the source that is set. It returns
// "" when the volume is consistent.
func validateVolume(v Volume) string {
	if v.Name == "" {
		return "Name is required"
	}
	set := map[string]bool{
		VolumeTypeEmptyDir: v.EmptyDir != nil, VolumeTypeNFS: v.NFS != nil, VolumeTypeConfigFile: v.ConfigFile != nil,
		VolumeTypeDisk: v.Disk != nil, VolumeTypeFlex: v.Flex != nil, VolumeTypeHostPath: v.HostPath != nil,
	}
	if _, known := set[v.Type]; !known {
		return fmt.Sprintf("Type %q is not one of EmptyDirVolume, NFSVolume, ConfigFileVolume, DiskVolume, FlexVolume, HostPathVolume", v.Type)
	}
	for typ, isSet := range set {
		if isSet && typ != v.Type {
			return fmt.Sprintf("Type is %s but the %s source is set", v.Type, typ)
		}
	}
	// An emptyDir needs no settings; every other type needs its source.
	if v.Type != VolumeTypeEmptyDir && !set[v.Type] {
		return fmt.Sprintf("Type is %s but its source is not set", v.Type)
	}
	return ""
}

// WireParams returns the request as the query parameters it is sent as
// (without RegionId and the signature parameters), for tests and debugging
// of the translation. Values may contain secrets (registry passwords).
func (r *CreateContainerGroupRequest) WireParams() (map[string]string, error) {
	return encodeWire(r)
}

// CreateContainerGroup creates one instance. ClientToken is required: the
// client retries creates after throttling or a lost answer, and ECI returns
// the existing group for a token it has seen, so a retry never creates a
// second group.
func (c *Client) CreateContainerGroup(ctx context.Context, req *CreateContainerGroupRequest) (*CreateContainerGroupResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out CreateContainerGroupResponse
	err := c.send(ctx, actCreateContainerGroup, req, &out)
	if ae := (*APIError)(nil); err != nil && req.DryRun && errors.As(err, &ae) && isDryRunPass(ae) {
		return &CreateContainerGroupResponse{RequestID: ae.RequestID, DryRun: true}, nil
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// isDryRunPass reports the "error" ECI uses to say a dry run would succeed.
func isDryRunPass(ae *APIError) bool {
	return ae.Code == "DryRunOperation" || strings.EqualFold(ae.Code, "DryRun.Success")
}

// DescribeContainerGroupsRequest filters DescribeContainerGroups. All
// fields are optional; without filters every group of the region is listed.
type DescribeContainerGroupsRequest struct {
	ContainerGroupIDs  []string `wire:"ContainerGroupIds,json"` // at most 20
	ContainerGroupName string   `wire:"ContainerGroupName"`
	Status             string   `wire:"Status"` // one of the Status* constants
	ZoneID             string   `wire:"ZoneId"`
	VSwitchID          string   `wire:"VSwitchId"`
	SecurityGroupID    string   `wire:"SecurityGroupId"`
	ResourceGroupID    string   `wire:"ResourceGroupId"`
	ComputeCategory    string   `wire:"ComputeCategory"`
	Tags               []Tag    `wire:"Tag"` // all must match
	WithEvent          bool     `wire:"WithEvent"`
	Limit              int32    `wire:"Limit"` // page size, default and max 20
	NextToken          string   `wire:"NextToken"`
}

// DescribeContainerGroupsResponse is one page of groups.
type DescribeContainerGroupsResponse struct {
	RequestID       string           `json:"RequestId"`
	ContainerGroups []ContainerGroup `json:"ContainerGroups"`
	NextToken       string           `json:"NextToken"` // "" on the last page
	TotalCount      int              `json:"TotalCount"`
}

// DescribeContainerGroups returns one page. See DescribeAllContainerGroups
// for every page.
func (c *Client) DescribeContainerGroups(ctx context.Context, req *DescribeContainerGroupsRequest) (*DescribeContainerGroupsResponse, error) {
	if req == nil {
		req = &DescribeContainerGroupsRequest{}
	}
	if e := checkIDs(actDescribeContainerGroups, "ContainerGroupIds", req.ContainerGroupIDs); e != nil {
		return nil, e
	}
	if e := checkTags(actDescribeContainerGroups, req.Tags); e != nil {
		return nil, e
	}
	var out DescribeContainerGroupsResponse
	if err := c.send(ctx, actDescribeContainerGroups, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeAllContainerGroups follows NextToken through every page. More
// than 20 ContainerGroupIDs are split into several queries. req.NextToken
// is ignored.
func (c *Client) DescribeAllContainerGroups(ctx context.Context, req *DescribeContainerGroupsRequest) ([]ContainerGroup, error) {
	base := DescribeContainerGroupsRequest{}
	if req != nil {
		base = *req
	}
	return eachIDBatch(base.ContainerGroupIDs, func(ids []string) ([]ContainerGroup, error) {
		page := base
		page.ContainerGroupIDs = ids
		return allPages(actDescribeContainerGroups, func(token string) ([]ContainerGroup, string, error) {
			page.NextToken = token
			resp, err := c.DescribeContainerGroups(ctx, &page)
			if err != nil {
				return nil, "", err
			}
			return resp.ContainerGroups, resp.NextToken, nil
		})
	})
}

// DescribeContainerGroupStatusRequest filters DescribeContainerGroupStatus,
// the efficient way to poll many instances.
type DescribeContainerGroupStatusRequest struct {
	ContainerGroupIDs []string `wire:"ContainerGroupIds,json"` // at most 20
	SinceSecond       int32    `wire:"SinceSecond"`            // only groups changed in the last N seconds
	ZoneID            string   `wire:"ZoneId"`
	VSwitchID         string   `wire:"VSwitchId"`
	ResourceGroupID   string   `wire:"ResourceGroupId"`
	Tags              []Tag    `wire:"Tag"`
	Limit             int32    `wire:"Limit"` // default 200
	NextToken         string   `wire:"NextToken"`
}

// DescribeContainerGroupStatusResponse is one page of statuses.
type DescribeContainerGroupStatusResponse struct {
	RequestID  string                 `json:"RequestId"`
	Data       []ContainerGroupStatus `json:"Data"`
	NextToken  string                 `json:"NextToken"`
	TotalCount int                    `json:"TotalCount"`
}

// DescribeContainerGroupStatus returns one page of pod-shaped statuses.
func (c *Client) DescribeContainerGroupStatus(ctx context.Context, req *DescribeContainerGroupStatusRequest) (*DescribeContainerGroupStatusResponse, error) {
	if req == nil {
		req = &DescribeContainerGroupStatusRequest{}
	}
	if e := checkIDs(actDescribeContainerGroupStatus, "ContainerGroupIds", req.ContainerGroupIDs); e != nil {
		return nil, e
	}
	var out DescribeContainerGroupStatusResponse
	if err := c.send(ctx, actDescribeContainerGroupStatus, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeAllContainerGroupStatus follows NextToken through every page,
// splitting more than 20 IDs into several queries.
func (c *Client) DescribeAllContainerGroupStatus(ctx context.Context, req *DescribeContainerGroupStatusRequest) ([]ContainerGroupStatus, error) {
	base := DescribeContainerGroupStatusRequest{}
	if req != nil {
		base = *req
	}
	return eachIDBatch(base.ContainerGroupIDs, func(ids []string) ([]ContainerGroupStatus, error) {
		page := base
		page.ContainerGroupIDs = ids
		return allPages(actDescribeContainerGroupStatus, func(token string) ([]ContainerGroupStatus, string, error) {
			page.NextToken = token
			resp, err := c.DescribeContainerGroupStatus(ctx, &page)
			if err != nil {
				return nil, "", err
			}
			return resp.Data, resp.NextToken, nil
		})
	})
}

// DescribeContainerGroupEventsRequest filters DescribeContainerGroupEvents.
type DescribeContainerGroupEventsRequest struct {
	ContainerGroupIDs []string `wire:"ContainerGroupIds,json"` // at most 20
	EventSource       string   `wire:"EventSource"`            // EciService | K8sAgent | "" for all
	SinceSecond       int32    `wire:"SinceSecond"`
	ZoneID            string   `wire:"ZoneId"`
	VSwitchID         string   `wire:"VSwitchId"`
	ResourceGroupID   string   `wire:"ResourceGroupId"`
	Tags              []Tag    `wire:"Tag"`
	Limit             int32    `wire:"Limit"` // default 200
	NextToken         string   `wire:"NextToken"`
}

// DescribeContainerGroupEventsResponse is one page of events.
type DescribeContainerGroupEventsResponse struct {
	RequestID  string                 `json:"RequestId"`
	Data       []ContainerGroupEvents `json:"Data"`
	NextToken  string                 `json:"NextToken"`
	TotalCount int                    `json:"TotalCount"`
}

// DescribeContainerGroupEvents returns Kubernetes-shaped events.
func (c *Client) DescribeContainerGroupEvents(ctx context.Context, req *DescribeContainerGroupEventsRequest) (*DescribeContainerGroupEventsResponse, error) {
	if req == nil {
		req = &DescribeContainerGroupEventsRequest{}
	}
	if e := checkIDs(actDescribeContainerGroupEvents, "ContainerGroupIds", req.ContainerGroupIDs); e != nil {
		return nil, e
	}
	var out DescribeContainerGroupEventsResponse
	if err := c.send(ctx, actDescribeContainerGroupEvents, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteContainerGroupRequest deletes one instance.
type DeleteContainerGroupRequest struct {
	ContainerGroupID string `wire:"ContainerGroupId"` // required
	ClientToken      string `wire:"ClientToken"`
	// Force skips the graceful termination wait.
	Force bool `wire:"Force"`
}

// DeleteContainerGroup deletes an instance. Deleting a group that does not
// exist fails with ErrNotFound; callers that want "ensure gone" treat that
// as success.
func (c *Client) DeleteContainerGroup(ctx context.Context, req *DeleteContainerGroupRequest) error {
	if req == nil || req.ContainerGroupID == "" {
		return invalidInput(actDeleteContainerGroup, "ContainerGroupID is required")
	}
	if e := checkClientToken(actDeleteContainerGroup, req.ClientToken); e != nil {
		return e
	}
	return c.sendMutation(ctx, actDeleteContainerGroup, req)
}

// UpdateContainerGroup changes a Pending or Running instance.
func (c *Client) UpdateContainerGroup(ctx context.Context, req *UpdateContainerGroupRequest) error {
	if req == nil || req.ContainerGroupID == "" {
		return invalidInput(actUpdateContainerGroup, "ContainerGroupID is required")
	}
	if e := checkClientToken(actUpdateContainerGroup, req.ClientToken); e != nil {
		return e
	}
	if e := checkTags(actUpdateContainerGroup, req.Tags); e != nil {
		return e
	}
	params, err := req.wireParams()
	if err != nil {
		return invalidInput(actUpdateContainerGroup, "%v", err)
	}
	return c.call(ctx, actUpdateContainerGroup, withClientToken(params), nil)
}

// RestartContainerGroupRequest restarts one instance.
type RestartContainerGroupRequest struct {
	ContainerGroupID string `wire:"ContainerGroupId"` // required
	ClientToken      string `wire:"ClientToken"`
}

// RestartContainerGroup restarts a Pending or Running instance; it passes
// through Restarting.
func (c *Client) RestartContainerGroup(ctx context.Context, req *RestartContainerGroupRequest) error {
	if req == nil || req.ContainerGroupID == "" {
		return invalidInput(actRestartContainerGroup, "ContainerGroupID is required")
	}
	if e := checkClientToken(actRestartContainerGroup, req.ClientToken); e != nil {
		return e
	}
	return c.sendMutation(ctx, actRestartContainerGroup, req)
}
