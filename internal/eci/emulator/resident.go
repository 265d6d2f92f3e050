package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A VNode made with CreateVirtualNode has a resident node: at Alibaba Cloud, the
// VNode's virtual kubelet runs on an ECI-hosted machine (billed like a 2 vCPU /
// 8 GiB instance) and joins the cluster with the kubeconfig it was given. With
// Config.ResidentNodes set, the emulator brings that node up for real: it hands
// the VNode's settings to the runner, which runs the runtime in this process, and
// the VNode stays Pending until the runner says its Node has registered. The
// emulator cannot import the runtime (the runtime's tests import the emulator),
// so the runner is an interface the caller supplies (package runtime/resident).

// ResidentNodeRunner runs the resident node of a VNode.
type ResidentNodeRunner interface {
	// RunResidentNode runs the resident node described by n until ctx ends,
	// then returns nil (an error only if it could not stop cleanly). It calls
	// n.Registered once its Node is registered and Ready; an error before
	// that fails the VNode with the error in its events, an error (or a
	// return) after it is recorded as an event and the node is run again
	// after a back-off, as ECI restarts a resident node. It must return
	// promptly once ctx ends: DeleteVirtualNode and Close wait for it.
	RunResidentNode(ctx context.Context, n ResidentNode) error
}

// ResidentNode is what a resident node is started with: the VNode as
// CreateVirtualNode (and UpdateVirtualNode) set it, and how to call ECI back.
type ResidentNode struct {
	VirtualNodeID string
	// Name is the VNode's name at creation (its ID when the request named
	// none); the resident node registers the Node of that name. A later
	// rename (UpdateVirtualNode) does not rename the Node.
	Name string
	// KubeConfig is the kubeconfig the VNode was created with, decoded
	// from Base64.
	KubeConfig []byte
	// TLSBootstrap is TlsBootstrapEnabled: the kubeconfig's user holds a
	// bootstrap token, with which the node obtains its client certificate.
	TLSBootstrap bool
	// Taints are the Node's taints, in request order.
	Taints []Taint
	// ClusterDNS and ClusterDomain are for pods with dnsPolicy ClusterFirst;
	// ClusterDNS is empty when the VNode names none.
	ClusterDNS    []string
	ClusterDomain string
	// CustomResources are extra extended resources the Node advertises
	// (name -> count), from "name=count,...".
	CustomResources map[string]int64
	// ZoneID is the zone the request named ("" when it named none: the
	// vSwitches may then span zones).
	ZoneID string
	// VSwitchIDs are every vSwitch of the request, in order; instances are
	// placed in them.
	VSwitchIDs      []string
	SecurityGroupID string
	ResourceGroupID string
	// IntranetIP is the resident node's address in the VPC (the VNode's
	// IntranetIp).
	IntranetIP string
	// Tags are the VNode's tags when the node started.
	Tags map[string]string
	// ECI is how the resident node calls ECI back.
	ECI ResidentECI
	// Log is the emulator's log, with the VNode's ID as attribute "vnode".
	Log *slog.Logger
	// Registered tells the emulator the node's Node is registered and Ready;
	// the first call makes a Pending VNode Ready. Safe to call more than once
	// and from any goroutine.
	Registered func()
}

// Taint is one taint of a VNode.
type Taint struct{ Key, Value, Effect string }

// ResidentECI is how a resident node reaches ECI. At Alibaba Cloud it acts
// through the service-linked role AliyunServiceRoleForECIVnode, which creating
// a VNode creates; the emulator has no roles, so the account's first configured
// credential stands in for it.
type ResidentECI struct {
	// Endpoint is the emulator's URL, http://host:port.
	Endpoint   string
	Region     string
	Credential Credential
}

// residentStopWait bounds how long DeleteVirtualNode, UpdateVirtualNode and
// Close wait for a resident node to return after its context ended. A node
// stops in milliseconds; the bound stays under the 10 s a client gives one
// attempt by default, so a slow stop cannot turn into a client-side timeout
// and a retried call.
const residentStopWait = 8 * time.Second

// resident is one supervised resident node: the goroutine that runs it, and
// restarts it after a failure once its VNode was Ready.
type resident struct {
	vnodeID string
	cancel  context.CancelFunc
	done    chan struct{}
}

// residents tracks every supervised resident node, for Close.
type residents struct {
	mu  sync.Mutex
	all map[*resident]bool
	// closed is set when Close starts stopping them: a VNode created after
	// that starts none.
	closed bool
	// logsOff is set once Close has waited for them: a node that outlived
	// the wait logs nothing more (StartForTest logs to t.Logf, which must
	// not be called once the test is over).
	logsOff bool
}

// startResident starts the resident node of v with the VNode's current
// settings. The caller holds e.mu; the runner itself runs on its own
// goroutine, never under the mutex, since it calls the API.
func (e *Emulator) startResident(v *vnode) {
	if e.cfg.ResidentNodes == nil {
		return
	}
	e.res.mu.Lock()
	defer e.res.mu.Unlock()
	if e.res.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &resident{vnodeID: v.id, cancel: cancel, done: make(chan struct{})}
	if e.res.all == nil {
		e.res.all = map[*resident]bool{}
	}
	e.res.all[r] = true
	v.res = r
	n := e.residentNode(v)
	go e.superviseResident(ctx, r, n)
}

// stopResident ends r and waits for it, at most residentStopWait. The caller
// must not hold e.mu: the node may be in the middle of an API call.
func (e *Emulator) stopResident(r *resident) {
	if r == nil {
		return
	}
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(residentStopWait):
		e.logf("vnode %s: the resident node did not stop within %s; leaving it", r.vnodeID, residentStopWait)
	}
}

