package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// clusterRuntime serialises the tests that install a runtime in the shared
// sandbox: the webhook's ClusterRole and configurations are the cluster's,
// one of each, whatever the namespace.
var clusterRuntime sync.Mutex

// testAccRuntimeProvider is a provider block reaching the test's emulator and
// the shared sandbox. The credentials come from the provider's environment
// (testAccCredentialsEnv), so that the configuration, which the harness logs,
// holds no key, and a key in Terraform's log is a leak.
func testAccRuntimeProvider(sb *sandbox.Sandbox, region, endpoint string) string {
	return fmt.Sprintf(`
provider "eci" {
  region     = %[1]q
  endpoint   = %[2]q
  kubernetes {
    config_path = %[3]q
  }
}
`, region, endpoint, sb.Kubeconfig())
}

func testAccCredentialsEnv(ak, sk string) map[string]string {
	return map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": ak, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sk}
}

// testAccRuntimeResourceConfig is a runtime the sandbox can run: credentials
// as environment variables (its workers mount no volumes) and the webhook
// called at its pod's IP (its API server reaches no Service).
func testAccRuntimeResourceConfig(provider, namespace, cluster, logLevel string) string {
	return testAccRuntimeResourceConfigWith(provider, namespace, cluster, logLevel, "")
}

// testAccRuntimeResourceConfigWith is testAccRuntimeResourceConfig with more
// HCL inside the resource (a timeouts block).
func testAccRuntimeResourceConfigWith(provider, namespace, cluster, logLevel, extra string) string {
	return provider + fmt.Sprintf(`
resource "eci_runtime" "test" {
  namespace          = %[1]q
  cluster_name       = %[2]q
  credentials_as     = "env"
  webhook_direct_url = true
  log_level          = %[3]q
%[4]s
}
`, namespace, cluster, logLevel, extra)
}

// webhookClusterRoleName is the webhook's ClusterRole and ClusterRoleBinding
// (docs/install.md, "What is installed").
const webhookClusterRoleName = "eci-vnode:profile-webhook"

// expectDriftBefore checks that the plan starts from a state whose
// drifted_objects holds want (what Read found) and plans it empty.
func expectDriftBefore(addr string, want ...string) plancheck.PlanCheck {
	return driftBeforeCheck{addr: addr, want: want}
}

type driftBeforeCheck struct {
	addr string
	want []string
}

