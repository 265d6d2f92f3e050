package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

var (
	_ resource.Resource                = (*vnodeResource)(nil)
	_ resource.ResourceWithConfigure   = (*vnodeResource)(nil)
	_ resource.ResourceWithImportState = (*vnodeResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*vnodeResource)(nil)
)

// NewVNodeResource is eci_vnode: one virtual node, in bundled mode run by a
// Deployment of `eci-vnode node` in the namespace of an eci_runtime, in
// managed mode made with ECI's VirtualNode API (vnode_managed.go).
func NewVNodeResource() resource.Resource { return &vnodeResource{} }

type vnodeResource struct {
	data *providerData
}

// defaultVNodeTimeout bounds the wait for a VNode's Node to be Ready, and
// for it to go.
const defaultVNodeTimeout = 5 * time.Minute

// gpuResource is the capacity the gpu attribute sets.
const gpuResource = "nvidia.com/gpu"

type vnodeResourceModel struct {
	Mode                types.String   `tfsdk:"mode"`
	Runtime             types.String   `tfsdk:"runtime"`
	Name                types.String   `tfsdk:"name"`
	ZoneIDs             types.List     `tfsdk:"zone_ids"`
	VSwitchIDs          types.List     `tfsdk:"vswitch_ids"`
	SecurityGroupID     types.String   `tfsdk:"security_group_id"`
	CPU                 types.String   `tfsdk:"cpu"`
	Memory              types.String   `tfsdk:"memory"`
	Pods                types.String   `tfsdk:"pods"`
	GPU                 types.String   `tfsdk:"gpu"`
	CustomResources     types.Map      `tfsdk:"custom_resources"`
	Labels              types.Map      `tfsdk:"labels"`
	Taints              types.List     `tfsdk:"taints"`
	SpotStrategy        types.String   `tfsdk:"spot_strategy"`
	SpotPriceLimit      types.String   `tfsdk:"spot_price_limit"`
	AutoMatchImageCache types.Bool     `tfsdk:"auto_match_image_cache"`
	Tags                types.Map      `tfsdk:"tags"`
	ClusterDNS          types.List     `tfsdk:"cluster_dns"`
	ClusterDomain       types.String   `tfsdk:"cluster_domain"`
	ClusterIPAccess     types.Bool     `tfsdk:"cluster_ip_access"`
	KubeProxyImage      types.String   `tfsdk:"kube_proxy_image"`
	Replicas            types.Int64    `tfsdk:"replicas"`
	LogFormat           types.String   `tfsdk:"log_format"`
	CostTagKeys         types.List     `tfsdk:"cost_tag_keys"`
	ECIAPILimits        types.Object   `tfsdk:"eci_api_limits"`
	ResourceGroupID     types.String   `tfsdk:"resource_group_id"`
	EIPInstanceID       types.String   `tfsdk:"eip_instance_id"`
	EnablePublicNetwork types.Bool     `tfsdk:"enable_public_network"`
	APIServer           types.String   `tfsdk:"api_server"`
	ID                  types.String   `tfsdk:"id"`
	VirtualNodeID       types.String   `tfsdk:"virtual_node_id"`
	HourlyPrice         types.Float64  `tfsdk:"hourly_price"`
	NodeName            types.String   `tfsdk:"node_name"`
	Image               types.String   `tfsdk:"image"`
	TagsAll             types.Map      `tfsdk:"tags_all"`
	Status              types.String   `tfsdk:"status"`
	Ready               types.Bool     `tfsdk:"ready"`
	DriftedObjects      types.List     `tfsdk:"drifted_objects"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

func (r *vnodeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vnode"
}

func (r *vnodeResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replaceList := []planmodifier.List{listplanmodifier.RequiresReplace()}
	stringMap := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: desc}
	}
	quantity := func(what string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: what + " the Node advertises, as a Kubernetes " +
			"quantity. Default: the runtime's. Updated in place: the running Node shows it after the apply."}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A virtual node (VNode): a Kubernetes Node whose pods run as Alibaba Cloud ECI instances. " +
			"It comes in two modes.\n\n" +
			"**Bundled** (`mode = \"bundled\"`, the default): the node is served by a Deployment of `eci-vnode node` in the " +
			"namespace of an `eci_runtime`, which must be installed first; the VNode takes the runtime's image, cluster name, " +
			"region, endpoint and credentials. Alibaba Cloud does not bill the VNode itself, only its pods' instances.\n\n" +
			"**Managed** (`mode = \"managed\"`): the provider calls ECI's CreateVirtualNode with the provider's region and " +
			"credentials, and Alibaba Cloud runs the VNode's resident node, billed like a 2 vCPU / 8 GiB instance from the " +
			"moment it is Ready (`hourly_price`). The provider gives it a cluster identity of its own, a bootstrap token " +
			"(`kube-system/bootstrap-token-<id>`) with which it obtains the client certificate of `system:node:<name>` by " +
			"TLS bootstrap; kube-controller-manager approves it through the roles `...:nodeclient` and `...:selfnodeclient`, " +
			"which the provider binds to that token and that node only. Create waits for the VNode to be Ready in ECI and " +
			"its Node to register; tags change in place (TagResources, UntagResources), `cluster_dns`, `cluster_domain` and " +
			"`custom_resources` through UpdateVirtualNode, taints on the Node; the rest forces a new VNode. A VNode " +
			"deleted in ECI is created again by the next apply. Import by VNode ID (`vnd-...`). See docs/design.md, " +
			"\"Managed VNodes\", for what it needs from the network.\n\n" +
			"Bundled VNodes: " +
			"Create and update wait until the Node is registered and Ready. Destroy is refused while pods are bound to " +
			"the Node (drain it first: only the runtime deletes their ECI instances); it deletes the Deployment, waits " +
			"for its pods to stop, then deletes the Node and its Leases. Import by node name.\n\n" +
			"Labels and taints are the VNode's own: those set here are kept on the Node (an edit by hand shows as drift " +
			"and the next apply writes them back); others on the Node, such as those Kubernetes and the runtime add, are " +
			"left alone.",
		Attributes: map[string]schema.Attribute{
			// Required.
			"mode": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(vnodeModeBundled),
				MarkdownDescription: "`bundled` (default): the `eci_runtime`'s runtime serves the VNode from a Deployment in " +
					"the cluster. `managed`: ECI's CreateVirtualNode makes it, and Alibaba Cloud runs and bills its resident " +
					"node. Changing it forces a new VNode.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"runtime": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The `eci_runtime` this VNode runs with: its `id`, the runtime's namespace. Required in " +
					"bundled mode, not allowed in managed mode. Changing it forces a new VNode.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name of the Node, a DNS subdomain of at most 63 characters. Every instance is tagged " +
					"with it. Changing it forces a new VNode.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"vswitch_ids": schema.ListAttribute{
				ElementType: types.StringType, Required: true,
				MarkdownDescription: "vSwitches (`vsw-…`, 1 to 10) instances are placed in, in order of preference. " +
					"Changing them forces a new VNode: instances already running stay where they are.",
				PlanModifiers: replaceList,
			},
			// Optional.
			"zone_ids": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Zones of the vSwitches; the first is the Node's `topology.kubernetes.io/zone`. " +
					"Changing them forces a new VNode.",
				PlanModifiers: replaceList,
			},
			"security_group_id": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Security group (`sg-…`) of every instance. Changing it forces a new VNode.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"cpu":              quantity("CPUs"),
			"memory":           quantity("Memory"),
			"pods":             quantity("Pods"),
			"gpu":              quantity("GPUs (`" + gpuResource + "`)"),
			"custom_resources": stringMap("Other resources the Node advertises, resource name to quantity. Updated in place."),
			"labels": stringMap("Labels added to the Node. Updated in place: the running Node shows them after the apply " +
				"(a label removed from here is removed from the Node once this resource has applied it). One removed or " +
				"changed on the Node by hand shows in the plan and is written back."),
			"taints": schema.ListNestedAttribute{
				Optional: true, Computed: true,
				Default: listdefault.StaticValue(taintsValue(install.DefaultVNodeTaints())),
				MarkdownDescription: "Taints of the Node. Default: the VNode taint `" + profile.VNodeTaintKey + "=" +
					profile.VNodeTaintValue + ":" + string(profile.VNodeTaintEffect) + "`, which keeps pods that do not " +
					"tolerate it (and so do not expect ECI) off the VNode; give `[]` for none, or list it next to your own to " +
					"keep it. Updated in place: the running Node shows them after the apply.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key": schema.StringAttribute{Required: true, MarkdownDescription: "Taint key, a qualified name such as `dedicated` or `example.com/team`."},
					"value": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(""),
						MarkdownDescription: "Taint value, a label value (may be empty)."},
					"effect": schema.StringAttribute{Required: true,
						MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`."},
				}},
			},
			"spot_strategy": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Spot strategy of every pod's instance, unless the pod's `k8s.aliyun.com/eci-spot-strategy` " +
					"annotation says otherwise: `SpotAsPriceGo` (pay the market price), `SpotWithPriceLimit` (with " +
					"`spot_price_limit`) or `NoSpot`. Default: pay-as-you-go instances. Updated in place, for pods created after."},
			"spot_price_limit": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Highest hourly price of a spot instance, such as `0.5` (up to 3 decimals); required with, " +
					"and only allowed with, `spot_strategy = \"SpotWithPriceLimit\"`. Updated in place."},
			"auto_match_image_cache": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Whether every pod's instance uses a matching ECI image cache, when one exists, to start " +
					"faster, unless the pod's `k8s.aliyun.com/eci-auto-imc` annotation says otherwise. Default `false`. Updated in place."},
			"tags": stringMap(fmt.Sprintf("Tags of every ECI instance of the VNode, merged with the provider's `default_tags`. "+
				"An instance carries at most %d tags, %d of them the runtime's own (`eci-vnode/…`), so tags and default_tags "+
				"may add %d together. Keys may not start with `aliyun`, `acs:` or `eci-vnode/` and are at most %d characters; "+
				"values at most %d. Updated in place: the runtime restarts with the new tags and re-tags the instances that "+
				"already run (TagResources, UntagResources), removing only keys this VNode set before; the runtime's own tags, "+
				"a pod's `k8s.aliyun.com/eci-custom-tags` and tags set outside the VNode stay.",
				install.MaxInstanceTags, install.OwnedTagCount, install.MaxInstanceTags-install.OwnedTagCount,
				install.MaxTagKeyLen, install.MaxTagValueLen)),
			"cluster_dns": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Nameservers of pods with `dnsPolicy: ClusterFirst`. Default: the runtime's. Updated in place."},
			"cluster_domain": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Cluster domain of those pods. Default: the runtime's. Updated in place."},
			"cluster_ip_access": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Whether the runtime adds a kube-proxy container to every ECI instance of the VNode, so its " +
					"pods reach ClusterIP Services and, with `dnsPolicy: ClusterFirst`, the cluster DNS (without `cluster_dns`, the " +
					"ClusterIP of the Service `kube-system/kube-dns`). It runs in iptables mode with the capabilities `NET_ADMIN` and " +
					"`NET_RAW` only, as the ServiceAccount `eci-vnode-kube-proxy` bound to `system:node-proxier`; its 0.1 vCPU and " +
					"128 MiB are added to each pod's size before ECI rounds it, and so to the bill. It needs the VPC of the VNode's " +
					"instances to route to the pod IPs of the cluster's nodes and back. A pod opts out with the annotation " +
					"`eci-vnode.io/kube-proxy: disabled` (its `ClusterFirst` DNS then becomes `Default`). Default `true`. " +
					"Updated in place; it reaches instances created afterwards."},
			"kube_proxy_image": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The kube-proxy image of `cluster_ip_access`. Default: `registry.k8s.io/kube-proxy` of the " +
					"API server's version (`/version`), read again as the cluster is upgraded. Set it to a mirror the VPC can pull " +
					"from when it cannot reach registry.k8s.io. Updated in place."},
			"replicas": schema.Int64Attribute{
				Optional: true, Computed: true,
				Default: int64default.StaticInt64(1),
				MarkdownDescription: "Replicas of the VNode's runtime; above 1 they run active/standby by leader election. " +
					"Default `1`. Updated in place.",
			},
			"log_format": schema.StringAttribute{
				Optional: true, Computed: true,
				Default: stringdefault.StaticString("text"),
				MarkdownDescription: "Log format of the VNode's runtime: `text` (default; `key=value` lines) or `json` (one " +
					"JSON object a line, for log pipelines that parse JSON). Updated in place: the runtime restarts.",
			},
			"cost_tag_keys": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Tag keys the runtime's cost metrics split the estimated cost of the VNode's instances by " +
					"(`eci_vnode_cost_instances_per_hour_by_tag`, docs/runtime.md \"Cost\"), such as `[\"team\", \"cost-center\"]`; " +
					"an instance's value is its tag as ECI has it, from `tags_all` or the pod's `k8s.aliyun.com/eci-custom-tags`. " +
					"Default: the keys of `tags_all`; `[]` for no split. Updated in place: the runtime restarts."},
			"eci_api_limits": eciAPILimitsAttribute(),
			"resource_group_id": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Managed mode: the resource group (`rg-...`) of the VNode. Changing it forces a new VNode.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"eip_instance_id": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Managed mode: an elastic IP (`eip-...`) for the resident node, when it reaches the API " +
					"server over the Internet. Changing it forces a new VNode.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"enable_public_network": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Managed mode: whether ECI gives the resident node a public IP address. Default `false`. " +
					"Changing it forces a new VNode.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()}},
			"api_server": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Managed mode: the URL at which the resident node reaches the cluster's API server, such as " +
					"`https://192.168.0.10:6443`, written into the kubeconfig CreateVirtualNode is given. Default: the `host` " +
					"the provider uses. Set it when the VPC reaches the API server at another address (a private IP, an SLB). " +
					"Changing it forces a new VNode.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			// Computed.
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The node name in bundled mode; the VNode ID (`vnd-...`) in managed mode.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"virtual_node_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Managed mode: the VNode ID ECI gave it (`vnd-...`). Null in bundled mode.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"hourly_price": schema.Float64Attribute{
				Computed: true,
				MarkdownDescription: "Managed mode: what the VNode's resident node costs an hour, in the currency the account " +
					"is billed in, by Alibaba's formula (2 × vCPU unit price + 8 × GiB unit price) with the unit prices " +
					"DescribeContainerGroupPrice quotes for its zone; its pods' instances are billed on top. Null in bundled " +
					"mode. An observation: a change never plans an update.",
			},
			"node_name": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Name of the Kubernetes Node, for node selectors.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"image": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Image the VNode's runtime runs: its `eci_runtime`'s. When the runtime's image " +
					"changes, or the Deployment's is edited, the next plan updates the VNode to the runtime's image.",
			},
			"tags_all": schema.MapAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "The tags every instance gets: `tags` over the provider's `default_tags`. Running " +
					"instances follow a change, new ones get them at create.",
			},
			"status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Bundled mode: what the Node's Ready condition said when last read: `Ready`, `NotReady`, " +
					"`Unknown`, or `NotRegistered`. Managed mode: the VNode's status in ECI: `Pending`, `Ready` or `Failed` " +
					"(a Failed VNode plans a new one). An observation: otherwise a change never plans an update.",
			},
			"ready": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether the Node was Ready when last read, in both modes. An observation, like `status`.",
			},
			"drifted_objects": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "The objects of the VNode (bundled: its Deployment, ServiceAccount and RBAC; managed: its " +
					"bootstrap token Secret and ClusterRoleBindings) that were deleted " +
					"or edited outside Terraform, one `Kind [namespace/]name: deleted` or `...: edited` each, sorted; " +
					"empty when the cluster holds what this resource installs. An object is edited when applying it again " +
					"would change it (fields others added are left alone). Every plan expects it empty, so drift plans an " +
					"update, which applies every object again. A deleted Deployment plans a new VNode instead.",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true, CreateDescription: "How long create " +
				"waits for the runtime's Deployment to roll out and the Node to be Ready (default `5m`).",
				UpdateDescription: "How long update waits, as for create (default `5m`).",
				DeleteDescription: "How long destroy waits for the runtime's pods, then the Node, to go (default `5m`)."}),
		},
	}
}

