package provider

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int32default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

var (
	_ resource.Resource                   = (*profileSelectorResource)(nil)
	_ resource.ResourceWithConfigure      = (*profileSelectorResource)(nil)
	_ resource.ResourceWithImportState    = (*profileSelectorResource)(nil)
	_ resource.ResourceWithValidateConfig = (*profileSelectorResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*profileSelectorResource)(nil)
)

// NewProfileSelectorResource is eci_profile_selector: one selector of the
// eci-profile ConfigMap, which the eci-profile webhook reads to decide which
// new pods run on ECI.
func NewProfileSelectorResource() resource.Resource { return &profileSelectorResource{} }

type profileSelectorResource struct {
	data *providerData
}

// profileRef names the ConfigMap in messages.
const profileRef = profile.ConfigMapNamespace + "/" + profile.ConfigMapName

func (r *profileSelectorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_profile_selector"
}

func (r *profileSelectorResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	policies := profile.Policies()
	names := make([]string, len(policies))
	for i, p := range policies {
		names[i] = "`" + string(p) + "`"
	}
	// of is whose labels the selector tests, every what `{}` matches, more
	// a sentence of its own.
	labelSelector := func(of, every, more string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{
			Optional: true,
			MarkdownDescription: "A Kubernetes label selector on the labels of " + of + "." + more + " `match_labels` " +
				"and `match_expressions` must both match. Leave it out and it is not used; `{}` matches every " + every +
				". At least one of `namespace_selector` and `object_selector` is required; with both, both must match. " +
				"Updated in place.",
			Attributes: map[string]schema.Attribute{
				"match_labels": schema.MapAttribute{
					ElementType: types.StringType, Optional: true,
					MarkdownDescription: "Labels that must all be present with these values (label keys and values in " +
						"Kubernetes syntax).",
				},
				"match_expressions": schema.ListNestedAttribute{
					Optional:            true,
					MarkdownDescription: "Requirements that must all hold.",
					NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
						"key": schema.StringAttribute{Required: true, MarkdownDescription: "The label key the requirement tests."},
						"operator": schema.StringAttribute{Required: true,
							MarkdownDescription: "`In` or `NotIn` (the label's value is, or is not, one of `values`), " +
								"`Exists` or `DoesNotExist` (the label is, or is not, present; no `values`)."},
						"values": schema.ListAttribute{ElementType: types.StringType, Optional: true,
							MarkdownDescription: "Label values; at least one for `In` and `NotIn`, none for `Exists` and `DoesNotExist`."},
					}},
				},
			},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One selector of the eci-profile: the ConfigMap `" + profileRef + "` (key `" +
			profile.SelectorsKey + "`, Alibaba ACK's format) that the eci-profile webhook of `eci_runtime` reads. " +
			"A new pod that a selector matches gets the selector's `effect` and is placed by its `policy` " +
			"(by default it runs on a VNode, as an ECI instance). When several selectors match a pod, the one " +
			"with the highest `priority` applies, and among equal priorities the name that sorts first.\n\n" +
			"The ConfigMap is created when missing. Only this selector is written: other selectors, the " +
			"ConfigMap's other keys (`vpcId`, `featureGates`, …) and fields of this selector the provider does not " +
			"know are kept as they are. Writes are conflict-safe (read, change, write with the ConfigMap's " +
			"`resourceVersion`, retried on conflict), so many selectors can be applied at once.\n\n" +
			"A selector edited in the ConfigMap by hand shows in the plan as an update, one removed by hand as a " +
			"create. Create refuses a name that the ConfigMap already holds; import that selector instead. " +
			"Destroy removes this selector and leaves the ConfigMap. Selectors change only where new pods go: " +
			"running pods stay where they are.\n\n" +
			"Needs the provider's `kubernetes` connection, and no ECI credentials. A ConfigMap whose selectors do not " +
			"parse stops plan and apply with the parse error until it is fixed by hand; the webhook meanwhile keeps the " +
			"last version that parsed. Import by selector name.",
		Attributes: map[string]schema.Attribute{
			// Required.
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name of the selector, unique in the eci-profile: a DNS-1123 label (at most 63 lowercase " +
					"letters, digits and `-`, starting and ending with a letter or digit). The webhook records it on every " +
					"pod it mutates, in the annotation `" + profile.SelectorAnnotation + "`. Changing it forces a new selector.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			// Optional.
			"namespace_selector": labelSelector("the pod's namespace", "namespace",
				" Kubernetes labels every namespace with its name, `"+profile.NamespaceNameLabel+"`, to select namespaces by name."),
			"object_selector": labelSelector("the pod", "pod", ""),
			"policy": schema.StringAttribute{
				Optional: true, Computed: true,
				Default: stringdefault.StaticString(string(profile.DefaultPolicy)),
				MarkdownDescription: "Where a matched pod may run: " + strings.Join(names, ", ") + ". `" +
					string(profile.PolicyVirtualNodeOnly) + "` (the default, as ACK does) runs it on a VNode and nowhere " +
					"else; `" + string(profile.PolicyFair) + "` lets the scheduler choose between VNodes and normal nodes; `" +
					string(profile.PolicyNormalNodePrefer) + "` prefers normal nodes and overflows to VNodes when none fits " +
					"(burst). Updated in place.",
			},
			"priority": schema.Int32Attribute{
				Optional: true, Computed: true,
				Default: int32default.StaticInt32(0),
				MarkdownDescription: "Precedence among selectors that match the same pod: the highest wins, ties go to " +
					"the name that sorts first. A whole number; default `0`. Updated in place.",
			},
			"effect": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "What a matched pod gets. A key the pod already has keeps the pod's value. Updated in place.",
				Attributes: map[string]schema.Attribute{
					"annotations": schema.MapAttribute{
						ElementType: types.StringType, Optional: true,
						MarkdownDescription: "Annotations added to the pod, typically ECI's (`k8s.aliyun.com/eci-use-specs`, " +
							"`k8s.aliyun.com/eci-spot-strategy`, …). Values of ECI annotations with a fixed format (booleans, " +
							"numbers, choices) are checked at plan. `" + profile.SelectorAnnotation + "` is the webhook's own.",
					},
					"labels": schema.MapAttribute{
						ElementType: types.StringType, Optional: true,
						MarkdownDescription: "Labels added to the pod.",
					},
				},
			},
			"vnode": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Node name of one VNode (such as an `eci_vnode`'s `node_name`): matched pods must run " +
					"there. Only with policy `" + string(profile.PolicyVirtualNodeOnly) + "`. Default: any VNode. Updated in place.",
			},
			// Computed.
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The selector's name.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func (r *profileSelectorResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if d := configureProviderData(req, resp); d != nil {
		r.data = d
	}
}

// ValidateConfig holds the selector to internal/profile's rules, with its
// messages, before anything is planned. A value not known yet is judged
// once it is (Terraform validates again at plan, with the values).
func (r *profileSelectorResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m profileSelectorModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	// name is required: Terraform reports it missing.
	if m.Name.IsNull() {
		return
	}
	s, err := m.selector(ctx)
	if errors.Is(err, errUnknown) {
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the configuration", err.Error())
		return
	}
	if err := profile.ValidateSelector(s); err != nil {
		addSelectorProblems(&resp.Diagnostics, err)
	}
}

// ModifyPlan plans id, and refuses at plan a new selector whose name the
// eci-profile already holds: two writers of one selector would undo each
// other's changes.
func (r *profileSelectorResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || !req.State.Raw.IsNull() || r.data == nil {
		return
	}
	var name types.String
	if resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...); resp.Diagnostics.HasError() {
		return
	}
	if name.IsUnknown() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), name)...)
	// Without a known cluster connection the check waits for apply, where
	// Create makes it again.
	if len(r.data.cfg.kube.unknown) > 0 {
		return
	}
	kc, diags := r.data.Kube(ctx)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	p, _, err := readProfile(ctx, kc)
	if err != nil {
		resp.Diagnostics.Append(profileReadDiag("Cannot check the eci-profile for selector "+name.ValueString(), err))
		return
	}
	if _, ok := p.Get(name.ValueString()); ok {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Selector already exists", alreadyExists(name.ValueString()))
	}
}

