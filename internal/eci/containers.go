package eci

import "context"

// DescribeContainerLogRequest selects the log of one container.
type DescribeContainerLogRequest struct {
	ContainerGroupID string `wire:"ContainerGroupId"` // required
	ContainerName    string `wire:"ContainerName"`    // required
	StartTime        string `wire:"StartTime"`        // RFC 3339
	SinceSeconds     int32  `wire:"SinceSeconds"`
	Tail             int32  `wire:"Tail"`       // lines; default 500, max 2000
	LimitBytes       int64  `wire:"LimitBytes"` // 1..1048576
	LastTime         bool   `wire:"LastTime"`   // the previous (crashed) container's log
	Timestamps       bool   `wire:"Timestamps"` // prefix lines with their time
}

// DescribeContainerLogResponse carries at most 1 MB of log text.
type DescribeContainerLogResponse struct {
	RequestID     string `json:"RequestId"`
	ContainerName string `json:"ContainerName"`
	Content       string `json:"Content"`
}

// DescribeContainerLog returns the tail of a container's log.
func (c *Client) DescribeContainerLog(ctx context.Context, req *DescribeContainerLogRequest) (*DescribeContainerLogResponse, error) {
	if req == nil || req.ContainerGroupID == "" || req.ContainerName == "" {
		return nil, invalidInput(actDescribeContainerLog, "ContainerGroupID and ContainerName are required")
	}
	var out DescribeContainerLogResponse
	if err := c.send(ctx, actDescribeContainerLog, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExecContainerCommandRequest runs a command in a container.
type ExecContainerCommandRequest struct {
	ContainerGroupID string `wire:"ContainerGroupId"` // required
	ContainerName    string `wire:"ContainerName"`    // required
	// Command is the argv, e.g. ["/bin/sh", "-c", "ls"]; sent as the JSON
	// array string the API expects. At most 20 elements of ≤256 chars.
	Command []string `wire:"Command,json"`
	TTY     *bool    `wire:"TTY"`
	Stdin   *bool    `wire:"Stdin"` // default true
	// Sync runs the command to completion and returns its output in
	// SyncResponse (requires TTY false).
	Sync *bool `wire:"Sync"`
}

// ExecContainerCommandResponse tells where to attach to the session.
type ExecContainerCommandResponse struct {
	RequestID    string `json:"RequestId"`
	WebSocketURI string `json:"WebSocketUri"` // wss:// stream of the session
	HTTPURL      string `json:"HttpUrl"`      // browser terminal, valid 30 s
	SyncResponse string `json:"SyncResponse"` // output when Sync is set
}

// ExecContainerCommand starts a command in a container.
func (c *Client) ExecContainerCommand(ctx context.Context, req *ExecContainerCommandRequest) (*ExecContainerCommandResponse, error) {
	const a = actExecContainerCommand
	if req == nil || req.ContainerGroupID == "" || req.ContainerName == "" {
		return nil, invalidInput(a, "ContainerGroupID and ContainerName are required")
	}
	if len(req.Command) == 0 {
		return nil, invalidInput(a, "Command is required")
	}
	if len(req.Command) > 20 {
		return nil, invalidInput(a, "Command has %d elements; at most 20 are allowed", len(req.Command))
	}
	for i, arg := range req.Command {
		if len(arg) > 256 {
			return nil, invalidInput(a, "Command element %d is %d characters; at most 256 are allowed", i+1, len(arg))
		}
	}
	var out ExecContainerCommandResponse
	if err := c.send(ctx, a, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
