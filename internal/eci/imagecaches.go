package eci

import "context"

// Image cache statuses.
const (
	ImageCachePreparing    = "Preparing"
	ImageCacheCreating     = "Creating"
	ImageCacheReady        = "Ready"
	ImageCacheFailed       = "Failed"
	ImageCacheUpdating     = "Updating"
	ImageCacheUpdateFailed = "UpdateFailed"
)

// CreateImageCacheRequest creates an image cache (a snapshot holding
// pre-pulled images). ECI runs an intermediate instance to build it.
type CreateImageCacheRequest struct {
	ImageCacheName  string   `wire:"ImageCacheName"` // required
	Images          []string `wire:"Image"`          // required
	SecurityGroupID string   `wire:"SecurityGroupId"`
	VSwitchID       string   `wire:"VSwitchId"`
	ZoneID          string   `wire:"ZoneId"`
	ImageCacheSize  int32    `wire:"ImageCacheSize"` // GiB, default 20
	RetentionDays   int32    `wire:"RetentionDays"`
	EIPInstanceID   string   `wire:"EipInstanceId"`
	ResourceGroupID string   `wire:"ResourceGroupId"`
	ClientToken     string   `wire:"ClientToken"`

	ImageRegistryCredentials []ImageRegistryCredential `wire:"ImageRegistryCredential"`
	ACRRegistryInfos         []ACRRegistryInfo         `wire:"AcrRegistryInfo"`
	PlainHTTPRegistries      []string                  `wire:"PlainHttpRegistry,comma"`
	InsecureRegistries       []string                  `wire:"InsecureRegistry,comma"`

	AutoMatchImageCache *bool  `wire:"AutoMatchImageCache"` // reuse layers of existing caches
	EliminationStrategy string `wire:"EliminationStrategy"` // "LRU"
	Flash               *bool  `wire:"Flash"`
	FlashCopyCount      int32  `wire:"FlashCopyCount"`
	StandardCopyCount   int32  `wire:"StandardCopyCount"`
	Annotations         string `wire:"Annotations"`
	OSType              string `wire:"OsType"`
	Tags                []Tag  `wire:"Tag"`
}

// CreateImageCacheResponse names the new cache.
type CreateImageCacheResponse struct {
	RequestID        string `json:"RequestId"`
	ImageCacheID     string `json:"ImageCacheId"`     // imc-...
	ContainerGroupID string `json:"ContainerGroupId"` // the intermediate instance
}

// CreateImageCache starts building an image cache. ClientToken is required
// (each cache costs a disk snapshot).
func (c *Client) CreateImageCache(ctx context.Context, req *CreateImageCacheRequest) (*CreateImageCacheResponse, error) {
	const a = actCreateImageCache
	if req == nil || req.ImageCacheName == "" || len(req.Images) == 0 {
		return nil, invalidInput(a, "ImageCacheName and at least one image are required")
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
	var out CreateImageCacheResponse
	if err := c.send(ctx, a, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeImageCachesRequest filters DescribeImageCaches.
type DescribeImageCachesRequest struct {
	ImageCacheID           string   `wire:"ImageCacheId"`
	ImageCacheName         string   `wire:"ImageCacheName"`
	SnapshotID             string   `wire:"SnapshotId"`
	Image                  string   `wire:"Image"`
	MatchImages            []string `wire:"MatchImage"` // caches holding these images, at most 100
	ImageFullMatch         *bool    `wire:"ImageFullMatch"`
	ImageMatchCountRequest int32    `wire:"ImageMatchCountRequest"`
	ResourceGroupID        string   `wire:"ResourceGroupId"`
	Tags                   []Tag    `wire:"Tag"`
	Limit                  int32    `wire:"Limit"`
	NextToken              string   `wire:"NextToken"`
}

// DescribeImageCachesResponse is one page of caches.
type DescribeImageCachesResponse struct {
	RequestID   string       `json:"RequestId"`
	ImageCaches []ImageCache `json:"ImageCaches"`
	NextToken   string       `json:"NextToken"`
	TotalCount  int          `json:"TotalCount"`
}

// ImageCache is a described image cache.
type ImageCache struct {
	ImageCacheID        string   `json:"ImageCacheId"`
	ImageCacheName      string   `json:"ImageCacheName"`
	Status              string   `json:"Status"`
	Progress            string   `json:"Progress"` // e.g. "100%"
	SnapshotID          string   `json:"SnapshotId"`
	FlashSnapshotID     string   `json:"FlashSnapshotId"`
	ContainerGroupID    string   `json:"ContainerGroupId"`
	Images              []string `json:"Images"`
	ImageCacheSize      int32    `json:"ImageCacheSize"`
	EliminationStrategy string   `json:"EliminationStrategy"`
	RegionID            string   `json:"RegionId"`
	ResourceGroupID     string   `json:"ResourceGroupId"`
	CreationTime        string   `json:"CreationTime"`
	ExpireDateTime      string   `json:"ExpireDateTime"`
	LastMatchedTime     string   `json:"LastMatchedTime"`
	Events              []Event  `json:"Events"`
	Tags                []Tag    `json:"Tags"`
}

// DescribeImageCaches returns one page of caches.
func (c *Client) DescribeImageCaches(ctx context.Context, req *DescribeImageCachesRequest) (*DescribeImageCachesResponse, error) {
	if req == nil {
		req = &DescribeImageCachesRequest{}
	}
	var out DescribeImageCachesResponse
	if err := c.send(ctx, actDescribeImageCaches, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeAllImageCaches follows NextToken through every page.
func (c *Client) DescribeAllImageCaches(ctx context.Context, req *DescribeImageCachesRequest) ([]ImageCache, error) {
	page := DescribeImageCachesRequest{}
	if req != nil {
		page = *req
	}
	return allPages(actDescribeImageCaches, func(token string) ([]ImageCache, string, error) {
		page.NextToken = token
		resp, err := c.DescribeImageCaches(ctx, &page)
		if err != nil {
			return nil, "", err
		}
		return resp.ImageCaches, resp.NextToken, nil
	})
}

// DeleteImageCacheRequest deletes an image cache.
type DeleteImageCacheRequest struct {
	ImageCacheID string `wire:"ImageCacheId"` // required
	ClientToken  string `wire:"ClientToken"`
}

// DeleteImageCache deletes an image cache; ErrNotFound if it does not exist.
func (c *Client) DeleteImageCache(ctx context.Context, req *DeleteImageCacheRequest) error {
	if req == nil || req.ImageCacheID == "" {
		return invalidInput(actDeleteImageCache, "ImageCacheID is required")
	}
	if e := checkClientToken(actDeleteImageCache, req.ClientToken); e != nil {
		return e
	}
	return c.sendMutation(ctx, actDeleteImageCache, req)
}
