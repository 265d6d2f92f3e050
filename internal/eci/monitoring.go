package eci

import (
	"context"
	"encoding/json"
)

// DescribeContainerGroupMetricRequest selects one instance's metrics.
// Without StartTime/EndTime the last 5 minutes at 15 s resolution are
// returned.
type DescribeContainerGroupMetricRequest struct {
	ContainerGroupID string `wire:"ContainerGroupId"` // required
	StartTime        string `wire:"StartTime"`        // RFC 3339, within the last 30 days
	EndTime          string `wire:"EndTime"`
	Period           string `wire:"Period"` // seconds: 15 | 30 | 60 | 600
}

// DescribeContainerGroupMetricResponse holds up to 50 samples.
type DescribeContainerGroupMetricResponse struct {
	RequestID        string         `json:"RequestId"`
	ContainerGroupID string         `json:"ContainerGroupId"`
	Records          []MetricRecord `json:"Records"`
}

// MetricRecord is one sample of an instance and its containers.
type MetricRecord struct {
	Timestamp  string            `json:"Timestamp"`
	CPU        CPUStats          `json:"CPU"`
	Memory     MemoryStats       `json:"Memory"`
	Network    NetworkStats      `json:"Network"`
	Containers []ContainerMetric `json:"Containers"`
	Disk       []DiskStats       `json:"Disk"`
	Filesystem []FilesystemStats `json:"Filesystem"`
}

// ContainerMetric is one container's sample.
type ContainerMetric struct {
	Name   string      `json:"Name"`
	CPU    CPUStats    `json:"CPU"`
	Memory MemoryStats `json:"Memory"`
}

// CPUStats is a CPU sample.
type CPUStats struct {
	UsageNanoCores       int64 `json:"UsageNanoCores"`
	UsageCoreNanoSeconds int64 `json:"UsageCoreNanoSeconds"`
	Load                 int64 `json:"Load"`
	Limit                int64 `json:"Limit"`
}

// MemoryStats is a memory sample, in bytes.
type MemoryStats struct {
	AvailableBytes int64 `json:"AvailableBytes"`
	UsageBytes     int64 `json:"UsageBytes"`
	WorkingSet     int64 `json:"WorkingSet"`
	Rss            int64 `json:"Rss"`
	Cache          int64 `json:"Cache"`
}

// NetworkStats is a network sample.
type NetworkStats struct {
	Interfaces []InterfaceStats `json:"Interfaces"`
}

// InterfaceStats is one interface's counters.
type InterfaceStats struct {
	Name      string `json:"Name"`
	RxBytes   int64  `json:"RxBytes"`
	RxPackets int64  `json:"RxPackets"`
	RxErrors  int64  `json:"RxErrors"`
	RxDrops   int64  `json:"RxDrops"`
	TxBytes   int64  `json:"TxBytes"`
	TxPackets int64  `json:"TxPackets"`
	TxErrors  int64  `json:"TxErrors"`
	TxDrops   int64  `json:"TxDrops"`
}

// DiskStats is one block device's counters.
type DiskStats struct {
	Device     string `json:"Device"`
	ReadBytes  int64  `json:"ReadBytes"`
	WriteBytes int64  `json:"WriteBytes"`
	ReadIO     int64  `json:"ReadIO"`
	WriteIO    int64  `json:"WriteIO"`
}

// FilesystemStats is one filesystem's usage.
type FilesystemStats struct {
	FsName    string `json:"FsName"`
	Category  string `json:"Category"`
	Capacity  int64  `json:"Capacity"`
	Available int64  `json:"Available"`
	Usage     int64  `json:"Usage"`
}

// DescribeContainerGroupMetric returns an instance's recent metrics.
func (c *Client) DescribeContainerGroupMetric(ctx context.Context, req *DescribeContainerGroupMetricRequest) (*DescribeContainerGroupMetricResponse, error) {
	if req == nil || req.ContainerGroupID == "" {
		return nil, invalidInput(actDescribeContainerGroupMetric, "ContainerGroupID is required")
	}
	var out DescribeContainerGroupMetricResponse
	if err := c.send(ctx, actDescribeContainerGroupMetric, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DescribeMultiContainerGroupMetricRequest selects up to 20 instances.
type DescribeMultiContainerGroupMetricRequest struct {
	ContainerGroupIDs []string `wire:"ContainerGroupIds,json"` // required, at most 20
	MetricType        string   `wire:"MetricType"`             // "summary" for the pod-level summary
	ResourceGroupID   string   `wire:"ResourceGroupId"`
}

// DescribeMultiContainerGroupMetricResponse holds the latest sample of each
// instance.
type DescribeMultiContainerGroupMetricResponse struct {
	RequestID    string              `json:"RequestId"`
	MonitorDatas []MultiMetricRecord `json:"MonitorDatas"`
}

// MultiMetricRecord is the latest sample of one instance. ContainerInfos is
// the cAdvisor-shaped detail, kept raw because its shape is large and only
// some callers need it.
type MultiMetricRecord struct {
	ContainerGroupID string          `json:"ContainerGroupId"`
	Records          []MetricRecord  `json:"Records"`
	ContainerInfos   json.RawMessage `json:"ContainerInfos,omitempty"`
}

// DescribeMultiContainerGroupMetric returns the latest metrics of several
// instances in one call.
func (c *Client) DescribeMultiContainerGroupMetric(ctx context.Context, req *DescribeMultiContainerGroupMetricRequest) (*DescribeMultiContainerGroupMetricResponse, error) {
	const a = actDescribeMultiContainerGroupMetric
	if req == nil || len(req.ContainerGroupIDs) == 0 {
		return nil, invalidInput(a, "ContainerGroupIDs is required")
	}
	if e := checkIDs(a, "ContainerGroupIds", req.ContainerGroupIDs); e != nil {
		return nil, e
	}
	var out DescribeMultiContainerGroupMetricResponse
	if err := c.send(ctx, a, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
