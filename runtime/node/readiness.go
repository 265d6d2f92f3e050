package node

import (
	"fmt"
	"sync/atomic"

	"github.com/eci-vnode/terraform-provider-eci/runtime/healthz"
)

// readiness is what /readyz of eci-vnode node reports: whether this replica
// does its part for the VNode.
//
// The active replica is ready once the pod controller's informers have
// synced and the node controller has registered the Node. A standby replica
// (leader election, more than one replica) is ready once it follows the
// Lease and knows which replica leads. It is reported ready, not unready,
// because no Service sends traffic to the runtime: readiness only feeds the
// Deployment's availability, and a standby that never became ready would
// hold up every rolling update (the surge pod stays a standby while the old
// leader runs) and every wait for the Deployment to be available. Which
// replica leads is in the body of /readyz and in the metric eci_vnode_leader.
type readiness struct {
	elect    bool   // leader election is on
	identity string // this replica's identity on the Lease
	lease    string // namespace/name of the Lease, for messages
	leading  atomic.Bool
	// identified: the runtime holds its client identity (at once without TLS
	// bootstrap; once the node's client certificate is issued with it).
	identified atomic.Bool
	leader     atomic.Pointer[string] // the leader last observed on the Lease
	node       atomic.Pointer[vkNode]
}

func (r *readiness) observeLeader(id string) { r.leader.Store(&id) }

// active reports whether this replica runs the VNode (or would, once set
// up): always without leader election.
func (r *readiness) active() bool { return !r.elect || r.leading.Load() }

func (r *readiness) checks() []healthz.Check {
	return []healthz.Check{
		{Name: "node-identity", Run: r.identityCheck},
		{Name: "leader-election", Run: r.leaderCheck},
		{Name: "pods-synced", Run: r.podsSynced},
		{Name: "node-registered", Run: r.nodeRegistered},
	}
}

func (r *readiness) identityCheck() (bool, string) {
	if r.identified.Load() {
		return true, "the runtime holds its identity"
	}
	return false, "waiting for the node's client certificate (TLS bootstrap): its CSR awaits approval (kubectl get csr)"
}

func (r *readiness) leaderCheck() (bool, string) {
	switch {
	case !r.elect:
		return true, "not elected (--leader-elect off): this replica runs the VNode"
	case r.leading.Load():
		return true, fmt.Sprintf("leading: this replica (%s) holds Lease %s and runs the VNode", r.identity, r.lease)
	}
	if l := r.leader.Load(); l != nil && *l != "" {
		return true, fmt.Sprintf("standing by: replica %s holds Lease %s and runs the VNode", *l, r.lease)
	}
	return false, fmt.Sprintf("no leader observed on Lease %s yet", r.lease)
}

func (r *readiness) podsSynced() (bool, string) {
	if !r.active() {
		return true, "not this replica's part while it does not lead"
	}
	n := r.node.Load()
	if n == nil {
		return false, "the pod controller is not set up yet"
	}
	select {
	case <-n.Done():
		return false, fmt.Sprintf("the VNode stopped: %v", n.Err())
	default:
	}
	select {
	case <-n.PodController().Ready():
		return true, "the pod controller's informers have synced"
	default:
		return false, "the pod controller's informers have not synced yet"
	}
}

func (r *readiness) nodeRegistered() (bool, string) {
	if !r.active() {
		return true, "not this replica's part while it does not lead"
	}
	n := r.node.Load()
	if n == nil {
		return false, "the node controller is not set up yet"
	}
	select {
	case <-n.NodeController().Ready():
		return true, "the Node is registered and its status kept"
	default:
		return false, "the Node is not registered yet"
	}
}
