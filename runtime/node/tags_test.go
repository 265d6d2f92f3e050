package node

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

func TestPlanRetagTouchesOnlyWhatTheVNodeSets(t *testing.T) {
	owned := []eci.Tag{{Key: translate.TagCluster, Value: "c"}, {Key: translate.TagNode, Value: "n"}}
	have := append(slices.Clone(owned), eci.Tag{Key: "team", Value: "a"}, eci.Tag{Key: "env", Value: "x"},
		eci.Tag{Key: "owner", Value: "bob"}, eci.Tag{Key: "console", Value: "keep"})
	for _, tc := range []struct {
		name    string
		want    map[string]string
		stale   []string
		podKeys []string
		set     string
		unset   []string
		over    int
	}{
		{name: "nothing changed", want: map[string]string{"team": "a", "env": "x"}},
		{name: "a value changed and a key added", want: map[string]string{"team": "b", "env": "x", "cost": "c"}, set: "cost=c,team=b"},
		{name: "a key dropped", want: map[string]string{"team": "a"}, stale: []string{"env"}, unset: []string{"env"}},
		{name: "a stale key the instance lacks", want: map[string]string{"team": "a"}, stale: []string{"gone"}},
		{name: "the pod's own keys win", want: map[string]string{"team": "b", "owner": "vnode"}, stale: []string{"env"},
			podKeys: []string{"owner", "env"}, set: "team=b"},
		{name: "never the runtime's own tags", want: map[string]string{"team": "a", "env": "x"}, stale: []string{translate.TagNode}},
		{name: "over ECI's 20", want: map[string]string{"team": "a", "env": "x", "k1": "1", "k2": "2", "k3": "3", "k4": "4", "k5": "5",
			"k6": "6", "k7": "7", "k8": "8", "k9": "9", "k10": "10", "k11": "11", "k12": "12", "k13": "13", "k14": "14", "k15": "15"},
			set: "k1=1,k10=10,k11=11,k12=12,k13=13,k14=14,k15=15,k2=2,k3=3,k4=4,k5=5,k6=6,k7=7,k8=8,k9=9", over: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, over := planRetag(have, tc.want, tc.stale, tc.podKeys)
			if got := tagsText(c.set); got != tc.set {
				t.Errorf("set %q, want %q", got, tc.set)
			}
			if !slices.Equal(c.unset, tc.unset) {
				t.Errorf("unset %q, want %q", c.unset, tc.unset)
			}
			if over != tc.over {
				t.Errorf("over %d, want %d", over, tc.over)
			}
		})
	}
}

// A runtime that starts with other tags re-tags the running instances of an
// earlier run in calls of at most 50 instances, removes the keys the Node
// records as the VNode's but the configuration no longer has, leaves a
// pod's own tag alone, records the new keys, and calls nothing once the
// instances carry the tags.
func TestRetagBatchesFiftyInstancesACall(t *testing.T) {
	const pods = 55
	r := newRig(t, emulator.Config{}, func(c *Config) { c.Tags = map[string]string{"team": "a", "env": "x"} })
	ctx := context.Background()
	var all []*corev1.Pod
	for i := range pods {
		var ann map[string]string
		if i == 0 {
			ann = map[string]string{"k8s.aliyun.com/eci-custom-tags": "env:mine"}
		}
		p := unitPod(fmt.Sprintf("retag-%02d", i), ann)
		r.create(p)
		all = append(all, p)
	}
	for _, p := range all {
		r.waitFor(p, "running", running)
	}
	r.stop()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vnode-u", Annotations: map[string]string{AnnotationManagedTags: `["env","team"]`}}}
	if _, err := r.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The restarted runtime, with the first one's pods.
	cfg := r.p.cfg
	cfg.Tags = map[string]string{"team": "b", "cost": "c"}
	events := record.NewFakeRecorder(10)
	p2 := NewProvider(cfg, ProviderDeps{ECI: r.client, Kube: r.kube, Recorder: events})
	maps.Copy(p2.byUID, r.p.byUID)
	list := func() []eci.ContainerGroup {
		gs, err := r.client.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{Tags: p2.ownedTagFilter()})
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != pods {
			t.Fatalf("%d instances listed, want %d", len(gs), pods)
		}
		return gs
	}
	if err := p2.syncTagKeys(ctx); err != nil {
		t.Fatal(err)
	}
	recorded := func() string {
		n, err := r.kube.CoreV1().Nodes().Get(ctx, "vnode-u", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n.Annotations[AnnotationManagedTags]
	}
	if got := recorded(); got != `["cost","env","team"]` {
		t.Fatalf("at start the Node records %s, want the earlier and the configured keys [\"cost\",\"env\",\"team\"]", got)
	}

	// TagResources refused: the round reports it and keeps every key recorded.
	r.emu.SetFault("TagResources", emulator.Fault{ErrorRate: 1, Code: "Forbidden.RAM", HTTPStatus: 403, Message: "not allowed"})
	p2.retag(ctx, list())
	if got := testutil.ToFloat64(p2.metrics.retags.WithLabelValues("tag", "error")); got != pods {
		t.Errorf("eci_vnode_instance_retags_total{call=tag,result=error} = %g, want %d", got, pods)
	}
	select {
	case e := <-events.Events:
		if !strings.Contains(e, ReasonTagsNotApplied) || !strings.Contains(e, "Forbidden.RAM") {
			t.Errorf("Event %q, want %s with the error", e, ReasonTagsNotApplied)
		}
	default:
		t.Error("no Event for the failed TagResources")
	}
	if got := recorded(); got != `["cost","env","team"]` {
		t.Errorf("after a failed round the Node records %s, want every key still", got)
	}
	r.emu.ClearFaults()

	r.emu.ResetCalls()
	p2.retag(ctx, list())
	calls := r.emu.Calls()
	if calls["TagResources"].Count != 2 || calls["UntagResources"].Count != 0 {
		t.Errorf("TagResources %d, UntagResources %d calls for %d instances; want 2 (50 instances a call) and 0 (done in the failed round)",
			calls["TagResources"].Count, calls["UntagResources"].Count, pods)
	}
	for _, g := range list() {
		want := "cost=c,team=b"
		if uid, _ := translate.PodUIDFromTags(g.Tags); uid == all[0].UID {
			want = "cost=c,env=mine,team=b"
		}
		var got []string
		for _, tg := range g.Tags {
			if !strings.HasPrefix(tg.Key, translate.TagPrefix) {
				got = append(got, tg.Key+"="+tg.Value)
			}
		}
		slices.Sort(got)
		if strings.Join(got, ",") != want {
			t.Errorf("instance %s carries %q, want %q", g.ContainerGroupID, strings.Join(got, ","), want)
		}
	}
	if got := recorded(); got != `["cost","team"]` {
		t.Errorf("the Node records %s, want [\"cost\",\"team\"]", got)
	}

	r.emu.ResetCalls()
	p2.retag(ctx, list())
	if calls := r.emu.Calls(); calls["TagResources"].Count+calls["UntagResources"].Count != 0 {
		t.Errorf("a second round with nothing to change made %d tagging calls", calls["TagResources"].Count+calls["UntagResources"].Count)
	}
}
