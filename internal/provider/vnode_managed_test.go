package provider

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/runtime/resident"
)

// testAccManagedVNodeConfig is a managed VNode in the emulator's first zone.
func testAccManagedVNodeConfig(provider, node, zone, extra string) string {
	return provider + fmt.Sprintf(`
resource "eci_vnode" "test" {
  mode              = "managed"
  name              = %[1]q
  zone_ids          = [%[2]q]
  vswitch_ids       = ["vsw-h-1"]
  security_group_id = "sg-emulator0001"
%[3]s}
`, node, zone, extra)
}

// A managed VNode as a user meets it: created through CreateVirtualNode, its
// resident node joins the sandbox as system:node:<name> and runs a pod; its
// tags change in place; it imports by VNode ID; tags changed in ECI show in
// the plan and are put back; deleted in ECI, it is created again; destroyed,
// it leaves no identity behind.
func TestAccVNodeManaged_lifecycle(t *testing.T) {
	sb := testAccSandbox(t)
	kc := sb.Client()
	e, region, endpoint, ak, sk := testAccManagedEmulator(t)
	const node = "tf-managed"
	const addr = "eci_vnode.test"
	zone := e.Zones()[0].ID
	prov := testAccRuntimeProvider(sb, region, endpoint)
	config := func(tags string) string {
		return testAccManagedVNodeConfig(prov, node, zone, "  tags = "+tags+"\n")
	}
	client := testAccECIClient(t, region, endpoint, ak, sk)
	p := e.Config().Prices
	// The resident node is priced like a 2 vCPU / 8 GiB instance, from the
	// unit prices the emulator is configured with (8 decimals a second).
	quoted := func(perSecond float64) float64 { return math.Round(perSecond*1e8) / 1e8 }
	wantPrice := (2*quoted(p.VCPUPerSecond) + 8*quoted(p.MemoryGiBPerSecond)) * 3600
	var firstID string

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		CheckDestroy:             testAccCheckManagedVNodeDestroyed(kc, client, node),
		Steps: []resource.TestStep{
			{
				Config: config(`{ team = "a" }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("Ready")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("virtual_node_id"), knownvalue.StringRegexp(regexp.MustCompile(`^vnd-`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("hourly_price"), knownvalue.Float64Func(func(v float64) error {
						if math.Abs(v-wantPrice) > 1e-6 {
							return fmt.Errorf("hourly_price %v, want %v", v, wantPrice)
						}
						return nil
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("replicas"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListSizeExact(0)),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPair(addr, "id", addr, "virtual_node_id"),
					testAccCheckRecordAttr(addr, "virtual_node_id", &firstID),
					testAccCheckManagedNodeIdentity(kc, node),
					testAccCheckVirtualNodeTags(client, &firstID, map[string]string{"team": "a"}),
					testAccCheckPodRunsOnManagedVNode(kc, client, node),
				),
			},
			// Tags change in place: the VNode keeps its ID.
			{
				Config: config(`{ team = "b", cost = "c1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr(addr, "virtual_node_id", &firstID),
					testAccCheckVirtualNodeTags(client, &firstID, map[string]string{"team": "b", "cost": "c1"}),
				),
			},
			// Import by VNode ID gives the same state, but for what
			// DescribeVirtualNodes does not return: the zone asked for.
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "zone_ids"},
			},
			// Tags changed in ECI are drift: the plan puts them back.
			{
				PreConfig: func() {
					ctx := context.Background()
					if err := client.TagResources(ctx, &eci.TagResourcesRequest{ResourceType: eci.ResourceTypeVirtualNode,
						ResourceIDs: []string{firstID}, Tags: []eci.Tag{{Key: "team", Value: "console"}, {Key: "extra", Value: "x"}}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(`{ team = "b", cost = "c1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"team": knownvalue.StringExact("b"), "cost": knownvalue.StringExact("c1")})),
				}},
				Check: testAccCheckVirtualNodeTags(client, &firstID, map[string]string{"team": "b", "cost": "c1"}),
			},
			// The identity's token Secret deleted by hand is drift too, and
			// written back with the same token.
			{
				PreConfig: func() {
					name := install.BootstrapTokenSecretName(install.ManagedTokenID(node))
					if err := kc.CoreV1().Secrets("kube-system").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(`{ team = "b", cost = "c1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					expectDriftBefore(addr, "Secret kube-system/"+install.BootstrapTokenSecretName(install.ManagedTokenID(node))+": deleted"),
				}},
				Check: testAccCheckManagedNodeIdentity(kc, node),
			},
			// Deleted in ECI outside Terraform: the next apply creates it
			// again, under a new ID, and its Node registers again.
			{
				PreConfig: func() {
					if err := client.DeleteVirtualNode(context.Background(), &eci.DeleteVirtualNodeRequest{VirtualNodeID: firstID}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(`{ team = "b", cost = "c1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					func(s *terraform.State) error {
						if id := s.RootModule().Resources[addr].Primary.Attributes["virtual_node_id"]; id == firstID || id == "" {
							return fmt.Errorf("virtual_node_id %q after the VNode was deleted in ECI, want a new one (was %s)", id, firstID)
						}
						return nil
					},
					testAccCheckManagedNodeIdentity(kc, node),
				),
			},
			{
				Config: config(`{ team = "b", cost = "c1" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}

// What cannot work is refused: at plan time what the configuration alone
// shows, at apply time what ECI refuses, with its code and what to do, and
// a refused create leaves no identity behind.
func TestAccVNodeManaged_invalid(t *testing.T) {
	sb := testAccSandbox(t)
	kc := sb.Client()
	// No resident node: these VNodes go Ready on the emulator's timer, and
	// one is enough to reach the quota.
	e := emulator.StartForTest(t, emulator.Config{Quotas: emulator.QuotaConfig{MaxVirtualNodes: 1}})
	cr := e.Credentials()[0]
	region, endpoint := e.Region(), "http://"+e.Endpoint()
	zone := e.Zones()[0].ID
	prov := testAccRuntimeProvider(sb, region, endpoint)
	client := testAccECIClient(t, region, endpoint, cr.AccessKeyID, cr.AccessKeySecret)
	const node = "tf-managed-bad"
	step := func(extra, want string) resource.TestStep {
		return resource.TestStep{Config: testAccManagedVNodeConfig(prov, node, zone, extra), ExpectError: regexp.MustCompile(want)}
	}
	planOnly := func(s resource.TestStep) resource.TestStep { s.PlanOnly = true; return s }

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(cr.AccessKeyID, cr.AccessKeySecret)),
		Steps: []resource.TestStep{
			planOnly(step("  replicas = 2\n", `(?s)Not a managed VNode setting.*replicas\s+configures\s+the\s+bundled`)),
			planOnly(step("  runtime = \"eci-vnode\"\n", `(?s)Not a managed VNode setting.*runtime`)),
			planOnly(step("  eci_api_limits = { create_qps = 40 }\n",
				`(?s)Not a managed VNode setting.*eci_api_limits\s+sets\s+the\s+limits.*ECI's\s+own\s+settings`)),
			planOnly(step("  custom_resources = { \"example.com/gpu\" = \"500m\" }\n", `(?s)whole\s+count\s+per\s+resource`)),
			planOnly(step("  resource_group_id = \"group-1\"\n", `(?s)Invalid resource_group_id`)),
			planOnly(resource.TestStep{Config: prov + `
resource "eci_vnode" "test" {
  mode        = "managed"
  name        = "tf-managed-bad"
  vswitch_ids = ["vsw-h-1"]
}
`, ExpectError: regexp.MustCompile(`(?s)Missing security_group_id`)}),
			planOnly(resource.TestStep{Config: prov + `
resource "eci_vnode" "test" {
  name              = "tf-managed-bad"
  vswitch_ids       = ["vsw-h-1"]
  api_server        = "https://10.0.0.1:6443"
}
`, ExpectError: regexp.MustCompile(`(?s)Missing runtime.*Not a bundled VNode setting`)}),
			// ECI does not know the vSwitch.
			{
				Config:      strings.Replace(testAccManagedVNodeConfig(prov, node, zone, ""), `"vsw-h-1"`, `"vsw-nope"`, 1),
				ExpectError: regexp.MustCompile(`(?s)InvalidVSwitchId.NotFound.*Check\s+that\s+the\s+IDs\s+in\s+vswitch_ids`),
			},
			// The account's VNode quota is reached.
			{
				PreConfig: func() {
					if _, err := client.CreateVirtualNode(context.Background(), &eci.CreateVirtualNodeRequest{
						VirtualNodeName: "someone-elses", SecurityGroupID: "sg-emulator0001", VSwitchIDs: []string{"vsw-h-1"},
						KubeConfig: "apiVersion: v1\nkind: Config\n", ClientToken: "quota-filler"}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      testAccManagedVNodeConfig(prov, node, zone, ""),
				ExpectError: regexp.MustCompile(`(?s)QuotaExceed.VirtualNode.*Quota\s+Center`),
				Check:       testAccCheckManagedIdentityGone(kc, node),
			},
		},
	})
	if err := testAccCheckManagedIdentityGone(kc, node)(nil); err != nil {
		t.Error(err)
	}
}

// testAccManagedEmulator is testAccEmulator whose CreateVirtualNode brings
// the VNode's resident node up in this process (runtime/resident), so a
// managed VNode joins the sandbox with the kubeconfig the provider gave it.
func testAccManagedEmulator(t *testing.T) (e *emulator.Emulator, region, endpoint, accessKey, secretKey string) {
	t.Helper()
	e = emulator.StartForTest(t, emulator.Config{ResidentNodes: &resident.Runner{}})
	cr := e.Credentials()[0]
	return e, e.Region(), "http://" + e.Endpoint(), cr.AccessKeyID, cr.AccessKeySecret
}

func testAccECIClient(t *testing.T, region, endpoint, ak, sk string) *eci.Client {
	t.Helper()
	client, err := eci.New(eci.Config{Region: region, Endpoint: endpoint, Credentials: &eci.Credentials{AccessKeyID: ak, AccessKeySecret: sk}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	return client
}

// testAccCheckRecordAttr copies an attribute of addr into *into.
func testAccCheckRecordAttr(addr, attr string, into *string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		r, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		*into = r.Primary.Attributes[attr]
		return nil
	}
}

// testAccCheckVirtualNodeTags checks the tags ECI has on VNode *id.
func testAccCheckVirtualNodeTags(client *eci.Client, id *string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		vn, err := describeVirtualNode(context.Background(), client, *id)
		if err != nil || vn == nil {
			return fmt.Errorf("describe VNode %s: %v (found %v)", *id, err, vn != nil)
		}
		got := map[string]string{}
		for _, tg := range vn.Tags {
			got[tg.Key] = tg.Value
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("VNode %s has tags %v in ECI, want %v", *id, got, want)
		}
		return nil
	}
}

// testAccCheckManagedNodeIdentity checks that the Node is Ready and that
// its resident node became system:node:<name> by TLS bootstrap: a client
// CSR of the kubelet signer for that node, requested with its bootstrap
// token and approved.
func testAccCheckManagedNodeIdentity(kc kubernetes.Interface, node string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		if _, ready, err := nodeStatus(ctx, kc, node); err != nil || !ready {
			return fmt.Errorf("node %s is not Ready (%v)", node, err)
		}
		csrs, err := kc.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		bootstrapUser := install.BootstrapUserPrefix + install.ManagedTokenID(node)
		for _, c := range csrs.Items {
			if c.Spec.Username == bootstrapUser && len(c.Status.Certificate) > 0 {
				return nil
			}
		}
		return fmt.Errorf("no issued CSR was requested by %s", bootstrapUser)
	}
}

// testAccCheckPodRunsOnManagedVNode runs a pod on the VNode and finds its
// instance in ECI, created by the resident node.
func testAccCheckPodRunsOnManagedVNode(kc kubernetes.Interface, client *eci.Client, node string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		stop, err := runPodOnVNode(ctx, kc, node)
		defer stop()
		if err != nil {
			return err
		}
		out, err := client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
			Tags: []eci.Tag{{Key: "eci-vnode/node", Value: node}}})
		if err != nil {
			return err
		}
		for _, g := range out.ContainerGroups {
			if g.Status == "Running" {
				return nil
			}
		}
		return fmt.Errorf("ECI lists no running instance of VNode %s (%d listed)", node, len(out.ContainerGroups))
	}
}

// testAccCheckManagedVNodeDestroyed checks that destroy left nothing: no
// VNode named node in ECI, no Node, no identity objects.
func testAccCheckManagedVNodeDestroyed(kc kubernetes.Interface, client *eci.Client, node string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		vns, err := client.DescribeAllVirtualNodes(context.Background(), &eci.DescribeVirtualNodesRequest{VirtualNodeName: node})
		if err != nil {
			return err
		}
		for _, vn := range vns {
			if vn.Status != eci.VirtualNodeCleaned {
				return fmt.Errorf("ECI still has VNode %s (%s, %s)", vn.VirtualNodeID, node, vn.Status)
			}
		}
		if _, err := kc.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("node %s: %v, want NotFound", node, err)
		}
		return testAccCheckManagedIdentityGone(kc, node)(s)
	}
}

// testAccCheckManagedIdentityGone checks that no token Secret or binding of
// the managed VNode node is left.
func testAccCheckManagedIdentityGone(kc kubernetes.Interface, node string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, o := range install.ManagedIdentityObjects(node, "") {
			var err error
			if o.GetNamespace() != "" {
				_, err = kc.CoreV1().Secrets(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			} else {
				_, err = kc.RbacV1().ClusterRoleBindings().Get(ctx, o.GetName(), metav1.GetOptions{})
			}
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("%s %s/%s is left: %v", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName(), err)
			}
		}
		return nil
	}
}

// A resident node that cannot join the cluster leaves the VNode Failed in
// ECI: the apply says why, from the VNode's events, and the next plan
// replaces the VNode (which fails again, for the same reason).
func TestAccVNodeManaged_failedInECI(t *testing.T) {
	sb := testAccSandbox(t)
	kc := sb.Client()
	e, region, endpoint, ak, sk := testAccManagedEmulator(t)
	client := testAccECIClient(t, region, endpoint, ak, sk)
	const node = "tf-managed-failed"
	const addr = "eci_vnode.test"
	// Nothing listens on port 1: the resident node's first call is refused.
	config := testAccManagedVNodeConfig(testAccRuntimeProvider(sb, region, endpoint), node, e.Zones()[0].ID,
		"  api_server = \"https://127.0.0.1:1\"\n")
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		CheckDestroy:             testAccCheckManagedVNodeDestroyed(kc, client, node),
		Steps: []resource.TestStep{
			{
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)not\s+Ready\s+in\s+ECI.*as\s+Failed:\s+ResidentNodeFailed`),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ExpectError: regexp.MustCompile(`(?s)as\s+Failed:\s+ResidentNodeFailed`),
			},
		},
	})
}
