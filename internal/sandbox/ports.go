package sandbox

import (
	"fmt"
	"net"
	"strings"
)

// freePort asks the kernel for a free loopback port. The port is released before the
// component binds it, so another process can take it in between; callers start the component
// with startWithPortRetry, which retries with new ports when the bind fails.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// portInUse reports whether a component's log says it lost the race for its port.
func portInUse(log string) bool {
	return strings.Contains(log, "address already in use") || strings.Contains(log, "bind: address already")
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}
