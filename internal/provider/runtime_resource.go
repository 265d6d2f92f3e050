package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
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
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

var (
	_ resource.Resource                = (*runtimeResource)(nil)
	_ resource.ResourceWithConfigure   = (*runtimeResource)(nil)
	_ resource.ResourceWithImportState = (*runtimeResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*runtimeResource)(nil)
)

// NewRuntimeResource is eci_runtime: the cluster-wide part of the eci-vnode
// runtime, as internal/install renders it (docs/install.md).
func NewRuntimeResource() resource.Resource { return &runtimeResource{} }

type runtimeResource struct {
	data *providerData
}

// Defaults of the timeouts block: how long create and update wait for the webhook to be
// ready, and destroy for the namespace to go.
const (
	defaultReadyTimeout  = 5 * time.Minute
	defaultDeleteTimeout = 5 * time.Minute
)

type runtimeResourceModel struct {
	ClusterName       types.String               `tfsdk:"cluster_name"`
	Namespace         types.String               `tfsdk:"namespace"`
	CreateNamespace   types.Bool                 `tfsdk:"create_namespace"`
	Image             types.String               `tfsdk:"image"`
	CredentialsSecret types.String               `tfsdk:"credentials_secret"`
	CredentialsAs     types.String               `tfsdk:"credentials_as"`
	WebhookReplicas   types.Int64                `tfsdk:"webhook_replicas"`
	WebhookResources  *resourceRequirementsModel `tfsdk:"webhook_resources"`
	LogLevel          types.String               `tfsdk:"log_level"`
	LogFormat         types.String               `tfsdk:"log_format"`
	FailurePolicy     types.String               `tfsdk:"webhook_failure_policy"`
	WebhookDirectURL  types.Bool                 `tfsdk:"webhook_direct_url"`
	Timeouts          timeouts.Value             `tfsdk:"timeouts"`
	ID                types.String               `tfsdk:"id"`
	Region            types.String               `tfsdk:"region"`
	Endpoint          types.String               `tfsdk:"endpoint"`
	CredentialsSHA256 types.String               `tfsdk:"credentials_sha256"`
	DriftedObjects    types.List                 `tfsdk:"drifted_objects"`
}

// resourceRequirementsModel is a container's requests and limits.
type resourceRequirementsModel struct {
	Requests map[string]string `tfsdk:"requests"`
	Limits   map[string]string `tfsdk:"limits"`
}

func (r *runtimeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_runtime"
}

