package eci

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// DescribeContainerGroupPriceRequest describes the instance to price.
// InstanceType, when set, overrides CPU/Memory.
type DescribeContainerGroupPriceRequest struct {
	CPU              float64 `wire:"Cpu"`
	Memory           float64 `wire:"Memory"`
	InstanceType     string  `wire:"InstanceType"`
	ZoneID           string  `wire:"ZoneId"`
	ComputeCategory  string  `wire:"ComputeCategory"` // economy | general
	EphemeralStorage int32   `wire:"EphemeralStorage"`
	SpotStrategy     string  `wire:"SpotStrategy"`
	SpotPriceLimit   float64 `wire:"SpotPriceLimit"`
	SpotDuration     *int32  `wire:"SpotDuration"`
}

// DescribeContainerGroupPriceResponse is the price per second.
type DescribeContainerGroupPriceResponse struct {
	RequestID string    `json:"RequestId"`
	PriceInfo PriceInfo `json:"PriceInfo"`
}

// PriceInfo is the price of an instance spec.
type PriceInfo struct {
	Price struct {
		Currency      string  `json:"Currency"` // CNY on aliyun.com, USD on alibabacloud.com
		OriginalPrice float64 `json:"OriginalPrice"`
		DiscountPrice float64 `json:"DiscountPrice"`
		TradePrice    float64 `json:"TradePrice"` // what is charged, per second
		DetailInfos   struct {
			DetailInfo []PriceDetail `json:"DetailInfo"`
		} `json:"DetailInfos"`
	} `json:"Price"`
	Rules struct {
		Rule []PriceRule `json:"Rule"`
	} `json:"Rules"`
	SpotPrices struct {
		SpotPrice []SpotPrice `json:"SpotPrice"`
	} `json:"SpotPrices"`
}

// PriceDetail is the price of one resource (e.g. "cpu").
type PriceDetail struct {
	Resource      string  `json:"Resource"`
	OriginalPrice float64 `json:"OriginalPrice"`
	DiscountPrice float64 `json:"DiscountPrice"`
	TradePrice    float64 `json:"TradePrice"`
	Rules         struct {
		Rule []PriceRule `json:"Rule"`
	} `json:"Rules"`
}

// PriceRule is a discount rule.
type PriceRule struct {
	RuleID      int64  `json:"RuleId"`
	Description string `json:"Description"`
}

// SpotPrice is the spot price of an instance type in a zone.
type SpotPrice struct {
	InstanceType string  `json:"InstanceType"`
	ZoneID       string  `json:"ZoneId"`
	SpotPrice    float64 `json:"SpotPrice"`
	OriginPrice  float64 `json:"OriginPrice"`
}

