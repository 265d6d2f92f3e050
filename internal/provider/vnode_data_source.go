package provider

import (
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

var (
	_ datasource.DataSource              = (*vnodeDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*vnodeDataSource)(nil)
)

// annotationInstanceID is the pod annotation the runtime writes back with
// the ID of the pod's ECI instance (docs/runtime.md, "Pod annotations
// written back"), the same key Alibaba's own VNodes write.
const annotationInstanceID = "k8s.aliyun.com/eci-instance-id"

// NewVNodeDataSource is the eci_vnode data source: a running VNode as the
// cluster sees it, by node name.
func NewVNodeDataSource() datasource.DataSource { return &vnodeDataSource{} }

type vnodeDataSource struct {
	data *providerData
}

type vnodeDataSourceModel struct {
	Name types.String `tfsdk:"name"`

	ID            types.String `tfsdk:"id"`
	Ready         types.Bool   `tfsdk:"ready"`
	Status        types.String `tfsdk:"status"`
	StatusMessage types.String `tfsdk:"status_message"`
	Capacity      types.Map    `tfsdk:"capacity"`
	Allocatable   types.Map    `tfsdk:"allocatable"`
	Labels        types.Map    `tfsdk:"labels"`
	ZoneID        types.String `tfsdk:"zone_id"`
	Region        types.String `tfsdk:"region"`
	PodCount      types.Int64  `tfsdk:"pod_count"`
	InstanceIDs   types.List   `tfsdk:"instance_ids"`
}

func (d *vnodeDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vnode"
}

func (d *vnodeDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computedMap := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A VNode as the cluster sees it now: its Node's readiness, capacity and labels, the pods " +
			"bound to it and the ECI instances behind them. It reads the Kubernetes API only (the provider's " +
			"`kubernetes` block), so it works for any VNode, including one another configuration or `eci_vnode` " +
			"resource manages.\n\n" +
			"A VNode is a Node labelled `" + profile.VNodeLabelKey + "=" + profile.VNodeLabelValue + "`; reading a " +
			"name that is no Node, or a Node without that label, is an error.",
		Attributes: map[string]schema.Attribute{
			// Required.
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of the VNode's Node, as in `eci_vnode`'s `name`.",
			},

			// Computed.
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The node name.",
			},
			"ready": schema.BoolAttribute{
				Computed:            true,
				MarkdownDescription: "Whether the Node's `Ready` condition is `True`: its runtime runs and takes pods.",
			},
			"status": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "`Ready`, `NotReady` or `Unknown`: the status of the Node's `Ready` condition, as in `eci_vnode`'s `status`.",
			},
			"status_message": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The `Ready` condition's reason and message, such as `EciVNodeReady: ...`; empty " +
					"when the Node reports no `Ready` condition.",
			},
			"capacity": computedMap("Resources the Node advertises in total (`status.capacity`), as Kubernetes " +
				"quantities keyed by resource name: `cpu`, `memory`, `pods` and any custom resources."),
			"allocatable": computedMap("Resources the scheduler may place pods against (`status.allocatable`), as " +
				"Kubernetes quantities keyed by resource name."),
			"labels": computedMap("All labels of the Node: the VNode's own, the runtime's (such as `" +
				profile.VNodeLabelKey + "` and `" + corev1.LabelTopologyZone + "`) and any others."),
			"zone_id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The zone in the Node's `" + corev1.LabelTopologyZone + "` label: the first of the " +
					"VNode's zones. Null when the VNode names no zone (ECI then picks one per instance).",
			},
			"region": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The region in the Node's `" + corev1.LabelTopologyRegion + "` label, where its ECI instances run.",
			},
			"pod_count": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Pods bound to the Node that have not finished (phase neither `Succeeded` nor " +
					"`Failed`), in every namespace.",
			},
			"instance_ids": schema.ListAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "IDs of the ECI instances behind those pods, sorted: the `" + annotationInstanceID +
					"` annotation the runtime writes on each pod once it has created the instance. A pod still " +
					"waiting for its instance has none yet, so this list can be shorter than `pod_count`.",
			},
		},
	}
}

func (d *vnodeDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	if p := configureDataSourceData(req, resp); p != nil {
		d.data = p
	}
}

func (d *vnodeDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m vnodeDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider not configured", "Terraform read eci_vnode before it configured the eci provider.")
		return
	}
	kc, diags := d.data.Kube(ctx)
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	name := m.Name.ValueString()
	n, err := getNode(ctx, kc, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode", err.Error())
		return
	}
	if n == nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "No such VNode",
			fmt.Sprintf("The cluster has no Node %s. A VNode's Node registers once its runtime runs; check the name "+
				"(kubectl get nodes -l %s=%s lists the VNodes).", name, profile.VNodeLabelKey, profile.VNodeLabelValue))
		return
	}
	if n.Labels[profile.VNodeLabelKey] != profile.VNodeLabelValue {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Not a VNode",
			fmt.Sprintf("Node %s is not a VNode: it does not carry the label %s=%s that every VNode has "+
				"(kubectl get nodes -l %s=%s lists the VNodes).", name, profile.VNodeLabelKey, profile.VNodeLabelValue,
				profile.VNodeLabelKey, profile.VNodeLabelValue))
		return
	}
	count, ids, err := podsAndInstances(ctx, kc, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode's pods", err.Error())
		return
	}
	tflog.Debug(ctx, "eci_vnode read", map[string]any{"node": name, "pods": count, "instances": len(ids)})

	status, ready := readiness(n)
	m.ID = types.StringValue(name)
	m.Ready = types.BoolValue(ready)
	m.Status = types.StringValue(status)
	m.StatusMessage = types.StringValue(readyMessage(n))
	m.Capacity = mapOf(quantities(n.Status.Capacity))
	m.Allocatable = mapOf(quantities(n.Status.Allocatable))
	m.Labels = mapOf(n.Labels)
	m.ZoneID = labelOrNull(n.Labels, corev1.LabelTopologyZone)
	m.Region = labelOrNull(n.Labels, corev1.LabelTopologyRegion)
	m.PodCount = types.Int64Value(int64(count))
	m.InstanceIDs = listOf(ids)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// podsAndInstances counts the unfinished pods bound to node and collects
// the ECI instance IDs the runtime annotated them with, sorted.
func podsAndInstances(ctx context.Context, kc kubernetes.Interface, node string) (int, []string, error) {
	list, err := kc.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return 0, nil, fmt.Errorf("list the pods on Node %s: %w", node, err)
	}
	count, ids := 0, []string{}
	for _, p := range list.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		count++
		if id := p.Annotations[annotationInstanceID]; id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return count, slices.Compact(ids), nil
}

// readyMessage is "reason: message" of n's Ready condition.
func readyMessage(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		switch {
		case c.Reason == "":
			return c.Message
		case c.Message == "":
			return c.Reason
		}
		return c.Reason + ": " + c.Message
	}
	return ""
}

func quantities(rl corev1.ResourceList) map[string]string {
	out := make(map[string]string, len(rl))
	for name, q := range rl {
		out[string(name)] = q.String()
	}
	return out
}

func labelOrNull(labels map[string]string, key string) types.String {
	if v := labels[key]; v != "" {
		return types.StringValue(v)
	}
	return types.StringNull()
}
