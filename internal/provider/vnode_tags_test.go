package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// The provider's default_tags and a VNode's tags reach the ECI instance of a
// pod on the VNode; changing the VNode's tags re-tags that running instance
// (the runtime restarts with the new tags and brings its instances to them),
// so a cost report split by tag holds for pods that already exist.
func TestAccVNodeTags_retagRunningInstances(t *testing.T) {
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()
	sb := testAccSandbox(t)
	kc := sb.Client()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	const ns = "tf-vnode-tags"
	const node = "tf-vnode-tags"
	const addr = "eci_vnode.test"
	const pod = "tagged-" + node
	prov := testAccTagsProvider(sb, region, endpoint, `{ owner = "platform", team = "default" }`)
	vnode := func(tags string) string {
		return testAccVNodeResourceConfig(prov, ns, node, fmt.Sprintf(`
  zone_ids    = [%q]
  vswitch_ids = ["vsw-h-1"]
  tags        = %s
`, region+"-h", tags))
	}
	client, err := eci.New(eci.Config{Region: region, Endpoint: endpoint, Credentials: &eci.Credentials{AccessKeyID: ak, AccessKeySecret: sk}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	var instanceID string

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		CheckDestroy:             testAccCheckVNodeDestroyed(kc, ns, node),
		Steps: []resource.TestStep{
			{
				Config: vnode(`{ team = "a", stage = "x" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"owner": knownvalue.StringExact("platform"), "team": knownvalue.StringExact("a"), "stage": knownvalue.StringExact("x")})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckPodRunning(kc, node, pod, &instanceID),
					testAccCheckInstanceTags(client, &instanceID, map[string]string{"owner": "platform", "team": "a", "stage": "x"}),
				),
			},
			// Only the VNode's tags change: an update in place, and the
			// instance that already runs follows, losing stage.
			{
				Config: vnode(`{ team = "b", cost = "c1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"owner": knownvalue.StringExact("platform"), "team": knownvalue.StringExact("b"), "cost": knownvalue.StringExact("c1")})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckInstanceTags(client, &instanceID, map[string]string{"owner": "platform", "team": "b", "cost": "c1"}),
					testAccCheckPodInstance(kc, pod, &instanceID),
				),
			},
			// The pod goes (destroy refuses a VNode that still runs pods);
			// the runtime deletes its instance.
			{
				PreConfig: func() {
					ctx := context.Background()
					if err := kc.CoreV1().Pods("default").Delete(ctx, pod, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					if err := waitGone(ctx, time.Minute, "pod", func(ctx context.Context) error {
						_, err := kc.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
						return err
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: vnode(`{ team = "b", cost = "c1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}

// testAccTagsProvider is testAccRuntimeProvider with default_tags.
func testAccTagsProvider(sb *sandbox.Sandbox, region, endpoint, defaultTags string) string {
	return fmt.Sprintf(`
provider "eci" {
  region       = %[1]q
  endpoint     = %[2]q
  default_tags = %[4]s
  kubernetes {
    config_path = %[3]q
  }
}
`, region, endpoint, sb.Kubeconfig(), defaultTags)
}

// testAccCheckPodRunning creates a pod on the VNode (once), waits until it
// runs, and records the ID of its ECI instance.
func testAccCheckPodRunning(kc kubernetes.Interface, node, name string, instanceID *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{corev1.LabelHostname: node},
				Tolerations: []corev1.Toleration{{Key: profile.VNodeTaintKey, Operator: corev1.TolerationOpEqual,
					Value: profile.VNodeLabelValue, Effect: corev1.TaintEffectNoSchedule}},
				Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
			},
		}
		if _, err := kc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create pod %s: %w", name, err)
		}
		var last string
		for {
			p, err := kc.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				last = fmt.Sprintf("node %q, phase %s, %s", p.Spec.NodeName, p.Status.Phase, p.Status.Message)
				if id := p.Annotations[annotationInstanceID]; p.Status.Phase == corev1.PodRunning && id != "" {
					*instanceID = id
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("pod %s is not Running on %s with an instance: %s", name, node, last)
			case <-time.After(time.Second):
			}
		}
	}
}

// testAccCheckPodInstance checks that the pod still runs on the same
// instance: re-tagging never replaces it.
func testAccCheckPodInstance(kc kubernetes.Interface, name string, instanceID *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		p, err := kc.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := p.Annotations[annotationInstanceID]; got != *instanceID || p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod %s is %s on instance %q, want Running on %q", name, p.Status.Phase, got, *instanceID)
		}
		return nil
	}
}

// testAccCheckInstanceTags polls the emulator until the instance's tags
// outside the runtime's own (eci-vnode/…) are exactly want.
func testAccCheckInstanceTags(client *eci.Client, instanceID *string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var last map[string]string
		for {
			out, err := client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{*instanceID}})
			if err == nil && len(out.ContainerGroups) == 1 {
				last = map[string]string{}
				for _, tg := range out.ContainerGroups[0].Tags {
					if !strings.HasPrefix(tg.Key, "eci-vnode/") {
						last[tg.Key] = tg.Value
					}
				}
				if maps.Equal(last, want) {
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("instance %s carries tags %v, want %v (owned eci-vnode/ tags aside)", *instanceID, sortedPairs(last), sortedPairs(want))
			case <-time.After(time.Second):
			}
		}
	}
}

func sortedPairs(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}
