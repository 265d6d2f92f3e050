package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// portAttempts bounds the retries when a randomly chosen port is taken before a component
// binds it.
const portAttempts = 5

// componentStart describes how to start one control-plane process and tell when it is ready.
type componentStart struct {
	name    string
	ports   int                                          // how many free ports it needs
	spec    func(ports []int) processSpec                // the command for a set of ports
	ready   func(ctx context.Context, ports []int) error // nil when the component serves
	timeout time.Duration
}

// errPortTaken marks a start that failed only because another process took a port first.
var errPortTaken = errors.New("port taken before the component could bind it")

// startComponent starts c and waits until it is ready, retrying with new ports when the
// component dies because a port was taken in the meantime. It returns the running process and
// the ports it got.
func (s *Sandbox) startComponent(ctx context.Context, c componentStart) (*process, []int, error) {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(c.ports)
		if err != nil {
			return nil, nil, err
		}
		spec := c.spec(ports)
		spec.Name = c.name
		if attempt == 1 {
			// A fresh log per sandbox start; retries append so the lost race stays visible.
			_ = os.Remove(spec.LogPath)
		}
		began := time.Now()
		p, err := startProcess(s.spawner, spec)
		if err != nil {
			return nil, nil, err
		}
		s.track(p)
		err = s.waitComponent(ctx, c, p, ports)
		if err == nil {
			s.logf("%s ready on port(s) %v in %s", c.name, ports, time.Since(began).Round(10*time.Millisecond))
			return p, ports, nil
		}
		_ = p.stop(context.Background(), 2*time.Second)
		s.untrack(p)
		if errors.Is(err, errPortTaken) && attempt < portAttempts {
			s.logf("%s lost its port to another process; retrying with new ports", c.name)
			continue
		}
		return nil, nil, err
	}
}

func (s *Sandbox) waitComponent(ctx context.Context, c componentStart, p *process, ports []int) error {
	timeout := c.timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dead := func() error {
		if p.running() {
			return nil
		}
		tail := p.logTail(20)
		if portInUse(tail) {
			return fmt.Errorf("%s: %w", c.name, errPortTaken)
		}
		return fmt.Errorf("%s exited before it was ready (%v); log %s ends with:\n%s", c.name, p.err, p.logPath, tail)
	}
	err := pollUntil(wctx, c.name+" to become ready", func(ctx context.Context) error { return c.ready(ctx, ports) }, dead)
	if err != nil && !errors.Is(err, errPortTaken) && p.running() {
		err = fmt.Errorf("%w; log %s ends with:\n%s", err, p.logPath, p.logTail(20))
	}
	return err
}