func alreadyExists(name string) string {
	return fmt.Sprintf("A selector named %q already exists in %s, and names must be unique in the eci-profile. "+
		"To manage it with this resource, import it with `terraform import eci_profile_selector.<x> %s`; "+
		"otherwise choose another name.", name, profileRef, name)
}

func (r *profileSelectorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.save(ctx, req.Plan, &resp.State, &resp.Diagnostics, "create", func(p *profile.Profile, sel profile.Selector) (bool, error) {
		if _, exists := p.Get(sel.Name); exists {
			return false, &refusal{summary: "Selector already exists", detail: alreadyExists(sel.Name)}
		}
		p.Upsert(sel)
		return true, nil
	})
}

func (r *profileSelectorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.save(ctx, req.Plan, &resp.State, &resp.Diagnostics, "update", func(p *profile.Profile, sel profile.Selector) (bool, error) {
		if cur, ok := p.Get(sel.Name); ok && cur.Policy == "" && sel.Policy == profile.DefaultPolicy {
			// An entry without policy already means the default; leave it
			// unwritten so the diff of the ConfigMap stays what changed.
			sel.Policy = ""
		}
		// Upsert keeps the entry's place and the fields it does not model;
		// an entry removed since the plan is written again.
		p.Upsert(sel)
		return true, nil
	})
}

