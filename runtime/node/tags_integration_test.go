package node_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// A runtime restarted with other --tags brings the tags of the instances that
// already run to them: the new VNode tags are set, a VNode tag no longer
// declared is removed, and what the VNode never set stays — the runtime's own
// tags, a pod's k8s.aliyun.com/eci-custom-tags (even one with a key the VNode
// used to set), and a tag added outside Kubernetes.
func TestRetagRunningInstancesWhenVNodeTagsChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	g := startGround(t, emulator.Config{})
	const name = "vnode-retag"
	ctx := context.Background()

	rt := g.startRuntime(name, "rt-retag-1", "--tags", "team=a,env=x")
	g.waitNodeReady(name)
	plain := g.waitPod(g.pod("plain", name, "nginx:1.27", nil).Name, podRunningReady)
	custom := g.waitPod(g.pod("custom", name, "nginx:1.27",
		map[string]string{"k8s.aliyun.com/eci-custom-tags": "env:mine,owner:bob"}).Name, podRunningReady)
	plainID, customID := plain.Annotations[node.AnnotationInstanceID], custom.Annotations[node.AnnotationInstanceID]

	// Before: the VNode's tags, the pod's own winning over the VNode's env.
	g.poll("instances tagged team=a", 30*time.Second, func(context.Context) (bool, error) {
		all := g.instancesOf(name)
		return userTags(all[plainID]) == "env=x,team=a" && userTags(all[customID]) == "env=mine,owner=bob,team=a", nil
	})
	// Someone tags an instance in the console.
	if err := g.eci.TagResources(ctx, &eci.TagResourcesRequest{ResourceType: eci.ResourceTypeContainerGroup,
		ResourceIDs: []string{plainID}, Tags: []eci.Tag{{Key: "console", Value: "keep"}}}); err != nil {
		t.Fatal(err)
	}
	g.poll("the Node to record the tag keys env, team", 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := g.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && n.Annotations[node.AnnotationManagedTags] == `["env","team"]`, nil
	})

	rt.kill()
	g.startRuntime(name, "rt-retag-2", "--tags", "team=b,cost=c")
	g.poll("running instances re-tagged team=b, cost=c", time.Minute, func(context.Context) (bool, error) {
		all := g.instancesOf(name)
		return userTags(all[plainID]) == "console=keep,cost=c,team=b" && userTags(all[customID]) == "cost=c,env=mine,owner=bob,team=b", nil
	})
	all := g.instancesOf(name)
	for pod, id := range map[*corev1.Pod]string{plain: plainID, custom: customID} {
		want := map[string]string{
			translate.TagCluster: cluster, translate.TagNode: name, translate.TagPodNamespace: ns,
			translate.TagPodName: pod.Name, translate.TagPodUID: string(pod.UID),
		}
		if got := ownedTags(all[id]); !maps.Equal(got, want) {
			t.Errorf("instance %s of pod %s: the runtime's own tags are %v, want %v", id, pod.Name, got, want)
		}
	}
	g.poll("the Node to record the tag keys cost, team alone", 30*time.Second, func(ctx context.Context) (bool, error) {
		n, err := g.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && n.Annotations[node.AnnotationManagedTags] == `["cost","team"]`, nil
	})

	// Once the instances carry the tags, complete listings (every 2 s here)
	// make no more tagging calls.
	before := g.emu.Calls()
	time.Sleep(5 * time.Second)
	after := g.emu.Calls()
	for _, a := range []string{"TagResources", "UntagResources"} {
		if after[a].Count != before[a].Count {
			t.Errorf("%s called %d more times with nothing to change", a, after[a].Count-before[a].Count)
		}
	}
	// A pod created now gets the new tags at create, as before.
	fresh := g.waitPod(g.pod("fresh", name, "nginx:1.27", nil).Name, podRunningReady)
	if got := userTags(g.instancesOf(name)[fresh.Annotations[node.AnnotationInstanceID]]); got != "cost=c,team=b" {
		t.Errorf("a new instance carries %q, want cost=c,team=b", got)
	}
	t.Logf("tagging calls: TagResources=%d UntagResources=%d", after["TagResources"].Count, after["UntagResources"].Count)
}

// userTags are an instance's tags outside the runtime's own, as sorted k=v pairs.
func userTags(g eci.ContainerGroup) string {
	var out []string
	for _, t := range g.Tags {
		if !strings.HasPrefix(t.Key, translate.TagPrefix) {
			out = append(out, t.Key+"="+t.Value)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// ownedTags are the runtime's own tags of an instance.
func ownedTags(g eci.ContainerGroup) map[string]string {
	out := map[string]string{}
	for _, t := range g.Tags {
		if strings.HasPrefix(t.Key, translate.TagPrefix) {
			out[t.Key] = t.Value
		}
	}
	return out
}
