package translate_test

import (
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// Our tags + the VNode's + eci-custom-tags must fit ECI's 20; the error
// says where the tags come from.
func TestTooManyTags(t *testing.T) {
	node := vnode()
	node.Tags = map[string]string{}
	for i := 0; i < 14; i++ {
		node.Tags["cost-"+strconv.Itoa(i)] = "x"
	}
	p := annotated(map[string]string{"k8s.aliyun.com/eci-custom-tags": "env:prod,team:web"})
	expectProblems(t, problems(t, p, node, cluster(t)), []string{
		`TooManyTags metadata.annotations["k8s.aliyun.com/eci-custom-tags"]: the instance would carry 21 tags but ECI allows at most 20: ` +
			`5 owned by eci-vnode (eci-vnode/cluster, eci-vnode/node, eci-vnode/pod-namespace, eci-vnode/pod-name, eci-vnode/pod-uid), ` +
			`14 from the VNode, 2 from k8s.aliyun.com/eci-custom-tags; remove tags from the VNode or from the annotation`,
	})
	// Exactly 20 fits.
	delete(node.Tags, "cost-0")
	if out := run(t, p, node, cluster(t)); len(out.Request.Tags) != 20 {
		t.Errorf("got %d tags; want 20", len(out.Request.Tags))
	}
	// Without custom tags the VNode is at fault.
	for i := 14; i < 17; i++ {
		node.Tags["cost-"+strconv.Itoa(i)] = "x"
	}
	es := problems(t, annotated(nil), node, cluster(t))
	if len(es) != 1 || es[0].Field != "vnode.tags" || es[0].Reason != translate.ReasonTooManyTags {
		t.Errorf("problems %v; want TooManyTags on vnode.tags", es)
	}
}

func TestVNodeTagsAreChecked(t *testing.T) {
	node := vnode()
	node.Tags = map[string]string{"eci-vnode/node": "spoof", "acs:owner": "x"}
	expectProblems(t, problems(t, annotated(nil), node, cluster(t)), []string{
		`InvalidNodeConfig vnode.tags["acs:owner"]: tag key "acs:owner" starts with aliyun or acs:, which ECI reserves; fix the VNode's tags`,
		`InvalidNodeConfig vnode.tags["eci-vnode/node"]: tag key "eci-vnode/node" uses the prefix eci-vnode/, which eci-vnode reserves for its own tags; fix the VNode's tags`,
	})
}

// A 253-character pod name does not fit a tag value: it is cut with a
// hash, deterministically, and the UID tag still identifies the pod.
func TestLongNamesInTags(t *testing.T) {
	long := strings.Repeat("a", 200) + "." + strings.Repeat("b", 52)
	p := annotated(nil)
	p.Name = long
	node := vnode()
	node.NodeName = strings.Repeat("n", 150)
	out := run(t, p, node, cluster(t))
	tags := map[string]string{}
	for _, tg := range out.Request.Tags {
		tags[tg.Key] = tg.Value
	}
	name := tags[translate.TagPodName]
	if len(name) != 128 || !strings.HasPrefix(name, strings.Repeat("a", 117)+"-") {
		t.Errorf("pod-name tag %q (%d chars); want 117 chars of the name, a hyphen and a 10-character hash", name, len(name))
	}
	if name != translate.TagValue(long) {
		t.Error("the tag value is not TagValue(pod name)")
	}
	if uid, ok := translate.PodUIDFromTags(out.Request.Tags); !ok || uid != p.UID {
		t.Errorf("PodUIDFromTags = %q, %v; want %q", uid, ok, p.UID)
	}
	// OwnedTags selects exactly what the request carries, even for long names.
	sel := translate.OwnedTags(node.ClusterName, node.NodeName)
	for _, s := range sel {
		if tags[s.Key] != s.Value {
			t.Errorf("selector %s=%q does not match the instance's %q", s.Key, s.Value, tags[s.Key])
		}
	}
	if len(sel) != 2 || sel[0].Key != translate.TagCluster || sel[1].Key != translate.TagNode {
		t.Errorf("OwnedTags = %v; want cluster and node", sel)
	}
}

func TestPodUIDFromTags(t *testing.T) {
	if _, ok := translate.PodUIDFromTags([]eci.Tag{{Key: "team", Value: "x"}}); ok {
		t.Error("an instance without our UID tag is not ours")
	}
	uid, ok := translate.PodUIDFromTags([]eci.Tag{{Key: translate.TagPodUID, Value: "u-1"}})
	if !ok || uid != types.UID("u-1") {
		t.Errorf("got %q %v", uid, ok)
	}
}

func TestTagValue(t *testing.T) {
	if v := translate.TagValue("short"); v != "short" {
		t.Errorf("TagValue(short) = %q", v)
	}
	// Multi-byte characters are never split.
	v := translate.TagValue(strings.Repeat("é", 100))
	if len(v) > 128 || !strings.HasPrefix(v, strings.Repeat("é", 58)+"-") {
		t.Errorf("TagValue of 200 bytes of é = %q (%d bytes)", v, len(v))
	}
}

// Without a cluster or node name our selector would match other VNodes'
// instances, so such a VNode is refused.
func TestVNodeNeedsNames(t *testing.T) {
	node := vnode()
	node.ClusterName, node.NodeName = "", ""
	expectProblems(t, problems(t, annotated(nil), node, cluster(t)), []string{
		"InvalidNodeConfig vnode.clusterName: the VNode has no cluster name; it is needed to tell this cluster's instances apart",
		"InvalidNodeConfig vnode.nodeName: the VNode has no node name; it is needed to tell this VNode's instances apart",
	})
}

// PodTagKeys names the keys eci-custom-tags sets, as the translation reads
// them; an invalid annotation sets none (its pod gets no instance).
func TestPodTagKeysAreTheCustomTagsKeys(t *testing.T) {
	for _, tc := range []struct{ ann, want string }{
		{"", ""},
		{"env:prod, team:web", "env,team"},
		{"env:prod,env:test", ""},
		{"no-colon", ""},
	} {
		ann := map[string]string{}
		if tc.ann != "" {
			ann["k8s.aliyun.com/eci-custom-tags"] = tc.ann
		}
		if got := strings.Join(translate.PodTagKeys(annotated(ann)), ","); got != tc.want {
			t.Errorf("%q: keys %q, want %q", tc.ann, got, tc.want)
		}
	}
}