func (r *vnodeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d := configureProviderData(req, resp); d != nil {
		r.data = d
	}
}

// vnodeAttrs maps install's VNode settings to the attributes they come from.
var vnodeAttrs = map[string]path.Path{
	"VNode.Name":               path.Root("name"),
	"VNode.ZoneIDs":            path.Root("zone_ids"),
	"VNode.VSwitchIDs":         path.Root("vswitch_ids"),
	"VNode.SecurityGroupID":    path.Root("security_group_id"),
	"VNode.Capacity":           path.Root("custom_resources"),
	"VNode.Labels":             path.Root("labels"),
	"VNode.Taints":             path.Root("taints"),
	"VNode.SpotStrategy":       path.Root("spot_strategy"),
	"VNode.SpotPriceLimit":     path.Root("spot_price_limit"),
	"VNode.Tags":               path.Root("tags"),
	"VNode.ClusterDNS":         path.Root("cluster_dns"),
	"VNode.Replicas":           path.Root("replicas"),
	"VNode.LogFormat":          path.Root("log_format"),
	"VNode.CostTagKeys":        path.Root("cost_tag_keys"),
	"VNode.ECICreateQPS":       eciAPILimitsPath("create_qps"),
	"VNode.ECICreateBurst":     eciAPILimitsPath("create_burst"),
	"VNode.ECICreatePerMinute": eciAPILimitsPath("create_per_minute"),
	"VNode.ECIReadShare":       eciAPILimitsPath("read_share"),
}