func (r *runtimeResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	// Descriptions are read by tfplugindocs and by language servers.
	resp.Schema = schema.Schema{
		MarkdownDescription: "The cluster-wide part of the eci-vnode runtime, once per cluster: its namespace, the " +
			"credentials Secret, the `eci-profile` admission webhook, and the ConfigMap `" + install.RuntimeConfigMapName +
			"` that records the settings every `eci_vnode` of the cluster runs with (image, cluster name, region, " +
			"endpoint, credentials Secret). See docs/install.md for every object it creates.\n\n" +
			"The region and endpoint are the provider's. Credentials are either copied from the provider into the " +
			"Secret `" + install.CredentialsSecretName + "` (the state keeps only their SHA-256, never the key), or, with " +
			"`credentials_secret`, read by the runtime from a Secret you create, so no key passes through Terraform.\n\n" +
			"Create and update wait until the webhook is ready. Every object it installs is read back: one deleted or " +
			"edited out of band shows in `drifted_objects` and is restored by the next apply. Destroy removes everything " +
			"it created, and is refused while an `eci_vnode` still runs in its namespace. Import by namespace.",
		Blocks: map[string]schema.Block{
			"timeouts": runtimeTimeoutsBlock(ctx),
		},
		Attributes: map[string]schema.Attribute{
			// Required.
			"cluster_name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name of the cluster, at most 128 characters. Every ECI instance of a VNode is tagged " +
					"`eci-vnode/cluster=<cluster_name>`, which is how the runtime finds its own. Changing it forces a new " +
					"runtime (refused while VNodes use this one: their instances carry the old name).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			// Optional.
			"namespace": schema.StringAttribute{
				Optional: true, Computed: true,
				Default: stringdefault.StaticString(install.DefaultNamespace),
				MarkdownDescription: "Namespace of the runtime (a DNS label). Default `" + install.DefaultNamespace +
					"`. Changing it forces a new runtime.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"create_namespace": schema.BoolAttribute{
				Optional: true, Computed: true,
				Default: booldefault.StaticBool(true),
				MarkdownDescription: "Create the namespace, and delete it on destroy. Set `false` to install into an " +
					"existing namespace (the one holding `credentials_secret`, say), which destroy then leaves alone. " +
					"Default `true`. Changing it forces a new runtime.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"image": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Image of the runtime, webhook and VNodes alike. Default `" + install.ImageRepository +
					":<provider version>@sha256:<digest>`, the runtime image released with this provider, pinned by its digest " +
					"(a development build leaves out the digest). Updated in place: the webhook rolls " +
					"out the new image; each `eci_vnode` takes it at its next apply.",
			},
			"credentials_secret": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Name of an existing Secret in `namespace` holding the keys `" + eci.FileAccessKeyID +
					"`, `" + eci.FileAccessKeySecret + "` and optionally `" + eci.FileSecurityToken + "`. When set, the " +
					"provider's credentials are not copied and no key enters the state. When not set, the provider's " +
					"credentials are copied into the Secret `" + install.CredentialsSecretName + "`. Changing it forces a new runtime.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"credentials_as": schema.StringAttribute{
				Optional: true, Computed: true,
				Default: stringdefault.StaticString(string(install.CredentialsAsFiles)),
				MarkdownDescription: "How VNodes receive the credentials: `files` (default; the Secret is mounted and " +
					"followed, so a rotated key is used without a restart) or `env` (environment variables read once at " +
					"start, for hosts that mount no volumes). Changing it forces a new runtime.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"webhook_replicas": schema.Int64Attribute{
				Optional: true, Computed: true,
				Default:             int64default.StaticInt64(1),
				MarkdownDescription: "Replicas of the `eci-profile` webhook, 1 or more. Default `1`. Updated in place.",
			},
			"webhook_resources": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "Requests and limits of the webhook's container, resource name to quantity " +
					"(`cpu = \"50m\"`). Default: requests of 50m CPU and 64Mi memory, no limits. Updated in place.",
				Attributes: map[string]schema.Attribute{
					"requests": schema.MapAttribute{ElementType: types.StringType, Optional: true,
						MarkdownDescription: "Resource name to the quantity requested."},
					"limits": schema.MapAttribute{ElementType: types.StringType, Optional: true,
						MarkdownDescription: "Resource name to the quantity allowed at most."},
				},
			},
			"log_level": schema.StringAttribute{
				Optional: true, Computed: true,
				Default:             stringdefault.StaticString("info"),
				MarkdownDescription: "Log level of the webhook: `debug`, `info` (default), `warn` or `error`. Updated in place.",
			},
			"log_format": schema.StringAttribute{
				Optional: true, Computed: true,
				Default: stringdefault.StaticString("text"),
				MarkdownDescription: "Log format of the webhook: `text` (default; `key=value` lines) or `json` (one JSON object " +
					"a line, for log pipelines that parse JSON). Updated in place.",
			},
			"webhook_failure_policy": schema.StringAttribute{
				Optional: true, Computed: true,
				Default: stringdefault.StaticString("Ignore"),
				MarkdownDescription: "What the API server does with a pod when the webhook cannot be called: `Ignore` " +
					"(default; the pod is admitted without its profile) or `Fail` (the pod is refused). Updated in place.",
			},
			"webhook_direct_url": schema.BoolAttribute{
				Optional: true, Computed: true,
				Default: booldefault.StaticBool(false),
				MarkdownDescription: "Have the API server call the webhook's pod by its IP instead of through its Service, " +
					"for clusters whose API server cannot reach Services. One webhook replica only. Default `false`. " +
					"Updated in place.",
			},
			// Computed.
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The runtime's namespace; `eci_vnode.runtime` refers to it.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"region": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The provider's region, which every VNode calls ECI in. A change of the provider's " +
					"region forces a new runtime.",
			},
			"endpoint": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The provider's `endpoint` (empty for the region's public endpoint). A change " +
					"forces a new runtime.",
			},
			"credentials_sha256": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "SHA-256 of the credentials copied into the Secret, so that rotated provider " +
					"credentials, or an edited Secret, show in the plan. Null with `credentials_secret`.",
			},
			"drifted_objects": schema.ListAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "The objects of the runtime that were deleted or edited outside Terraform, one " +
					"`Kind [namespace/]name: deleted` or `...: edited` each, sorted; empty when the cluster holds what " +
					"this resource installs. An object is edited when applying it again would change it (a field this " +
					"resource writes was changed; fields others added are left alone), or, for the webhook's " +
					"Mutating- and ValidatingWebhookConfiguration, which the webhook writes itself, when anyone else " +
					"wrote to it. Every plan expects it empty, so drift plans an update, which applies every object " +
					"again and, for an edited or deleted webhook configuration, has the webhook write it anew. A deleted " +
					"namespace, runtime ConfigMap or webhook Deployment plans a new runtime instead; the credentials " +
					"Secret is compared by `credentials_sha256`.",
			},
		},
	}
}