// save writes the planned selector into the eci-profile with change and
// records it in state; Create and Update differ only in change.
func (r *profileSelectorResource) save(ctx context.Context, plan tfsdk.Plan, state *tfsdk.State, diags *diag.Diagnostics, verb string,
	change func(p *profile.Profile, sel profile.Selector) (bool, error)) {
	var m profileSelectorModel
	if diags.Append(plan.Get(ctx, &m)...); diags.HasError() {
		return
	}
	sel, ok := r.planned(ctx, m, diags)
	if !ok {
		return
	}
	kc, d := r.kube(ctx)
	if diags.Append(d...); diags.HasError() {
		return
	}
	err := r.write(ctx, kc, diags, sel.Name, func(p *profile.Profile) (bool, error) { return change(p, sel) })
	if err != nil {
		addWriteError(diags, "Cannot "+verb+" selector "+sel.Name, err)
		return
	}
	m.ID = types.StringValue(sel.Name)
	diags.Append(state.Set(ctx, &m)...)
}

func (r *profileSelectorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var prior profileSelectorModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &prior)...); resp.Diagnostics.HasError() {
		return
	}
	name := prior.ID.ValueString()
	if name == "" {
		name = prior.Name.ValueString()
	}
	kc, diags := r.kube(ctx)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	p, found, err := readProfile(ctx, kc)
	if err != nil {
		resp.Diagnostics.Append(profileReadDiag("Cannot read selector "+name, err))
		return
	}
	sel, ok := p.Get(name)
	if !ok {
		tflog.Info(ctx, "eci-profile selector gone", map[string]any{"selector": name, "configmap_found": found})
		resp.State.RemoveResource(ctx)
		return
	}
	m, d := profileSelectorModelOf(sel, prior)
	if resp.Diagnostics.Append(d...); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *profileSelectorResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m profileSelectorModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &m)...); resp.Diagnostics.HasError() {
		return
	}
	kc, diags := r.kube(ctx)
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	name := m.ID.ValueString()
	// A selector already gone is deleted; the ConfigMap stays, as it may
	// hold other selectors and settings.
	err := r.write(ctx, kc, &resp.Diagnostics, name, func(p *profile.Profile) (bool, error) {
		return p.Remove(name), nil
	})
	if err != nil {
		addWriteError(&resp.Diagnostics, "Cannot delete selector "+name, err)
	}
}

// ImportState takes a selector's name; Read fills in the rest.
func (r *profileSelectorResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}