var (
	vswitchIDPattern = regexp.MustCompile(`^vsw-[a-z0-9]+(-[a-z0-9]+)*$`)
	// A zone ID is its region's ID and a suffix: cn-hangzhou-h, ap-southeast-1a.
	zoneIDPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)
	sgIDPattern   = regexp.MustCompile(`^sg-[a-z0-9]+(-[a-z0-9]+)*$`)
)

// ModifyPlan computes tags_all, plans the observations an apply makes, and
// refuses bad settings at plan time.
func (r *vnodeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var m, cfg vnodeResourceModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	if resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...); resp.Diagnostics.HasError() {
		return
	}
	checkModeAttributes(&resp.Diagnostics, cfg)
	validateVNodeModel(&resp.Diagnostics, &m)
	if m.Mode.IsUnknown() {
		return
	}
	if m.Mode.ValueString() == vnodeModeManaged {
		r.modifyManagedPlan(ctx, req, resp, &m)
		return
	}
	m.VirtualNodeID, m.HourlyPrice = types.StringNull(), types.Float64Null()
	defaults, known := r.data.DefaultTags()
	known = known && fullyKnown(m.Tags)
	var all map[string]string
	if known {
		all = mergeTags(defaults, strMap(m.Tags))
		checkTagBudget(&resp.Diagnostics, all, len(defaults))
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if known {
		tv, d := types.MapValueFrom(ctx, types.StringType, all)
		resp.Diagnostics.Append(d...)
		m.TagsAll = tv
	} else {
		m.TagsAll = types.MapUnknown(types.StringType)
	}
	if req.State.Raw.IsNull() {
		m.NodeName = m.Name
		m.ID = m.Name
	}
	// Whatever drifted, an apply writes every object again.
	m.DriftedObjects = noDrift()
	// An apply returns only once the Node is Ready, so that is what it
	// leaves in state; between applies, Read records what it sees, which
	// plans nothing.
	var st vnodeResourceModel
	if !req.State.Raw.IsNull() {
		if resp.Diagnostics.Append(req.State.Get(ctx, &st)...); resp.Diagnostics.HasError() {
			return
		}
	}
	changed := req.State.Raw.IsNull() || !vnodeSettingsEqual(m, st)
	if !req.State.Raw.IsNull() && !m.Image.IsUnknown() {
		// Read recorded the runtime's image next to the one running.
		if want := privateString(ctx, req.Private, privateRuntimeImage, &resp.Diagnostics); want != "" && want != st.Image.ValueString() {
			m.Image = types.StringValue(want)
			changed = true
		}
	}
	if changed {
		m.Status = types.StringValue("Ready")
		m.Ready = types.BoolValue(true)
	} else {
		m.Status, m.Ready = st.Status, st.Ready
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &m)...)
}

