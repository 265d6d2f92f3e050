package sandbox

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// ipAllocator hands out pod IPs from one /16, in order from where it starts (a sandbox's is
// random: newSandboxIPAllocator), skipping the addresses its range reserves (usable). It
// hands out round-robin so a just-released address is not reused while a client may still
// have connections to it.
//
// Two ranges exist (podnet.go): the loopback range 127.0.0.0/16, the default, and the
// routed test range 100.64.0.0/16 (Options.ProxyablePodIPs). Every address of either reaches
// this machine, so a runtime pod can bind its own IP and several runtimes never fight over
// a port.
type ipAllocator struct {
	mu     sync.Mutex
	prefix [2]byte             // the /16's first two octets
	usable func(o uint32) bool // whether offset o (x<<8|y) may be a pod IP
	used   map[uint32]bool
	next   uint32 // offset of the next candidate within the /16
}

// ipPoolSize is the number of candidate offsets (a /16).
const ipPoolSize = 1 << 16

var errNoPodIP = errors.New("no free pod IP")

// newIPAllocator is the loopback pool, starting at 127.0.0.2.
func newIPAllocator() *ipAllocator {
	return &ipAllocator{prefix: [2]byte{127, 0}, usable: usableLoopback, used: map[uint32]bool{}, next: 2}
}

// newRoutedIPAllocator is the pool of the routed test range (podnet.go), starting at
// 100.64.0.1.
func newRoutedIPAllocator() *ipAllocator {
	return &ipAllocator{prefix: routedPodPrefix, usable: usableRouted, used: map[uint32]bool{}, next: 1}
}

// newSandboxIPAllocator starts a pool at a random address: sandboxes of other processes (test
// packages run in parallel, `make demo` beside a test) share the range, and two pods on one
// address would fight over their ports — a webhook pod could even pass its readiness probe on
// the other sandbox's webhook. Apart by a random offset, two sandboxes of a few dozen pods
// each practically never meet.
func newSandboxIPAllocator(routed bool) *ipAllocator {
	a := newIPAllocator()
	if routed {
		a = newRoutedIPAllocator()
	}
	a.next = uint32(rand.IntN(ipPoolSize))
	return a
}

// usableLoopback reports whether 127.0.x.y (o = x<<8|y) may be a pod IP: not 127.0.1.0/24
// (the nodes' addresses), not 127.0.0.1 (the control plane's), not .0 or .255.
func usableLoopback(o uint32) bool {
	x, y := o>>8, o&0xff
	if x == 1 { // node addresses
		return false
	}
	if x == 0 && y < 2 { // 127.0.0.1 is the control plane's address
		return false
	}
	return y != 0 && y != 255
}

// usableRouted reports whether 100.64.x.y may be a pod IP: anything but .0 and .255, so no
// address looks like a network or broadcast address to a reader.
func usableRouted(o uint32) bool {
	y := o & 0xff
	return y != 0 && y != 255
}

// allocate returns a free address.
func (a *ipAllocator) allocate() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := uint32(0); i < ipPoolSize; i++ {
		o := (a.next + i) % ipPoolSize
		if a.usable(o) && !a.used[o] {
			a.used[o] = true
			a.next = (o + 1) % ipPoolSize
			return a.ip(o).String(), nil
		}
	}
	return "", fmt.Errorf("%w in %d.%d.0.0/16", errNoPodIP, a.prefix[0], a.prefix[1])
}

// release returns ip to the pool; addresses of other ranges are ignored.
func (a *ipAllocator) release(ip string) {
	p := net.ParseIP(ip).To4()
	if p == nil || p[0] != a.prefix[0] || p[1] != a.prefix[1] {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, uint32(p[2])<<8|uint32(p[3]))
}

func (a *ipAllocator) ip(o uint32) net.IP {
	return net.IPv4(a.prefix[0], a.prefix[1], byte(o>>8), byte(o))
}

// nodeIP is the InternalIP of worker i (1-based): 127.0.1.i.
func nodeIP(i int) (string, error) {
	if i < 1 || i > 254 {
		return "", fmt.Errorf("worker index %d out of range 1..254", i)
	}
	return net.IPv4(127, 0, 1, byte(i)).String(), nil
}
