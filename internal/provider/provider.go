// Package provider implements the eci Terraform provider on terraform-plugin-framework.
package provider

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// RegistryAddress is where Terraform finds this provider.
const RegistryAddress = "registry.terraform.io/eci-vnode/eci"

var _ provider.Provider = (*eciProvider)(nil)

// New returns a constructor for the provider at the given build version. imageDigest is
// the digest of the runtime image released with that version (empty in development
// builds); eci_runtime's default image is pinned to it.
func New(version, imageDigest string) func() provider.Provider {
	return func() provider.Provider {
		p := newProvider(version, os.Getenv)
		p.imageDigest = imageDigest
		return p
	}
}

// newProvider is New with the environment lookup of the fallbacks; tests
// pass a map lookup.
func newProvider(version string, getenv func(string) string) *eciProvider {
	return &eciProvider{version: version, getenv: getenv}
}

type eciProvider struct {
	version     string
	imageDigest string
	getenv      func(string) string
}

func (p *eciProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "eci"
	resp.Version = p.version
}

func (p *eciProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerSchema()
}

// Configure resolves the provider block and the environment into a
// *providerData and checks every value it knows. It builds no client and
// calls no API: resources ask providerData for the clients they need. An
// argument that is unknown (it depends on a resource not created yet) is
// not an error here; Terraform configures the provider again with the
// value before it applies anything.
func (p *eciProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, diags := resolveConfig(ctx, m, p.getenv)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := newProviderData(p.version, cfg, p.getenv)
	data.imageDigest = p.imageDigest
	resp.ResourceData = data
	resp.DataSourceData = data

	credentials := "none"
	if cfg.eci.creds != nil {
		credentials = cfg.eci.creds.String() // masked: key ID prefix only
	}
	unknown := append(append([]string(nil), cfg.eci.unknown...), cfg.kube.unknown...)
	tflog.Debug(ctx, "eci provider configured", map[string]any{
		"region":           cfg.eci.region.value,
		"endpoint":         cfg.eci.endpoint.value,
		"credentials":      credentials,
		"credentials_from": cfg.eci.credsFrom,
		"kubernetes":       cfg.kube.mode.String(),
		"default_tags":     len(cfg.tags),
		"unknown":          unknown,
	})
}

func (p *eciProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewRuntimeResource,
		NewVNodeResource,
		NewProfileSelectorResource,
	}
}

func (p *eciProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewPriceDataSource,
		NewVNodeDataSource,
	}
}