// vnodeSettingsEqual compares what an apply writes; the observations aside.
func vnodeSettingsEqual(a, b vnodeResourceModel) bool {
	a.Status, b.Status = types.StringNull(), types.StringNull()
	a.Ready, b.Ready = types.BoolNull(), types.BoolNull()
	return a.Mode.Equal(b.Mode) && a.Runtime.Equal(b.Runtime) && a.Name.Equal(b.Name) && a.ZoneIDs.Equal(b.ZoneIDs) &&
		a.ResourceGroupID.Equal(b.ResourceGroupID) && a.EIPInstanceID.Equal(b.EIPInstanceID) &&
		a.EnablePublicNetwork.Equal(b.EnablePublicNetwork) && a.APIServer.Equal(b.APIServer) &&
		a.VSwitchIDs.Equal(b.VSwitchIDs) && a.SecurityGroupID.Equal(b.SecurityGroupID) && a.CPU.Equal(b.CPU) &&
		a.Memory.Equal(b.Memory) && a.Pods.Equal(b.Pods) && a.GPU.Equal(b.GPU) && a.CustomResources.Equal(b.CustomResources) &&
		a.Labels.Equal(b.Labels) && a.Tags.Equal(b.Tags) && a.ClusterDNS.Equal(b.ClusterDNS) &&
		a.ClusterDomain.Equal(b.ClusterDomain) && a.ClusterIPAccess.Equal(b.ClusterIPAccess) &&
		a.KubeProxyImage.Equal(b.KubeProxyImage) && a.Replicas.Equal(b.Replicas) && a.TagsAll.Equal(b.TagsAll) &&
		a.Taints.Equal(b.Taints) && a.SpotStrategy.Equal(b.SpotStrategy) && a.SpotPriceLimit.Equal(b.SpotPriceLimit) &&
		a.AutoMatchImageCache.Equal(b.AutoMatchImageCache) && a.LogFormat.Equal(b.LogFormat) && a.CostTagKeys.Equal(b.CostTagKeys) &&
		a.ECIAPILimits.Equal(b.ECIAPILimits) && a.DriftedObjects.Equal(b.DriftedObjects)
}

// fullyKnown reports whether a list or map and all its elements are known.
func fullyKnown(v interface {
	IsUnknown() bool
	IsNull() bool
}) bool {
	if v.IsUnknown() {
		return false
	}
	var elems []attr.Value
	switch c := v.(type) {
	case types.List:
		elems = c.Elements()
	case types.Map:
		for _, e := range c.Elements() {
			elems = append(elems, e)
		}
	}
	for _, e := range elems {
		if e.IsUnknown() {
			return false
		}
	}
	return true
}

// strList is the known strings of l; nil when null or unknown.
func strList(l types.List) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	for _, e := range l.Elements() {
		if s, ok := e.(types.String); ok && !s.IsUnknown() && !s.IsNull() {
			out = append(out, s.ValueString())
		}
	}
	return out
}

// strMap is the known entries of m; nil when null or unknown.
func strMap(m types.Map) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	for k, e := range m.Elements() {
		if s, ok := e.(types.String); ok && !s.IsUnknown() && !s.IsNull() {
			out[k] = s.ValueString()
		}
	}
	return out
}

// keepEmptyList keeps an empty list of state where the cluster has none: the
// flag is not rendered for either, and `[]` in a configuration must not plan
// a change to null.
func keepEmptyList(state, live types.List) types.List {
	if live.IsNull() && !state.IsNull() && !state.IsUnknown() && len(state.Elements()) == 0 {
		return state
	}
	return live
}

// keepEmptyMap is keepEmptyList for maps.
func keepEmptyMap(state, live types.Map) types.Map {
	if live.IsNull() && !state.IsNull() && !state.IsUnknown() && len(state.Elements()) == 0 {
		return state
	}
	return live
}

func listOf(ss []string) types.List {
	if ss == nil {
		return types.ListNull(types.StringType)
	}
	elems := make([]attr.Value, len(ss))
	for i, s := range ss {
		elems[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, elems)
}

func mapOf(m map[string]string) types.Map {
	if m == nil {
		return types.MapNull(types.StringType)
	}
	elems := make(map[string]attr.Value, len(m))
	for k, v := range m {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

// validateVNodeModel checks what needs no cluster: formats, quantities and
// the rules install applies to every VNode.
func validateVNodeModel(diags *diag.Diagnostics, m *vnodeResourceModel) {
	if !m.VSwitchIDs.IsUnknown() {
		if n := len(m.VSwitchIDs.Elements()); n == 0 || n > 10 {
			diags.AddAttributeError(path.Root("vswitch_ids"), "Invalid vswitch_ids", fmt.Sprintf("%d vSwitches; give 1 to 10", n))
		}
		for i, e := range m.VSwitchIDs.Elements() {
			id, ok := e.(types.String)
			if ok && !id.IsUnknown() && !vswitchIDPattern.MatchString(id.ValueString()) {
				diags.AddAttributeError(path.Root("vswitch_ids").AtListIndex(i), "Invalid vswitch_ids",
					fmt.Sprintf("%q is not a vSwitch ID such as vsw-bp1a2b3c4d", id.ValueString()))
			}
		}
	}
	for i, e := range m.ZoneIDs.Elements() {
		if id, ok := e.(types.String); ok && !id.IsUnknown() && !zoneIDPattern.MatchString(id.ValueString()) {
			diags.AddAttributeError(path.Root("zone_ids").AtListIndex(i), "Invalid zone_ids",
				fmt.Sprintf("%q is not a zone ID such as cn-hangzhou-h", id.ValueString()))
		}
	}
	if sg := m.SecurityGroupID; !sg.IsNull() && !sg.IsUnknown() && !sgIDPattern.MatchString(sg.ValueString()) {
		diags.AddAttributeError(path.Root("security_group_id"), "Invalid security_group_id",
			fmt.Sprintf("%q is not a security group ID such as sg-bp1a2b3c4d", sg.ValueString()))
	}
	for _, q := range []struct {
		name string
		v    types.String
	}{{"cpu", m.CPU}, {"memory", m.Memory}, {"pods", m.Pods}, {"gpu", m.GPU}} {
		if q.v.IsNull() || q.v.IsUnknown() {
			continue
		}
		if msg := quantityProblem(q.v.ValueString()); msg != "" {
			diags.AddAttributeError(path.Root(q.name), "Invalid "+q.name, msg)
		}
	}
	custom := strMap(m.CustomResources)
	for _, k := range slices.Sorted(maps.Keys(custom)) {
		if msg := quantityProblem(custom[k]); msg != "" {
			diags.AddAttributeError(path.Root("custom_resources").AtMapKey(k), "Invalid custom_resources", k+": "+msg)
		}
	}
	tags := strMap(m.Tags)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if msg := checkTag(k, tags[k]); msg != "" {
			diags.AddAttributeError(path.Root("tags").AtMapKey(k), "Invalid tags", msg)
		}
	}
	checkECIAPILimits(diags, m.ECIAPILimits)
	if diags.HasError() || m.Name.IsUnknown() || !fullyKnown(m.ZoneIDs) || !fullyKnown(m.VSwitchIDs) || !taintsKnown(m.Taints) ||
		m.SpotStrategy.IsUnknown() || m.SpotPriceLimit.IsUnknown() ||
		!fullyKnown(m.ClusterDNS) || !fullyKnown(m.CostTagKeys) || !fullyKnown(m.Labels) || !fullyKnown(m.Tags) || !fullyKnown(m.CustomResources) ||
		!eciAPILimitsKnown(m.ECIAPILimits) {
		return
	}
	// install's own rules (names, labels, list syntax), with a stand-in
	// runtime: the real one is read from the cluster at apply.
	rt := install.Runtime{Image: "x", ClusterName: "x", Region: "cn-hangzhou", CredentialsSecret: "x"}
	v, err := m.vnode()
	if err != nil {
		diags.AddError("Invalid settings", err.Error())
		return
	}
	if err := rt.ValidateVNode(v); err != nil {
		addProblems(diags, err, vnodeAttrs)
	}
}

func quantityProblem(s string) string {
	q, err := k8sresource.ParseQuantity(s)
	if err != nil {
		return fmt.Sprintf("%q is not a Kubernetes quantity such as 1000, 500m or 4Ti", s)
	}
	if q.Sign() < 0 {
		return fmt.Sprintf("%q is negative", s)
	}
	return ""
}

// checkTagBudget refuses more tags than an instance can carry next to the
// runtime's own.
func checkTagBudget(diags *diag.Diagnostics, all map[string]string, defaults int) {
	total := install.OwnedTagCount + len(all)
	if total <= install.MaxInstanceTags {
		return
	}
	diags.AddAttributeError(path.Root("tags"), "Too many tags",
		fmt.Sprintf("Every instance of this VNode would carry %d tags but ECI allows at most %d: %d owned by the runtime "+
			"(eci-vnode/cluster, node, pod-namespace, pod-name, pod-uid) and %d from tags and the provider's default_tags "+
			"(%d of them default_tags). Remove at least %d.",
			total, install.MaxInstanceTags, install.OwnedTagCount, len(all), defaults, total-install.MaxInstanceTags))
}

func mergeTags(defaults, tags map[string]string) map[string]string {
	all := map[string]string{}
	maps.Copy(all, defaults)
	maps.Copy(all, tags)
	return all
}

// capacity is the --capacity map of m.
func (m vnodeResourceModel) capacity() map[string]string {
	c := map[string]string{}
	maps.Copy(c, strMap(m.CustomResources))
	set := func(name string, v types.String) {
		if !v.IsNull() && !v.IsUnknown() {
			c[name] = v.ValueString()
		}
	}
	set(string(corev1.ResourceCPU), m.CPU)
	set(string(corev1.ResourceMemory), m.Memory)
	set(string(corev1.ResourcePods), m.Pods)
	set(gpuResource, m.GPU)
	if len(c) == 0 {
		return nil
	}
	return c
}

// vnode is the install.VNode m describes, with tags_all as its tags.
func (m vnodeResourceModel) vnode() (install.VNode, error) {
	tags := strMap(m.Tags)
	if !m.TagsAll.IsNull() && !m.TagsAll.IsUnknown() {
		tags = map[string]string{}
		for k, v := range m.TagsAll.Elements() {
			s, ok := v.(types.String)
			if !ok {
				return install.VNode{}, fmt.Errorf("tags_all[%q] is a %T", k, v)
			}
			tags[k] = s.ValueString()
		}
	}
	v := install.VNode{
		Name:                m.Name.ValueString(),
		ZoneIDs:             strList(m.ZoneIDs),
		VSwitchIDs:          strList(m.VSwitchIDs),
		SecurityGroupID:     m.SecurityGroupID.ValueString(),
		Capacity:            m.capacity(),
		Labels:              strMap(m.Labels),
		Tags:                tags,
		ClusterDNS:          strList(m.ClusterDNS),
		ClusterDomain:       m.ClusterDomain.ValueString(),
		NoClusterIPAccess:   !m.ClusterIPAccess.IsNull() && !m.ClusterIPAccess.ValueBool(),
		KubeProxyImage:      m.KubeProxyImage.ValueString(),
		Replicas:            int32(m.Replicas.ValueInt64()),
		SpotStrategy:        m.SpotStrategy.ValueString(),
		SpotPriceLimit:      m.SpotPriceLimit.ValueString(),
		AutoMatchImageCache: m.AutoMatchImageCache.ValueBool(),
		LogFormat:           m.LogFormat.ValueString(),
	}
	if !m.CostTagKeys.IsNull() && !m.CostTagKeys.IsUnknown() {
		v.CostTagKeys = append([]string{}, strList(m.CostTagKeys)...)
	}
	setECIAPILimits(&v, m.ECIAPILimits)
	taints, err := taintsOf(m.Taints)
	if err != nil {
		return install.VNode{}, err
	}
	v.Taints = taints
	if len(v.Tags) == 0 {
		v.Tags = nil
	}
	return v, nil
}

// runtimeOf reads the settings eci_runtime recorded in namespace ns.
func runtimeOf(ctx context.Context, kc kubernetes.Interface, ns string) (install.Runtime, diag.Diagnostics) {
	var diags diag.Diagnostics
	cm, err := kc.CoreV1().ConfigMaps(ns).Get(ctx, install.RuntimeConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		diags.AddAttributeError(path.Root("runtime"), "Runtime not installed",
			fmt.Sprintf("eci_runtime %s is not installed: namespace %s has no ConfigMap %s. Create the eci_runtime first "+
				"(reference its id in runtime, so Terraform orders them).", ns, ns, install.RuntimeConfigMapName))
		return install.Runtime{}, diags
	}
	if err != nil {
		diags.AddError("Cannot read the eci-vnode runtime", fmt.Sprintf("Get ConfigMap %s/%s: %v", ns, install.RuntimeConfigMapName, err))
		return install.Runtime{}, diags
	}
	rt, err := install.RuntimeFromConfigMap(cm)
	if err != nil {
		diags.AddError("Cannot read the eci-vnode runtime", err.Error())
	}
	return rt, diags
}

func (r *vnodeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m vnodeResourceModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Create(ctx, defaultVNodeTimeout)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	if m.Mode.ValueString() == vnodeModeManaged {
		r.createManaged(ctx, &m, resp.Private, &resp.State, &resp.Diagnostics, waitFor{timeout, "create"})
		return
	}
	m.ID, m.NodeName = m.Name, m.Name
	r.apply(ctx, &m, nil, &resp.State, &resp.Diagnostics, waitFor{timeout, "create"})
	if !m.Image.IsUnknown() {
		resp.Diagnostics.Append(setPrivateString(ctx, resp.Private, privateRuntimeImage, m.Image.ValueString())...)
	}
}

func (r *vnodeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m vnodeResourceModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	var prior vnodeResourceModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &prior)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Update(ctx, defaultVNodeTimeout)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	if m.Mode.ValueString() == vnodeModeManaged {
		r.updateManaged(ctx, &m, &prior, req.Private, &resp.State, &resp.Diagnostics, waitFor{timeout, "update"})
		return
	}
	r.apply(ctx, &m, &prior, &resp.State, &resp.Diagnostics, waitFor{timeout, "update"})
	if !m.Image.IsUnknown() {
		resp.Diagnostics.Append(setPrivateString(ctx, resp.Private, privateRuntimeImage, m.Image.ValueString())...)
	}
}

// apply writes the VNode's objects, records it in state, and waits for the
// Deployment to roll out and the Node to be Ready. On update (prior set) it
// also writes the Node's labels, taints and capacity, which the runtime sets
// only when it registers a Node.
func (r *vnodeResource) apply(ctx context.Context, m, prior *vnodeResourceModel, state stateSetter, diags *diag.Diagnostics, wait waitFor) {
	kc, dyn, d := kubeClients(ctx, r.data)
	if diags.Append(d...); diags.HasError() {
		return
	}
	ns := m.Runtime.ValueString()
	rt, d := runtimeOf(ctx, kc, ns)
	if diags.Append(d...); diags.HasError() {
		return
	}
	v, err := m.vnode()
	if err != nil {
		diags.AddError("Invalid settings", err.Error())
		return
	}
	// The runtime's region is known only now, from the cluster.
	for i, z := range v.ZoneIDs {
		if !strings.HasPrefix(z, rt.Region) {
			diags.AddAttributeError(path.Root("zone_ids").AtListIndex(i), "Invalid zone_ids",
				fmt.Sprintf("Zone %s is not in region %s, the region of eci_runtime %s: give zones of that region, "+
					"such as %s-h.", z, rt.Region, ns, rt.Region))
		}
	}
	if diags.HasError() {
		return
	}
	objs, err := rt.VNodeObjects(v)
	if err != nil {
		addProblems(diags, err, vnodeAttrs)
		return
	}
	m.Image = types.StringValue(rt.Image)
	tflog.Debug(ctx, "applying a VNode", map[string]any{"node": v.Name, "namespace": ns, "image": rt.Image, "objects": len(objs)})
	if err := install.Apply(ctx, dyn, objs); err != nil {
		diags.AddError("Cannot install the VNode", err.Error())
		return
	}
	// In state before the wait, so that a timeout leaves it to destroy.
	observed := *m
	observed.Status, observed.Ready = types.StringValue(nodeNotRegistered), types.BoolValue(false)
	observed.DriftedObjects = noDrift()
	if diags.Append(state.Set(ctx, &observed)...); diags.HasError() {
		return
	}
	deadline := time.Now().Add(wait.timeout)
	if err := waitDeploymentReady(ctx, kc, ns, vnodeDeploymentName(v.Name), wait.timeout); err != nil {
		diags.AddError("The VNode's runtime is not ready",
			err.Error()+". Its pods' events and logs say why (kubectl -n "+ns+" logs deployment/"+vnodeDeploymentName(v.Name)+")."+wait.hint())
		return
	}
	if prior != nil {
		priorTaints, err := taintsOf(prior.Taints)
		if err != nil {
			diags.AddError("Invalid state", err.Error())
			return
		}
		if err := applyNodeSettings(ctx, kc, v, priorTaints); err != nil {
			diags.AddError("Cannot update the VNode's Node", err.Error())
			return
		}
	}
	if err := waitNodeReady(ctx, kc, v.Name, time.Until(deadline)); err != nil {
		diags.AddError("The VNode is not Ready", err.Error()+". The runtime's log says why (kubectl -n "+ns+
			" logs deployment/"+vnodeDeploymentName(v.Name)+")."+wait.hint())
		return
	}
	m.Status, m.Ready = types.StringValue("Ready"), types.BoolValue(true)
	m.DriftedObjects = noDrift()
	diags.Append(state.Set(ctx, m)...)
}

func vnodeDeploymentName(node string) string { return "eci-vnode-" + node }

func (r *vnodeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m vnodeResourceModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	if m.Mode.ValueString() == vnodeModeManaged {
		r.readManaged(ctx, &m, req.Private, resp)
		return
	}
	// State written before mode existed, or by an import by node name.
	m.Mode = types.StringValue(vnodeModeBundled)
	m.VirtualNodeID, m.HourlyPrice = types.StringNull(), types.Float64Null()
	kc, dyn, diags := kubeClients(ctx, r.data)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	ns, name := m.Runtime.ValueString(), m.ID.ValueString()
	dep, err := kc.AppsV1().Deployments(ns).Get(ctx, vnodeDeploymentName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && dep.DeletionTimestamp != nil) {
		tflog.Info(ctx, "VNode gone: its Deployment is not found", map[string]any{"node": name, "namespace": ns})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode", fmt.Sprintf("Get Deployment %s/%s: %v", ns, vnodeDeploymentName(name), err))
		return
	}
	if len(dep.Spec.Template.Spec.Containers) == 0 {
		resp.Diagnostics.AddError("Cannot read the VNode", "Deployment "+ns+"/"+dep.Name+" has no container.")
		return
	}
	// The Deployment's arguments are what runs: they are the truth for drift.
	args := dep.Spec.Template.Spec.Containers[0].Args
	m.Image = types.StringValue(dep.Spec.Template.Spec.Containers[0].Image)
	// What the runtime's image is now, for ModifyPlan to compare.
	rt, rtDiags := runtimeOf(ctx, kc, ns)
	if !rtDiags.HasError() {
		resp.Diagnostics.Append(setPrivateString(ctx, resp.Private, privateRuntimeImage, rt.Image)...)
	}
	m.Name, m.NodeName = types.StringValue(name), types.StringValue(name)
	m.ZoneIDs = keepEmptyList(m.ZoneIDs, listOf(listFlag(args, "zones")))
	m.VSwitchIDs = listOf(listFlag(args, "vswitch-ids"))
	m.SecurityGroupID = optionalFlag(args, "security-group-id")
	m.ClusterDNS = keepEmptyList(m.ClusterDNS, listOf(listFlag(args, "cluster-dns")))
	m.ClusterDomain = optionalFlag(args, "cluster-domain")
	m.ClusterIPAccess = types.BoolValue(flagValue(args, "cluster-ip-access", "true") == "true")
	m.KubeProxyImage = optionalFlag(args, "kube-proxy-image")
	node, err := getNode(ctx, kc, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode", err.Error())
		return
	}
	argLabels := mapFlag(args, "node-labels")
	m.Labels = keepEmptyMap(m.Labels, mapOf(labelsRead(argLabels, strMap(m.Labels), node)))
	taints := install.DefaultVNodeTaints()
	if v, ok := flagOf(args, "node-taints"); ok {
		if taints, err = install.ParseTaints(v); err != nil {
			resp.Diagnostics.AddError("Cannot read the VNode", fmt.Sprintf("Deployment %s/%s: --node-taints: %v", ns, dep.Name, err))
			return
		}
	}
	stateTaints, err := taintsOf(m.Taints)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode", err.Error())
		return
	}
	m.Taints = taintsValue(taintsRead(taints, stateTaints, node))
	m.SpotStrategy = optionalFlag(args, "spot-strategy")
	m.SpotPriceLimit = optionalFlag(args, "spot-price-limit")
	m.AutoMatchImageCache = types.BoolValue(flagValue(args, "auto-match-image-cache", "false") == "true")
	m.Replicas = types.Int64Value(int64(ptrOr(dep.Spec.Replicas, 1)))
	m.LogFormat = types.StringValue(flagValue(args, "log-format", "text"))
	m.CostTagKeys = types.ListNull(types.StringType)
	if keys, ok := flagOf(args, "cost-tag-keys"); ok {
		m.CostTagKeys = listOf(append([]string{}, strings.FieldsFunc(keys, func(r rune) bool { return r == ',' })...))
	}
	m.ECIAPILimits = eciAPILimitsRead(m.ECIAPILimits, args)
	capacity := mapFlag(args, "capacity")
	take := func(name string) types.String {
		v, ok := capacity[name]
		if !ok {
			return types.StringNull()
		}
		delete(capacity, name)
		return types.StringValue(v)
	}
	m.CPU, m.Memory, m.Pods, m.GPU = take(string(corev1.ResourceCPU)), take(string(corev1.ResourceMemory)),
		take(string(corev1.ResourcePods)), take(gpuResource)
	if len(capacity) == 0 {
		capacity = nil
	}
	m.CustomResources = keepEmptyMap(m.CustomResources, mapOf(capacity))

	all := mapFlag(args, "tags")
	tv, d := types.MapValueFrom(ctx, types.StringType, emptyAsEmpty(all))
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	m.TagsAll = tv
	m.Tags = mapOf(ownTags(all, strMap(m.Tags), r.data))

	status, ready := readiness(node)
	m.Status, m.Ready = types.StringValue(status), types.BoolValue(ready)

	// The objects, as the refreshed settings render them: a setting shown
	// as an attribute's change is not reported twice, and an imported VNode
	// is compared with what it runs. Without its runtime's ConfigMap there
	// is nothing to render them with; eci_runtime's plan shows that.
	//
	// Labels and taints are rendered as the Deployment's arguments give
	// them, not as read from the Node: a hand edit of the Node is already
	// the labels' or taints' change, and the Deployment was not edited.
	m.DriftedObjects = noDrift()
	if !rtDiags.HasError() {
		rt.Image = dep.Spec.Template.Spec.Containers[0].Image
		rendered := m
		rendered.Labels = keepEmptyMap(m.Labels, mapOf(argLabels))
		rendered.Taints = taintsValue(taints)
		drift, err := vnodeDrift(ctx, dyn, rt, rendered)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the VNode", err.Error())
			return
		}
		m.DriftedObjects = listOf(drift)
		if len(drift) == 0 {
			m.DriftedObjects = noDrift()
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// vnodeDrift lists the objects of the VNode m describes that the cluster
// no longer holds as apply writes them.
func vnodeDrift(ctx context.Context, dyn dynamic.Interface, rt install.Runtime, m vnodeResourceModel) ([]string, error) {
	v, err := m.vnode()
	if err != nil {
		return nil, err
	}
	objs, err := rt.VNodeObjects(v)
	if err != nil {
		return nil, fmt.Errorf("render the VNode's objects: %w", err)
	}
	return install.Drift(ctx, dyn, objs)
}

func emptyAsEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// ownTags is the part of the live tags that tags (not default_tags) set:
// what state says while the live tags agree with it, otherwise the live
// tags less those default_tags explain.
func ownTags(live, state map[string]string, d *providerData) map[string]string {
	var defaults map[string]string
	if d != nil {
		defaults, _ = d.DefaultTags()
	}
	if maps.Equal(mergeTags(defaults, state), emptyAsEmpty(live)) {
		return state
	}
	own := map[string]string{}
	for k, v := range live {
		if dv, ok := defaults[k]; ok && dv == v {
			if sv, inState := state[k]; !inState || sv != v {
				continue
			}
		}
		own[k] = v
	}
	if len(own) == 0 {
		return nil
	}
	return own
}

// flagOf is the value of --name=value in args, and whether it is there.
func flagOf(args []string, name string) (string, bool) {
	prefix := "--" + name + "="
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, prefix); ok {
			return v, true
		}
	}
	return "", false
}

