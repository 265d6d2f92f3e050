package provider

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// providerData is what Configure hands to resources and data sources
// (their Configure type-checks req.ProviderData against *providerData).
// It builds each client the first time a resource asks for it, never
// earlier: a configuration that uses no Kubernetes resource needs no
// cluster, one that uses no ECI resource needs no credentials, and a
// provider block whose values are unknown at plan time fails only if a
// resource needs the client before they are known. Neither client is
// contacted while it is built.
//
// It is safe for concurrent use. Its String hides every secret.
type providerData struct {
	version     string
	imageDigest string // of the runtime image released with version; empty in development builds
	cfg         config
	getenv      func(string) string

	eciOnce   sync.Once
	eciClient *eci.Client
	eciDiags  diag.Diagnostics

	kubeOnce   sync.Once
	kubeConfig *rest.Config
	kubeClient kubernetes.Interface
	kubeDiags  diag.Diagnostics
}

func newProviderData(version string, cfg config, getenv func(string) string) *providerData {
	return &providerData{version: version, cfg: cfg, getenv: getenv}
}

// String describes the configuration without secrets, for a %v that
// slips through.
func (d *providerData) String() string {
	creds := "no credentials"
	if d.cfg.eci.creds != nil {
		creds = d.cfg.eci.creds.String()
	}
	return "eci provider data{region " + d.cfg.eci.region.value + ", " + creds + ", kubernetes " + d.cfg.kube.mode.String() + "}"
}

// GoString keeps %#v from printing the credentials.
func (d *providerData) GoString() string { return d.String() }

// Version is the provider's version, which is also the tag of the runtime
// image eci_runtime installs.
func (d *providerData) Version() string { return d.version }

// DefaultImage is the runtime image eci_runtime installs unless told otherwise: the one
// released with this provider, pinned by digest in a release.
func (d *providerData) DefaultImage() string { return install.ImageReference(d.version, d.imageDigest) }

// Region is the region ECI is called in, and false when none is configured
// or it was unknown at Configure.
func (d *providerData) Region() (string, bool) {
	r := d.cfg.eci.region
	return r.value, !r.unknown && r.value != ""
}

// Endpoint is the endpoint argument ("" for the region's public endpoint).
func (d *providerData) Endpoint() string { return d.cfg.eci.endpoint.value }

// DefaultTags returns a copy of default_tags, and false when they were
// unknown at Configure; a resource then plans its tags as unknown.
func (d *providerData) DefaultTags() (map[string]string, bool) {
	if !d.cfg.tagsKnown {
		return nil, false
	}
	return maps.Clone(d.cfg.tags), true
}

// Credentials returns the credentials of the provider block or the
// environment, for eci_runtime to copy into a Secret; false when there are
// none or they were unknown at Configure. RequireCredentials also says why.
func (d *providerData) Credentials() (eci.Credentials, bool) {
	if d.cfg.eci.creds == nil || len(credentialArgs(d.cfg.eci.unknown)) > 0 {
		return eci.Credentials{}, false
	}
	return *d.cfg.eci.creds, true
}

// RequireCredentials returns the credentials, or an error diagnostic that
// says how to give them.
func (d *providerData) RequireCredentials() (eci.Credentials, diag.Diagnostics) {
	var diags diag.Diagnostics
	if u := credentialArgs(d.cfg.eci.unknown); len(u) > 0 {
		diags.Append(unknownConfigDiag("Alibaba Cloud credentials", u))
		return eci.Credentials{}, diags
	}
	if d.cfg.eci.creds == nil {
		diags.Append(noCredentialsDiag(d.cfg.eci.envProblem))
		return eci.Credentials{}, diags
	}
	return *d.cfg.eci.creds, nil
}

// ECI returns the ECI client, building it on the first call.
func (d *providerData) ECI(ctx context.Context) (*eci.Client, diag.Diagnostics) {
	d.eciOnce.Do(func() { d.eciClient, d.eciDiags = d.buildECI(ctx) })
	return d.eciClient, d.eciDiags
}

func (d *providerData) buildECI(ctx context.Context) (*eci.Client, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := d.cfg.eci
	if len(s.unknown) > 0 {
		diags.Append(unknownConfigDiag("ECI API", s.unknown))
		return nil, diags
	}
	if s.region.value == "" {
		diags.AddError("Missing region",
			"The eci provider needs a region to call the ECI API. Set region in the provider block, "+
				"or the environment variable "+strings.Join(envRegion, " or ")+", to a region ID such as cn-hangzhou.")
		return nil, diags
	}
	creds, cd := d.RequireCredentials()
	if diags.Append(cd...); diags.HasError() {
		return nil, diags
	}
	client, err := eci.New(eci.Config{
		Region:      s.region.value,
		Endpoint:    s.endpoint.value,
		Credentials: &creds,
		UserAgent:   "terraform-provider-eci/" + d.version,
		Getenv:      d.getenv,
	})
	if err != nil {
		// The eci package's errors never carry a secret.
		diags.AddError("Cannot configure the ECI client",
			"The provider's region, endpoint or credentials were refused: "+err.Error())
		return nil, diags
	}
	tflog.Debug(ctx, "ECI client built", map[string]any{
		"region": client.Region(), "endpoint": client.Endpoint(), "credentials": creds.String(), "credentials_from": s.credsFrom,
	})
	return client, nil
}