func (r *profileSelectorResource) kube(ctx context.Context) (kubernetes.Interface, diag.Diagnostics) {
	if r.data == nil {
		var diags diag.Diagnostics
		diags.AddError("Provider not configured", "Terraform called the resource before it configured the eci provider.")
		return nil, diags
	}
	return r.data.Kube(ctx)
}

// profileWriters holds one mutex per cluster (by API server URL): the
// selectors of one apply, written by one provider process, take turns on
// the ConfigMap instead of racing each other through the client's rate
// limit. Correctness does not rest on it: modifyProfile is safe against
// writers in other processes too.
var profileWriters sync.Map

// write is modifyProfile, one writer at a time in this process per cluster.
func (r *profileSelectorResource) write(ctx context.Context, kc kubernetes.Interface, diags *diag.Diagnostics, name string, change func(*profile.Profile) (bool, error)) error {
	host := ""
	if cfg, _ := r.data.KubeConfig(ctx); cfg != nil {
		host = cfg.Host
	}
	mu, _ := profileWriters.LoadOrStore(host, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	return modifyProfile(ctx, kc, diags, name, change)
}

// planned is the selector a plan asks for, checked again: a value unknown
// at validation is known now.
func (r *profileSelectorResource) planned(ctx context.Context, m profileSelectorModel, diags *diag.Diagnostics) (profile.Selector, bool) {
	sel, err := m.selector(ctx)
	if err != nil {
		diags.AddError("Cannot read the plan", err.Error())
		return profile.Selector{}, false
	}
	if err := profile.ValidateSelector(sel); err != nil {
		addSelectorProblems(diags, err)
		return profile.Selector{}, false
	}
	return sel, true
}

// readProfile reads and parses the eci-profile. A missing ConfigMap is an
// empty profile (found false); one that does not parse is an error.
func readProfile(ctx context.Context, kc kubernetes.Interface) (*profile.Profile, bool, error) {
	cm, err := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		p, err := profile.Parse(nil)
		return p, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("get ConfigMap %s: %w", profileRef, err)
	}
	p, err := profile.Parse(cm.Data)
	if err != nil {
		return nil, true, &parseError{err: err}
	}
	return p, true, nil
}

// parseError is an eci-profile whose selectors do not parse.
type parseError struct{ err error }

func (e *parseError) Error() string { return e.err.Error() }
func (e *parseError) Unwrap() error { return e.err }

// refusal is a change the profile's current content forbids.
type refusal struct{ summary, detail string }

func (e *refusal) Error() string { return e.detail }

func profileReadDiag(summary string, err error) diag.Diagnostic {
	var pe *parseError
	if errors.As(err, &pe) {
		return diag.NewErrorDiagnostic(summary, fmt.Sprintf("The ConfigMap %s does not parse, so no selector in it can be "+
			"read or written until it is fixed (kubectl -n %s edit configmap %s). The eci-profile webhook keeps using the "+
			"last version that parsed. Problems:\n%v", profileRef, profile.ConfigMapNamespace, profile.ConfigMapName, pe.err))
	}
	return diag.NewErrorDiagnostic(summary, err.Error())
}

func addWriteError(diags *diag.Diagnostics, summary string, err error) {
	var rf *refusal
	if errors.As(err, &rf) {
		diags.AddError(rf.summary, rf.detail)
		return
	}
	diags.Append(profileReadDiag(summary, err))
}

// profileWriteAttempts bounds how often a write that lost a race starts
// over. Ten writers at once (Terraform's default parallelism) each lose at
// most nine races per round, and the provider's Kubernetes client spaces
// its requests (client-go's rate limit), so rounds are slow and many.
const profileWriteAttempts = 200

// profileWriteDelay is the pause before attempt n (from 1) of a write: it
// grows to a second and is jittered widely, so that writers that collided
// do not collide again.
func profileWriteDelay(n int) time.Duration {
	d := 20 * time.Millisecond
	for range min(n, 10) {
		d = d * 3 / 2
	}
	d = min(d, time.Second)
	return d/2 + rand.N(d)
}