func optionalFlag(args []string, name string) types.String {
	if v, ok := flagOf(args, name); ok {
		return types.StringValue(v)
	}
	return types.StringNull()
}

func listFlag(args []string, name string) []string {
	v, ok := flagOf(args, name)
	if !ok || v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// mapFlag reads the k=v,... syntax install renders maps in.
func mapFlag(args []string, name string) map[string]string {
	v, ok := flagOf(args, name)
	if !ok || v == "" {
		return nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		out[k] = val
	}
	return out
}

// privateRuntimeImage is the private state key where Read records the image
// of the VNode's eci_runtime.
const privateRuntimeImage = "runtime_image"

// privateState is the part of the framework's private state used here.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateStateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func privateString(ctx context.Context, p privateState, key string, diags *diag.Diagnostics) string {
	if p == nil {
		return ""
	}
	b, d := p.GetKey(ctx, key)
	if diags.Append(d...); len(b) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return ""
	}
	return s
}

func setPrivateString(ctx context.Context, p privateStateSetter, key, value string) diag.Diagnostics {
	b, _ := json.Marshal(value)
	return p.SetKey(ctx, key, b)
}

// Values of status besides the Ready condition's.
const nodeNotRegistered = "NotRegistered"

// getNode is Node name; nil when it is not registered.
func getNode(ctx context.Context, kc kubernetes.Interface, name string) (*corev1.Node, error) {
	n, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get Node %s: %w", name, err)
	}
	return n, nil
}