// Kube returns a client of the cluster the kubernetes block (or KUBE_*)
// names, building it on the first call.
func (d *providerData) Kube(ctx context.Context) (kubernetes.Interface, diag.Diagnostics) {
	d.kubeOnce.Do(func() { d.kubeConfig, d.kubeClient, d.kubeDiags = d.buildKube(ctx) })
	return d.kubeClient, d.kubeDiags
}

// KubeConfig returns a copy of the client configuration Kube uses, for
// clients of other kinds (dynamic, discovery).
func (d *providerData) KubeConfig(ctx context.Context) (*rest.Config, diag.Diagnostics) {
	d.kubeOnce.Do(func() { d.kubeConfig, d.kubeClient, d.kubeDiags = d.buildKube(ctx) })
	if d.kubeConfig == nil {
		return nil, d.kubeDiags
	}
	return rest.CopyConfig(d.kubeConfig), d.kubeDiags
}

// kubeClientQPS and kubeClientBurst bound the provider's Kubernetes requests.
const (
	kubeClientQPS   = 50
	kubeClientBurst = 100
)

func (d *providerData) buildKube(ctx context.Context) (*rest.Config, kubernetes.Interface, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := d.cfg.kube
	if len(s.unknown) > 0 {
		diags.Append(unknownConfigDiag("Kubernetes cluster", s.unknown))
		return nil, nil, diags
	}
	if s.mode == kubeNone {
		diags.AddError("Missing Kubernetes connection",
			"This resource works in a Kubernetes cluster, and the eci provider has no connection to one. "+
				"In the provider's kubernetes block, set config_path (and config_context) to use a kubeconfig "+
				"file, or host with cluster_ca_certificate and a token, a client_certificate and client_key, "+
				"or an exec block; or set "+envKubeConfigPath+" or "+envKubeHost+" and its KUBE_* companions. "+
				"The provider does not read KUBECONFIG or ~/.kube/config on its own.")
		return nil, nil, diags
	}
	cfg, err := s.restConfig()
	if err != nil {
		diags.AddError("Cannot configure the Kubernetes client", err.Error())
		return nil, nil, diags
	}
	cfg.UserAgent = "terraform-provider-eci/" + d.version
	// client-go's default of 5 requests/s (burst 10) is meant for a controller's
	// steady load. One apply runs up to 10 resources at once, each a handful of
	// reads, dry-runs and writes, so the default made large applies wait on the
	// client rather than on the cluster (30 selectors: ~35 s). A short apply
	// burst at these rates is well within what an API server's priority and
	// fairness serves a single client.
	cfg.QPS, cfg.Burst = kubeClientQPS, kubeClientBurst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		diags.AddError("Cannot configure the Kubernetes client", "The provider's kubernetes block was refused: "+err.Error())
		return nil, nil, diags
	}
	tflog.Debug(ctx, "Kubernetes client built", map[string]any{"host": cfg.Host, "from": s.mode.String()})
	return cfg, client, nil
}

// credentialArgs keeps the credential arguments of a list of unknown ones.
func credentialArgs(unknown []string) []string {
	var out []string
	for _, u := range unknown {
		if u == "access_key" || u == "secret_key" || u == "security_token" {
			out = append(out, u)
		}
	}
	return out
}

// unknownConfigDiag is the error of a resource that needs a client whose
// provider arguments were unknown when Terraform configured the provider.
func unknownConfigDiag(what string, args []string) diag.Diagnostic {
	return diag.NewErrorDiagnostic("Provider configuration not known yet",
		"This needs the "+what+", but the eci provider's "+strings.Join(args, ", ")+
			" had no value yet when Terraform configured the provider: it comes from a resource that "+
			"is not created yet. Terraform configures a provider before it plans that provider's resources, "+
			"so create what the provider block refers to first (for example terraform apply -target=<that "+
			"resource>), or keep the cluster and its Kubernetes resources in separate configurations.")
}

// noCredentialsDiag is the error of a resource that needs credentials when
// none were given; envProblem says which variables were half set.
func noCredentialsDiag(envProblem string) diag.Diagnostic {
	detail := "The eci provider has no Alibaba Cloud credentials. Give them in one of three ways:\n" +
		"  1. access_key and secret_key (and security_token for STS credentials) in the provider block;\n" +
		"  2. the environment variables ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET " +
		"(or ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY), plus ALIBABA_CLOUD_SECURITY_TOKEN " +
		"(or ALICLOUD_SECURITY_TOKEN) for STS credentials;\n" +
		"  3. for the runtime only: credentials_secret on eci_runtime, naming a Secret in the cluster that holds them."
	if envProblem != "" {
		detail += "\nIn the environment: " + envProblem + "."
	}
	return diag.NewErrorDiagnostic("Missing Alibaba Cloud credentials", detail)
}

// configureProviderData type-checks a resource's ProviderData.
func configureProviderData(req resource.ConfigureRequest, resp *resource.ConfigureResponse) *providerData {
	return providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// configureDataSourceData type-checks a data source's ProviderData.
func configureDataSourceData(req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) *providerData {
	return providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// providerDataFrom is the *providerData the provider's Configure handed out;
// nil while the provider is not configured yet (the framework calls
// Configure early, during validation, without data).
func providerDataFrom(pd any, diags *diag.Diagnostics) *providerData {
	if pd == nil {
		return nil
	}
	data, ok := pd.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *providerData, got %T. Please report this to the provider's developers.", pd))
		return nil
	}
	return data
}
