package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
)

// The routed test range. kube-apiserver proxies the node and pod "proxy" subresources only
// to addresses it considers proxyable, which excludes loopback, link-local and unspecified
// addresses ("address not allowed"); logs and exec are not checked. A sandbox whose pods
// must be reachable through those paths (a VNode runtime's kubelet API: /stats/summary,
// /metrics/resource, /pods through `kubectl get --raw /api/v1/nodes/<n>/proxy/...`) gives
// its pods addresses of 100.64.0.0/16 instead, a slice of the shared address space of
// RFC 6598, which no public network routes and which a test machine rarely uses.
//
// One route makes the whole range local, as 127.0.0.0/8 is: `ip route add local
// 100.64.0.0/16 dev lo` (table local). Every address of it can then be bound and reached on
// this machine without configuring any address, so pods need no per-pod setup and nothing to
// tear down, and sandboxes of parallel test processes share the route (whoever comes first
// adds it; a second add fails with "File exists", which counts as done). The route is left
// in place when the sandbox stops: it is one idempotent entry that routes a range nothing
// else here uses, and removing it while another sandbox still has pods on it would cut them
// off. `ip route del local 100.64.0.0/16 dev lo` removes it by hand.
var routedPodPrefix = [2]byte{100, 64}

const routedPodRange = "100.64.0.0/16"

var (
	routedPodRangeOnce sync.Once
	routedPodRangeErr  error
)

// ensureRoutedPodRange makes 100.64.0.0/16 local to this machine, once per process; the
// error says why it cannot (not root, no `ip`, the range in use by a network here).
func ensureRoutedPodRange(ctx context.Context) error {
	routedPodRangeOnce.Do(func() { routedPodRangeErr = addRoutedPodRange(ctx) })
	return routedPodRangeErr
}

func addRoutedPodRange(ctx context.Context) error {
	if bindable(routedProbeIP) == nil {
		return nil // routed already, by an earlier or a parallel sandbox
	}
	ipTool, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("make %s local: the ip command (iproute2) is not installed", routedPodRange)
	}
	// Never shadow a network that uses the range: a local route wins over every route of the
	// main table.
	for _, sel := range []string{"root", "match"} {
		out, err := exec.CommandContext(ctx, ipTool, "-4", "route", "show", "table", "all", sel, routedPodRange).CombinedOutput()
		if err != nil {
			return fmt.Errorf("make %s local: ip route show %s: %v: %s", routedPodRange, sel, err, strings.TrimSpace(string(out)))
		}
		if line := foreignRoute(string(out)); line != "" {
			return fmt.Errorf("make %s local: this machine routes part of it already (%s); not overriding that", routedPodRange, line)
		}
	}
	out, err := exec.CommandContext(ctx, ipTool, "route", "add", "local", routedPodRange, "dev", "lo").CombinedOutput()
	if err != nil && !strings.Contains(string(out), "File exists") {
		return fmt.Errorf("make %s local: ip route add local %s dev lo: %v: %s (needs root or CAP_NET_ADMIN)",
			routedPodRange, routedPodRange, err, strings.TrimSpace(string(out)))
	}
	if err := bindable(routedProbeIP); err != nil {
		return fmt.Errorf("make %s local: the route is in place but %s cannot be bound: %w", routedPodRange, routedProbeIP, err)
	}
	return nil
}

// foreignRoute returns the first route of `ip route show` output that is neither a default
// route nor the local route this file adds, "" if there is none.
func foreignRoute(out string) string {
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "default ") || strings.HasPrefix(line, "local "+routedPodRange+" dev lo ") {
			continue
		}
		return line
	}
	return ""
}

// routedProbeIP is the address that proves the range is local: the allocator never hands it
// out (.255), so the probe cannot collide with a pod's listener.
const routedProbeIP = "100.64.0.255"

// bindable reports whether a TCP listener can be opened on ip.
func bindable(ip string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return err
	}
	return l.Close()
}

// podNetwork decides which range a sandbox's pods get: the routed one when asked for and
// possible, else loopback with the reason logged (and kept for ProxyablePodIPs).
func (s *Sandbox) podNetwork(ctx context.Context) (routed bool) {
	if !s.opts.ProxyablePodIPs {
		return false
	}
	if err := ensureRoutedPodRange(ctx); err != nil {
		s.podNetErr = err
		s.logf("pod IPs stay on loopback, so the API server's node and pod proxy cannot reach pods: %v", err)
		return false
	}
	s.logf("pod IPs from %s (a local route), reachable through the API server's proxy", routedPodRange)
	return true
}

// ProxyablePodIPs reports whether this sandbox's pods have addresses kube-apiserver proxies
// to (Options.ProxyablePodIPs, and the machine could route the range); if not, the error
// says why, for a test to skip with.
func (s *Sandbox) ProxyablePodIPs() error {
	if s.podNetErr != nil {
		return s.podNetErr
	}
	if !s.opts.ProxyablePodIPs {
		return errors.New("the sandbox was started without Options.ProxyablePodIPs: pod IPs are loopback addresses, which kube-apiserver does not proxy to")
	}
	return nil
}