// nodeStatus is what the Node's Ready condition says.
func nodeStatus(ctx context.Context, kc kubernetes.Interface, name string) (string, bool, error) {
	n, err := getNode(ctx, kc, name)
	if err != nil {
		return "", false, err
	}
	status, ready := readiness(n)
	return status, ready, nil
}

// readiness is what n's Ready condition says; n nil is a Node not registered.
func readiness(n *corev1.Node) (string, bool) {
	if n == nil {
		return nodeNotRegistered, false
	}
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		switch c.Status {
		case corev1.ConditionTrue:
			return "Ready", true
		case corev1.ConditionFalse:
			return "NotReady", false
		}
		return "Unknown", false
	}
	return "Unknown", false
}

// labelsRead is the VNode's labels as they run: those of the Deployment's
// arguments, each as the Node carries it where the arguments still agree
// with state. So a label edited in the Deployment, or removed or changed on
// the Node by hand, is drift that the next apply writes back. Labels the
// VNode does not configure (the runtime's, other tools') are not its
// business. n nil (not registered yet) leaves the arguments' labels.
func labelsRead(args, state map[string]string, n *corev1.Node) map[string]string {
	if n == nil || args == nil {
		return args
	}
	out := map[string]string{}
	for k, v := range args {
		if sv, ok := state[k]; ok && sv == v {
			nv, onNode := n.Labels[k]
			if !onNode {
				continue
			}
			v = nv
		}
		out[k] = v
	}
	return out
}

// waitNodeReady waits until Node name is registered and Ready.
func waitNodeReady(ctx context.Context, kc kubernetes.Interface, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := nodeNotRegistered
	for {
		status, ready, err := nodeStatus(ctx, kc, name)
		if err == nil {
			if ready {
				return nil
			}
			last = status
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s is not Ready after %s (last seen: %s)", name, timeout.Round(time.Second), last)
		case <-time.After(time.Second):
		}
	}
}

