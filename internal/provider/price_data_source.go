package provider

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
)

var (
	_ datasource.DataSource                   = (*priceDataSource)(nil)
	_ datasource.DataSourceWithConfigure      = (*priceDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*priceDataSource)(nil)
)

// NewPriceDataSource is the eci_price data source: what an ECI spec and a
// VNode's resident node cost per hour, as DescribeContainerGroupPrice
// quotes it.
func NewPriceDataSource() datasource.DataSource { return &priceDataSource{} }

type priceDataSource struct {
	data *providerData
}

type priceDataSourceModel struct {
	CPU          types.Float64 `tfsdk:"cpu"`
	Memory       types.Float64 `tfsdk:"memory"`
	InstanceType types.String  `tfsdk:"instance_type"`
	ZoneID       types.String  `tfsdk:"zone_id"`
	Spot         types.Bool    `tfsdk:"spot"`

	ID                    types.String  `tfsdk:"id"`
	HourlyPrice           types.Float64 `tfsdk:"hourly_price"`
	SpotPriceApplied      types.Bool    `tfsdk:"spot_price_applied"`
	CPUUnitPriceHourly    types.Float64 `tfsdk:"cpu_unit_price_hourly"`
	MemoryUnitPriceHourly types.Float64 `tfsdk:"memory_unit_price_hourly"`
	VNodeHourlyPrice      types.Float64 `tfsdk:"vnode_hourly_price"`
	Currency              types.String  `tfsdk:"currency"`
}

func (d *priceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_price"
}

func (d *priceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Hourly price estimates for ECI, as the ECI API quotes them for the provider's account and " +
			"region: the price of one instance spec, and what one VNode's resident node costs.\n\n" +
			"Every figure comes from the ECI API action " +
			"[DescribeContainerGroupPrice](https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-describecontainergroupprice), " +
			"which quotes per second; this data source multiplies by 3600. The resident-node price follows Alibaba's " +
			"[VNode billing](https://www.alibabacloud.com/help/en/eci/product-overview/virtual-node-billing): each VNode is " +
			"billed like an ECI instance of 2 vCPU and 8 GiB, (2 × vCPU unit price + 8 × memory unit price) × hours, " +
			"from the moment its resident node is Ready until it is deleted. The pods a VNode runs are billed as their " +
			"own instances on top of that. That charge applies to VNodes made with ECI's VirtualNode API; a VNode " +
			"that `eci_vnode` serves with the bundled runtime is a Deployment in your own cluster, which Alibaba " +
			"does not charge for, and `vnode_hourly_price` is then what the managed equivalent would cost.\n\n" +
			"Give either `cpu` and `memory`, or `instance_type`. The estimates are list prices before discounts, " +
			"savings plans and reserved instances, in the currency the API quotes (`currency`).",
		Attributes: map[string]schema.Attribute{
			// Inputs: one spec.
			"cpu": schema.Float64Attribute{
				Optional: true,
				MarkdownDescription: "vCPUs of the spec, such as `2` or `0.5`; with `memory`, instead of `instance_type`. " +
					"ECI bills the smallest spec it sells that has at least this many vCPUs and this much memory, and so " +
					"does the quote. To price a pod on a VNode with `cluster_ip_access` (the default), add its kube-proxy's " +
					"0.1 vCPU and 0.125 GiB to the pod's own size, as the runtime does before it rounds.",
			},
			"memory": schema.Float64Attribute{
				Optional:            true,
				MarkdownDescription: "Memory of the spec in GiB, such as `4`; with `cpu`, instead of `instance_type`.",
			},
			"instance_type": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "An ECS instance type ECI can run, such as `ecs.c6.large`, or a spec written " +
					"`<cpu>-<memory>Gi`, such as `2-4Gi`; instead of `cpu` and `memory`.",
			},
			"zone_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Zone to price in, such as `cn-hangzhou-h`. Default: the API prices the region. The " +
					"unit prices and `vnode_hourly_price` are those of this zone too.",
			},
			"spot": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Price a preemptible (spot) instance at the market price (the `SpotAsPriceGo` " +
					"strategy). Default `false`: pay-as-you-go. Without `zone_id`, the highest of the zones' spot prices.",
			},

			// Computed.
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The spec priced, such as `2 vCPU / 4 GiB in cn-hangzhou-h (spot)`.",
			},
			"hourly_price": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "Price of one instance of the spec for one hour: `TradePrice` × 3600 of " +
					"DescribeContainerGroupPrice, or with `spot` the quoted spot price (`SpotPrices`) × 3600 when the API " +
					"quotes one.",
			},
			"spot_price_applied": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: "Whether `hourly_price` is a spot price. `false` with `spot = true` means the API " +
					"quoted no spot price, and `hourly_price` is the pay-as-you-go one.",
			},
			"cpu_unit_price_hourly": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "Pay-as-you-go price of one vCPU for one hour in the zone: the `cpu` line " +
					"(`DetailInfo`) of DescribeContainerGroupPrice's quote for 2 vCPU / 8 GiB, divided by 2, × 3600. " +
					"Null when the spec is priced as a whole (an ECS instance type), not per vCPU and GiB.",
			},
			"memory_unit_price_hourly": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "Pay-as-you-go price of one GiB of memory for one hour in the zone: the `memory` " +
					"line of the same quote, divided by 8, × 3600. Null when the spec is priced as a whole.",
			},
			"vnode_hourly_price": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "What one VNode made with ECI's VirtualNode API costs per hour in the zone for " +
					"its resident node, by Alibaba's VNode formula: 2 × the vCPU unit price + 8 × the GiB unit price " +
					"(as in `cpu_unit_price_hourly` and `memory_unit_price_hourly`, whatever the spec). A VNode of " +
					"the bundled runtime has no such charge.",
			},
			"currency": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Currency of the prices, as the API quotes it: `CNY` on the China site, `USD` on the international site.",
			},
		},
	}
}

