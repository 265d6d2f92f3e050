package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// eci_test_clients exists only in tests (testProvider): reading it asks the
// provider data for what `use` names, the way a resource will, so a
// Terraform run shows when a client is built and what it reaches.
//
//	use = "eci"          ECI client, then DescribeRegions; result: the region
//	use = "kube"         Kubernetes client, then the server version; result: its git version
//	use = "credentials"  RequireCredentials; result: the AccessKey ID
//	use = "tags"         DefaultTags; result: them as JSON
//
// input is not read: a configuration sets it to a value unknown at plan
// time to make Terraform read the data source during apply.
var (
	_ datasource.DataSource              = (*testClientsDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*testClientsDataSource)(nil)
)

func newTestClientsDataSource() datasource.DataSource { return &testClientsDataSource{} }

type testClientsDataSource struct {
	data *providerData
}

type testClientsModel struct {
	Use    types.String `tfsdk:"use"`
	Input  types.String `tfsdk:"input"`
	ID     types.String `tfsdk:"id"`
	Result types.String `tfsdk:"result"`
}

func (d *testClientsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_test_clients"
}

func (d *testClientsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Attributes: map[string]schema.Attribute{
			"use":    schema.StringAttribute{Required: true},
			"input":  schema.StringAttribute{Optional: true},
			"id":     schema.StringAttribute{Computed: true},
			"result": schema.StringAttribute{Computed: true},
		},
	}
}

func (d *testClientsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	data, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *providerData, got %T. Please report this to the provider's developers.", req.ProviderData))
		return
	}
	d.data = data
}

func (d *testClientsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m testClientsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider not configured", "Terraform read eci_test_clients before it configured the provider.")
		return
	}
	var result string
	switch use := m.Use.ValueString(); use {
	case "eci":
		c, diags := d.data.ECI(ctx)
		if resp.Diagnostics.Append(diags...); diags.HasError() {
			return
		}
		if _, err := c.DescribeRegions(ctx); err != nil {
			resp.Diagnostics.AddError("DescribeRegions failed", err.Error())
			return
		}
		result = c.Region()
	case "kube":
		c, diags := d.data.Kube(ctx)
		if resp.Diagnostics.Append(diags...); diags.HasError() {
			return
		}
		v, err := c.Discovery().ServerVersion()
		if err != nil {
			resp.Diagnostics.AddError("Kubernetes server version", err.Error())
			return
		}
		result = v.GitVersion
	case "credentials":
		cr, diags := d.data.RequireCredentials()
		if resp.Diagnostics.Append(diags...); diags.HasError() {
			return
		}
		result = cr.AccessKeyID
	case "tags":
		tags, known := d.data.DefaultTags()
		if !known {
			resp.Diagnostics.AddError("Default tags unknown", "default_tags were unknown at Configure.")
			return
		}
		b, err := json.Marshal(tags)
		if err != nil {
			resp.Diagnostics.AddError("Encode default tags", err.Error())
			return
		}
		result = string(b)
	default:
		resp.Diagnostics.AddError("Unknown use", fmt.Sprintf("use %q is not eci, kube, credentials or tags", use))
		return
	}
	m.ID = m.Use
	m.Result = types.StringValue(result)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
