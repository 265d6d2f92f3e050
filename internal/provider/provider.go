// Package provider implements the eci Terraform provider on terraform-plugin-framework.
package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// RegistryAddress is where Terraform finds this provider.
const RegistryAddress = "registry.terraform.io/eci-vnode/eci"

// New returns a constructor for the provider at the given build version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &eciProvider{version: version}
	}
}

type eciProvider struct {
	version string
}

func (p *eciProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "eci"
	resp.Version = p.version
}

func (p *eciProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The `eci` provider connects self-managed Kubernetes clusters to Alibaba Cloud " +
			"Elastic Container Instance (ECI) through virtual nodes (VNodes): it declares VNodes, their tags and " +
			"eci-profile rules, and installs the bundled `eci-vnode` runtime into the cluster.",
	}
}

func (p *eciProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p *eciProvider) Resources(context.Context) []func() resource.Resource { return nil }

func (p *eciProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }
