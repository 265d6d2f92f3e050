package eci

import "context"

// Resource types that carry tags.
const (
	ResourceTypeContainerGroup = "ContainerGroup"
	ResourceTypeImageCache     = "ImageCache"
	ResourceTypeDataCache      = "DataCache"
	ResourceTypeVirtualNode    = "VirtualNode"
)

// TagResourcesRequest adds or overwrites tags on resources of one type.
type TagResourcesRequest struct {
	ResourceType string   `wire:"ResourceType"` // required, a ResourceType* constant
	ResourceIDs  []string `wire:"ResourceId"`   // required
	Tags         []Tag    `wire:"Tag"`          // required, at most 20
}

// TagResources tags resources.
func (c *Client) TagResources(ctx context.Context, req *TagResourcesRequest) error {
	const a = actTagResources
	if req == nil || req.ResourceType == "" || len(req.ResourceIDs) == 0 || len(req.Tags) == 0 {
		return invalidInput(a, "ResourceType, ResourceIDs and Tags are required")
	}
	if e := checkTags(a, req.Tags); e != nil {
		return e
	}
	return c.send(ctx, a, req, nil) // TagResources takes no ClientToken; tagging is idempotent
}

// UntagResourcesRequest removes tags from resources of one type.
type UntagResourcesRequest struct {
	ResourceType string   `wire:"ResourceType"` // required
	ResourceIDs  []string `wire:"ResourceId"`   // required
	TagKeys      []string `wire:"TagKey"`       // at most 20
	// All removes every tag; only valid without TagKeys.
	All         bool   `wire:"All"`
	ClientToken string `wire:"ClientToken"`
}

// UntagResources removes tags.
func (c *Client) UntagResources(ctx context.Context, req *UntagResourcesRequest) error {
	const a = actUntagResources
	if req == nil || req.ResourceType == "" || len(req.ResourceIDs) == 0 {
		return invalidInput(a, "ResourceType and ResourceIDs are required")
	}
	switch {
	case req.All && len(req.TagKeys) > 0:
		return invalidInput(a, "All cannot be combined with TagKeys")
	case !req.All && len(req.TagKeys) == 0:
		return invalidInput(a, "give TagKeys, or All to remove every tag")
	case len(req.TagKeys) > maxTagsPerRequest:
		return invalidInput(a, "%d tag keys given; at most %d are allowed", len(req.TagKeys), maxTagsPerRequest)
	}
	if e := checkClientToken(a, req.ClientToken); e != nil {
		return e
	}
	return c.sendMutation(ctx, a, req)
}

// ListTagResourcesRequest lists the tags of resources of one type.
type ListTagResourcesRequest struct {
	ResourceType string   `wire:"ResourceType"` // required
	ResourceIDs  []string `wire:"ResourceId"`
	Tags         []Tag    `wire:"Tag"` // filter
	Limit        int32    `wire:"Limit"`
	NextToken    string   `wire:"NextToken"`
}

// ListTagResourcesResponse is one page of resource-tag pairs.
type ListTagResourcesResponse struct {
	RequestID    string        `json:"RequestId"`
	TagResources []TagResource `json:"TagResources"`
	NextToken    string        `json:"NextToken"`
}

// TagResource is one tag on one resource.
type TagResource struct {
	ResourceID   string `json:"ResourceId"`
	ResourceType string `json:"ResourceType"`
	TagKey       string `json:"TagKey"`
	TagValue     string `json:"TagValue"`
}

// ListTagResources returns one page.
func (c *Client) ListTagResources(ctx context.Context, req *ListTagResourcesRequest) (*ListTagResourcesResponse, error) {
	if req == nil || req.ResourceType == "" {
		return nil, invalidInput(actListTagResources, "ResourceType is required")
	}
	var out ListTagResourcesResponse
	if err := c.send(ctx, actListTagResources, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAllTagResources follows NextToken through every page.
func (c *Client) ListAllTagResources(ctx context.Context, req *ListTagResourcesRequest) ([]TagResource, error) {
	if req == nil {
		return nil, invalidInput(actListTagResources, "ResourceType is required")
	}
	page := *req
	return allPages(actListTagResources, func(token string) ([]TagResource, string, error) {
		page.NextToken = token
		resp, err := c.ListTagResources(ctx, &page)
		if err != nil {
			return nil, "", err
		}
		return resp.TagResources, resp.NextToken, nil
	})
}