func (r *runtimeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d := configureProviderData(req, resp); d != nil {
		r.data = d
	}
}

// runtimeAttrs maps install's settings to the attributes they come from.
var runtimeAttrs = map[string]path.Path{
	"Version":               path.Root("image"),
	"Image":                 path.Root("image"),
	"Namespace":             path.Root("namespace"),
	"ClusterName":           path.Root("cluster_name"),
	"CredentialsSecret":     path.Root("credentials_secret"),
	"CredentialsAs":         path.Root("credentials_as"),
	"Webhook.Replicas":      path.Root("webhook_replicas"),
	"Webhook.Resources":     path.Root("webhook_resources"),
	"Webhook.LogLevel":      path.Root("log_level"),
	"Webhook.LogFormat":     path.Root("log_format"),
	"Webhook.FailurePolicy": path.Root("webhook_failure_policy"),
}

// ModifyPlan fills in what depends on the provider (image, region, endpoint,
// credentials) and refuses bad settings at plan time.
func (r *runtimeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var m runtimeResourceModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	var cfgImage types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("image"), &cfgImage)...)
	if cfgImage.IsNull() {
		m.Image = types.StringValue(r.data.DefaultImage())
	}
	if region, ok := r.data.Region(); ok {
		m.Region = types.StringValue(region)
	} else if r.data.cfg.eci.region.unknown {
		m.Region = types.StringUnknown()
	} else {
		resp.Diagnostics.AddError("Missing region",
			"eci_runtime records the provider's region for its VNodes. Set region in the provider block, or ALIBABA_CLOUD_REGION_ID.")
		return
	}
	m.Endpoint = types.StringValue(r.data.Endpoint())
	switch {
	case m.CredentialsSecret.IsUnknown():
		m.CredentialsSHA256 = types.StringUnknown()
	case !m.CredentialsSecret.IsNull():
		m.CredentialsSHA256 = types.StringNull()
	default:
		if len(credentialArgs(r.data.cfg.eci.unknown)) > 0 {
			m.CredentialsSHA256 = types.StringUnknown()
			break
		}
		creds, diags := r.data.RequireCredentials()
		if diags.HasError() {
			for _, d := range diags {
				resp.Diagnostics.AddAttributeError(path.Root("credentials_secret"), d.Summary(),
					"eci_runtime copies the provider's credentials into the cluster unless credentials_secret names a Secret that holds them. "+d.Detail())
			}
			return
		}
		m.CredentialsSHA256 = types.StringValue(credentialsSHA256(creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken))
	}
	// Whatever drifted, the apply of this plan writes every object again: what is
	// planned is a cluster without drift. A kept runtime whose state lists drift thus
	// plans an update, and one without plans nothing.
	m.DriftedObjects = noDrift()
	rt, err := m.runtime(nil)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("webhook_resources"), "Invalid webhook_resources", err.Error())
		return
	}
	if m.knownForValidation() {
		if err := rt.Validate(); err != nil {
			addProblems(&resp.Diagnostics, err, runtimeAttrs)
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	// A change of the provider's region or endpoint forces a new runtime, as a
	// change of any setting its VNodes were rendered with does.
	if !req.State.Raw.IsNull() {
		var st runtimeResourceModel
		if resp.Diagnostics.Append(req.State.Get(ctx, &st)...); resp.Diagnostics.HasError() {
			return
		}
		if !m.Region.IsUnknown() && !m.Region.Equal(st.Region) {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("region"))
		}
		if !m.Endpoint.Equal(st.Endpoint) {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("endpoint"))
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &m)...)
}

