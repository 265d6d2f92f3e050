package node_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The runtime's cost metrics against prices worked out here from the
// emulator's configured unit prices and the instances as ECI reports them:
// pods of several specs (vCPU/memory, an ECS type, one spot) split across
// two teams by their custom tags, one that finishes and one deleted, which
// stop counting; then a managed VNode (Config.ManagedVNodeID) whose resident
// node is charged by the VNode formula, and a price lookup that fails.
func TestCostMetricsFollowBilledInstancesByTagAndTheResidentNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	prices := emulator.PriceConfig{Currency: "USD", VCPUPerSecond: 0.0000077, MemoryGiBPerSecond: 0.00000096,
		InstanceTypes: map[string]float64{"ecs.c6.large": 0.0000231}, SpotDiscount: 0.35}
	g := startGround(t, emulator.Config{Prices: prices, Images: map[string]emulator.ImageBehaviour{
		"registry.local/batch": {RunFor: 8 * time.Second, ExitCode: 0},
	}})
	const name = "vnode-cost"
	rt := g.startRuntime(name, "rt-cost", "--tags", "team=platform")
	g.waitNodeReady(name)
	addr := metricsAddress(t, rt)

	pods := map[string]map[string]string{
		"alpha-web":  {"k8s.aliyun.com/eci-custom-tags": "team:alpha"},
		"alpha-spot": {"k8s.aliyun.com/eci-custom-tags": "team:alpha", "k8s.aliyun.com/eci-use-specs": "1-2Gi", "k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"},
		"beta-ecs":   {"k8s.aliyun.com/eci-custom-tags": "team:beta", "k8s.aliyun.com/eci-use-specs": "ecs.c6.large"},
		"beta-big":   {"k8s.aliyun.com/eci-custom-tags": "team:beta", "k8s.aliyun.com/eci-use-specs": "4-8Gi"},
	}
	for p, ann := range pods {
		g.pod(p, name, "nginx:1.27", ann)
	}
	batch := placement(name)
	batch.RestartPolicy = corev1.RestartPolicyNever
	batch.Containers = []corev1.Container{{Name: "task", Image: "registry.local/batch:1"}}
	if _, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "platform-batch", Namespace: ns}, Spec: batch}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for p := range pods {
		g.waitPod(p, podRunningReady)
	}
	g.waitPod("platform-batch", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	// want is the estimate worked out from ECI's own listing of the VNode's
	// instances (Terminating ones too, which ECI bills); the runtime's
	// agrees once its poller has read them all, and until says the listing
	// has reached the state the step waits for.
	agree := func(what string, until func(want estimate) bool) {
		t.Helper()
		var got, want estimate
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			all, err := g.eci.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{Tags: translate.OwnedTags(cluster, name)})
			if err != nil {
				return false, nil
			}
			want = expectedCost(t, prices, all)
			got = servedCost(t, scrape(t, addr), name)
			return until(want) && got.equal(want), nil
		})
		if err != nil {
			t.Fatalf("waiting for %s: %v\nECI's listing gives %+v\nthe runtime serves  %+v", what, err, want, got)
		}
		t.Logf("%s: %d billed, %.6f USD per hour, by team %v", what, got.billed, got.total, got.byTeam)
	}
	t.Run("every billed instance at its price, split by team", func(t *testing.T) {
		g.t = t
		agree("the estimate of all five instances (one spot, one of an ECS type), of teams alpha, beta and platform", func(want estimate) bool {
			return want.billed == 5 && len(want.byTeam) == 3 && want.byTeam["platform"] > 0 && want.spot == 1 && want.ecsType == 1
		})
		lookups := func() float64 { return sampleSum(scrape(t, addr), "eci_vnode_cost_price_lookups_total", `result="ok"`) }
		before := lookups()
		for range 3 {
			scrape(t, addr)
		}
		if after := lookups(); before == 0 || after != before {
			t.Errorf("price lookups: %v, then %v after three more scrapes; want some, then none (cached)", before, after)
		}
		if servedFamilies(scrape(t, addr))["eci_vnode_cost_resident_node_per_hour"] {
			t.Error("a VNode of the bundled runtime serves a resident-node charge")
		}
	})

	t.Run("a finished instance and a deleted pod's stop counting", func(t *testing.T) {
		g.t = t
		g.waitPod("platform-batch", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		agree("the estimate without the finished instance (four, none of platform)", func(want estimate) bool {
			return want.billed == 4 && want.byTeam["platform"] == 0
		})
		if err := g.kube.CoreV1().Pods(ns).Delete(context.Background(), "beta-big", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		agree("the estimate without the deleted pod's instance (three, beta-ecs still billed)", func(want estimate) bool {
			return want.billed == 3 && want.byTeam["beta"] > 0
		})
	})

	t.Run("a managed VNode adds its resident node; failed lookups leave the estimate out", func(t *testing.T) {
		g.t = t
		// Nothing is cached for a new runtime: with the price API refusing,
		// no estimate is served and the failures are counted.
		g.emu.SetFault("DescribeContainerGroupPrice", emulator.Fault{ErrorRate: 1, Code: "Forbidden.RAM", HTTPStatus: 403, Message: "User not authorized to operate on the specified resource."})
		addr := runManaged(t, g, "vnode-managed", "vnd-cost0001")
		g.waitNodeReady("vnode-managed")
		var exp string
		g.poll("failed price lookups to be counted", 30*time.Second, func(context.Context) (bool, error) {
			exp = scrape(t, addr)
			return sampleSum(exp, "eci_vnode_cost_price_lookups_total", `result="error"`) > 0, nil
		})
		for _, f := range []string{"eci_vnode_cost_instances_per_hour", "eci_vnode_cost_resident_node_per_hour"} {
			if servedFamilies(exp)[f] {
				t.Errorf("%s is served while every price lookup fails", f)
			}
		}
		g.emu.ClearFaults()

		q := func(perSecond float64) float64 { return math.Round(perSecond*1e8) / 1e8 }
		// The VNode formula, with the unit prices of the 2 vCPU / 8 GiB quote.
		want := 2*q(2*prices.VCPUPerSecond)/2*3600 + 8*q(8*prices.MemoryGiBPerSecond)/8*3600
		g.poll("the resident node's charge", 30*time.Second, func(context.Context) (bool, error) {
			exp = scrape(t, addr)
			return servedFamilies(exp)["eci_vnode_cost_resident_node_per_hour"], nil
		})
		got := sampleSum(exp, "eci_vnode_cost_resident_node_per_hour", `currency="USD",node="vnode-managed",virtual_node_id="vnd-cost0001"`)
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("resident node %.8f USD per hour, want %.8f", got, want)
		}
		since := sampleSum(exp, "eci_vnode_cost_resident_node_billed_since_seconds", `virtual_node_id="vnd-cost0001"`)
		if since <= 0 || since > float64(time.Now().Unix()+1) {
			t.Errorf("billed since %v, want the time the Node became Ready", since)
		}
		if v := sampleSum(exp, "eci_vnode_cost_instances_per_hour", `currency="USD",node="vnode-managed"`); v != 0 || !strings.Contains(exp, `eci_vnode_cost_instances_per_hour{currency="USD",node="vnode-managed"}`) {
			t.Errorf("a VNode without instances: instance cost %v; want a 0 USD series", v)
		}
		t.Logf("resident node of vnd-cost0001: %.6f USD per hour", got)

		served := servedFamilies(scrape(t, metricsAddress(t, rt)))
		for f := range servedFamilies(exp) {
			served[f] = true
		}
		for _, f := range documentedIn(t, filepath.Join("..", "..", "docs", "runtime.md"), "### Cost") {
			if !served[f] {
				t.Errorf("%s is in docs/runtime.md, \"Cost\", but neither runtime serves it", f)
			}
		}
	})
}

