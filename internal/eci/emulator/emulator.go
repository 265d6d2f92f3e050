// Package emulator is a wire-compatible, stateful emulator of the Alibaba
// Cloud Elastic Container Instance (ECI) OpenAPI, version 2018-08-08. It
// speaks the RPC protocol the official SDKs use (signed HTTP requests,
// JSON responses and errors) so the unmodified SDK can talk to it through
// an endpoint override. It is an independent implementation of the API,
// for tests, the sandbox and benchmarks; see README.md.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Emulator is one emulated ECI account in one region.
type Emulator struct {
	cfg           Config
	clock         Clock
	credentials   map[string]Credential
	nonces        *nonceCache
	actions       map[string]actionFunc
	instanceTypes map[string]InstanceType
	valid         *validators

	mu    sync.Mutex // guards st, rng, limits
	st    *state
	rng   *rand.Rand
	limit *limiter

	faults *faultSet
	stats  *statsBook
	res    residents // resident nodes of VNodes (resident.go)

	wsMu    sync.Mutex
	wsConns map[*websocket.Conn]bool // open exec sessions, closed by Close

	srvMu    sync.Mutex
	srv      *http.Server
	ln       net.Listener
	addr     string
	closed   chan struct{}
	closeOne sync.Once
	serveErr chan error
	// busy holds the connections serving a request now (ConnState), so
	// Close can tell a request in flight from a connection that never
	// carried one.
	busyMu sync.Mutex
	busy   map[net.Conn]bool
}

// New validates cfg, fills in defaults and returns an emulator that is
// not yet listening.
func New(cfg Config) (*Emulator, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("emulator config: %w", err)
	}
	e := &Emulator{
		cfg:         c,
		clock:       c.Clock,
		credentials: map[string]Credential{},
		nonces:      newNonceCache(c.SignatureWindow),
		rng:         rand.New(rand.NewPCG(uint64(c.FaultSeed), 0x9e3779b97f4a7c15)),
		faults:      newFaultSet(c.FaultSeed),
		stats:       newStatsBook(),
		closed:      make(chan struct{}),
		wsConns:     map[*websocket.Conn]bool{},
	}
	e.valid = newValidators()
	e.instanceTypes = defaultInstanceTypes()
	for k, v := range c.InstanceTypes {
		e.instanceTypes[k] = v
	}
	for _, cr := range c.Credentials {
		e.credentials[cr.AccessKeyID] = cr
	}
	e.st = newState(&e.cfg, e.rng)
	e.limit = newLimiter(c.RateLimits, c.Clock.Now())
	e.actions = e.actionTable()
	return e, nil
}

// Config returns the effective configuration (defaults filled in).
func (e *Emulator) Config() Config { return e.cfg }

// Region returns the served region.
func (e *Emulator) Region() string { return e.cfg.Region }

// Credentials returns the accepted credentials.
func (e *Emulator) Credentials() []Credential {
	return append([]Credential(nil), e.cfg.Credentials...)
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in
// the background until Close.
func (e *Emulator) Start(addr string) error {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	if e.srv != nil {
		return errors.New("emulator already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	e.ln = ln
	e.addr = ln.Addr().String()
	// Headers are bounded here; bodies get their own deadline, set only
	// while a handler reads one (readBodyBounded). No Server.ReadTimeout
	// or WriteTimeout: a held request (OutageHang, fault latency) and an
	// exec websocket session must not run under a connection deadline.
	e.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: e.cfg.ReadTimeout,
		IdleTimeout:       e.cfg.IdleTimeout,
		ConnState:         e.trackConn,
	}
	e.serveErr = make(chan error, 1)
	go func() { e.serveErr <- e.srv.Serve(ln) }()
	return nil
}

// trackConn keeps busy: a connection is busy from the moment it starts
// reading a request until it is idle again, closed or hijacked (exec
// websockets, which Close ends itself).
func (e *Emulator) trackConn(c net.Conn, st http.ConnState) {
	e.busyMu.Lock()
	defer e.busyMu.Unlock()
	if st == http.StateActive {
		if e.busy == nil {
			e.busy = map[net.Conn]bool{}
		}
		e.busy[c] = true
		return
	}
	delete(e.busy, c)
}

func (e *Emulator) busyConns() int {
	e.busyMu.Lock()
	defer e.busyMu.Unlock()
	return len(e.busy)
}

// Endpoint is host:port of the server, what SDK users put in client.Domain
// (plain HTTP).
func (e *Emulator) Endpoint() string {
	e.srvMu.Lock()
	defer e.srvMu.Unlock()
	return e.addr
}

// Close stops the server, ends hung requests and websocket sessions.
func (e *Emulator) Close() error {
	var err error
	e.closeOne.Do(func() {
		// Resident nodes first, while they can still reach the API to
		// finish what they do.
		e.stopAllResidents()
		close(e.closed)
		// Hijacked websocket connections are invisible to Shutdown.
		e.wsMu.Lock()
		for conn := range e.wsConns {
			_ = conn.Close()
		}
		e.wsMu.Unlock()
		e.srvMu.Lock()
		srv := e.srv
		e.srvMu.Unlock()
		if srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if shutdownErr := srv.Shutdown(ctx); shutdownErr != nil {
			closeErr := srv.Close()
			// Shutdown waits for a connection that has not sent a request
			// yet as if it were busy, for its first 5 seconds. A client's
			// transport leaves such connections behind whenever a request
			// it dialed for took another, freed connection first; they are
			// no hung request, and closing them loses nothing.
			if e.busyConns() > 0 || closeErr != nil {
				err = fmt.Errorf("shut down emulator: %w", errors.Join(shutdownErr, closeErr))
			}
		}
		if serveErr := <-e.serveErr; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("serve: %w", serveErr))
		}
	})
	return err
}

// StartForTest starts an emulator on a free loopback port and closes it
// when the test ends. It fails the test on a configuration error.
func StartForTest(t testing.TB, cfg Config) *Emulator {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("new emulator: %v", err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	})
	return e
}

func (e *Emulator) logf(format string, args ...any) {
	if e.cfg.Logf != nil {
		e.cfg.Logf("eci-emulator: "+format, args...)
	}
}