func (m runtimeResourceModel) knownForValidation() bool {
	return !m.Image.IsUnknown() && !m.Namespace.IsUnknown() && !m.ClusterName.IsUnknown() && !m.CredentialsSecret.IsUnknown() &&
		!m.CredentialsAs.IsUnknown() && !m.WebhookReplicas.IsUnknown() && !m.LogLevel.IsUnknown() && !m.LogFormat.IsUnknown() && !m.FailurePolicy.IsUnknown() &&
		!m.Region.IsUnknown()
}

// runtime is the installation m describes; creds are the credentials to copy
// into the Secret (nil when only names are needed, as for Delete).
func (m runtimeResourceModel) runtime(creds *eci.Credentials) (install.Runtime, error) {
	res, err := m.WebhookResources.requirements()
	if err != nil {
		return install.Runtime{}, err
	}
	rt := install.Runtime{
		Image:             m.Image.ValueString(),
		Namespace:         m.Namespace.ValueString(),
		NamespaceExists:   !m.CreateNamespace.ValueBool(),
		ClusterName:       m.ClusterName.ValueString(),
		Region:            m.Region.ValueString(),
		ECIEndpoint:       m.Endpoint.ValueString(),
		ECIScheme:         eciScheme(m.Endpoint.ValueString()),
		CredentialsSecret: m.CredentialsSecret.ValueString(),
		CredentialsAs:     install.CredentialsAs(m.CredentialsAs.ValueString()),
		Webhook: install.Webhook{
			Replicas:      int32(m.WebhookReplicas.ValueInt64()),
			Resources:     res,
			LogLevel:      m.LogLevel.ValueString(),
			LogFormat:     m.LogFormat.ValueString(),
			FailurePolicy: m.FailurePolicy.ValueString(),
			DirectURL:     m.WebhookDirectURL.ValueBool(),
		},
	}
	if m.CredentialsSecret.IsNull() {
		c := install.Credentials{AccessKeyID: "-", AccessKeySecret: "-"}
		if creds != nil {
			c = install.Credentials{AccessKeyID: creds.AccessKeyID, AccessKeySecret: creds.AccessKeySecret, SecurityToken: creds.SecurityToken}
		}
		rt.Credentials = &c
	}
	return rt, nil
}

func (rm *resourceRequirementsModel) requirements() (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	if rm == nil {
		return out, nil
	}
	parse := func(kind string, m map[string]string) (corev1.ResourceList, error) {
		if m == nil {
			return nil, nil
		}
		l := corev1.ResourceList{}
		for k, v := range m {
			q, err := k8sresource.ParseQuantity(v)
			if err != nil {
				return nil, fmt.Errorf("%s %s=%q is not a quantity such as 100m, 128Mi or 2", kind, k, v)
			}
			l[corev1.ResourceName(k)] = q
		}
		return l, nil
	}
	var err error
	if out.Requests, err = parse("requests", rm.Requests); err != nil {
		return out, err
	}
	if out.Limits, err = parse("limits", rm.Limits); err != nil {
		return out, err
	}
	if out.Requests == nil && out.Limits == nil {
		// An empty block means no requests at all, not the default.
		out.Requests = corev1.ResourceList{}
	}
	return out, nil
}

func (r *runtimeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m runtimeResourceModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	m.ID = m.Namespace
	timeout, d := m.Timeouts.Create(ctx, defaultReadyTimeout)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &m, &resp.State, &resp.Diagnostics, timeout, "create")
}

func (r *runtimeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m runtimeResourceModel
	if resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Update(ctx, defaultReadyTimeout)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &m, &resp.State, &resp.Diagnostics, timeout, "update")
}