// errProfileGone is an Update of a ConfigMap deleted since it was read.
var errProfileGone = errors.New("the eci-profile ConfigMap was deleted while it was written")

// modifyProfile changes the eci-profile by read, change, write: change gets
// the profile as it is now and says whether it changed it; the write is an
// Update conditional on the resourceVersion read (or a Create when there
// was no ConfigMap), so a concurrent writer's change is never overwritten.
// A lost race starts again from the read. Problems of other selectors that
// the webhook would refuse become warnings: they are not this resource's,
// and the webhook keeps its last good profile until they are fixed.
func modifyProfile(ctx context.Context, kc kubernetes.Interface, diags *diag.Diagnostics, name string, change func(*profile.Profile) (bool, error)) error {
	cms := kc.CoreV1().ConfigMaps(profile.ConfigMapNamespace)
	attempts := 0
	var othersInvalid error
	retriable := func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || errors.Is(err, errProfileGone)
	}
	attempt := func() error {
		attempts++
		othersInvalid = nil
		cm, err := cms.Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("get ConfigMap %s: %w", profileRef, err)
		}
		var data map[string]string
		if cm != nil {
			data = cm.Data
		}
		p, err := profile.Parse(data)
		if err != nil {
			return &parseError{err: err}
		}
		changed, err := change(p)
		if err != nil || !changed {
			return err
		}
		if err := p.Validate(); err != nil {
			if own := problemsOf(p, name, err); own != "" {
				return &refusal{summary: "Invalid eci-profile selector " + name,
					detail: fmt.Sprintf("Selector %q would not be valid in %s:\n%s", name, profileRef, own)}
			}
			othersInvalid = err
		}
		out, err := p.Render()
		if err != nil {
			return err
		}
		if cm == nil {
			_, err = cms.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: profile.ConfigMapName, Namespace: profile.ConfigMapNamespace},
				Data:       out,
			}, metav1.CreateOptions{FieldManager: install.FieldManager})
			return err
		}
		cm = cm.DeepCopy()
		cm.Data = out
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: install.FieldManager})
		if apierrors.IsNotFound(err) {
			return errProfileGone
		}
		return err
	}
	err := attempt()
	for retriable(err) && attempts < profileWriteAttempts {
		select {
		case <-ctx.Done():
			return fmt.Errorf("write ConfigMap %s: gave up after %d attempts lost to concurrent writers: %w", profileRef, attempts, ctx.Err())
		case <-time.After(profileWriteDelay(attempts)):
		}
		err = attempt()
	}
	tflog.Debug(ctx, "eci-profile written", map[string]any{"selector": name, "attempts": attempts, "error": fmt.Sprint(err)})
	if err != nil {
		if retriable(err) {
			return fmt.Errorf("write ConfigMap %s: still losing to concurrent writers after %d attempts: %w", profileRef, attempts, err)
		}
		var pe *parseError
		var rf *refusal
		if errors.As(err, &pe) || errors.As(err, &rf) {
			return err
		}
		return fmt.Errorf("write ConfigMap %s: %w", profileRef, err)
	}
	if othersInvalid != nil {
		diags.AddWarning("The eci-profile has problems in other selectors",
			fmt.Sprintf("Selector %q was written, but %s has problems elsewhere, and the eci-profile webhook uses no "+
				"version of it that has problems: new pods follow the last good version until they are fixed. Problems:\n%v",
				name, profileRef, othersInvalid))
	}
	return nil
}

// problemsOf returns the problems of err that concern the selector name,
// one per line, or "".
func problemsOf(p *profile.Profile, name string, err error) string {
	var ps profile.Problems
	if !errors.As(err, &ps) {
		return err.Error()
	}
	var own []string
	for _, pr := range ps {
		if pr.Selector >= 0 && pr.Selector < len(p.Selectors) && p.Selectors[pr.Selector].Name == name {
			own = append(own, pr.Error())
		}
	}
	return strings.Join(own, "\n")
}