func (c driftBeforeCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		got := fmt.Sprint(before["drifted_objects"])
		if fmt.Sprint(toAny(c.want)) != got {
			resp.Error = fmt.Errorf("%s: drifted_objects before the plan %s, want %q", c.addr, got, c.want)
		}
		return
	}
	resp.Error = fmt.Errorf("%s is not in the plan", c.addr)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestAccRuntimeResource_lifecycle(t *testing.T) {
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()
	sb := testAccSandbox(t)
	kc := sb.Client()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	logPath := filepath.Join(t.TempDir(), "terraform.log")
	t.Setenv("TF_ACC_LOG_PATH", logPath)
	const ns = "tf-runtime-lifecycle"
	const addr = "eci_runtime.test"
	prov := testAccRuntimeProvider(sb, region, endpoint)
	ctx := context.Background()

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		CheckDestroy:             testAccCheckRuntimeDestroyed(kc, ns),
		Steps: []resource.TestStep{
			// Create: the webhook runs, the settings are recorded, the key is not in state.
			{
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "info"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListSizeExact(0)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(ns)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("image"), knownvalue.StringExact(install.ImageRepository+":test")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("region"), knownvalue.StringExact(region)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("credentials_sha256"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckNoSecretInState(sk),
					func(*terraform.State) error {
						cm, err := kc.CoreV1().ConfigMaps(ns).Get(ctx, install.RuntimeConfigMapName, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if cm.Data[install.ConfigKeyClusterName] != "sandbox" || cm.Data[install.ConfigKeyCredentialsSecret] != install.CredentialsSecretName {
							return fmt.Errorf("runtime ConfigMap %v", cm.Data)
						}
						s, err := kc.CoreV1().Secrets(ns).Get(ctx, install.CredentialsSecretName, metav1.GetOptions{})
						if err != nil {
							return err
						}
						if string(s.Data["access-key-secret"]) != sk {
							return fmt.Errorf("the credentials Secret does not hold the provider's key")
						}
						return nil
					},
				),
			},
			// Import by namespace: Read fills in every attribute.
			{ResourceName: addr, ImportState: true, ImportStateId: ns, ImportStateVerify: true},
			// Update in place.
			{
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: testAccCheckWebhookArg(kc, ns, "--log-level=debug"),
			},
			// An update that cannot wait long enough says which timeout to raise;
			// what it applied stays in state.
			{
				Config:      testAccRuntimeResourceConfigWith(prov, ns, "sandbox", "warn", `  timeouts { update = "1ms" }`),
				ExpectError: regexp.MustCompile(`(?s)not ready.*raise\s+timeouts\.update`),
			},
			{
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("log_level"), knownvalue.StringExact("debug")),
				}},
				Check: testAccCheckWebhookArg(kc, ns, "--log-level=debug"),
			},
			// Drift: a deleted ClusterRole is listed, planned away and applied again.
			{
				PreConfig: func() {
					if err := kc.RbacV1().ClusterRoles().Delete(ctx, webhookClusterRoleName, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					expectDriftBefore(addr, "ClusterRole "+webhookClusterRoleName+": deleted"),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListSizeExact(0)),
				}},
				Check: func(*terraform.State) error {
					_, err := kc.RbacV1().ClusterRoles().Get(ctx, webhookClusterRoleName, metav1.GetOptions{})
					return err
				},
			},
			// Drift: an edited ClusterRoleBinding and a deleted Service, at once.
			{
				PreConfig: func() {
					b, err := kc.RbacV1().ClusterRoleBindings().Get(ctx, webhookClusterRoleName, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					b.Subjects[0].Name = "someone-else"
					if _, err := kc.RbacV1().ClusterRoleBindings().Update(ctx, b, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
					if err := kc.CoreV1().Services(ns).Delete(ctx, install.WebhookName, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					expectDriftBefore(addr,
						"ClusterRoleBinding "+webhookClusterRoleName+": edited",
						"Service "+ns+"/"+install.WebhookName+": deleted"),
				}},
				Check: func(*terraform.State) error {
					b, err := kc.RbacV1().ClusterRoleBindings().Get(ctx, webhookClusterRoleName, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if len(b.Subjects) != 1 || b.Subjects[0].Name != install.WebhookName {
						return fmt.Errorf("ClusterRoleBinding subjects %+v", b.Subjects)
					}
					_, err = kc.CoreV1().Services(ns).Get(ctx, install.WebhookName, metav1.GetOptions{})
					return err
				},
			},
			// Drift: the webhook's own configuration, edited; the webhook writes it anew.
			{
				PreConfig: func() {
					c, err := kc.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, install.WebhookConfigurationName, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					fail := admissionregistrationv1.Fail
					for i := range c.Webhooks {
						c.Webhooks[i].FailurePolicy = &fail
					}
					if _, err := kc.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, c, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					expectDriftBefore(addr, "MutatingWebhookConfiguration "+install.WebhookConfigurationName+": edited"),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListSizeExact(0)),
				}},
				Check: func(*terraform.State) error {
					c, err := kc.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, install.WebhookConfigurationName, metav1.GetOptions{})
					if err != nil {
						return err
					}
					for _, w := range c.Webhooks {
						if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore {
							return fmt.Errorf("webhook %s: failurePolicy %v, want Ignore", w.Name, w.FailurePolicy)
						}
					}
					return nil
				},
			},
			// Drift: an out-of-band edit of the webhook's arguments is undone.
			{
				PreConfig: func() {
					patchWebhookArgs(t, kc, ns, func(args []string) []string {
						for i, a := range args {
							if strings.HasPrefix(a, "--log-level=") {
								args[i] = "--log-level=error"
							}
						}
						return args
					})
				},
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("log_level"), knownvalue.StringExact("debug")),
				}},
				Check: testAccCheckWebhookArg(kc, ns, "--log-level=debug"),
			},
			// Drift: an edited credentials Secret is written again.
			{
				PreConfig: func() {
					s, err := kc.CoreV1().Secrets(ns).Get(ctx, install.CredentialsSecretName, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					s.Data["access-key-secret"] = []byte("edited")
					if _, err := kc.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
			},
			// Drift: a deleted webhook Deployment plans a new runtime.
			{
				PreConfig: func() {
					if err := kc.AppsV1().Deployments(ns).Delete(ctx, install.WebhookName, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
				}},
			},
			// Replace: the cluster name tags every instance.
			{
				Config: testAccRuntimeResourceConfig(prov, ns, "sandbox-2", "debug"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionReplace),
				}},
			},
			// Destroy is refused while a VNode runs in the namespace.
			{
				PreConfig:   func() { createFakeVNodeDeployment(t, kc, ns, "vnode-busy") },
				Config:      prov,
				ExpectError: regexp.MustCompile(`(?s)still in use.*vnode-busy`),
			},
			{
				PreConfig: func() {
					if err := kc.AppsV1().Deployments(ns).Delete(ctx, "eci-vnode-vnode-busy", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: prov,
			},
		},
	})
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("Terraform's log: %v", err)
	}
	if len(b) == 0 {
		t.Errorf("Terraform's log %s is empty", logPath)
	}
	for i, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, sk) {
			line = strings.ReplaceAll(line, sk, "<SECRET>")
			t.Errorf("Terraform's log, line %d, holds the secret key: %.400s", i+1, line)
		}
	}
}