// applyNodeSettings writes v's labels and capacity onto its running Node by
// server-side apply: the runtime sets them only when it registers the Node,
// so without this a changed label would wait for a new Node.
func applyNodeSettings(ctx context.Context, kc kubernetes.Interface, v install.VNode, prior []install.Taint) error {
	labelsPatch := map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": v.Name, "labels": emptyAsEmpty(v.Labels)}}
	if err := patchNode(ctx, kc, v.Name, labelsPatch, ""); err != nil {
		return fmt.Errorf("apply the labels of Node %s: %w", v.Name, err)
	}
	if err := applyNodeTaints(ctx, kc, v.Name, v.Taints, prior); err != nil {
		return fmt.Errorf("write the taints of Node %s: %w", v.Name, err)
	}
	if len(v.Capacity) == 0 {
		return nil
	}
	capacity := map[string]string{}
	for k, q := range v.Capacity {
		capacity[k] = q
	}
	statusPatch := map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": v.Name},
		"status": map[string]any{"capacity": capacity, "allocatable": capacity}}
	if err := patchNode(ctx, kc, v.Name, statusPatch, "status"); err != nil {
		return fmt.Errorf("apply the capacity of Node %s: %w", v.Name, err)
	}
	return nil
}

func (r *vnodeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m vnodeResourceModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	kc, dyn, diags := kubeClients(ctx, r.data)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, defaultVNodeTimeout)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	if m.Mode.ValueString() == vnodeModeManaged {
		r.deleteManaged(ctx, &m, &resp.Diagnostics, waitFor{timeout, "delete"})
		return
	}
	deadline := time.Now().Add(timeout)
	hint := waitFor{timeout, "delete"}.hint()
	ns, name := m.Runtime.ValueString(), m.ID.ValueString()
	if msg, err := podsStillOn(ctx, kc, name); err != nil {
		resp.Diagnostics.AddError("Cannot delete the VNode", err.Error())
		return
	} else if msg != "" {
		resp.Diagnostics.AddError("The VNode still runs pods", msg)
		return
	}
	// Only the names matter here; a runtime whose ConfigMap is gone still
	// has them.
	rt, d := runtimeOf(ctx, kc, ns)
	if d.HasError() {
		rt = install.Runtime{Image: "x", Namespace: ns, ClusterName: "x", Region: "cn-hangzhou", CredentialsSecret: "x"}
	}
	v := install.VNode{Name: name, VSwitchIDs: strList(m.VSwitchIDs), Replicas: int32(m.Replicas.ValueInt64())}
	objs, err := rt.VNodeObjects(v)
	if err != nil {
		// Names only: drop what does not validate.
		v = install.VNode{Name: name, Replicas: v.Replicas}
		if objs, err = rt.VNodeObjects(v); err != nil {
			addProblems(&resp.Diagnostics, err, vnodeAttrs)
			return
		}
	}
	// The Deployment first, and its pods gone, before the Node: until then
	// the runtime deletes the instances of the pods that go with the Node.
	if err := install.Delete(ctx, dyn, objs); err != nil {
		resp.Diagnostics.AddError("Cannot delete the VNode", err.Error())
		return
	}
	if err := waitGone(ctx, time.Until(deadline), "Deployment "+ns+"/"+vnodeDeploymentName(name), func(ctx context.Context) error {
		if _, err := kc.AppsV1().Deployments(ns).Get(ctx, vnodeDeploymentName(name), metav1.GetOptions{}); err != nil {
			return err
		}
		pods, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{
			install.LabelComponent: "node", install.LabelNode: name}).String()})
		if err == nil && len(pods.Items) == 0 {
			return apierrors.NewNotFound(corev1.Resource("pods"), name)
		}
		return nil
	}); err != nil {
		resp.Diagnostics.AddError("The VNode's runtime is not deleted", err.Error()+"."+hint)
		return
	}
	if err := install.Delete(ctx, dyn, rt.VNodeLeftovers(v)); err != nil {
		resp.Diagnostics.AddError("Cannot delete the VNode", err.Error())
		return
	}
	if err := waitGone(ctx, time.Until(deadline), "Node "+name, func(ctx context.Context) error {
		_, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err
	}); err != nil {
		resp.Diagnostics.AddError("The VNode's Node is not deleted", err.Error()+"."+hint)
	}
}

// podsStillOn says which pods are bound to the VNode, if any. Only the
// runtime deletes a pod's ECI instance, when the pod goes; a VNode deleted
// under its pods would leave their instances running, and billed, with
// nothing to delete them.
func podsStillOn(ctx context.Context, kc kubernetes.Interface, node string) (string, error) {
	list, err := kc.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return "", fmt.Errorf("list the pods on Node %s: %w", node, err)
	}
	if len(list.Items) == 0 {
		return "", nil
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	slices.Sort(names)
	more := ""
	if len(names) > 10 {
		more = fmt.Sprintf(" and %d more", len(names)-10)
		names = names[:10]
	}
	count := fmt.Sprintf("%d pods are", len(list.Items))
	if len(list.Items) == 1 {
		count = "1 pod is"
	}
	return fmt.Sprintf("%s bound to Node %s (%s%s). Destroying the VNode now would leave their ECI instances "+
		"running, and billed, with no runtime to delete them. Drain it first, which deletes each pod and its instance: "+
		"kubectl drain %s --ignore-daemonsets --delete-emptydir-data; then apply again.",
		count, node, strings.Join(names, ", "), more, node), nil
}

// waitGone polls get until it returns NotFound.
func waitGone(ctx context.Context, timeout time.Duration, what string, get func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := get(ctx)
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is still there after %s", what, timeout.Round(time.Second))
		case <-time.After(time.Second):
		}
	}
}

// ImportState takes a node name and finds the runtime whose namespace runs
// its Deployment, by the labels install puts on it; or the ID of a managed
// VNode.
func (r *vnodeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if strings.HasPrefix(req.ID, virtualNodeIDPrefix) {
		importManaged(ctx, req, resp)
		return
	}
	kc, _, diags := kubeClients(ctx, r.data)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	sel := labels.SelectorFromSet(labels.Set{install.LabelName: "eci-vnode", install.LabelComponent: "node", install.LabelNode: req.ID})
	list, err := kc.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		resp.Diagnostics.AddError("Cannot import the VNode", "List the VNode Deployments: "+err.Error())
		return
	}
	var namespaces []string
	for _, d := range list.Items {
		if d.Name == vnodeDeploymentName(req.ID) {
			namespaces = append(namespaces, d.Namespace)
		}
	}
	switch len(namespaces) {
	case 0:
		resp.Diagnostics.AddError("Cannot import the VNode",
			fmt.Sprintf("No namespace runs a Deployment %s labelled %s: VNode %q was not installed by eci_vnode or eci-vnode render.",
				vnodeDeploymentName(req.ID), sel, req.ID))
		return
	case 1:
	default:
		resp.Diagnostics.AddError("Cannot import the VNode",
			fmt.Sprintf("VNode %q runs in several namespaces (%s); only one may serve a Node.", req.ID, strings.Join(namespaces, ", ")))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("runtime"), namespaces[0])...)
}

// patchNode server-side applies obj to Node name, or to its subresource.
func patchNode(ctx context.Context, kc kubernetes.Interface, name string, obj map[string]any, subresource string) error {
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var sub []string
	if subresource != "" {
		sub = []string{subresource}
	}
	_, err = kc.CoreV1().Nodes().Patch(ctx, name, k8stypes.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: install.FieldManager, Force: ptrTo(true)}, sub...)
	return err
}

func ptrTo[T any](v T) *T { return &v }
