package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// The acceptance tests run real Terraform (the sandbox's pinned v1.5.7)
// against the provider served in-process over protocol 6, with ECI played
// by an emulator each test starts and Kubernetes by one sandbox the whole
// package shares. They use resource.UnitTest, so `go test` runs them
// without TF_ACC: nothing here reaches the network.

// testAccProtoV6ProviderFactories serves the provider in-process over
// protocol 6, as main.go serves it, plus the test-only data source
// eci_test_clients. The provider reads its environment fallbacks from env,
// so tests with different environments can run in parallel; a nil env
// reads the process environment, as in production.
func testAccProtoV6ProviderFactories(env map[string]string) map[string]func() (tfprotov6.ProviderServer, error) {
	getenv := os.Getenv
	if env != nil {
		getenv = envMap(env)
	}
	return map[string]func() (tfprotov6.ProviderServer, error){
		"eci": providerserver.NewProtocol6WithError(testProvider{newProvider("test", getenv)}),
	}
}

// testProvider is the provider plus eci_test_clients, which lets a
// configuration ask for a client.
type testProvider struct{ *eciProvider }

var _ provider.Provider = testProvider{}

func (p testProvider) DataSources(ctx context.Context) []func() datasource.DataSource {
	return append(p.eciProvider.DataSources(ctx), newTestClientsDataSource)
}

// shared holds what the whole package shares, made on first use.
var shared struct {
	toolsOnce sync.Once
	tools     *sandbox.Tools
	toolsErr  error

	sandboxOnce sync.Once
	sandbox     *sandbox.Sandbox
	sandboxErr  error
	sandboxDir  string
	sandboxLog  *os.File
}

func TestMain(m *testing.M) {
	// Terraform must not phone home for version news.
	os.Setenv("CHECKPOINT_DISABLE", "1")
	code := m.Run()
	if sb := shared.sandbox; sb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := sb.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "stop the shared sandbox: %v\n", err)
			code = 1
		}
		cancel()
	}
	if shared.sandboxLog != nil {
		shared.sandboxLog.Close()
	}
	switch {
	case shared.sandboxDir == "":
	case code == 0:
		os.RemoveAll(shared.sandboxDir)
	default:
		fmt.Fprintf(os.Stderr, "the shared sandbox's logs are kept in %s\n", shared.sandboxDir)
	}
	os.Exit(code)
}

// testTools builds or reuses the sandbox's tools once per package.
func testTools(t *testing.T) *sandbox.Tools {
	t.Helper()
	shared.toolsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		shared.tools, shared.toolsErr = sandbox.EnsureTools(ctx, sandbox.ToolOptions{})
	})
	if shared.toolsErr != nil {
		t.Fatalf("sandbox tools: %v", shared.toolsErr)
	}
	return shared.tools
}

// testAccPreCheck points terraform-plugin-testing at the sandbox's
// Terraform, so it never looks for one on PATH or downloads one.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_TERRAFORM_PATH") != "" {
		return
	}
	tools := testTools(t)
	// os.Setenv, not t.Setenv: parallel tests share it, and the value
	// is the same for all of them.
	os.Setenv("TF_ACC_TERRAFORM_PATH", tools.Terraform)
}

// testAccSandbox returns the package's sandbox, starting it on first use;
// TestMain stops it. Tests that share it work in their own namespaces.
func testAccSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	shared.sandboxOnce.Do(func() {
		tools := testTools(t)
		dir, err := os.MkdirTemp("", "provider-sandbox-")
		if err != nil {
			shared.sandboxErr = err
			return
		}
		shared.sandboxDir = dir
		log, err := os.Create(filepath.Join(dir, "sandbox.log"))
		if err != nil {
			shared.sandboxErr = err
			return
		}
		shared.sandboxLog = log
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// One worker runs the runtime's Deployments (the webhook and the
		// VNodes eci_runtime and eci_vnode install) as local processes.
		shared.sandbox, shared.sandboxErr = sandbox.Start(ctx, sandbox.Options{
			Dir: filepath.Join(dir, "sb"), Workers: 1, Tools: tools, Log: log,
		})
	})
	if shared.sandboxErr != nil {
		t.Fatalf("start the shared sandbox: %v (logs in %s)", shared.sandboxErr, shared.sandboxDir)
	}
	return shared.sandbox
}

func TestProviderMetadataAndSchemaAreValid(t *testing.T) {
	t.Parallel()
	p := New("1.2.3", "")()
	var meta provider.MetadataResponse
	p.Metadata(context.Background(), provider.MetadataRequest{}, &meta)
	if meta.TypeName != "eci" || meta.Version != "1.2.3" {
		t.Fatalf("metadata = %q %q, want eci 1.2.3", meta.TypeName, meta.Version)
	}
	var sch provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &sch)
	if sch.Diagnostics.HasError() {
		t.Fatalf("schema diagnostics: %v", sch.Diagnostics)
	}
	if diags := sch.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema implementation: %v", diags)
	}
	for name, a := range sch.Schema.Attributes {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("%s has no description", name)
		}
	}
}

// testAccEmulator starts an ECI emulator for t and returns it with the
// provider arguments that reach it.
func testAccEmulator(t *testing.T) (e *emulator.Emulator, region, endpoint, accessKey, secretKey string) {
	t.Helper()
	e = emulator.StartForTest(t, emulator.Config{})
	cr := e.Credentials()[0]
	return e, e.Region(), "http://" + e.Endpoint(), cr.AccessKeyID, cr.AccessKeySecret
}