func (d *priceDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if p := configureDataSourceData(req, resp); p != nil {
		d.data = p
	}
}

// ValidateConfig refuses at plan what cannot be priced: both forms of a
// spec or neither, half of cpu/memory, amounts that are not positive, a
// zone ID that is none. Values unknown at plan are checked at Read.
func (d *priceDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m priceDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cpuSet, memSet, typeSet := !m.CPU.IsNull(), !m.Memory.IsNull(), !m.InstanceType.IsNull()
	switch {
	case typeSet && (cpuSet || memSet):
		resp.Diagnostics.AddAttributeError(path.Root("instance_type"), "Conflicting spec",
			"Give either cpu and memory, or instance_type, not both: an instance type sets its own vCPUs and memory.")
	case !typeSet && !cpuSet && !memSet:
		resp.Diagnostics.AddError("Missing spec",
			"eci_price needs a spec to price: cpu and memory (vCPUs and GiB), or instance_type (such as ecs.c6.large or 2-4Gi).")
	case !typeSet && cpuSet != memSet:
		missing := "memory"
		if !cpuSet {
			missing = "cpu"
		}
		resp.Diagnostics.AddAttributeError(path.Root(missing), "Missing "+missing,
			"cpu and memory go together: ECI prices a spec of both. Set "+missing+" too, or use instance_type.")
	}
	for name, v := range map[string]types.Float64{"cpu": m.CPU, "memory": m.Memory} {
		if v.IsNull() || v.IsUnknown() {
			continue
		}
		if f := v.ValueFloat64(); !(f > 0) || math.IsInf(f, 0) {
			resp.Diagnostics.AddAttributeError(path.Root(name), "Invalid "+name,
				fmt.Sprintf("%s must be a positive number, not %s.", name, strconv.FormatFloat(f, 'f', -1, 64)))
		}
	}
	if !m.InstanceType.IsNull() && !m.InstanceType.IsUnknown() && m.InstanceType.ValueString() == "" {
		resp.Diagnostics.AddAttributeError(path.Root("instance_type"), "Invalid instance_type",
			"instance_type is empty; name an ECS instance type such as ecs.c6.large, or a spec such as 2-4Gi.")
	}
	if z := m.ZoneID; !z.IsNull() && !z.IsUnknown() && !zoneIDPattern.MatchString(z.ValueString()) {
		resp.Diagnostics.AddAttributeError(path.Root("zone_id"), "Invalid zone_id",
			fmt.Sprintf("%q is not a zone ID; a zone ID is its region's ID and a suffix, such as cn-hangzhou-h.", z.ValueString()))
	}
}

func (d *priceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m priceDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider not configured", "Terraform read eci_price before it configured the eci provider.")
		return
	}
	client, diags := d.data.ECI(ctx)
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	spec := cost.Spec{
		CPU:          m.CPU.ValueFloat64(),
		MemoryGiB:    m.Memory.ValueFloat64(),
		InstanceType: m.InstanceType.ValueString(),
		ZoneID:       m.ZoneID.ValueString(),
		Spot:         m.Spot.ValueBool(),
	}
	// One estimator per read: its cache lets the spec's quote and the
	// resident node's share the unit-price call.
	est := cost.NewEstimator(client)
	price, err := est.Hourly(ctx, spec)
	if err != nil {
		resp.Diagnostics.AddError("Cannot price the spec", "DescribeContainerGroupPrice failed: "+err.Error())
		return
	}
	node, err := est.VNodeResidentHourly(ctx, spec.ZoneID)
	if err != nil {
		resp.Diagnostics.AddError("Cannot price a VNode's resident node", "DescribeContainerGroupPrice failed: "+err.Error())
		return
	}
	tflog.Debug(ctx, "eci_price read", map[string]any{"spec": spec.String(), "hourly": price.PerHour, "vnode_hourly": node})

	m.ID = types.StringValue(spec.String())
	m.HourlyPrice = types.Float64Value(price.PerHour)
	m.SpotPriceApplied = types.BoolValue(price.SpotApplied)
	m.CPUUnitPriceHourly, m.MemoryUnitPriceHourly = types.Float64Null(), types.Float64Null()
	if price.PerResource {
		m.CPUUnitPriceHourly = types.Float64Value(price.CPUUnitPerHour)
		m.MemoryUnitPriceHourly = types.Float64Value(price.MemoryGiBUnitPerHour)
	}
	m.VNodeHourlyPrice = types.Float64Value(node)
	m.Currency = types.StringNull()
	if price.Currency != "" {
		m.Currency = types.StringValue(price.Currency)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
