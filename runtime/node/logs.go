package node

import "strings"

// oneLine keeps a log record on one line: errors from the SDK and from
// wrapped libraries can span several lines.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