// With the credentials and the region only in the environment (the
// process's own, as in production), the ECI client reaches the API.
func TestAccProvider_environmentCredentials(t *testing.T) {
	e, region, endpoint, ak, sk := testAccEmulator(t)
	t.Setenv("ALICLOUD_ACCESS_KEY", ak)
	t.Setenv("ALICLOUD_SECRET_KEY", sk)
	t.Setenv("ALICLOUD_REGION", region)
	for _, v := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_REGION_ID"} {
		t.Setenv(v, "")
	}
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(nil),
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "eci" {
  endpoint     = %[1]q
  default_tags = { team = "infra" }
}

data "eci_test_clients" "eci" {
  use = "eci"
}

data "eci_test_clients" "credentials" {
  use = "credentials"
}

data "eci_test_clients" "tags" {
  use = "tags"
}
`, endpoint),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("data.eci_test_clients.eci", "result", region),
				resource.TestCheckResourceAttr("data.eci_test_clients.credentials", "result", ak),
				resource.TestCheckResourceAttr("data.eci_test_clients.tags", "result", `{"team":"infra"}`),
				func(*terraform.State) error {
					if e.Calls()["DescribeRegions"].Count == 0 {
						return fmt.Errorf("the emulator saw no DescribeRegions")
					}
					return nil
				},
			),
		}},
	})
}

// A region that is no region ID stops the plan, and the error names it.
func TestAccProvider_badRegion(t *testing.T) {
	t.Parallel()
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{{
			Config: `
provider "eci" {
  region = "Hangzhou 1"
}

data "eci_test_clients" "x" {
  use = "tags"
}
`,
			ExpectError: regexp.MustCompile(`(?s)Invalid region.*provider argument region is not a region ID`),
		}},
	})
}

// A kubernetes block that names two connections stops the plan.
func TestAccProvider_conflictingKubernetesConnection(t *testing.T) {
	t.Parallel()
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{{
			Config: `
provider "eci" {
  kubernetes {
    config_path = "/nonexistent/kubeconfig"
    host        = "https://127.0.0.1:6443"
  }
}

data "eci_test_clients" "x" {
  use = "tags"
}
`,
			ExpectError: regexp.MustCompile(`(?s)Conflicting Kubernetes connection.*config_path and host`),
		}},
	})
}

// A provider block that depends on a resource of the same configuration
// does not fail the plan; the client works once the value is known.
func TestAccProvider_unknownAtPlan(t *testing.T) {
	t.Parallel()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{{
			Config: testAccUnknownEndpointConfig(region, endpoint, ak, sk, "terraform_data.endpoint.output"),
			Check:  resource.TestCheckResourceAttr("data.eci_test_clients.x", "result", region),
		}},
	})
}

// What needs a client while the provider's arguments are still unknown
// fails, and says which argument and what to do.
func TestAccProvider_unknownAtPlanFailsWhatNeedsTheClient(t *testing.T) {
	t.Parallel()
	_, region, endpoint, ak, sk := testAccEmulator(t)
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{{
			Config:      testAccUnknownEndpointConfig(region, endpoint, ak, sk, `"known at plan"`),
			ExpectError: regexp.MustCompile(`(?s)Provider configuration not known yet.*endpoint.*-target`),
		}},
	})
}

// testAccUnknownEndpointConfig configures the provider's endpoint from a
// terraform_data resource, so it is unknown at the first plan, and reads
// eci_test_clients with the given input expression.
func testAccUnknownEndpointConfig(region, endpoint, ak, sk, input string) string {
	return fmt.Sprintf(`
resource "terraform_data" "endpoint" {
  input = %[2]q
}

provider "eci" {
  region     = %[1]q
  endpoint   = terraform_data.endpoint.output
  access_key = %[3]q
  secret_key = %[4]q
}

data "eci_test_clients" "x" {
  use   = "eci"
  input = %[5]s
}
`, region, endpoint, ak, sk, input)
}

// The Kubernetes client reaches the sandbox's API server from a kubeconfig
// file named by a value unknown at plan, and from a host with a client
// certificate.
func TestAccProvider_kubernetes(t *testing.T) {
	t.Parallel()
	sb := testAccSandbox(t)
	rc := sb.RESTConfig()
	dir := t.TempDir()
	for name, data := range map[string][]byte{"ca.pem": rc.CAData, "cert.pem": rc.CertData, "key.pem": rc.KeyData} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf(`
resource "terraform_data" "kubeconfig" {
  input = %[1]q
}

provider "eci" {
  kubernetes {
    config_path = terraform_data.kubeconfig.output
  }
}

data "eci_test_clients" "x" {
  use   = "kube"
  input = terraform_data.kubeconfig.output
}
`, sb.Kubeconfig()),
				Check: resource.TestCheckResourceAttr("data.eci_test_clients.x", "result", sandbox.KubernetesVersion),
			},
			{
				Config: fmt.Sprintf(`
provider "eci" {
  kubernetes {
    host                   = %[1]q
    cluster_ca_certificate = file(%[2]q)
    client_certificate     = file(%[3]q)
    client_key             = file(%[4]q)
  }
}

data "eci_test_clients" "x" {
  use = "kube"
}
`, sb.Server(), filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")),
				Check: resource.TestCheckResourceAttr("data.eci_test_clients.x", "result", sandbox.KubernetesVersion),
			},
		},
	})
}