// With credentials_secret, the key never passes through Terraform.
func TestAccRuntimeResource_credentialsSecret(t *testing.T) {
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()
	sb := testAccSandbox(t)
	kc := sb.Client()
	_, region, endpoint, _, _ := testAccEmulator(t)
	const ns = "tf-runtime-secret"
	ctx := context.Background()
	_, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kc.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	// The provider has no credentials at all.
	prov := fmt.Sprintf(`
provider "eci" {
  region   = %[1]q
  endpoint = %[2]q
  kubernetes {
    config_path = %[3]q
  }
}
`, region, endpoint, sb.Kubeconfig())
	config := prov + fmt.Sprintf(`
resource "eci_runtime" "test" {
  namespace          = %[1]q
  create_namespace   = false
  cluster_name       = "sandbox"
  credentials_secret = "aliyun"
  credentials_as     = "env"
  webhook_direct_url = true
  webhook_resources = {
    requests = { cpu = "20m" }
  }
}
`, ns)
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		CheckDestroy:             testAccCheckRuntimeDestroyed(kc, ns),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("eci_runtime.test", tfjsonpath.New("credentials_sha256"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					if _, err := kc.CoreV1().Secrets(ns).Get(ctx, install.CredentialsSecretName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						return fmt.Errorf("a credentials Secret was written (err %v)", err)
					}
					return nil
				},
			},
			{ResourceName: "eci_runtime.test", ImportState: true, ImportStateId: ns, ImportStateVerify: true},
		},
	})
	if _, err := kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Errorf("destroy removed the namespace it did not create: %v", err)
	}
}

// Bad settings stop the plan, each on its attribute.
func TestAccRuntimeResource_invalid(t *testing.T) {
	t.Parallel()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	prov := fmt.Sprintf(`
provider "eci" {
  region     = %[1]q
  endpoint   = %[2]q
  access_key = %[3]q
  secret_key = %[4]q
}
`, region, endpoint, ak, sk)
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{
			{
				Config: prov + `
resource "eci_runtime" "x" {
  cluster_name = "c"
  namespace    = "Not_A_Label"
  log_level    = "loud"
  log_format   = "yaml"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid namespace.*Invalid log_level.*"loud" is not a log level.*Invalid log_format.*"yaml" is not a log format; use text or json`),
			},
			{
				Config: prov + `
resource "eci_runtime" "x" {
  cluster_name = "c"
  timeouts {
    create = "soon"
  }
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid Attribute Value Time Duration.*"soon"`),
			},
			{
				Config: prov + `
resource "eci_runtime" "x" {
  cluster_name           = "c"
  webhook_failure_policy = "Sometimes"
  webhook_direct_url     = true
  webhook_replicas       = 2
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)(Invalid webhook_replicas.*one replica\s+only.*Invalid webhook_failure_policy.*want Ignore or Fail|Invalid webhook_failure_policy.*want Ignore or Fail.*Invalid webhook_replicas.*one replica\s+only)`),
			},
		},
	})
}