// stateSetter is the part of tfsdk.State apply needs.
type stateSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// apply writes the installation m describes, records it in state, then waits up
// to timeout (the timeouts block's key op) for the webhook; a timeout leaves the
// applied runtime in state (tainted). Drift of what the webhook writes itself, its
// configurations, is repaired by having the webhook write them anew.
func (r *runtimeResource) apply(ctx context.Context, m *runtimeResourceModel, state stateSetter, diags *diag.Diagnostics, timeout time.Duration, op string) {
	kc, dyn, d := kubeClients(ctx, r.data)
	if diags.Append(d...); diags.HasError() {
		return
	}
	var creds *eci.Credentials
	if m.CredentialsSecret.IsNull() {
		c, d := r.data.RequireCredentials()
		if diags.Append(d...); diags.HasError() {
			return
		}
		creds = &c
	}
	rt, err := m.runtime(creds)
	if err != nil {
		diags.AddAttributeError(path.Root("webhook_resources"), "Invalid webhook_resources", err.Error())
		return
	}
	rt.Version = r.data.Version()
	objs, err := rt.Objects()
	if err != nil {
		addProblems(diags, err, runtimeAttrs)
		return
	}
	cm, err := rt.ConfigMap()
	if err != nil {
		addProblems(diags, err, runtimeAttrs)
		return
	}
	tflog.Debug(ctx, "applying the eci-vnode runtime", map[string]any{"namespace": rt.Namespace, "image": rt.Image, "objects": len(objs) + 1})
	if err := install.Apply(ctx, dyn, append(objs, cm)); err != nil {
		diags.AddError("Cannot install the eci-vnode runtime", err.Error())
		return
	}
	// On create the webhook is only starting and writes its configurations before it
	// is ready; asking now would find them missing.
	if op == "update" {
		drift, err := rt.WebhookConfigurationDrift(ctx, dyn)
		if err != nil {
			diags.AddError("Cannot install the eci-vnode runtime", err.Error())
			return
		}
		if len(drift) > 0 {
			tflog.Info(ctx, "restarting the eci-profile webhook to write its configurations anew", map[string]any{"drift": drift})
			if err := rt.RepairWebhookConfigurations(ctx, dyn, time.Now()); err != nil {
				diags.AddError("Cannot repair the eci-profile webhook's configurations", err.Error())
				return
			}
		}
	}
	m.DriftedObjects = noDrift()
	if diags.Append(state.Set(ctx, m)...); diags.HasError() {
		return
	}
	if err := waitDeploymentReady(ctx, kc, rt.Namespace, install.WebhookName, timeout); err != nil {
		diags.AddError("The eci-profile webhook is not ready",
			err.Error()+". Its pods' events and logs say why (kubectl -n "+rt.Namespace+" describe deployment "+install.WebhookName+")."+
				waitFor{timeout, op}.hint())
	}
}

// runtimeTimeoutsBlock is the timeouts block, with this resource's defaults in its
// descriptions (the timeouts package documents none).
func runtimeTimeoutsBlock(ctx context.Context) schema.Block {
	b := timeouts.Block(ctx, timeouts.Opts{
		Create: true, Update: true, Delete: true,
		CreateDescription: "How long create waits for the webhook to be ready, as a Go duration (`90s`, `10m`). Default `" +
			durationString(defaultReadyTimeout) + "`.",
		UpdateDescription: "How long update waits for the webhook to be ready. Default `" + durationString(defaultReadyTimeout) + "`.",
		DeleteDescription: "How long destroy waits for the namespace it created to be gone. Default `" +
			durationString(defaultDeleteTimeout) + "`.",
	})
	if sb, ok := b.(schema.SingleNestedBlock); ok {
		sb.MarkdownDescription = "How long create, update and destroy wait ([Terraform's timeouts convention]" +
			"(https://developer.hashicorp.com/terraform/language/resources/syntax#operation-timeouts))."
		return sb
	}
	return b
}