// DescribeContainerGroupPrice prices an instance spec.
func (c *Client) DescribeContainerGroupPrice(ctx context.Context, req *DescribeContainerGroupPriceRequest) (*DescribeContainerGroupPriceResponse, error) {
	if req == nil || (req.InstanceType == "" && (req.CPU <= 0 || req.Memory <= 0)) {
		return nil, invalidInput(actDescribeContainerGroupPrice, "either InstanceType or both CPU and Memory are required")
	}
	var out DescribeContainerGroupPriceResponse
	if err := c.send(ctx, actDescribeContainerGroupPrice, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeAvailableResourceRequest asks which specs have stock.
type DescribeAvailableResourceRequest struct {
	ZoneID              string              `wire:"ZoneId"`
	DestinationResource DestinationResource `wire:"DestinationResource"`
	SpotResource        *SpotResource       `wire:"SpotResource"`
}

// DestinationResource is what to look up.
type DestinationResource struct {
	Category string  `wire:"Category"` // required: InstanceTypeFamily | InstanceType
	Value    string  `wire:"Value"`
	Cores    float64 `wire:"Cores"`
	Memory   float64 `wire:"Memory"`
}

// SpotResource narrows the lookup to spot capacity.
type SpotResource struct {
	SpotStrategy   string  `wire:"SpotStrategy"`
	SpotPriceLimit float64 `wire:"SpotPriceLimit"`
	SpotDuration   *int32  `wire:"SpotDuration"`
}

// Stock categories of a supported resource.
const (
	StockWithStock          = "WithStock"
	StockClosedWithStock    = "ClosedWithStock"
	StockWithoutStock       = "WithoutStock"
	StockClosedWithoutStock = "ClosedWithoutStock"
)

// DescribeAvailableResourceResponse lists resources per zone.
type DescribeAvailableResourceResponse struct {
	RequestID      string `json:"RequestId"`
	AvailableZones struct {
		AvailableZone []AvailableZone `json:"AvailableZone"`
	} `json:"AvailableZones"`
}

// AvailableZone is the availability of one zone.
type AvailableZone struct {
	RegionID           string `json:"RegionId"`
	ZoneID             string `json:"ZoneId"`
	AvailableResources struct {
		AvailableResource []AvailableResource `json:"AvailableResource"`
	} `json:"AvailableResources"`
}

// AvailableResource is one resource type with its supported values.
type AvailableResource struct {
	Type               string `json:"Type"`
	SupportedResources struct {
		SupportedResource []SupportedResource `json:"SupportedResource"`
	} `json:"SupportedResources"`
}

// SupportedResource is one value (e.g. an instance type) and its stock.
type SupportedResource struct {
	Value          string `json:"Value"`
	StatusCategory string `json:"StatusCategory"`
}

// DescribeAvailableResource reports which instance types or families have
// stock in which zones.
func (c *Client) DescribeAvailableResource(ctx context.Context, req *DescribeAvailableResourceRequest) (*DescribeAvailableResourceResponse, error) {
	if req == nil || req.DestinationResource.Category == "" {
		return nil, invalidInput(actDescribeAvailableResource, "DestinationResource.Category is required")
	}
	var out DescribeAvailableResourceResponse
	if err := c.send(ctx, actDescribeAvailableResource, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeRegionsResponse lists regions and zones.
type DescribeRegionsResponse struct {
	RequestID string   `json:"RequestId"`
	Regions   []Region `json:"Regions"`
}

// Region is one region with its zones.
type Region struct {
	RegionID         string   `json:"RegionId"`
	RegionEndpoint   string   `json:"RegionEndpoint"`
	Zones            []string `json:"Zones"`
	RecommendZones   []string `json:"RecommendZones"`   // zones with ample stock
	UnavailableZones []string `json:"UnavailableZones"` // zones to avoid
}

// DescribeRegions lists the regions and zones ECI serves. It is also the
// cheapest authenticated call, used as a health check.
func (c *Client) DescribeRegions(ctx context.Context) (*DescribeRegionsResponse, error) {
	var out DescribeRegionsResponse
	if err := c.send(ctx, actDescribeRegions, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListUsageResponse reports account usage and quotas.
type ListUsageResponse struct {
	RequestID string `json:"RequestId"`
	// Attributes maps names such as UsedCpu, MaxCpu, UsedImageCacheCount,
	// MaxImageCacheCount to values (numbers, occasionally strings).
	Attributes map[string]json.RawMessage `json:"Attributes"`
}

// Number returns attribute name as a float64, accepting JSON numbers and
// numeric strings.
func (r *ListUsageResponse) Number(name string) (float64, error) {
	raw, ok := r.Attributes[name]
	if !ok {
		return 0, fmt.Errorf("usage attribute %s not reported", name)
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("usage attribute %s: %s is neither a number nor a string", name, raw)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("usage attribute %s: %w", name, err)
	}
	return f, nil
}

// ListUsage reports the account's usage against its quotas.
func (c *Client) ListUsage(ctx context.Context) (*ListUsageResponse, error) {
	var out ListUsageResponse
	if err := c.send(ctx, actListUsage, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
