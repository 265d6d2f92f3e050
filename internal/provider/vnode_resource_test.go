package provider

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
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
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// testAccVNodeResourceConfig is a runtime and one VNode on it; vnode is the
// body of the eci_vnode block after runtime and name.
func testAccVNodeResourceConfig(provider, namespace, node, vnode string) string {
	return testAccRuntimeResourceConfig(provider, namespace, "sandbox", "info") + fmt.Sprintf(`
resource "eci_vnode" "test" {
  runtime = eci_runtime.test.id
  name    = %[1]q
%[2]s
}
`, node, vnode)
}

// The whole life of a VNode: created and Ready, imported, updated in place,
// replaced, recreated after its Deployment is deleted, destroyed; and a pod
// scheduled onto it runs as an ECI instance.
func TestAccVNodeResource_lifecycle(t *testing.T) {
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()
	sb := testAccSandbox(t)
	kc := sb.Client()
	emu, region, endpoint, ak, sk := testAccEmulator(t)
	const ns = "tf-vnode-lifecycle"
	const node = "tf-vnode-lifecycle"
	const addr = "eci_vnode.test"
	prov := testAccRuntimeProvider(sb, region, endpoint)
	ctx := context.Background()
	zone := region + "-h"

	first := fmt.Sprintf(`
  zone_ids    = [%q]
  vswitch_ids = ["vsw-h-1"]
  cpu         = "16"
  labels      = { tier = "one" }
  tags        = { team = "a" }
`, zone)
	second := fmt.Sprintf(`
  zone_ids    = [%q]
  vswitch_ids = ["vsw-h-1"]
  cpu         = "32"
  labels      = { tier = "two" }
  tags        = { team = "b", cost = "c1" }
  taints = [
    { key = "k8s.aliyun.com/vnode", value = "true", effect = "NoSchedule" },
    { key = "dedicated", value = "ci", effect = "NoSchedule" },
  ]
  spot_strategy          = "SpotAsPriceGo"
  auto_match_image_cache = true
  log_format             = "json"
  cluster_ip_access      = false
  kube_proxy_image       = "mirror.example.com/kube-proxy:v1.37.2"
  cost_tag_keys          = ["team", "cost-center"]
  eci_api_limits         = { create_qps = 30, create_burst = 150, create_per_minute = 2000, read_share = 0.25 }
`, zone)
	third := fmt.Sprintf(`
  zone_ids    = [%q]
  vswitch_ids = ["vsw-h-2", "vsw-h-1"]
  cpu         = "32"
  labels      = { tier = "two" }
  tags        = { team = "b", cost = "c1" }
  taints = [
    { key = "k8s.aliyun.com/vnode", value = "true", effect = "NoSchedule" },
    { key = "dedicated", value = "ci", effect = "NoSchedule" },
  ]
  spot_strategy          = "SpotAsPriceGo"
  auto_match_image_cache = true
  log_format             = "json"
  cluster_ip_access      = false
  kube_proxy_image       = "mirror.example.com/kube-proxy:v1.37.2"
  cost_tag_keys          = ["team", "cost-center"]
  eci_api_limits         = { create_qps = 30, create_burst = 150, create_per_minute = 2000, read_share = 0.25 }
`, zone)

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		CheckDestroy:             testAccCheckVNodeDestroyed(kc, ns, node),
		Steps: []resource.TestStep{
			// A zone of another region is refused once the runtime's region
			// is known, before anything is installed.
			{
				Config:      testAccVNodeResourceConfig(prov, ns, node, `  zone_ids = ["xx-elsewhere-1a"]`+"\n"+`  vswitch_ids = ["vsw-h-1"]`),
				ExpectError: regexp.MustCompile(`(?s)Invalid zone_ids.*Zone xx-elsewhere-1a is not in region ` + region),
			},
			{
				Config: testAccVNodeResourceConfig(prov, ns, node, first),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(node)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Ready")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("image"), knownvalue.StringExact(install.ImageRepository+":test")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"team": knownvalue.StringExact("a")})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("taints"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{"key": knownvalue.StringExact(profile.VNodeTaintKey),
							"value": knownvalue.StringExact(profile.VNodeTaintValue), "effect": knownvalue.StringExact("NoSchedule")}),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckNodeLabel(kc, node, "tier", "one"),
					testAccCheckPodRunsOnVNode(t, kc, emu, region, endpoint, ak, sk, node),
				),
			},
			{ResourceName: addr, ImportState: true, ImportStateId: node, ImportStateVerify: true},
			{
				Config: testAccVNodeResourceConfig(prov, ns, node, second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					expectDriftBefore(addr),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckNodeLabel(kc, node, "tier", "two"),
					testAccCheckNodeCapacity(kc, node, corev1.ResourceCPU, "32"),
					testAccCheckNodeTaints(kc, node, "k8s.aliyun.com/vnode=true:NoSchedule", "dedicated=ci:NoSchedule"),
					testAccCheckDeploymentArgs(kc, ns, node, "--spot-strategy=SpotAsPriceGo", "--auto-match-image-cache=true", "--log-format=json",
						"--cluster-ip-access=false", "--kube-proxy-image=mirror.example.com/kube-proxy:v1.37.2", "--cost-tag-keys=team,cost-center",
						"--eci-create-qps=30", "--eci-create-burst=150", "--eci-create-per-minute=2000", "--eci-read-share=0.25"),
				),
			},
			// Drift: an edited Deployment (a label flag, a limit, the image) is
			// put back.
			{
				PreConfig: func() {
					d, err := kc.AppsV1().Deployments(ns).Get(ctx, vnodeDeploymentName(node), metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					c := &d.Spec.Template.Spec.Containers[0]
					for i, a := range c.Args {
						if strings.HasPrefix(a, "--node-labels=") {
							c.Args[i] = "--node-labels=tier=edited"
						}
						if strings.HasPrefix(a, "--eci-create-qps=") {
							c.Args[i] = "--eci-create-qps=99"
						}
					}
					c.Image = install.ImageRepository + ":edited"
					if _, err := kc.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccVNodeResourceConfig(prov, ns, node, second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("labels").AtMapKey("tier"), knownvalue.StringExact("two")),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("eci_api_limits").AtMapKey("create_qps"), knownvalue.Float64Exact(30)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("image"), knownvalue.StringExact(install.ImageRepository+":test")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckNodeLabel(kc, node, "tier", "two"),
					testAccCheckDeploymentImage(kc, ns, node, install.ImageRepository+":test"),
					testAccCheckDeploymentArgs(kc, ns, node, "--eci-create-qps=30"),
				),
			},
			// Drift of the image alone: Read records the runtime's image, and
			// the plan updates the VNode to it.
			{
				PreConfig: func() {
					d, err := kc.AppsV1().Deployments(ns).Get(ctx, vnodeDeploymentName(node), metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					d.Spec.Template.Spec.Containers[0].Image = install.ImageRepository + ":edited"
					if _, err := kc.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccVNodeResourceConfig(prov, ns, node, second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("image"), knownvalue.StringExact(install.ImageRepository+":test")),
				}},
				Check: testAccCheckDeploymentImage(kc, ns, node, install.ImageRepository+":test"),
			},
			// Drift on the Node: a label and a taint removed by hand are
			// written back; a taint someone else added stays. The
			// Deployment was not touched, so no object is reported drifted.
			{
				PreConfig: func() {
					n, err := kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					delete(n.Labels, "tier")
					var taints []corev1.Taint
					for _, tn := range n.Spec.Taints {
						if tn.Key != "dedicated" {
							taints = append(taints, tn)
						}
					}
					n.Spec.Taints = append(taints, corev1.Taint{Key: "someone-else", Effect: corev1.TaintEffectPreferNoSchedule})
					if _, err := kc.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccVNodeResourceConfig(prov, ns, node, second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					expectDriftBefore(addr),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckNodeLabel(kc, node, "tier", "two"),
					testAccCheckNodeTaints(kc, node, "k8s.aliyun.com/vnode=true:NoSchedule", "someone-else:PreferNoSchedule", "dedicated=ci:NoSchedule"),
				),
			},
			// Drift of the VNode's other objects: its RBAC, deleted by hand,
			// plans an update that applies it again.
			{
				PreConfig: func() {
					if err := kc.RbacV1().ClusterRoleBindings().Delete(ctx, "eci-vnode:node:"+node, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccVNodeResourceConfig(prov, ns, node, second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListSizeExact(0)),
				}},
				Check: func(*terraform.State) error {
					_, err := kc.RbacV1().ClusterRoleBindings().Get(ctx, "eci-vnode:node:"+node, metav1.GetOptions{})
					return err
				},
			},
			// Read fails when the VNode's Deployment cannot be read (here:
			// forbidden) and keeps the VNode in state: the plan after it,
			// with a user who may, has nothing to do.
			{
				Config:      testAccVNodeResourceConfig(testAccProviderWithoutVNodeDeployments(t, sb, region, endpoint), ns, node, second),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Cannot read the VNode.*forbidden`),
			},
			{
				Config: testAccVNodeResourceConfig(prov, ns, node, second),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
			{
				Config: testAccVNodeResourceConfig(prov, ns, node, third),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionReplace),
				}},
				Check: testAccCheckNodeLabel(kc, node, "tier", "two"),
			},
			{
				PreConfig: func() {
					if err := kc.AppsV1().Deployments(ns).Delete(ctx, vnodeDeploymentName(node), metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccVNodeResourceConfig(prov, ns, node, third),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
			},
			// Destroy is refused while a pod is bound to the VNode: its
			// instance would outlive the runtime that deletes it.
			{
				PreConfig: func() {
					pod := &corev1.Pod{
						ObjectMeta: metav1.ObjectMeta{Name: "bound-" + node, Namespace: "default"},
						Spec: corev1.PodSpec{
							NodeName:   node,
							Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
						},
					}
					if _, err := kc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      testAccRuntimeResourceConfig(prov, ns, "sandbox", "info"),
				ExpectError: regexp.MustCompile(`(?s)still runs pods.*1 pod is bound to Node ` + node + ` \(default/bound-` + node + `\).*kubectl drain`),
			},
			{
				PreConfig: func() {
					// Not forced: the runtime deletes the instance, then the pod.
					if err := kc.CoreV1().Pods("default").Delete(ctx, "bound-"+node, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					if err := waitGone(ctx, time.Minute, "pod", func(ctx context.Context) error {
						_, err := kc.CoreV1().Pods("default").Get(ctx, "bound-"+node, metav1.GetOptions{})
						return err
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "info"),
			},
		},
	})
}

// Bad settings stop the plan, each with what is wrong.
func TestAccVNodeResource_invalid(t *testing.T) {
	t.Parallel()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	prov := fmt.Sprintf(`
provider "eci" {
  region       = %[1]q
  endpoint     = %[2]q
  access_key   = %[3]q
  secret_key   = %[4]q
  default_tags = { owner = "infra" }
}
`, region, endpoint, ak, sk)
	vnode := func(body string) string {
		return prov + `
resource "eci_vnode" "x" {
  runtime = "eci-vnode-system"
  name    = "vn"
` + body + `
}
`
	}
	var many []string
	for i := 0; i < 15; i++ {
		many = append(many, fmt.Sprintf("k%02d = \"v\"", i))
	}
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{
			{
				Config:      vnode(`vswitch_ids = ["vswitch-1"]`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid vswitch_ids.*"vswitch-1" is not a vSwitch ID`),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  tags = {\n    " + strings.Join(many, "\n    ") + "\n  }"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Too many tags.*would carry 21 tags.*at most 20:\s+5\s+owned.*16\s+from\s+tags`),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  tags = { aliyun-team = \"x\" }"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid tags.*starts with aliyun`),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  memory = \"lots\""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid memory.*"lots" is not a Kubernetes quantity`),
			},
			// Values unknown at plan (another resource's) are checked at apply.
			{
				Config: prov + `
resource "terraform_data" "net" {
  input = "vsw-h-1"
}

resource "eci_vnode" "x" {
  runtime     = "eci-vnode-system"
  name        = "vn"
  vswitch_ids = [terraform_data.net.output]
  labels      = {}
  tags        = { net = terraform_data.net.output }
}
`,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  cost_tag_keys = [\"team\", \"team\"]"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid cost_tag_keys.*tag key "team" is given twice`),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  taints = [{ key = \"dedicated\", effect = \"NoWay\" }]"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid taints.*NoWay`),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  zone_ids = [\"Hangzhou H\"]"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid zone_ids.*"Hangzhou H" is not a zone ID`),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  spot_price_limit = \"0.5\""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid spot_price_limit.*SpotWithPriceLimit`),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  security_group_id = \"group-1\""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid security_group_id.*not a security group ID`),
			},
			// Each limit out of range, at once; zero is no way to ask for the
			// runtime's default (leaving the attribute out is).
			{
				Config:   vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  eci_api_limits = { create_qps = 0, create_burst = 0, create_per_minute = 0, read_share = 1.5 }"),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(spaced(`(?s)Invalid eci_api_limits.create_qps.*create_qps = 0: give the CreateContainerGroup.*above 0.*` +
					`Invalid eci_api_limits.create_burst.*create_burst = 0: give.*from 1 to.*` +
					`Invalid eci_api_limits.create_per_minute.*create_per_minute = 0: give.*in any minute.*` +
					`Invalid eci_api_limits.read_share.*read_share = 1.5: give a share.*above 0 and at most 1`)),
			},
			{
				Config:      vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  eci_api_limits = { create_qps = -2.5 }"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(spaced(`(?s)Invalid eci_api_limits.create_qps.*create_qps = -2.5`)),
			},
			// Valid limits, and `{}`, plan.
			{
				Config:             vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  eci_api_limits = { create_qps = 40, create_burst = 200, read_share = 1 }"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config:             vnode(`vswitch_ids = ["vsw-h-1"]` + "\n  eci_api_limits = {}"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// A VNode whose runtime is not installed fails with what to do.
func TestAccVNodeResource_runtimeNotInstalled(t *testing.T) {
	t.Parallel()
	sb := testAccSandbox(t)
	_, region, endpoint, ak, sk := testAccEmulator(t)
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		Steps: []resource.TestStep{{
			Config: testAccRuntimeProvider(sb, region, endpoint) + `
resource "eci_vnode" "x" {
  runtime     = "tf-no-runtime"
  name        = "tf-vnode-orphan"
  vswitch_ids = ["vsw-h-1"]
}
`,
			ExpectError: regexp.MustCompile(`(?s)eci_runtime tf-no-runtime is not installed`),
		}},
	})
}

// spaced lets each space of a pattern match any run of white space, such as
// where Terraform wraps a diagnostic's detail.
func spaced(pattern string) string { return strings.ReplaceAll(pattern, " ", `\s+`) }

func TestVNodeFlagsReadBackAsWritten(t *testing.T) {
	args := []string{"node", "--zones=a,b", "--tags=a=1,b=2", "--cluster-domain=cluster.local"}
	if got := listFlag(args, "zones"); len(got) != 2 || got[1] != "b" {
		t.Errorf("zones %q", got)
	}
	if got := mapFlag(args, "tags"); len(got) != 2 || got["b"] != "2" {
		t.Errorf("tags %v", got)
	}
	if got := optionalFlag(args, "cluster-domain"); got.ValueString() != "cluster.local" {
		t.Errorf("cluster-domain %v", got)
	}
	if got := optionalFlag(args, "security-group-id"); !got.IsNull() {
		t.Errorf("security-group-id %v, want null", got)
	}
}

// testAccCheckVNodeDestroyed asks the cluster whether the VNode's Deployment
// and Node are gone.
func testAccCheckVNodeDestroyed(kc kubernetes.Interface, ns, node string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		if _, err := kc.AppsV1().Deployments(ns).Get(ctx, vnodeDeploymentName(node), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Deployment %s/%s after destroy: %v", ns, vnodeDeploymentName(node), err)
		}
		if _, err := kc.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Node %s after destroy: %v", node, err)
		}
		return nil
	}
}

func testAccCheckDeploymentImage(kc kubernetes.Interface, ns, node, image string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := kc.AppsV1().Deployments(ns).Get(context.Background(), vnodeDeploymentName(node), metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
			return fmt.Errorf("Deployment %s/%s runs %s, want %s", ns, d.Name, got, image)
		}
		return nil
	}
}

// testAccProviderWithoutVNodeDeployments is a provider that signs in to the
// sandbox as a service account allowed everything an eci_runtime's Read
// does but reading Deployments other than the webhook's and the approver's: a VNode's Read
// then fails with Forbidden, an error that is not NotFound.
func testAccProviderWithoutVNodeDeployments(t *testing.T, sb *sandbox.Sandbox, region, endpoint string) string {
	t.Helper()
	ctx := context.Background()
	kc := sb.Client()
	const name = "tf-no-vnode-deployments"
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	if _, err := kc.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	all := []string{"*"}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"", "rbac.authorization.k8s.io", "admissionregistration.k8s.io", "coordination.k8s.io"}, Resources: all, Verbs: all},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{install.WebhookName, install.ApproverName}, Verbs: all},
	}}
	if _, err := kc.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "default"}}}
	if _, err := kc.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tok, err := kc.CoreV1().ServiceAccounts("default").CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc := sb.RESTConfig()
	ca := rc.TLSClientConfig.CAData
	if len(ca) == 0 {
		if ca, err = os.ReadFile(rc.TLSClientConfig.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf(`
provider "eci" {
  region   = %[1]q
  endpoint = %[2]q
  kubernetes {
    host                   = %[3]q
    cluster_ca_certificate = %[4]q
    token                  = %[5]q
  }
}
`, region, endpoint, sb.Server(), string(ca), tok.Status.Token)
}

// testAccCheckNodeTaints checks that the Node carries exactly these taints
// (key[=value]:effect), in any order; the runtime's eci-api-unreachable
// taint, should ECI blink, is not counted.
func testAccCheckNodeTaints(kc kubernetes.Interface, node string, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		n, err := kc.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var got []string
		for _, tn := range n.Spec.Taints {
			if tn.Key == "eci-vnode.io/eci-api-unreachable" {
				continue
			}
			s := tn.Key
			if tn.Value != "" {
				s += "=" + tn.Value
			}
			got = append(got, s+":"+string(tn.Effect))
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			return fmt.Errorf("Node %s taints %q, want %q", node, got, want)
		}
		return nil
	}
}

// testAccCheckDeploymentArgs checks that the VNode's runtime runs with args.
func testAccCheckDeploymentArgs(kc kubernetes.Interface, ns, node string, args ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := kc.AppsV1().Deployments(ns).Get(context.Background(), vnodeDeploymentName(node), metav1.GetOptions{})
		if err != nil {
			return err
		}
		have := d.Spec.Template.Spec.Containers[0].Args
		for _, a := range args {
			if !slices.Contains(have, a) {
				return fmt.Errorf("Deployment %s/%s args %q lack %s", ns, d.Name, have, a)
			}
		}
		return nil
	}
}

func testAccCheckNodeLabel(kc kubernetes.Interface, node, key, value string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		n, err := kc.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := n.Labels[key]; got != value {
			return fmt.Errorf("Node %s label %s=%q, want %q", node, key, got, value)
		}
		return nil
	}
}

func testAccCheckNodeCapacity(kc kubernetes.Interface, node string, name corev1.ResourceName, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		n, err := kc.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		q, ok := n.Status.Capacity[name]
		if !ok || q.Cmp(k8sresource.MustParse(want)) != 0 {
			return fmt.Errorf("Node %s capacity %s=%s, want %s", node, name, q.String(), want)
		}
		return nil
	}
}

// testAccCheckPodRunsOnVNode schedules a pod onto the VNode and waits until
// it runs and the emulator lists its instance; then deletes it.
func testAccCheckPodRunsOnVNode(t *testing.T, kc kubernetes.Interface, emu *emulator.Emulator, region, endpoint, ak, sk, node string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		stop, err := runPodOnVNode(ctx, kc, node)
		defer stop()
		if err != nil {
			return err
		}
		client, err := eci.New(eci.Config{Region: region, Endpoint: endpoint,
			Credentials: &eci.Credentials{AccessKeyID: ak, AccessKeySecret: sk}})
		if err != nil {
			return err
		}
		out, err := client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
			Tags: []eci.Tag{{Key: "eci-vnode/node", Value: node}}})
		if err != nil {
			return err
		}
		for _, g := range out.ContainerGroups {
			if g.Status != "Running" {
				continue
			}
			// cluster_ip_access is on by default: the instance runs the
			// upstream kube-proxy of the API server's version beside the app.
			for _, c := range g.Containers {
				if c.Name == translate.KubeProxyContainer {
					if want := "registry.k8s.io/kube-proxy:" + sandbox.KubernetesVersion; c.Image != want {
						return fmt.Errorf("instance %s runs kube-proxy %q, want %q", g.ContainerGroupID, c.Image, want)
					}
					return nil
				}
			}
			return fmt.Errorf("instance %s of VNode %s has no %s container: %+v", g.ContainerGroupID, node, translate.KubeProxyContainer, g.Containers)
		}
		return fmt.Errorf("the emulator lists no running instance of VNode %s (%d listed)", node, len(out.ContainerGroups))
	}
}

func TestTagsReadBackWithoutTheDefaults(t *testing.T) {
	d := newProviderData("test", config{tags: map[string]string{"owner": "infra"}, tagsKnown: true}, func(string) string { return "" })
	live := map[string]string{"owner": "infra", "team": "a"}
	if got := ownTags(live, map[string]string{"team": "a"}, d); len(got) != 1 || got["team"] != "a" {
		t.Errorf("state agrees: tags %v, want team=a", got)
	}
	if got := ownTags(live, nil, d); len(got) != 1 || got["team"] != "a" {
		t.Errorf("imported: tags %v, want team=a", got)
	}
	if got := ownTags(map[string]string{"owner": "infra"}, nil, d); got != nil {
		t.Errorf("only defaults: tags %v, want none", got)
	}
}

func TestTagRulesAreECIs(t *testing.T) {
	for k, want := range map[string]string{
		"team":                   "",
		"aliyun-x":               "starts with aliyun or acs:",
		"acs:x":                  "starts with aliyun or acs:",
		"eci-vnode/x":            "reserves",
		strings.Repeat("k", 65):  "ECI allows at most 64",
		"https://example.com/id": "http:// or https://",
	} {
		got := checkTag(k, "v")
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("checkTag(%q) = %q, want %q", k, got, want)
		}
	}
	if got := checkTag("team", strings.Repeat("v", 129)); !strings.Contains(got, "at most 128") {
		t.Errorf("long value: %q", got)
	}
}

func TestNodeLabelsEditedByHandAreDrift(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
		"tier": "edited", "type": "virtual-kubelet", "team": "a",
	}}}
	state := map[string]string{"tier": "two", "team": "a", "zone": "h"}
	args := map[string]string{"tier": "two", "team": "a", "zone": "h"}
	got := labelsRead(args, state, node)
	want := map[string]string{"tier": "edited", "team": "a"} // zone removed from the Node; type is not ours
	if !maps.Equal(got, want) {
		t.Errorf("labels read %v, want %v", got, want)
	}
	// An edited Deployment argument is drift too, whatever the Node says.
	args["tier"] = "from-deployment"
	if got := labelsRead(args, state, node); got["tier"] != "from-deployment" {
		t.Errorf("labels read %v, want the Deployment's tier", got)
	}
	// Before the Node registers, the arguments are all there is.
	if got := labelsRead(args, state, nil); !maps.Equal(got, args) {
		t.Errorf("labels read without a Node %v, want %v", got, args)
	}
}

// runPodOnVNode creates a pod bound to the VNode by its hostname label and
// waits until it runs; stop deletes it and waits for it to go.
func runPodOnVNode(ctx context.Context, kc kubernetes.Interface, node string) (stop func(), err error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "on-" + node, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{corev1.LabelHostname: node},
			Tolerations: []corev1.Toleration{{Key: profile.VNodeTaintKey, Operator: corev1.TolerationOpEqual,
				Value: profile.VNodeLabelValue, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
		},
	}
	stop = func() {}
	if _, err := kc.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return stop, err
	}
	stop = func() {
		zero := int64(0)
		_ = kc.CoreV1().Pods("default").Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		_ = waitGone(context.Background(), time.Minute, "pod", func(ctx context.Context) error {
			_, err := kc.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
			return err
		})
	}
	var last string
	for {
		p, err := kc.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil {
			last = fmt.Sprintf("node %q, phase %s, %s", p.Spec.NodeName, p.Status.Phase, p.Status.Message)
			if p.Spec.NodeName == node && p.Status.Phase == corev1.PodRunning {
				return stop, nil
			}
		}
		select {
		case <-ctx.Done():
			return stop, fmt.Errorf("pod %s is not Running on %s: %s", pod.Name, node, last)
		case <-time.After(time.Second):
		}
	}
}