// stopAllResidents stops every resident node for Close, in parallel.
func (e *Emulator) stopAllResidents() {
	e.res.mu.Lock()
	e.res.closed = true
	all := make([]*resident, 0, len(e.res.all))
	for r := range e.res.all {
		all = append(all, r)
	}
	e.res.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range all {
		wg.Add(1)
		go func() { defer wg.Done(); e.stopResident(r) }()
	}
	wg.Wait()
	e.res.mu.Lock()
	e.res.logsOff = true
	e.res.mu.Unlock()
}

// superviseResident runs the resident node until ctx ends or its VNode
// failed, restarting it with a back-off after a failure once it was Ready.
func (e *Emulator) superviseResident(ctx context.Context, r *resident, n ResidentNode) {
	defer func() {
		e.res.mu.Lock()
		delete(e.res.all, r)
		e.res.mu.Unlock()
		close(r.done)
	}()
	n.Registered = func() { e.residentRegistered(r) }
	restarts := 0
	for {
		started := time.Now()
		err := e.runResident(ctx, n)
		if ctx.Err() != nil {
			if err != nil {
				n.Log.Warn("the resident node did not stop cleanly", "err", err)
			}
			return
		}
		if err == nil {
			err = errors.New("the resident node stopped on its own")
		}
		if !e.residentEnded(r, err) {
			return
		}
		// A node that ran for longer than the longest back-off starts over
		// from the shortest, as the kubelet resets a container's back-off.
		if time.Since(started) > e.cfg.Lifecycle.CrashBackoffMax {
			restarts = 0
		}
		d := backoff(&e.cfg, restarts)
		restarts++
		n.Log.Warn("the resident node stopped; restarting it", "in", d.String(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
}

// runResident calls the runner, turning a panic into an error: a runner that
// panics fails its VNode instead of the whole emulator.
func (e *Emulator) runResident(ctx context.Context, n ResidentNode) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the resident node panicked: %v", p)
		}
	}()
	return e.cfg.ResidentNodes.RunResidentNode(ctx, n)
}

// residentRegistered makes r's VNode Ready if it is still Pending.
func (e *Emulator) residentRegistered(r *resident) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.st.vnodes[r.vnodeID]
	if v == nil || v.res != r || v.status != "Pending" {
		return
	}
	now := e.clock.Now()
	v.status = "Ready"
	v.addEvent(now, "Normal", "VirtualNodeReady", "The resident node of the virtual node is ready.")
	e.logf("vnode %s: the resident node registered; the VNode is Ready", v.id)
}

// residentEnded records that r's node stopped with err while its context was
// live. A VNode still Pending fails with the error; a Ready one gets a Warning
// event and its node is restarted (true).
func (e *Emulator) residentEnded(r *resident, err error) (restart bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.st.vnodes[r.vnodeID]
	if v == nil || v.res != r {
		return false
	}
	now := e.clock.Now()
	msg := oneLineMessage(err)
	switch v.status {
	case "Pending":
		v.status = "Failed"
		v.addEvent(now, "Warning", "ResidentNodeFailed", "The resident node could not join the cluster: "+msg)
		e.logf("vnode %s: the resident node failed before it registered; the VNode is Failed: %s", v.id, msg)
		return false
	case "Ready":
		v.addEvent(now, "Warning", "ResidentNodeRestarting", "The resident node stopped and is restarted: "+msg)
		return true
	}
	return false
}

// oneLineMessage is err's text on one line, bounded, for an event message.
func oneLineMessage(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 1000 {
		s = s[:1000] + "..."
	}
	return s
}

// residentNode is the settings of v's resident node. The caller holds e.mu.
func (e *Emulator) residentNode(v *vnode) ResidentNode {
	cred := e.cfg.Credentials[0]
	n := ResidentNode{
		VirtualNodeID: v.id, Name: v.nodeName, KubeConfig: append([]byte(nil), v.kubeConfig...), TLSBootstrap: v.tlsBootstrap,
		ClusterDomain: v.clusterDomain, ZoneID: v.reqZone, VSwitchIDs: append([]string(nil), v.vsws...),
		SecurityGroupID: v.sg, ResourceGroupID: v.resourceGroup, IntranetIP: v.ip,
		ECI: ResidentECI{Endpoint: "http://" + e.Endpoint(), Region: e.cfg.Region, Credential: cred},
		Log: e.residentLog().With("vnode", v.id),
	}
	for _, t := range v.taints {
		n.Taints = append(n.Taints, Taint(t))
	}
	for _, ip := range strings.Split(v.clusterDNS, ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			n.ClusterDNS = append(n.ClusterDNS, ip)
		}
	}
	if v.customRs != "" {
		n.CustomResources = map[string]int64{}
		for _, kv := range strings.Split(v.customRs, ",") {
			k, c, _ := strings.Cut(kv, "=")
			// checkVNodeSettings accepted only name=count pairs.
			count, _ := strconv.ParseInt(strings.TrimSpace(c), 10, 64)
			n.CustomResources[strings.TrimSpace(k)] = count
		}
	}
	if len(v.tags) > 0 {
		n.Tags = map[string]string{}
		for _, t := range v.tags {
			n.Tags[t.Key] = t.Value
		}
	}
	return n
}

// residentLog is a logger that writes through Config.Logf, one line a
// record, until Close has stopped every resident node.
func (e *Emulator) residentLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(logfWriter{e}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type logfWriter struct{ e *Emulator }

func (w logfWriter) Write(p []byte) (int, error) {
	w.e.res.mu.Lock()
	off := w.e.res.logsOff
	w.e.res.mu.Unlock()
	if !off {
		w.e.logf("%s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
