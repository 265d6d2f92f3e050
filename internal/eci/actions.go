package eci

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Action names, as sent in the Action parameter.
const (
	actCreateContainerGroup              = "CreateContainerGroup"
	actDescribeContainerGroups           = "DescribeContainerGroups"
	actDescribeContainerGroupStatus      = "DescribeContainerGroupStatus"
	actDescribeContainerGroupEvents      = "DescribeContainerGroupEvents"
	actDeleteContainerGroup              = "DeleteContainerGroup"
	actUpdateContainerGroup              = "UpdateContainerGroup"
	actRestartContainerGroup             = "RestartContainerGroup"
	actDescribeContainerLog              = "DescribeContainerLog"
	actExecContainerCommand              = "ExecContainerCommand"
	actDescribeContainerGroupMetric      = "DescribeContainerGroupMetric"
	actDescribeMultiContainerGroupMetric = "DescribeMultiContainerGroupMetric"
	actDescribeContainerGroupPrice       = "DescribeContainerGroupPrice"
	actDescribeAvailableResource         = "DescribeAvailableResource"
	actDescribeRegions                   = "DescribeRegions"
	actCreateVirtualNode                 = "CreateVirtualNode"
	actDescribeVirtualNodes              = "DescribeVirtualNodes"
	actUpdateVirtualNode                 = "UpdateVirtualNode"
	actDeleteVirtualNode                 = "DeleteVirtualNode"
	actTagResources                      = "TagResources"
	actUntagResources                    = "UntagResources"
	actListTagResources                  = "ListTagResources"
	actCreateImageCache                  = "CreateImageCache"
	actDescribeImageCaches               = "DescribeImageCaches"
	actDeleteImageCache                  = "DeleteImageCache"
	actListUsage                         = "ListUsage"
)

// knownActions lists every action this client sends; each gets its own
// client-side limiter.
func knownActions() []string {
	return []string{
		actCreateContainerGroup, actDescribeContainerGroups, actDescribeContainerGroupStatus,
		actDescribeContainerGroupEvents, actDeleteContainerGroup, actUpdateContainerGroup,
		actRestartContainerGroup, actDescribeContainerLog, actExecContainerCommand,
		actDescribeContainerGroupMetric, actDescribeMultiContainerGroupMetric,
		actDescribeContainerGroupPrice, actDescribeAvailableResource, actDescribeRegions,
		actCreateVirtualNode, actDescribeVirtualNodes, actUpdateVirtualNode, actDeleteVirtualNode,
		actTagResources, actUntagResources, actListTagResources,
		actCreateImageCache, actDescribeImageCaches, actDeleteImageCache, actListUsage,
	}
}

// Documented API limits that the client checks before sending, so a caller
// gets a precise error instead of a generic InvalidParameter.
const (
	maxIDsPerCall     = 20 // ContainerGroupIds, VirtualNodeIds: JSON arrays of ≤20
	maxTagsPerRequest = 20
	maxClientToken    = 64
	maxContainers     = 20 // per instance (limits page)
	maxVolumes        = 20 // per instance (limits page)
)

// decodeJSON decodes a success body. Unknown fields are ignored: the API
// adds response fields over time and an old client must keep working.
func decodeJSON(body []byte, out any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("empty response body")
	}
	return json.Unmarshal(body, out)
}

// invalidInput is a request the client refuses to send.
func invalidInput(action, format string, args ...any) *APIError {
	return &APIError{Action: action, Code: "Client.InvalidInput", Message: fmt.Sprintf(format, args...), Class: ClassInvalidInput}
}

// send encodes req (a struct with wire tags, or nil) and calls action.
func (c *Client) send(ctx context.Context, action string, req any, out any) error {
	params := wireParams{}
	if req != nil {
		p, err := encodeWire(req)
		if err != nil {
			return invalidInput(action, "%v", err)
		}
		params = p
	}
	return c.call(ctx, action, params, out)
}

// sendMutation is send for state-changing calls other than creates. If the
// caller gave no ClientToken, one is generated for this call and reused by
// its retries, so a retry after a lost answer is recognised by ECI instead
// of restarting (or updating) a group twice. Creates do not get one: their
// token must be stable across process restarts (e.g. the pod UID), which
// only the caller can provide.
func (c *Client) sendMutation(ctx context.Context, action string, req any) error {
	params, err := encodeWire(req)
	if err != nil {
		return invalidInput(action, "%v", err)
	}
	return c.call(ctx, action, withClientToken(params), nil)
}

// withClientToken fills in a random ClientToken when params has none.
func withClientToken(params wireParams) wireParams {
	if params["ClientToken"] == "" {
		var b [16]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
		params["ClientToken"] = "eci-client-" + hex.EncodeToString(b[:])
	}
	return params
}

// checkClientToken enforces the documented token shape (ASCII, ≤64 chars).
func checkClientToken(action, token string) *APIError {
	if len(token) > maxClientToken {
		return invalidInput(action, "ClientToken is %d characters; at most %d are allowed", len(token), maxClientToken)
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x20 || token[i] > 0x7e {
			return invalidInput(action, "ClientToken must be printable ASCII")
		}
	}
	return nil
}

func checkIDs(action, what string, ids []string) *APIError {
	if len(ids) > maxIDsPerCall {
		return invalidInput(action, "%d %s given; the API accepts at most %d per call", len(ids), what, maxIDsPerCall)
	}
	return nil
}

func checkTags(action string, tags []Tag) *APIError {
	if len(tags) > maxTagsPerRequest {
		return invalidInput(action, "%d tags given; at most %d are allowed", len(tags), maxTagsPerRequest)
	}
	for i, t := range tags {
		if t.Key == "" {
			return invalidInput(action, "tag %d has an empty key", i+1)
		}
	}
	return nil
}

// nextPage guards pagination against a server that keeps returning the
// same token, which would otherwise loop forever.
func nextPage(action string, seen map[string]bool, token string) (string, *APIError) {
	if token == "" {
		return "", nil
	}
	if seen[token] {
		return "", &APIError{Action: action, Code: "Client.PaginationLoop", Class: ClassUnknown,
			Message: "the server returned NextToken " + token + " twice"}
	}
	seen[token] = true
	return token, nil
}

// allPages collects every page of a listing: fetch is called with "" and then
// with each NextToken until the last page.
func allPages[T any](action string, fetch func(token string) ([]T, string, error)) ([]T, error) {
	seen := map[string]bool{}
	var all []T
	token := ""
	for {
		items, next, err := fetch(token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		next, perr := nextPage(action, seen, next)
		if perr != nil {
			return nil, perr
		}
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// eachIDBatch runs list once without IDs, or once per batch of at most
// maxIDsPerCall IDs (the API's limit), and concatenates the results.
func eachIDBatch[T any](ids []string, list func(ids []string) ([]T, error)) ([]T, error) {
	if len(ids) == 0 {
		return list(nil)
	}
	var all []T
	for _, batch := range chunk(ids, maxIDsPerCall) {
		items, err := list(batch)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	return all, nil
}

// chunk splits ids into groups of at most n.
func chunk(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > n {
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}