// testAccCheckRuntimeDestroyed asks the cluster whether the runtime's
// ConfigMap and webhook are gone.
func testAccCheckRuntimeDestroyed(kc kubernetes.Interface, ns string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		if _, err := kc.CoreV1().ConfigMaps(ns).Get(ctx, install.RuntimeConfigMapName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ConfigMap %s/%s after destroy: %v", ns, install.RuntimeConfigMapName, err)
		}
		if _, err := kc.AppsV1().Deployments(ns).Get(ctx, install.WebhookName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("Deployment %s/%s after destroy: %v", ns, install.WebhookName, err)
		}
		return nil
	}
}

// testAccCheckNoSecretInState fails when any attribute holds secret.
func testAccCheckNoSecretInState(secret string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for addr, rs := range s.RootModule().Resources {
			for k, v := range rs.Primary.Attributes {
				if strings.Contains(v, secret) {
					return fmt.Errorf("%s.%s holds the secret key", addr, k)
				}
			}
		}
		return nil
	}
}

// testAccCheckWebhookArg checks that the webhook's container runs with arg.
func testAccCheckWebhookArg(kc kubernetes.Interface, ns, arg string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := kc.AppsV1().Deployments(ns).Get(context.Background(), install.WebhookName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, arg) {
			return fmt.Errorf("webhook args %q, want %s", args, arg)
		}
		return nil
	}
}

// patchWebhookArgs edits the webhook's arguments as a person with kubectl would.
func patchWebhookArgs(t *testing.T, kc kubernetes.Interface, ns string, edit func([]string) []string) {
	t.Helper()
	ctx := context.Background()
	d, err := kc.AppsV1().Deployments(ns).Get(ctx, install.WebhookName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &d.Spec.Template.Spec.Containers[0]
	c.Args = edit(c.Args)
	if _, err := kc.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
}

// createFakeVNodeDeployment makes a Deployment labelled as a VNode's runtime,
// with no replicas, so that the runtime looks in use.
func createFakeVNodeDeployment(t *testing.T, kc kubernetes.Interface, ns, node string) {
	t.Helper()
	l := map[string]string{install.LabelName: "eci-vnode", install.LabelComponent: "node", install.LabelNode: node}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode-" + node, Namespace: ns, Labels: l},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32),
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "eci-vnode", Image: install.ImageRepository + ":test"}}},
			},
		},
	}
	if _, err := kc.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A Read that cannot reach the cluster fails the plan and keeps the runtime in
// state: an unreachable API server is no proof that the runtime is gone, and
// dropping it would plan a second installation over the first.
func TestAccRuntimeResource_readKeepsStateOnError(t *testing.T) {
	clusterRuntime.Lock()
	defer clusterRuntime.Unlock()
	sb := testAccSandbox(t)
	kc := sb.Client()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	const ns = "tf-runtime-read-error"
	const addr = "eci_runtime.test"
	good := testAccRuntimeResourceConfig(testAccRuntimeProvider(sb, region, endpoint), ns, "sandbox", "info")
	// Nothing listens on port 1.
	unreachable := testAccRuntimeResourceConfig(fmt.Sprintf(`
provider "eci" {
  region   = %[1]q
  endpoint = %[2]q
  kubernetes {
    host     = "https://127.0.0.1:1"
    insecure = true
  }
}
`, region, endpoint), ns, "sandbox", "info")
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(testAccCredentialsEnv(ak, sk)),
		CheckDestroy:             testAccCheckRuntimeDestroyed(kc, ns),
		Steps: []resource.TestStep{
			{Config: good},
			{
				Config:      unreachable,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Cannot read the eci-vnode runtime.*127\.0\.0\.1:1`),
			},
			{
				Config: good,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(ns)),
				},
			},
		},
	})
}