// documentedIn are the eci_vnode_ metric names a section of a Markdown file
// names in backquotes.
func documentedIn(t *testing.T, path, heading string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", path, heading)
	}
	section := text[start+len(heading)+2:]
	if end := strings.Index(section, "\n#"); end >= 0 {
		section = section[:end]
	}
	seen := map[string]bool{}
	var names []string
	for _, m := range regexp.MustCompile("`(eci_vnode_[a-z0-9_]+)[^`]*`").FindAllStringSubmatch(section, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s, %q names no metric", path, heading)
	}
	return names
}

// estimate is the cost of a VNode's instances: the number billed, the total
// and the split by the tag key team, all in USD.
type estimate struct {
	billed int
	total  float64
	byTeam map[string]float64
	// spot and ecsType count, in ECI's listing, the billed spot instances
	// and those made with an ECS type, so the test knows it priced both.
	spot, ecsType int
}

func (e estimate) equal(o estimate) bool {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if e.billed != o.billed || !near(e.total, o.total) {
		return false
	}
	for _, m := range []struct{ a, b map[string]float64 }{{e.byTeam, o.byTeam}, {o.byTeam, e.byTeam}} {
		for k, v := range m.a {
			if !near(v, m.b[k]) {
				return false
			}
		}
	}
	return true
}

