package emulator

// actionTable maps each served Action to its handler.
func (e *Emulator) actionTable() map[string]actionFunc {
	return map[string]actionFunc{
		"DescribeRegions": actDescribeRegions,
	}
}
