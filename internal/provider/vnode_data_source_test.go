package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// eci_vnode, the data source, on a VNode that runs one pod: it is Ready,
// counts the pod, and names the ECI instance the emulator runs for it. A
// name that is no Node, or a Node that is no VNode, fails the read.
func TestAccVNodeDataSource_basic(t *testing.T) {
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()
	sb := testAccSandbox(t)
	kc := sb.Client()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	const ns = "tf-vnode-data"
	const node = "tf-vnode-data"
	const addr = "data.eci_vnode.x"
	const pod = "ds-" + node
	zone := region + "-h"
	prov := testAccRuntimeProvider(sb, region, endpoint)
	vnode := testAccVNodeResourceConfig(prov, ns, node, fmt.Sprintf(`
  zone_ids    = [%q]
  vswitch_ids = ["vsw-h-1"]
  labels      = { tier = "data" }
`, zone))
	withData := vnode + `
data "eci_vnode" "x" {
  name = eci_vnode.test.name
}
`
	other := testAccNodeThatIsNoVNode(t, kc)
	// Should a step fail, the pod would outlive the test (the last step
	// deletes it) and keep the VNode's destroy refused.
	t.Cleanup(func() {
		_ = kc.CoreV1().Pods("default").Delete(context.Background(), pod, metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(0))})
	})
	// Terraform wraps the details: any space may be a line break.
	missing := `No such VNode.*has\s+no\s+Node\s+tf-no-such-vnode`
	notVNode := `Not a VNode.*Node\s+` + other + `\s+is\s+not\s+a\s+VNode.*label\s+k8s\.aliyun\.com/vnode=true`

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		CheckDestroy:             testAccCheckVNodeDestroyed(kc, ns, node),
		Steps: []resource.TestStep{
			{
				Config: vnode,
				Check:  testAccStartPodOnVNode(kc, node, pod),
			},
			{
				Config: withData,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "id", node),
					resource.TestCheckResourceAttr(addr, "ready", "true"),
					resource.TestCheckResourceAttr(addr, "status", "Ready"),
					resource.TestMatchResourceAttr(addr, "status_message", regexp.MustCompile(`^\S+: .+`)),
					resource.TestCheckResourceAttr(addr, "labels.tier", "data"),
					resource.TestCheckResourceAttr(addr, "labels."+profile.VNodeLabelKey, profile.VNodeLabelValue),
					resource.TestCheckResourceAttr(addr, "zone_id", zone),
					resource.TestCheckResourceAttr(addr, "region", region),
					testAccCheckResourcesAsOnNode(kc, node, addr),
					resource.TestCheckResourceAttr(addr, "pod_count", "1"),
					resource.TestCheckResourceAttr(addr, "instance_ids.#", "1"),
					testAccCheckInstanceOfPod(kc, region, endpoint, ak, sk, pod, addr),
				),
			},
			{
				Config: withData + fmt.Sprintf(`
data "eci_vnode" "missing" {
  name = "tf-no-such-vnode"
}

data "eci_vnode" "other" {
  name = %q
}
`, other),
				// Terraform reads both; their errors come in either order.
				ExpectError: regexp.MustCompile(`(?s)(` + missing + `.*` + notVNode + `|` + notVNode + `.*` + missing + `)`),
			},
			// Destroy is refused while a pod is bound: the pod goes first.
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
				Config: withData,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "pod_count", "0"),
					resource.TestCheckResourceAttr(addr, "instance_ids.#", "0"),
				),
			},
		},
	})
}

// testAccNodeThatIsNoVNode is the name of a sandbox worker: a Node without
// the VNode label.
func testAccNodeThatIsNoVNode(t *testing.T, kc kubernetes.Interface) string {
	t.Helper()
	nodes, err := kc.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "!" + profile.VNodeLabelKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) == 0 {
		t.Fatal("the sandbox has no Node that is not a VNode")
	}
	return nodes.Items[0].Name
}

// testAccStartPodOnVNode runs a pod on the VNode and waits until it is
// Running; the test deletes it.
func testAccStartPodOnVNode(kc kubernetes.Interface, node, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{corev1.LabelHostname: node},
				Tolerations: []corev1.Toleration{{Key: profile.VNodeTaintKey, Operator: corev1.TolerationOpEqual,
					Value: profile.VNodeTaintValue, Effect: corev1.TaintEffectNoSchedule}},
				Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
			},
		}
		if _, err := kc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
		var last string
		for {
			p, err := kc.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				last = fmt.Sprintf("node %q, phase %s, %s", p.Spec.NodeName, p.Status.Phase, p.Status.Message)
				if p.Spec.NodeName == node && p.Status.Phase == corev1.PodRunning {
					return nil
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("pod %s is not Running on %s: %s", name, node, last)
			case <-time.After(time.Second):
			}
		}
	}
}

// testAccCheckResourcesAsOnNode checks capacity and allocatable against
// the Node's status, entry by entry.
func testAccCheckResourcesAsOnNode(kc kubernetes.Interface, node, addr string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		n, err := kc.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var checks []resource.TestCheckFunc
		for attr, rl := range map[string]corev1.ResourceList{"capacity": n.Status.Capacity, "allocatable": n.Status.Allocatable} {
			if len(rl) == 0 {
				return fmt.Errorf("Node %s has no %s", node, attr)
			}
			checks = append(checks, resource.TestCheckResourceAttr(addr, attr+".%", fmt.Sprint(len(rl))))
			for name, q := range rl {
				checks = append(checks, resource.TestCheckResourceAttr(addr, attr+"."+string(name), q.String()))
			}
		}
		return resource.ComposeAggregateTestCheckFunc(checks...)(s)
	}
}

// testAccCheckInstanceOfPod checks that instance_ids holds the instance the
// runtime annotated the pod with, and that the emulator runs it.
func testAccCheckInstanceOfPod(kc kubernetes.Interface, region, endpoint, ak, sk, pod, addr string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		ctx := context.Background()
		p, err := kc.CoreV1().Pods("default").Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		id := p.Annotations[annotationInstanceID]
		if id == "" {
			return fmt.Errorf("pod %s carries no %s", pod, annotationInstanceID)
		}
		if err := resource.TestCheckResourceAttr(addr, "instance_ids.0", id)(s); err != nil {
			return err
		}
		client, err := eci.New(eci.Config{Region: region, Endpoint: endpoint,
			Credentials: &eci.Credentials{AccessKeyID: ak, AccessKeySecret: sk}})
		if err != nil {
			return err
		}
		defer client.CloseIdleConnections()
		out, err := client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{id}})
		if err != nil {
			return err
		}
		if len(out.ContainerGroups) != 1 || out.ContainerGroups[0].Status != "Running" {
			return fmt.Errorf("the emulator does not run instance %s of pod %s: %+v", id, pod, out.ContainerGroups)
		}
		return nil
	}
}
