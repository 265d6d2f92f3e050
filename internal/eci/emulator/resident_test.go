package emulator

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
)

// scriptedRunner is a ResidentNodeRunner whose runs do what the test says: each
// run takes the next step of script (the last one repeats). It stands in for the
// runtime here because these tests are about the emulator's bookkeeping; the
// real runner is tested against a real cluster in runtime/resident.
type scriptedRunner struct {
	script []func(ctx context.Context, n ResidentNode) error

	mu      sync.Mutex
	started []ResidentNode
	ended   int
	changed chan struct{} // a run started or ended
}

func newScriptedRunner(script ...func(ctx context.Context, n ResidentNode) error) *scriptedRunner {
	return &scriptedRunner{script: script, changed: make(chan struct{}, 100)}
}

func (r *scriptedRunner) RunResidentNode(ctx context.Context, n ResidentNode) error {
	r.mu.Lock()
	step := r.script[min(len(r.started), len(r.script)-1)]
	r.started = append(r.started, n)
	r.mu.Unlock()
	r.changed <- struct{}{}
	defer func() {
		r.mu.Lock()
		r.ended++
		r.mu.Unlock()
		r.changed <- struct{}{}
	}()
	return step(ctx, n)
}

func (r *scriptedRunner) counts() (started, ended int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.started), r.ended
}

func (r *scriptedRunner) run(i int) ResidentNode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started[i]
}

// registerAndRun registers at once and runs until ctx ends, as a healthy node does.
func registerAndRun(ctx context.Context, n ResidentNode) error {
	n.Registered()
	<-ctx.Done()
	return nil
}

// waitRuns waits until at least started runs started and ended ended.
func (r *scriptedRunner) waitRuns(t *testing.T, started, ended int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s, e := r.counts()
		if s >= started && e >= ended {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("runs: %d started, %d ended; want at least %d and %d", s, e, started, ended)
		}
	}
}

type vnodeView struct {
	VirtualNodeId, VirtualNodeName, Status, ZoneId, IntranetIp string
	Events                                                     []struct{ Type, Reason, Message string }
}

func describeVNode(t *testing.T, c *eci.Client, e *Emulator, id string) vnodeView {
	t.Helper()
	var out struct{ VirtualNodes []vnodeView }
	mustAPI(t, c, e, "DescribeVirtualNodes", map[string]string{"VirtualNodeIds": `["` + id + `"]`}, &out)
	if len(out.VirtualNodes) != 1 {
		t.Fatalf("VNode %s: %d listed", id, len(out.VirtualNodes))
	}
	return out.VirtualNodes[0]
}

