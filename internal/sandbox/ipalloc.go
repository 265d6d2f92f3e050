package sandbox

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// ipAllocator hands out pod IPs from the loopback range 127.0.0.0/16, in order from
// where it starts (a sandbox's is random: newSandboxIPAllocator), skipping
// 127.0.1.0/24 (the nodes' addresses), 127.0.0.1 and .0/.255. Every address in
// 127.0.0.0/8 reaches this machine, so a runtime pod can bind its own IP and several
// runtimes never fight over a port. It hands out round-robin so a just-released address is
// not reused while a client may still have connections to it.
type ipAllocator struct {
	mu   sync.Mutex
	used map[uint32]bool
	next uint32 // offset of the next candidate within 127.0.0.0/16
}

// ipPoolSize is the number of candidate offsets (127.0.0.0/16).
const ipPoolSize = 1 << 16

var errNoPodIP = errors.New("no free pod IP in 127.0.0.0/16")

func newIPAllocator() *ipAllocator {
	return &ipAllocator{used: map[uint32]bool{}, next: 2}
}

// newSandboxIPAllocator starts at a random address: sandboxes of other
// processes (test packages run in parallel, `make demo` beside a test)
// share 127.0.0.0/16, and two pods on one address would fight over their
// ports — a webhook pod could even pass its readiness probe on the other
// sandbox's webhook. Apart by a random offset, two sandboxes of a few
// dozen pods each practically never meet.
func newSandboxIPAllocator() *ipAllocator {
	a := newIPAllocator()
	a.next = uint32(rand.IntN(ipPoolSize))
	return a
}

// usable reports whether offset o (127.0.x.y with o = x<<8|y) may be a pod IP.
func usable(o uint32) bool {
	x, y := o>>8, o&0xff
	if x == 1 { // node addresses
		return false
	}
	if x == 0 && y < 2 { // 127.0.0.1 is the control plane's address
		return false
	}
	return y != 0 && y != 255
}

// allocate returns a free address.
func (a *ipAllocator) allocate() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := uint32(0); i < ipPoolSize; i++ {
		o := (a.next + i) % ipPoolSize
		if usable(o) && !a.used[o] {
			a.used[o] = true
			a.next = (o + 1) % ipPoolSize
			return offsetIP(o).String(), nil
		}
	}
	return "", errNoPodIP
}

// release returns ip to the pool; unknown addresses are ignored.
func (a *ipAllocator) release(ip string) {
	p := net.ParseIP(ip).To4()
	if p == nil || p[0] != 127 || p[1] != 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, uint32(p[2])<<8|uint32(p[3]))
}

func offsetIP(o uint32) net.IP { return net.IPv4(127, 0, byte(o>>8), byte(o)) }

// nodeIP is the InternalIP of worker i (1-based): 127.0.1.i.
func nodeIP(i int) (string, error) {
	if i < 1 || i > 254 {
		return "", fmt.Errorf("worker index %d out of range 1..254", i)
	}
	return net.IPv4(127, 0, 1, byte(i)).String(), nil
}
