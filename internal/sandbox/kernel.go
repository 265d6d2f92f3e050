package sandbox

import (
	"os"
	"strings"
)

// kernelVersion is the host's kernel release, reported in the node info like a kubelet does.
func kernelVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
