package resident_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
	"github.com/eci-vnode/terraform-provider-eci/runtime/resident"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// watchedRunner is the real runner, counting the resident nodes running now, so the
// test sees that DeleteVirtualNode stopped one.
type watchedRunner struct {
	*resident.Runner
	mu      sync.Mutex
	running map[string]int
}

func (w *watchedRunner) RunResidentNode(ctx context.Context, n emulator.ResidentNode) error {
	w.add(n.VirtualNodeID, 1)
	defer w.add(n.VirtualNodeID, -1)
	return w.Runner.RunResidentNode(ctx, n)
}

func (w *watchedRunner) add(id string, d int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running[id] += d
}

func (w *watchedRunner) runningNow(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running[id]
}

// TestManagedVNodesRegisterInTheClusterAsTheirNodeAndStopOnDelete creates managed
// VNodes through the ECI client against the sandbox's emulator, whose resident nodes
// this package runs: one with the identity the provider gives a managed VNode (a
// bootstrap token, auto-approved node client certificates), which joins as
// system:node:<name> and runs a pod, and one whose token the API server does not know.
func TestManagedVNodesRegisterInTheClusterAsTheirNodeAndStopOnDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	runner := &watchedRunner{running: map[string]int{}, Runner: &resident.Runner{
		RegisterTimeout: time.Minute,
		Configure: func(c *node.Config) {
			c.StatusPollFast = 500 * time.Millisecond
			// ECI counts as unreachable after two failed checks within a second.
			c.ECIHealthInterval, c.ECIUnreachableAfter, c.ECIUnreachableChecks = 300*time.Millisecond, time.Second, 2
		},
	}}
	eciComp := &sandbox.ECI{Config: emulator.Config{ResidentNodes: runner, Lifecycle: emulator.LifecycleConfig{
		Scheduling: 500 * time.Millisecond, ImagePull: 500 * time.Millisecond, ContainerStart: 200 * time.Millisecond,
	}}}
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: -1, Components: []sandbox.Component{eciComp}})
	admin := sb.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	info := eciComp.Info()
	client, err := eci.New(eci.Config{Region: info.Region, Endpoint: info.Endpoint,
		Credentials: &eci.Credentials{AccessKeyID: info.AccessKeyID, AccessKeySecret: info.AccessKeySecret},
		Getenv:      func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	rc := sb.RESTConfig()
	caPEM := rc.CAData
	if len(caPEM) == 0 {
		if caPEM, err = os.ReadFile(rc.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	create := func(name, kubeconfig string) string {
		t.Helper()
		tlsBootstrap := name != "vnode-admin"
		resp, err := client.CreateVirtualNode(ctx, &eci.CreateVirtualNodeRequest{
			VirtualNodeName: name, SecurityGroupID: "sg-emulator0001", VSwitchIDs: []string{"vsw-h-1", "vsw-i-1"},
			KubeConfig: kubeconfig, TLSBootstrapEnabled: &tlsBootstrap, ClusterDNS: "10.96.0.10",
			CustomResources: "example.com/fpga=2", ClientToken: "create-" + name,
			Taints: []eci.Taint{{Key: profile.VNodeTaintKey, Value: profile.VNodeLabelValue, Effect: "NoSchedule"}},
		})
		if err != nil {
			t.Fatalf("CreateVirtualNode %s: %v", name, err)
		}
		return resp.VirtualNodeID
	}
	describe := func(id string) eci.VirtualNode {
		t.Helper()
		resp, err := client.DescribeVirtualNodes(ctx, &eci.DescribeVirtualNodesRequest{VirtualNodeIDs: []string{id}})
		if err != nil || len(resp.VirtualNodes) != 1 {
			t.Fatalf("DescribeVirtualNodes %s: %v (%d listed)", id, err, len(resp.VirtualNodes))
		}
		return resp.VirtualNodes[0]
	}
	waitStatus := func(id, status string, within time.Duration) eci.VirtualNode {
		t.Helper()
		var v eci.VirtualNode
		waitFor(t, within, "VNode "+id+" "+status, func() (bool, string) {
			v = describe(id)
			return v.Status == status, v.Status + " " + eventsOf(v)
		})
		return v
	}

	t.Run("a kubeconfig whose bootstrap token the API server refuses fails the VNode with the reason", func(t *testing.T) {
		kubeconfig, err := install.ManagedKubeconfig(sb.Server(), caPEM, "vnode-refused", "0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		id := create("vnode-refused", string(kubeconfig))
		v := waitStatus(id, eci.VirtualNodeFailed, 30*time.Second)
		tokenID := install.ManagedTokenID("vnode-refused")
		var reason string
		for _, ev := range v.Events {
			if ev.Type == "Warning" && strings.Contains(ev.Message, "refused the bootstrap token "+tokenID+" (401)") {
				reason = ev.Reason
			}
		}
		if reason == "" {
			t.Errorf("the Failed VNode's events do not say the token was refused: %s", eventsOf(v))
		}
		if _, err := admin.CoreV1().Nodes().Get(ctx, "vnode-refused", metav1.GetOptions{}); err == nil {
			t.Errorf("the refused VNode registered a Node")
		}
		if err := client.DeleteVirtualNode(ctx, &eci.DeleteVirtualNodeRequest{VirtualNodeID: id}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("without TLS bootstrap the kubeconfig's credentials are the node's client as they are", func(t *testing.T) {
		kubeconfig, err := os.ReadFile(sb.Kubeconfig())
		if err != nil {
			t.Fatal(err)
		}
		id := create("vnode-admin", string(kubeconfig))
		waitStatus(id, eci.VirtualNodeReady, 30*time.Second)
		if n, err := admin.CoreV1().Nodes().Get(ctx, "vnode-admin", metav1.GetOptions{}); err != nil || !nodeReady(n) {
			t.Errorf("the Node of the VNode without TLS bootstrap: %v", err)
		}
		if err := client.DeleteVirtualNode(ctx, &eci.DeleteVirtualNodeRequest{VirtualNodeID: id}); err != nil {
			t.Fatal(err)
		}
		if r := runner.runningNow(id); r != 0 {
			t.Errorf("after DeleteVirtualNode %d resident node(s) of %s still run", r, id)
		}
	})

	t.Run("a bootstrap-token VNode joins as its node, runs a pod, and stops on delete", func(t *testing.T) {
		const name = "vnode-managed"
		secret, err := install.NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		if err := install.Apply(ctx, dyn, install.ManagedIdentityObjects(name, secret)); err != nil {
			t.Fatalf("apply the managed VNode's identity: %v", err)
		}
		kubeconfig, err := install.ManagedKubeconfig(sb.Server(), caPEM, name, secret)
		if err != nil {
			t.Fatal(err)
		}
		id := create(name, string(kubeconfig))
		if v := describe(id); v.Status != eci.VirtualNodePending {
			t.Errorf("just created, the VNode is %s, want Pending until its node registers", v.Status)
		}
		v := waitStatus(id, eci.VirtualNodeReady, 45*time.Second)

		// The Node is there, Ready, as the VNode was created.
		n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the Ready VNode's Node: %v", err)
		}
		if !nodeReady(n) {
			t.Errorf("Node %s is not Ready: %+v", name, n.Status.Conditions)
		}
		// The node lifecycle controller may still hold its not-ready taint from
		// before the first heartbeat; the VNode's own taint is what was created.
		if !slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool {
			return t.Key == profile.VNodeTaintKey && t.Value == profile.VNodeLabelValue && t.Effect == corev1.TaintEffectNoSchedule
		}) || n.Labels[profile.VNodeLabelKey] != profile.VNodeLabelValue {
			t.Errorf("Node taints %v, labels %v", n.Spec.Taints, n.Labels)
		}
		if q := n.Status.Capacity["example.com/fpga"]; q.Value() != 2 {
			t.Errorf("custom resource example.com/fpga: %s, want 2", q.String())
		}
		if !slices.Contains(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: v.IntranetIP}) ||
			n.Status.DaemonEndpoints.KubeletEndpoint.Port != 0 {
			t.Errorf("Node addresses %v (VNode IntranetIp %s), kubelet port %d", n.Status.Addresses, v.IntranetIP, n.Status.DaemonEndpoints.KubeletEndpoint.Port)
		}

		// It is system:node:<name>: its client certificate was asked for with the
		// VNode's bootstrap token, approved and issued.
		user := "system:bootstrap:" + install.ManagedTokenID(name)
		csrs, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		issued := false
		for _, c := range csrs.Items {
			if c.Spec.Username == user && c.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName &&
				csrSubject(t, c.Spec.Request) == "system:node:"+name && approved(c) && len(c.Status.Certificate) > 0 {
				issued = true
			}
		}
		if !issued {
			t.Errorf("no issued client certificate for system:node:%s requested by %s among %d CSRs", name, user, len(csrs.Items))
		}
		lease, err := admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != name {
			t.Fatalf("the node's heartbeat Lease: %v %+v", err, lease)
		}

		// UpdateVirtualNode of a setting the node reads when it starts restarts it
		// with the new one: the Node advertises the new count.
		if err := client.UpdateVirtualNode(ctx, &eci.UpdateVirtualNodeRequest{VirtualNodeID: id, CustomResources: "example.com/fpga=3"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "the restarted node advertising 3 example.com/fpga", func() (bool, string) {
			n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			q := n.Status.Capacity["example.com/fpga"]
			return q.Value() == 3 && nodeReady(n), q.String()
		})
		if v := describe(id); v.Status != eci.VirtualNodeReady {
			t.Errorf("after the update the VNode is %s %s", v.Status, eventsOf(v))
		}

		// A pod bound to it gets an ECI instance of this VNode and runs.
		pod, err := admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "on-managed"},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{corev1.LabelHostname: name},
				Tolerations: []corev1.Toleration{{Key: profile.VNodeTaintKey, Operator: corev1.TolerationOpEqual,
					Value: profile.VNodeLabelValue, Effect: corev1.TaintEffectNoSchedule}},
				Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "infinity"}}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 45*time.Second, "the pod Running on the managed VNode", func() (bool, string) {
			p, err := admin.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return p.Spec.NodeName == name && p.Status.Phase == corev1.PodRunning && p.Annotations[node.AnnotationInstanceID] != "",
				string(p.Status.Phase) + " on " + p.Spec.NodeName + ": " + p.Status.Reason + " " + p.Status.Message
		})
		groups, err := client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
			Tags: []eci.Tag{{Key: translate.TagCluster, Value: id}}})
		if err != nil || len(groups.ContainerGroups) != 1 || groups.ContainerGroups[0].Status != "Running" {
			t.Errorf("instances tagged with the VNode's ID: %v %+v", err, groups)
		}

		// With ECI out of reach the node says so in its condition; as its node only,
		// it may not taint itself, and does not try (no Forbidden update, retried at
		// every check).
		eciComp.Emulator().SetOutage(emulator.OutageRefuse)
		reachable := func(want corev1.ConditionStatus) func() (bool, string) {
			return func() (bool, string) {
				n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return false, err.Error()
				}
				for _, c := range n.Status.Conditions {
					if c.Type == node.ConditionECIAPIReachable {
						return c.Status == want, string(c.Status) + " " + c.Message
					}
				}
				return false, "no condition"
			}
		}
		waitFor(t, 20*time.Second, "ECIAPIReachable False while ECI refuses connections", reachable(corev1.ConditionFalse))
		time.Sleep(time.Second) // three more checks
		eciComp.Emulator().SetOutage(emulator.OutageNone)
		waitFor(t, 20*time.Second, "ECIAPIReachable True again", reachable(corev1.ConditionTrue))
		if n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err != nil || slices.ContainsFunc(n.Spec.Taints,
			func(t corev1.Taint) bool { return t.Key == node.TaintECIUnreachable }) {
			t.Errorf("the node's taints after the outage: %v %v", err, n.Spec.Taints)
		}
		if log, err := os.ReadFile(filepath.Join(sb.Dir(), "components", eciComp.Name(), "eci-emulator.log")); err != nil {
			t.Error(err)
		} else if strings.Contains(string(log), "could not update the ECI API taint") || !strings.Contains(string(log), "NodeRestriction forbids") {
			t.Errorf("the resident node's log shows taint updates tried, or does not say why none are: %s", log)
		}

		// DeleteVirtualNode answers once the resident node has stopped; its Lease is
		// renewed no more.
		if err := client.DeleteVirtualNode(ctx, &eci.DeleteVirtualNodeRequest{VirtualNodeID: id}); err != nil {
			t.Fatal(err)
		}
		if r := runner.runningNow(id); r != 0 {
			t.Fatalf("after DeleteVirtualNode %d resident node(s) of %s still run", r, id)
		}
		before, err := admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// virtual-kubelet renews the Lease every quarter of its 40 s duration.
		time.Sleep(11 * time.Second)
		after, err := admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !after.Spec.RenewTime.Equal(before.Spec.RenewTime) {
			t.Errorf("the Lease was renewed after DeleteVirtualNode: %s, then %s", before.Spec.RenewTime, after.Spec.RenewTime)
		}
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func approved(c certificatesv1.CertificateSigningRequest) bool {
	for _, cond := range c.Status.Conditions {
		if cond.Type == certificatesv1.CertificateApproved && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// csrSubject is the common name a CSR asks for.
func csrSubject(t *testing.T, request []byte) string {
	t.Helper()
	block, _ := pem.Decode(request)
	if block == nil {
		t.Fatalf("a CSR's request is not PEM")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatalf("parse a CSR's request: %v", err)
	}
	return req.Subject.CommonName
}

func eventsOf(v eci.VirtualNode) string {
	var out []string
	for _, ev := range v.Events {
		out = append(out, ev.Type+" "+ev.Reason+": "+ev.Message)
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// waitFor polls cond until it holds or within has passed; the last state it
// reported is in the failure.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", within, what, last)
}
