package emulator

// actionTable maps each served Action to its handler.
func (e *Emulator) actionTable() map[string]actionFunc {
	return map[string]actionFunc{
		"CreateContainerGroup":              actCreateContainerGroup,
		"DescribeContainerGroups":           actDescribeContainerGroups,
		"DescribeContainerGroupStatus":      actDescribeContainerGroupStatus,
		"DescribeContainerGroupEvents":      actDescribeContainerGroupEvents,
		"DeleteContainerGroup":              actDeleteContainerGroup,
		"UpdateContainerGroup":              actUpdateContainerGroup,
		"RestartContainerGroup":             actRestartContainerGroup,
		"DescribeContainerLog":              actDescribeContainerLog,
		"ExecContainerCommand":              actExecContainerCommand,
		"DescribeContainerGroupMetric":      actDescribeContainerGroupMetric,
		"DescribeMultiContainerGroupMetric": actDescribeMultiContainerGroupMetric,
		"DescribeContainerGroupPrice":       actDescribeContainerGroupPrice,
		"DescribeAvailableResource":         actDescribeAvailableResource,
		"DescribeRegions":                   actDescribeRegions,
		"CreateVirtualNode":                 actCreateVirtualNode,
		"DescribeVirtualNodes":              actDescribeVirtualNodes,
		"UpdateVirtualNode":                 actUpdateVirtualNode,
		"DeleteVirtualNode":                 actDeleteVirtualNode,
		"TagResources":                      actTagResources,
		"UntagResources":                    actUntagResources,
		"ListTagResources":                  actListTagResources,
		"CreateImageCache":                  actCreateImageCache,
		"DescribeImageCaches":               actDescribeImageCaches,
		"DeleteImageCache":                  actDeleteImageCache,
		"ListUsage":                         actListUsage,
	}
}