// durationString prints a whole-minute duration as 5m rather than Go's 5m0s.
func durationString(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func (r *runtimeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m runtimeResourceModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	kc, dyn, diags := kubeClients(ctx, r.data)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	ns := m.ID.ValueString()
	cm, err := kc.CoreV1().ConfigMaps(ns).Get(ctx, install.RuntimeConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		tflog.Info(ctx, "eci-vnode runtime gone: its ConfigMap is not found", map[string]any{"namespace": ns})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the eci-vnode runtime", fmt.Sprintf("Get ConfigMap %s/%s: %v", ns, install.RuntimeConfigMapName, err))
		return
	}
	dep, err := kc.AppsV1().Deployments(ns).Get(ctx, install.WebhookName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// The webhook is what this resource runs: without it, plan a new one.
		tflog.Info(ctx, "eci-vnode runtime gone: its webhook Deployment is not found", map[string]any{"namespace": ns})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the eci-vnode runtime", fmt.Sprintf("Get Deployment %s/%s: %v", ns, install.WebhookName, err))
		return
	}
	rec, err := install.RuntimeFromConfigMap(cm)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the eci-vnode runtime", err.Error())
		return
	}
	m.Namespace = types.StringValue(ns)
	m.CreateNamespace = types.BoolValue(!rec.NamespaceExists)
	m.ClusterName = types.StringValue(rec.ClusterName)
	m.Region = types.StringValue(rec.Region)
	m.Endpoint = types.StringValue(rec.ECIEndpoint)
	m.CredentialsAs = types.StringValue(string(rec.CredentialsAs))
	if rec.CredentialsSecret != install.CredentialsSecretName || !m.CredentialsSecret.IsNull() {
		m.CredentialsSecret = types.StringValue(rec.CredentialsSecret)
		m.CredentialsSHA256 = types.StringNull()
	} else {
		sum, err := readCredentialsSHA256(ctx, kc, ns)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the eci-vnode runtime", err.Error())
			return
		}
		m.CredentialsSHA256 = types.StringValue(sum)
	}

	spec := dep.Spec.Template.Spec
	if len(spec.Containers) == 0 {
		resp.Diagnostics.AddError("Cannot read the eci-vnode runtime", "Deployment "+ns+"/"+install.WebhookName+" has no container.")
		return
	}
	c := spec.Containers[0]
	m.Image = types.StringValue(c.Image)
	m.WebhookReplicas = types.Int64Value(int64(ptrOr(dep.Spec.Replicas, 1)))
	m.LogLevel = types.StringValue(flagValue(c.Args, "log-level", "info"))
	m.LogFormat = types.StringValue(flagValue(c.Args, "log-format", "text"))
	m.FailurePolicy = types.StringValue(flagValue(c.Args, "failure-policy", "Ignore"))
	m.WebhookDirectURL = types.BoolValue(flagValue(c.Args, "webhook-url-host", "") != "")
	// webhook_resources: keep what state says while the container has it, so
	// an unset block (the default) stays unset; otherwise show what runs.
	want, err := m.WebhookResources.requirements()
	if err != nil || m.WebhookResources == nil {
		want = install.DefaultWebhookResources()
	}
	if !sameResources(want, c.Resources) {
		m.WebhookResources = resourcesModel(c.Resources)
	}
	drift, err := r.drift(ctx, dyn, m)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the eci-vnode runtime", err.Error())
		return
	}
	if drift == nil {
		drift = []string{} // an empty list, not null: as planned (noDrift)
	}
	m.DriftedObjects, diags = types.ListValueFrom(ctx, types.StringType, drift)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// drift lists the objects of the runtime m describes that the cluster no longer holds
// as apply writes them (install.Drift), and the webhook's configurations if anyone but
// the webhook wrote to them. m is the state as Read refreshed it, so that a setting
// already shown as an attribute's change (an edited --log-level) is not reported twice,
// and an imported runtime is compared with what it runs. Credentials are never needed:
// the Secret holding them is left out (install.Drift), compared by its hash instead.
func (r *runtimeResource) drift(ctx context.Context, dyn dynamic.Interface, m runtimeResourceModel) ([]string, error) {
	rt, err := m.runtime(nil)
	if err != nil {
		return nil, fmt.Errorf("webhook_resources: %w", err)
	}
	rt.Version = r.data.Version()
	objs, err := rt.Objects()
	if err != nil {
		return nil, err
	}
	cm, err := rt.ConfigMap()
	if err != nil {
		return nil, err
	}
	drift, err := install.Drift(ctx, dyn, append(objs, cm))
	if err != nil {
		return nil, err
	}
	cfgs, err := rt.WebhookConfigurationDrift(ctx, dyn)
	if err != nil {
		return nil, err
	}
	drift = append(drift, cfgs...)
	sort.Strings(drift)
	return drift, nil
}

