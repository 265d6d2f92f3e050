package translate_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The requests this package builds are accepted by ECI's wire protocol as
// the emulator implements it, and the instances are found again by their
// owned tags — the contract runtime/node relies on.
func TestRequestsAreAcceptedByTheEmulator(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	cr := e.Credentials()[0]
	client, err := eci.New(eci.Config{
		Region:      e.Region(),
		Endpoint:    "http://" + e.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cr.AccessKeyID, AccessKeySecret: cr.AccessKeySecret, SecurityToken: cr.SecurityToken},
		Timeout:     5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)

	node := vnode()
	node.Region = e.Region()
	node.ZoneIDs = []string{e.Region() + "-h"}
	node.VSwitchIDs = []string{"vsw-h-1", "vsw-h-2"}
	node.SecurityGroupID = "sg-emulator0001"

	large, largeObjs := largePod()
	large.Annotations["k8s.aliyun.com/eci-vswitch"] = "vsw-i-1"
	gpu := func() *corev1.Pod {
		c := ctr("train", "registry.example.com/ml/train:2")
		c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}}
		p := pod("train-0", c)
		p.UID = "uid-gpu"
		p.Annotations = map[string]string{"k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge"}
		return p
	}()
	web := webPod()
	web.UID = "uid-web"
	large.UID = "uid-large"
	pods := []struct {
		pod  *corev1.Pod
		objs []runtime.Object
	}{{web, nil}, {large, largeObjs}, {gpu, nil}}

	ctx := context.Background()
	for _, tc := range pods {
		r := webCluster(t)
		if tc.objs != nil {
			r = cluster(t, tc.objs...)
		}
		out := run(t, tc.pod, node, r)
		res, err := client.CreateContainerGroup(ctx, out.Request)
		if err != nil {
			t.Fatalf("create %s: %v", tc.pod.Name, err)
		}
		if res.ContainerGroupID == "" {
			t.Fatalf("create %s: no ID", tc.pod.Name)
		}
	}
	groups, err := client.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{Tags: translate.OwnedTags(node.ClusterName, node.NodeName)})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]eci.ContainerGroup{}
	for _, g := range groups {
		uid, ok := translate.PodUIDFromTags(g.Tags)
		if !ok {
			t.Errorf("instance %s has no pod UID tag: %v", g.ContainerGroupName, g.Tags)
		}
		found[string(uid)] = g
	}
	if len(found) != 3 {
		t.Fatalf("found %d instances by the VNode's tags; want 3: %v", len(found), groups)
	}
	if g := found["uid-web"]; g.ContainerGroupName != "shop-web-7d9c6b5f4-x2x8q" || g.CPU != 1 || g.Memory != 2 {
		t.Errorf("web instance: %s %v vCPU %v GiB", g.ContainerGroupName, g.CPU, g.Memory)
	}
	if g := found["uid-gpu"]; g.InstanceType != "ecs.gn6i-c4g1.xlarge" {
		t.Errorf("GPU instance type %q", g.InstanceType)
	}
	// Another VNode's selector does not see them.
	other, err := client.DescribeAllContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{Tags: translate.OwnedTags(node.ClusterName, "other-node")})
	if err != nil || len(other) != 0 {
		t.Errorf("another VNode sees %d instances (err %v)", len(other), err)
	}
}