// waitVNodeStatus polls DescribeVirtualNodes until the VNode has status.
func waitVNodeStatus(t *testing.T, c *eci.Client, e *Emulator, id, status string) vnodeView {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := describeVNode(t, c, e, id)
		if v.Status == status {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("VNode %s is %s, want %s; events %+v", id, v.Status, status, v.Events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func vnodeEvent(v vnodeView, reason string) (typ, msg string, ok bool) {
	for _, ev := range v.Events {
		if ev.Reason == reason {
			return ev.Type, ev.Message, true
		}
	}
	return "", "", false
}

const residentKubeconfig = "apiVersion: v1\nkind: Config\n# the resident node's\n"

func createVNode(t *testing.T, c *eci.Client, e *Emulator, extra map[string]string) string {
	t.Helper()
	q := map[string]string{"SecurityGroupId": "sg-emulator0001", "VSwitchId": "vsw-h-1,vsw-i-1",
		"KubeConfig": base64.StdEncoding.EncodeToString([]byte(residentKubeconfig)), "VirtualNodeName": "vnode-r"}
	for k, v := range extra {
		q[k] = v
	}
	var out struct{ VirtualNodeId string }
	mustAPI(t, c, e, "CreateVirtualNode", q, &out)
	return out.VirtualNodeId
}

func TestResidentNodeGetsTheVNodesSettingsAndMakesItReadyOnlyOnceRegistered(t *testing.T) {
	register := make(chan struct{})
	runner := newScriptedRunner(func(ctx context.Context, n ResidentNode) error {
		select {
		case <-register:
		case <-ctx.Done():
			return nil
		}
		n.Registered()
		n.Registered() // a second call changes nothing
		<-ctx.Done()
		return nil
	})
	// VirtualNodeReady instant: a VNode made Ready by the timer would be Ready at once.
	e := StartForTest(t, Config{ResidentNodes: runner, Lifecycle: LifecycleConfig{VirtualNodeReady: -1}})
	c := newClient(t, e)
	id := createVNode(t, c, e, map[string]string{"TlsBootstrapEnabled": "true", "ClusterDNS": "10.96.0.10, 10.96.0.11",
		"ClusterDomain": "corp.local", "CustomResources": "example.com/fpga=2,example.com/dongle=1",
		"Taint.1.Key": "k8s.aliyun.com/vnode", "Taint.1.Value": "true", "Taint.1.Effect": "NoSchedule",
		"Taint.2.Key": "dedicated", "Taint.2.Effect": "NoExecute", "ResourceGroupId": "rg-1",
		"Tag.1.Key": "team", "Tag.1.Value": "blue"})
	runner.waitRuns(t, 1, 0)
	n := runner.run(0)
	v := describeVNode(t, c, e, id)
	if v.Status != "Pending" {
		t.Fatalf("before the node registered the VNode is %s, want Pending", v.Status)
	}
	cred := e.Credentials()[0]
	want := ResidentNode{VirtualNodeID: id, Name: "vnode-r", KubeConfig: []byte(residentKubeconfig), TLSBootstrap: true,
		Taints:     []Taint{{"k8s.aliyun.com/vnode", "true", "NoSchedule"}, {"dedicated", "", "NoExecute"}},
		ClusterDNS: []string{"10.96.0.10", "10.96.0.11"}, ClusterDomain: "corp.local",
		CustomResources: map[string]int64{"example.com/fpga": 2, "example.com/dongle": 1},
		VSwitchIDs:      []string{"vsw-h-1", "vsw-i-1"}, SecurityGroupID: "sg-emulator0001", ResourceGroupID: "rg-1",
		IntranetIP: v.IntranetIp, Tags: map[string]string{"team": "blue"},
		ECI: ResidentECI{Endpoint: "http://" + e.Endpoint(), Region: e.Region(), Credential: cred}}
	got := n
	got.Log, got.Registered = nil, nil
	if !residentNodesEqual(got, want) {
		t.Errorf("the resident node was started with\n%+v\nwant\n%+v", got, want)
	}
	if n.Log == nil || n.Registered == nil || v.IntranetIp == "" {
		t.Errorf("log %v, Registered set %v, IntranetIp %q", n.Log, n.Registered != nil, v.IntranetIp)
	}

	close(register)
	v = waitVNodeStatus(t, c, e, id, "Ready")
	if typ, _, ok := vnodeEvent(v, "VirtualNodeReady"); !ok || typ != "Normal" || len(v.Events) != 1 {
		t.Errorf("events of the Ready VNode: %+v", v.Events)
	}
	if s, _ := runner.counts(); s != 1 {
		t.Errorf("%d runs, want 1", s)
	}

	mustAPI(t, c, e, "DeleteVirtualNode", map[string]string{"VirtualNodeId": id}, nil)
	// DeleteVirtualNode answers only once the node has stopped.
	if _, ended := runner.counts(); ended != 1 {
		t.Errorf("DeleteVirtualNode answered before the resident node returned")
	}
}

func residentNodesEqual(a, b ResidentNode) bool {
	eqMap := func(x, y map[string]int64) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	eqTags := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return a.VirtualNodeID == b.VirtualNodeID && a.Name == b.Name && string(a.KubeConfig) == string(b.KubeConfig) &&
		a.TLSBootstrap == b.TLSBootstrap && slices.Equal(a.Taints, b.Taints) && slices.Equal(a.ClusterDNS, b.ClusterDNS) &&
		a.ClusterDomain == b.ClusterDomain && eqMap(a.CustomResources, b.CustomResources) && a.ZoneID == b.ZoneID &&
		slices.Equal(a.VSwitchIDs, b.VSwitchIDs) && a.SecurityGroupID == b.SecurityGroupID && a.ResourceGroupID == b.ResourceGroupID &&
		a.IntranetIP == b.IntranetIP && eqTags(a.Tags, b.Tags) && a.ECI == b.ECI
}

func TestResidentNodeThatFailsBeforeRegisteringFailsTheVNodeWithTheReason(t *testing.T) {
	for name, step := range map[string]func(context.Context, ResidentNode) error{
		"an error": func(context.Context, ResidentNode) error {
			return errors.New("the API server refused the bootstrap token abcdef (401)")
		},
		"a panic": func(context.Context, ResidentNode) error {
			panic("the API server refused the bootstrap token abcdef (401)")
		},
	} {
		t.Run(name, func(t *testing.T) {
			runner := newScriptedRunner(step)
			e := StartForTest(t, Config{ResidentNodes: runner, Lifecycle: LifecycleConfig{CrashBackoff: 10 * time.Millisecond}})
			c := newClient(t, e)
			id := createVNode(t, c, e, map[string]string{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-h-1"})
			v := waitVNodeStatus(t, c, e, id, "Failed")
			typ, msg, ok := vnodeEvent(v, "ResidentNodeFailed")
			if !ok || typ != "Warning" || !strings.Contains(msg, "refused the bootstrap token abcdef (401)") {
				t.Errorf("events of the Failed VNode: %+v", v.Events)
			}
			if n := runner.run(0); n.ZoneID != "cn-hangzhou-h" || !slices.Equal(n.VSwitchIDs, []string{"vsw-h-1"}) {
				t.Errorf("zone %q, vSwitches %v", n.ZoneID, n.VSwitchIDs)
			}
			time.Sleep(100 * time.Millisecond) // ten back-offs: a Failed VNode's node must not be restarted
			if s, _ := runner.counts(); s != 1 {
				t.Errorf("the node of a Failed VNode was started %d times", s)
			}
			mustAPI(t, c, e, "DeleteVirtualNode", map[string]string{"VirtualNodeId": id}, nil)
		})
	}
}

func TestResidentNodeThatStopsAfterReadyIsRestartedAndTheVNodeStaysReady(t *testing.T) {
	runner := newScriptedRunner(
		func(ctx context.Context, n ResidentNode) error {
			n.Registered()
			return errors.New("lost the connection to the API server")
		},
		func(ctx context.Context, n ResidentNode) error { return nil }, // stops on its own
		registerAndRun,
	)
	e := StartForTest(t, Config{ResidentNodes: runner, Lifecycle: LifecycleConfig{CrashBackoff: 20 * time.Millisecond}})
	c := newClient(t, e)
	id := createVNode(t, c, e, nil)
	runner.waitRuns(t, 3, 2)
	v := waitVNodeStatus(t, c, e, id, "Ready")
	var restarts []string
	for _, ev := range v.Events {
		if ev.Reason == "ResidentNodeRestarting" && ev.Type == "Warning" {
			restarts = append(restarts, ev.Message)
		}
	}
	if len(restarts) != 2 || !strings.Contains(restarts[0], "lost the connection to the API server") ||
		!strings.Contains(restarts[1], "stopped on its own") {
		t.Errorf("events: %+v", v.Events)
	}
}

func TestUpdateVirtualNodeRestartsTheResidentNodeOnlyForSettingsItReads(t *testing.T) {
	runner := newScriptedRunner(registerAndRun)
	e := StartForTest(t, Config{ResidentNodes: runner})
	c := newClient(t, e)
	id := createVNode(t, c, e, map[string]string{"ClusterDNS": "10.96.0.10"})
	waitVNodeStatus(t, c, e, id, "Ready")

	mustAPI(t, c, e, "UpdateVirtualNode", map[string]string{"VirtualNodeId": id, "VirtualNodeName": "vnode-renamed",
		"Tag.1.Key": "team", "Tag.1.Value": "green"}, nil)
	if s, _ := runner.counts(); s != 1 {
		t.Fatalf("a rename and a tag restarted the node (%d runs)", s)
	}
	mustAPI(t, c, e, "UpdateVirtualNode", map[string]string{"VirtualNodeId": id, "ClusterDNS": "10.96.0.53",
		"CustomResources": "example.com/fpga=4"}, nil)
	// The old node has stopped by the time UpdateVirtualNode answers; the new one starts.
	if _, ended := runner.counts(); ended != 1 {
		t.Fatalf("UpdateVirtualNode answered before the old node stopped")
	}
	runner.waitRuns(t, 2, 1)
	n := runner.run(1)
	if !slices.Equal(n.ClusterDNS, []string{"10.96.0.53"}) || n.CustomResources["example.com/fpga"] != 4 || n.Name != "vnode-r" {
		t.Errorf("restarted with DNS %v, custom resources %v, name %q; want the new settings and the Node's name kept",
			n.ClusterDNS, n.CustomResources, n.Name)
	}
	v := describeVNode(t, c, e, id)
	if _, _, ok := vnodeEvent(v, "ResidentNodeRestarted"); !ok || v.Status != "Ready" {
		t.Errorf("after the update the VNode is %s with events %+v", v.Status, v.Events)
	}
}

func TestCloseStopsEveryResidentNodeAndAClosedZoneStartsNone(t *testing.T) {
	runner := newScriptedRunner(registerAndRun)
	e, err := New(Config{ResidentNodes: runner, Logf: t.Logf, Lifecycle: LifecycleConfig{VirtualNodeReady: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := newClient(t, e)
	for _, z := range []string{"cn-hangzhou-h", "cn-hangzhou-i"} {
		if err := e.SetZoneClosed(z, true); err != nil {
			t.Fatal(err)
		}
	}
	stock := createVNode(t, c, e, nil)
	if v := waitVNodeStatus(t, c, e, stock, "Failed"); v.Events[0].Reason != "StockClose" {
		t.Errorf("a VNode in closed zones: %+v", v)
	}
	if s, _ := runner.counts(); s != 0 {
		t.Fatalf("a VNode that cannot be placed started its resident node")
	}
	if err := e.SetZoneClosed("cn-hangzhou-h", false); err != nil {
		t.Fatal(err)
	}
	createVNode(t, c, e, map[string]string{"VirtualNodeName": "one"})
	createVNode(t, c, e, map[string]string{"VirtualNodeName": "two"})
	runner.waitRuns(t, 2, 0)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if s, ended := runner.counts(); s != 2 || ended != 2 {
		t.Errorf("after Close: %d runs started, %d ended", s, ended)
	}
}