// readCredentialsSHA256 hashes the Secret eci_runtime writes; "" when it is
// gone, so that the plan re-applies it.
func readCredentialsSHA256(ctx context.Context, kc kubernetes.Interface, ns string) (string, error) {
	s, err := kc.CoreV1().Secrets(ns).Get(ctx, install.CredentialsSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get Secret %s/%s: %w", ns, install.CredentialsSecretName, err)
	}
	return credentialsSHA256(string(s.Data[eci.FileAccessKeyID]), string(s.Data[eci.FileAccessKeySecret]), string(s.Data[eci.FileSecurityToken])), nil
}

// flagValue is the value of --name=value in args, or def.
func flagValue(args []string, name, def string) string {
	if v, ok := flagOf(args, name); ok {
		return v
	}
	return def
}

func sameResources(a, b corev1.ResourceRequirements) bool {
	return sameList(a.Requests, b.Requests) && sameList(a.Limits, b.Limits)
}

func sameList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, q := range a {
		o, ok := b[k]
		if !ok || q.Cmp(o) != 0 {
			return false
		}
	}
	return true
}

func resourcesModel(r corev1.ResourceRequirements) *resourceRequirementsModel {
	conv := func(l corev1.ResourceList) map[string]string {
		if len(l) == 0 {
			return nil
		}
		out := make(map[string]string, len(l))
		for k, q := range l {
			out[string(k)] = q.String()
		}
		return out
	}
	return &resourceRequirementsModel{Requests: conv(r.Requests), Limits: conv(r.Limits)}
}

func (r *runtimeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m runtimeResourceModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	kc, dyn, diags := kubeClients(ctx, r.data)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	ns := m.ID.ValueString()
	users, err := vnodesOf(ctx, kc, ns)
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete the eci-vnode runtime", err.Error())
		return
	}
	if len(users) > 0 {
		resp.Diagnostics.AddError("The eci-vnode runtime is still in use",
			fmt.Sprintf("The runtime in namespace %s still runs the VNodes %s. Destroy them first (their eci_vnode resources, "+
				"or kubectl -n %s delete deployment -l %s=node): without the runtime, nothing would delete their pods' ECI instances.",
				ns, strings.Join(users, ", "), ns, install.LabelComponent))
		return
	}
	rt, err := m.runtime(nil)
	if err != nil {
		rt.Namespace, rt.NamespaceExists = ns, !m.CreateNamespace.ValueBool()
	}
	rt.Version = r.data.Version()
	objs, err := rt.Objects()
	if err != nil {
		addProblems(&resp.Diagnostics, err, runtimeAttrs)
		return
	}
	cm, err := rt.ConfigMap()
	if err != nil {
		addProblems(&resp.Diagnostics, err, runtimeAttrs)
		return
	}
	if err := install.Delete(ctx, dyn, append(append(rt.RuntimeLeftovers(), objs...), cm)); err != nil {
		resp.Diagnostics.AddError("Cannot delete the eci-vnode runtime", err.Error())
		return
	}
	if rt.NamespaceExists {
		return
	}
	// Wait for the namespace to go, so that a replacement in the same
	// namespace (a new cluster_name) does not find it terminating.
	timeout, d := m.Timeouts.Delete(ctx, defaultDeleteTimeout)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		resp.Diagnostics.AddError("The runtime's namespace is not deleted",
			fmt.Sprintf("Namespace %s is still terminating after %s: %v. Something in it may hold a finalizer (kubectl get namespace %s -o yaml).",
				ns, timeout, err, ns)+waitFor{timeout, "delete"}.hint())
	}
}

// vnodesOf names the VNodes whose runtime Deployments run in namespace ns, by
// the labels install puts on them.
func vnodesOf(ctx context.Context, kc kubernetes.Interface, ns string) ([]string, error) {
	sel := labels.SelectorFromSet(labels.Set{install.LabelName: "eci-vnode", install.LabelComponent: "node"})
	list, err := kc.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list the VNode Deployments in %s: %w", ns, err)
	}
	var names []string
	for _, d := range list.Items {
		if d.DeletionTimestamp != nil {
			continue
		}
		names = append(names, d.Labels[install.LabelNode])
	}
	sort.Strings(names)
	return names, nil
}

func (r *runtimeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), req.ID)...)
}