// expectedCost prices the billed instances (Pending, Running, Restarting,
// Updating, Terminating) by the emulator's price configuration: the
// per-second price of the vCPU and memory lines (or of the ECS type), spot
// at the configured discount, each quoted to 8 decimals, times 3600.
func expectedCost(t *testing.T, p emulator.PriceConfig, groups []eci.ContainerGroup) estimate {
	t.Helper()
	q := func(perSecond float64) float64 { return math.Round(perSecond*1e8) / 1e8 }
	e := estimate{byTeam: map[string]float64{}}
	for _, g := range groups {
		switch g.Status {
		case eci.StatusPending, eci.StatusRunning, eci.StatusRestarting, eci.StatusUpdating, eci.StatusTerminating:
		default:
			continue
		}
		var perSecond float64
		if strings.HasPrefix(g.InstanceType, "ecs.") {
			e.ecsType++
			perSecond = q(p.InstanceTypes[g.InstanceType])
		} else {
			perSecond = q(q(g.CPU*p.VCPUPerSecond) + q(g.Memory*p.MemoryGiBPerSecond))
		}
		if g.SpotStrategy == eci.SpotStrategySpotAsPriceGo {
			e.spot++
			perSecond = q(perSecond * p.SpotDiscount)
		}
		team, _ := g.Tag("team")
		e.billed++
		e.total += perSecond * 3600
		e.byTeam[team] += perSecond * 3600
	}
	return e
}

// servedCost reads the runtime's estimate of nodeName off its /metrics.
func servedCost(t *testing.T, exposition, nodeName string) estimate {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	e := estimate{byTeam: map[string]float64{}}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["node"] != nodeName {
				continue
			}
			v := m.GetGauge().GetValue()
			switch name {
			case "eci_vnode_cost_billed_instances":
				e.billed = int(v)
			case "eci_vnode_cost_instances_per_hour":
				if l["currency"] != "USD" {
					t.Errorf("currency %q, want the emulator's USD", l["currency"])
				}
				e.total += v
			case "eci_vnode_cost_instances_per_hour_by_tag":
				if l["tag_key"] != "team" {
					t.Errorf("split by tag key %q; the default keys are the VNode's tags (team)", l["tag_key"])
				}
				if v != 0 {
					e.byTeam[l["tag_value"]] += v
				}
			}
		}
	}
	return e
}

// runManaged runs a VNode in this process as the resident node of managed
// VNode id would (Config.ManagedVNodeID set), and returns its metrics address.
func runManaged(t *testing.T, g *ground, nodeName, id string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cred := emulator.DefaultCredential()
	client, err := eci.New(eci.Config{Region: "cn-hangzhou", Endpoint: "http://" + g.emu.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- node.Run(ctx, node.Config{
			NodeName: nodeName, ClusterName: cluster, Region: "cn-hangzhou", ZoneIDs: []string{g.emu.Zones()[0].ID},
			VSwitchIDs: []string{"vsw-h-1"}, SecurityGroupID: "sg-emulator0001", Tags: map[string]string{"team": "platform"},
			ManagedVNodeID: id, StatusPollFast: 300 * time.Millisecond, StatusPollSlow: 2 * time.Second,
		}, node.RunOptions{Kube: g.kube, ECI: client, MetricsAddr: addr, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	g.root.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Logf("managed VNode %s: %v", nodeName, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("managed VNode %s did not stop within 30s of its context", nodeName)
		}
		client.CloseIdleConnections()
	})
	g.poll(fmt.Sprintf("the metrics of %s on %s", nodeName, addr), 30*time.Second, func(context.Context) (bool, error) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil, nil
	})
	return addr
}
