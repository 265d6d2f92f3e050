package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// Managed mode of eci_vnode: the VNode is made with ECI's VirtualNode API
// (CreateVirtualNode, DescribeVirtualNodes, UpdateVirtualNode,
// DeleteVirtualNode) and Alibaba Cloud runs its resident node, which joins
// the cluster with the kubeconfig the provider writes for it
// (docs/design.md, "Managed VNodes").

const (
	vnodeModeBundled = "bundled"
	vnodeModeManaged = "managed"
	// virtualNodeIDPrefix starts the IDs ECI gives VNodes; an import ID with
	// it is a managed VNode, any other a bundled VNode's node name.
	virtualNodeIDPrefix = "vnd-"
	// privateBootstrapSecret is the private state key of the secret half of
	// the managed VNode's bootstrap token. The kubeconfig ECI holds carries
	// the token and cannot be changed, so a token Secret deleted by hand must
	// be written again with the same secret.
	privateBootstrapSecret = "bootstrap_token_secret"
	// maxVirtualNodeTags is how many tags CreateVirtualNode and
	// TagResources take for one VNode.
	maxVirtualNodeTags = 20
	// managedPollInterval is how often create and destroy ask ECI how the
	// VNode is doing.
	managedPollInterval = 2 * time.Second
)

// bundledOnly are the attributes that configure the bundled runtime's
// Deployment; CreateVirtualNode has nothing that takes them.
var bundledOnly = []string{"runtime", "cpu", "memory", "pods", "gpu", "labels", "spot_strategy", "spot_price_limit",
	"auto_match_image_cache", "cluster_ip_access", "kube_proxy_image", "replicas", "log_format", "cost_tag_keys", "eci_api_limits"}

// managedOnly are CreateVirtualNode's own settings.
var managedOnly = []string{"resource_group_id", "eip_instance_id", "enable_public_network", "api_server"}

// configured tells which of the attributes names are set in the
// configuration.
func (m vnodeResourceModel) configured(names []string) []string {
	set := map[string]bool{
		"runtime": !m.Runtime.IsNull(), "cpu": !m.CPU.IsNull(), "memory": !m.Memory.IsNull(), "pods": !m.Pods.IsNull(),
		"gpu": !m.GPU.IsNull(), "labels": !m.Labels.IsNull(), "spot_strategy": !m.SpotStrategy.IsNull(),
		"spot_price_limit": !m.SpotPriceLimit.IsNull(), "auto_match_image_cache": !m.AutoMatchImageCache.IsNull(),
		"cluster_ip_access": !m.ClusterIPAccess.IsNull(), "kube_proxy_image": !m.KubeProxyImage.IsNull(),
		"replicas": !m.Replicas.IsNull(), "log_format": !m.LogFormat.IsNull(), "cost_tag_keys": !m.CostTagKeys.IsNull(),
		"eci_api_limits": !m.ECIAPILimits.IsNull(), "resource_group_id": !m.ResourceGroupID.IsNull(),
		"eip_instance_id": !m.EIPInstanceID.IsNull(), "enable_public_network": !m.EnablePublicNetwork.IsNull(),
		"api_server": !m.APIServer.IsNull(),
	}
	var out []string
	for _, n := range names {
		if set[n] {
			out = append(out, n)
		}
	}
	return out
}

// checkModeAttributes refuses, at plan time, what the configuration sets
// that its mode cannot do, and what a mode needs and is missing.
func checkModeAttributes(diags *diag.Diagnostics, cfg vnodeResourceModel) {
	if cfg.Mode.IsUnknown() {
		return
	}
	mode := cfg.Mode.ValueString()
	switch mode {
	case "", vnodeModeBundled:
		if cfg.Runtime.IsNull() {
			diags.AddAttributeError(path.Root("runtime"), "Missing runtime",
				"A bundled VNode (mode = \"bundled\", the default) is served by the runtime of an eci_runtime: set runtime to "+
					"its id. For a VNode that Alibaba Cloud runs, set mode = \"managed\" instead.")
		}
		for _, a := range cfg.configured(managedOnly) {
			diags.AddAttributeError(path.Root(a), "Not a bundled VNode setting",
				a+" is a setting of CreateVirtualNode, for mode = \"managed\". A bundled VNode's instances take their "+
					"network from vswitch_ids and security_group_id and their resource group from the eci_runtime; remove it, "+
					"or set mode = \"managed\".")
		}
	case vnodeModeManaged:
		for _, a := range cfg.configured(bundledOnly) {
			detail := a + " configures the bundled runtime's Deployment, which a managed VNode does not have: Alibaba Cloud runs " +
				"its resident node and CreateVirtualNode takes no such setting. Remove it, or use mode = \"bundled\" with an eci_runtime."
			if a == "eci_api_limits" {
				detail = "eci_api_limits sets the limits of the bundled runtime's ECI client (--eci-create-qps, --eci-create-burst, " +
					"--eci-read-share), which a managed VNode does not have: Alibaba Cloud runs its resident node with ECI's own " +
					"settings, and CreateVirtualNode takes no such limits. Remove it, or use mode = \"bundled\" with an eci_runtime."
			}
			diags.AddAttributeError(path.Root(a), "Not a managed VNode setting", detail)
		}
		if cfg.SecurityGroupID.IsNull() {
			diags.AddAttributeError(path.Root("security_group_id"), "Missing security_group_id",
				"CreateVirtualNode needs the security group (sg-...) of the VNode's resident node and instances.")
		}
		if !cfg.ZoneIDs.IsUnknown() && len(cfg.ZoneIDs.Elements()) > 1 {
			diags.AddAttributeError(path.Root("zone_ids"), "Too many zone_ids",
				fmt.Sprintf("%d zones given; CreateVirtualNode takes one zone (ZoneId). Give the zone of the vSwitches, or none.",
					len(cfg.ZoneIDs.Elements())))
		}
		if n := cfg.Name; !n.IsNull() && !n.IsUnknown() && len(n.ValueString()) < 2 {
			diags.AddAttributeError(path.Root("name"), "Invalid name",
				"A managed VNode's name is 2 to 128 characters (and, as a Node name, at most 63) of lowercase letters, digits, '.' and '-'.")
		}
		custom := strMap(cfg.CustomResources)
		for _, k := range slices.Sorted(maps.Keys(custom)) {
			if n, err := strconv.ParseUint(custom[k], 10, 32); err != nil || n == 0 {
				diags.AddAttributeError(path.Root("custom_resources").AtMapKey(k), "Invalid custom_resources",
					fmt.Sprintf("%s = %q: CreateVirtualNode takes a whole count per resource (name=count), such as \"100\".", k, custom[k]))
			}
		}
		for _, a := range []struct {
			name, value, prefix, example string
		}{
			{"resource_group_id", cfg.ResourceGroupID.ValueString(), "rg-", "rg-acfmzw2jz2z****"},
			{"eip_instance_id", cfg.EIPInstanceID.ValueString(), "eip-", "eip-bp1q5n8cq4p7f6dzu****"},
		} {
			if a.value != "" && !strings.HasPrefix(a.value, a.prefix) {
				diags.AddAttributeError(path.Root(a.name), "Invalid "+a.name,
					fmt.Sprintf("%q is not an ID such as %s.", a.value, a.example))
			}
		}
		if s := cfg.APIServer.ValueString(); s != "" {
			if msg := checkKubeHost(s); msg != "" {
				diags.AddAttributeError(path.Root("api_server"), "Invalid api_server", msg)
			}
		}
	default:
		diags.AddAttributeError(path.Root("mode"), "Invalid mode",
			fmt.Sprintf("%q: use \"bundled\" (the eci_runtime's runtime serves the VNode) or \"managed\" (ECI's CreateVirtualNode).", mode))
	}
}

// modifyManagedPlan plans a managed VNode: the bundled runtime's settings
// are null, its observations are what an apply leaves, and what the API
// cannot change in place forces a new VNode.
func (r *vnodeResource) modifyManagedPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, m *vnodeResourceModel) {
	// Defaults of the bundled runtime's settings mean nothing here.
	m.AutoMatchImageCache, m.ClusterIPAccess = types.BoolNull(), types.BoolNull()
	m.Replicas, m.LogFormat, m.Image = types.Int64Null(), types.StringNull(), types.StringNull()
	defaults, known := r.data.DefaultTags()
	if known && fullyKnown(m.Tags) {
		all := mergeTags(defaults, strMap(m.Tags))
		if len(all) > maxVirtualNodeTags {
			resp.Diagnostics.AddAttributeError(path.Root("tags"), "Too many tags",
				fmt.Sprintf("The VNode would carry %d tags (%d of them default_tags) but ECI allows a VNode at most %d. Remove at least %d.",
					len(all), len(defaults), maxVirtualNodeTags, len(all)-maxVirtualNodeTags))
			return
		}
		m.TagsAll = mapOf(all)
	} else {
		m.TagsAll = types.MapUnknown(types.StringType)
	}
	m.NodeName = m.Name
	m.DriftedObjects = noDrift()
	if resp.Diagnostics.HasError() {
		return
	}
	if req.State.Raw.IsNull() {
		m.ID, m.VirtualNodeID = types.StringUnknown(), types.StringUnknown()
		m.HourlyPrice = types.Float64Unknown()
		m.Status, m.Ready = types.StringValue(eci.VirtualNodeReady), types.BoolValue(true)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, m)...)
		return
	}
	var st vnodeResourceModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &st)...); resp.Diagnostics.HasError() {
		return
	}
	m.ID, m.VirtualNodeID, m.HourlyPrice = st.ID, st.VirtualNodeID, st.HourlyPrice
	// UpdateVirtualNode sets a value but cannot clear one: going back to
	// ECI's default takes a new VNode.
	for _, a := range []struct {
		name    string
		was, is bool
	}{
		{"cluster_dns", !st.ClusterDNS.IsNull(), !m.ClusterDNS.IsNull()},
		{"cluster_domain", !st.ClusterDomain.IsNull(), !m.ClusterDomain.IsNull()},
		{"custom_resources", !st.CustomResources.IsNull(), !m.CustomResources.IsNull()},
	} {
		if a.was && !a.is {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root(a.name))
		}
	}
	if st.Status.ValueString() == eci.VirtualNodeFailed {
		resp.Diagnostics.AddAttributeWarning(path.Root("status"), "The VNode failed in ECI",
			"ECI reports VNode "+st.VirtualNodeID.ValueString()+" as Failed; this plan replaces it. DescribeVirtualNodes' "+
				"events of the VNode say why it failed (such as no stock in its zone: give vSwitches of other zones).")
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("status"))
	}
	if st.Status.ValueString() == eci.VirtualNodeFailed || !vnodeSettingsEqual(*m, st) {
		m.Status, m.Ready = types.StringValue(eci.VirtualNodeReady), types.BoolValue(true)
	} else {
		m.Status, m.Ready = st.Status, st.Ready
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, m)...)
}

// managedClients are the ECI and Kubernetes clients of a managed VNode.
type managedClients struct {
	eci *eci.Client
	kc  kubernetes.Interface
	dyn dynamic.Interface
}

func (r *vnodeResource) managedClients(ctx context.Context, diags *diag.Diagnostics) (managedClients, bool) {
	kc, dyn, d := kubeClients(ctx, r.data)
	if diags.Append(d...); diags.HasError() {
		return managedClients{}, false
	}
	client, d := r.data.ECI(ctx)
	if diags.Append(d...); diags.HasError() {
		return managedClients{}, false
	}
	return managedClients{eci: client, kc: kc, dyn: dyn}, true
}

// createManaged makes the VNode's identity, calls CreateVirtualNode and
// waits for the VNode to be Ready in ECI and its Node in the cluster.
func (r *vnodeResource) createManaged(ctx context.Context, m *vnodeResourceModel, private privateStateSetter, state stateSetter,
	diags *diag.Diagnostics, wait waitFor) {
	c, ok := r.managedClients(ctx, diags)
	if !ok {
		return
	}
	deadline := time.Now().Add(wait.timeout)
	name := m.Name.ValueString()
	if !r.clearLeftoverNode(ctx, c, name, diags) {
		return
	}
	secret, err := install.NewTokenSecret()
	if err != nil {
		diags.AddError("Cannot create the VNode's identity", err.Error())
		return
	}
	identity := install.ManagedIdentityObjects(name, secret)
	if err := install.Apply(ctx, c.dyn, identity); err != nil {
		diags.AddError("Cannot create the VNode's identity", err.Error())
		return
	}
	undo := func() {
		if err := install.Delete(context.WithoutCancel(ctx), c.dyn, identity); err != nil {
			diags.AddWarning("Identity left behind", "Deleting the bootstrap token and bindings of "+name+" failed: "+err.Error())
		}
	}
	kubeconfig, err := r.managedKubeconfig(ctx, c.kc, m, name, secret)
	if err != nil {
		undo()
		diags.AddError("Cannot write the VNode's kubeconfig", err.Error())
		return
	}
	create, err := createVirtualNodeRequest(m, kubeconfig)
	if err != nil {
		undo()
		diags.AddError("Cannot create the VNode", err.Error())
		return
	}
	tflog.Info(ctx, "creating a managed VNode", map[string]any{"name": name, "vswitches": create.VSwitchIDs})
	out, err := c.eci.CreateVirtualNode(ctx, create)
	if err != nil {
		undo()
		addECIError(diags, "create the VNode", err)
		return
	}
	id := out.VirtualNodeID
	m.ID, m.VirtualNodeID = types.StringValue(id), types.StringValue(id)
	m.HourlyPrice = types.Float64Null()
	diags.Append(setPrivateString(ctx, private, privateBootstrapSecret, secret)...)
	// In state before the waits, so that a timeout leaves it to destroy.
	observed := *m
	observed.Status, observed.Ready = types.StringValue(eci.VirtualNodePending), types.BoolValue(false)
	if diags.Append(state.Set(ctx, &observed)...); diags.HasError() {
		return
	}
	r.waitManagedReady(ctx, c, m, deadline, wait, diags)
	if diags.HasError() {
		return
	}
	diags.Append(state.Set(ctx, m)...)
}

// clearLeftoverNode makes way for the Node of managed VNode name. A Node of
// that name is refused, unless a managed VNode of that name left it: the
// identity objects this resource writes are still there, and ECI deleted
// the VNode outside Terraform, which stopped its resident node but could
// not remove its Node. That Node is deleted, if no pod is bound to it.
func (r *vnodeResource) clearLeftoverNode(ctx context.Context, c managedClients, name string, diags *diag.Diagnostics) bool {
	n, err := getNode(ctx, c.kc, name)
	if err != nil {
		diags.AddError("Cannot create the VNode", err.Error())
		return false
	}
	if n == nil {
		return true
	}
	secret, err := liveTokenSecret(ctx, c.kc, name)
	if err != nil {
		diags.AddError("Cannot create the VNode", err.Error())
		return false
	}
	if secret == "" {
		diags.AddAttributeError(path.Root("name"), "Node name taken",
			"The cluster already has a Node "+name+"; the managed VNode would register under the same name. Choose another "+
				"name, or delete that Node first (kubectl delete node "+name+") if it is a leftover.")
		return false
	}
	if msg, err := podsStillOn(ctx, c.kc, name); err != nil || msg != "" {
		diags.AddError("The VNode's old Node still has pods", "A managed VNode "+name+" was deleted in ECI, but its Node is "+
			"still registered: "+msg+fmt.Sprint(errOrEmpty(err)))
		return false
	}
	tflog.Info(ctx, "deleting the Node a managed VNode deleted in ECI left", map[string]any{"node": name})
	if err := install.Delete(ctx, c.dyn, install.ManagedLeftovers(name)); err != nil {
		diags.AddError("Cannot delete the old Node", err.Error())
		return false
	}
	return true
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// waitManagedReady waits for the VNode to be Ready in ECI and its Node to be
// Ready, then records what it saw in m.
func (r *vnodeResource) waitManagedReady(ctx context.Context, c managedClients, m *vnodeResourceModel, deadline time.Time,
	wait waitFor, diags *diag.Diagnostics) {
	id, name := m.VirtualNodeID.ValueString(), m.Name.ValueString()
	vn, err := waitVirtualNodeReady(ctx, c.eci, id, time.Until(deadline))
	if err != nil {
		diags.AddError("The VNode is not Ready in ECI", err.Error()+wait.hint())
		return
	}
	if err := waitNodeReady(ctx, c.kc, name, time.Until(deadline)); err != nil {
		diags.AddError("The VNode's Node is not Ready", err.Error()+". ECI reports the VNode Ready, so its resident node "+
			"runs but did not join the cluster: it must reach the API server (api_server, by default the provider's host), "+
			"and its client CSR must be approved (kubectl get csr; kube-controller-manager approves it when its csrapproving "+
			"controller runs)."+wait.hint())
		return
	}
	m.Status, m.Ready = types.StringValue(vn.Status), types.BoolValue(true)
	m.HourlyPrice = residentPrice(ctx, c.eci, *m, diags)
	m.DriftedObjects = noDrift()
}

// residentPrice prices the resident node of m in its zone (DescribeVirtualNodes
// does not say which; without zone_ids, in the region); a failed lookup is a
// warning, not a failed apply: the VNode runs either way.
func residentPrice(ctx context.Context, client *eci.Client, m vnodeResourceModel, diags *diag.Diagnostics) types.Float64 {
	zone := ""
	if zones := strList(m.ZoneIDs); len(zones) > 0 {
		zone = zones[0]
	}
	p, err := cost.NewEstimator(client).VNodeResidentHourly(ctx, zone)
	if err != nil {
		diags.AddWarning("Cannot price the VNode", "hourly_price stays unset: DescribeContainerGroupPrice failed: "+err.Error())
		return types.Float64Null()
	}
	return types.Float64Value(p)
}

// waitVirtualNodeReady polls DescribeVirtualNodes until VNode id is Ready.
// A Failed VNode ends the wait with the reasons its events give.
func waitVirtualNodeReady(ctx context.Context, client *eci.Client, id string, timeout time.Duration) (*eci.VirtualNode, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not described yet"
	for {
		vn, err := describeVirtualNode(ctx, client, id)
		switch {
		case err != nil && ctx.Err() == nil:
			last = err.Error()
		case vn == nil:
			last = "not found"
		case vn.Status == eci.VirtualNodeReady:
			return vn, nil
		case vn.Status == eci.VirtualNodeFailed:
			return nil, fmt.Errorf("ECI reports VNode %s as Failed: %s. Destroy it (it is tainted) and apply again; give "+
				"vSwitches in other zones if its zone has no stock", id, virtualNodeEvents(vn))
		default:
			if vn.Status != last {
				tflog.Info(ctx, "waiting for the managed VNode", map[string]any{"id": id, "status": vn.Status})
			}
			last = vn.Status
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("VNode %s is not Ready after %s (last seen: %s)", id, timeout.Round(time.Second), last)
		case <-time.After(managedPollInterval):
		}
	}
}

// virtualNodeEvents is the Warning events of vn, the reason it failed.
func virtualNodeEvents(vn *eci.VirtualNode) string {
	var out []string
	for _, e := range vn.Events {
		if e.Type == "Warning" {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	if len(out) == 0 {
		return "its events give no reason"
	}
	return strings.Join(out, "; ")
}

// describeVirtualNode is VNode id, nil when ECI has none (or only one
// that is Cleaned, what ECI keeps of a deleted VNode for a while).
func describeVirtualNode(ctx context.Context, client *eci.Client, id string) (*eci.VirtualNode, error) {
	out, err := client.DescribeVirtualNodes(ctx, &eci.DescribeVirtualNodesRequest{VirtualNodeIDs: []string{id}})
	if eci.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range out.VirtualNodes {
		if vn := &out.VirtualNodes[i]; vn.VirtualNodeID == id && vn.Status != eci.VirtualNodeCleaned {
			return vn, nil
		}
	}
	return nil, nil
}

// managedKubeconfig is the kubeconfig of the resident node: api_server, or
// the provider's own host, trusted by the cluster's root CA as
// kube-controller-manager publishes it (ConfigMap kube-root-ca.crt), or else
// by the CA the provider trusts.
func (r *vnodeResource) managedKubeconfig(ctx context.Context, kc kubernetes.Interface, m *vnodeResourceModel, name, secret string) ([]byte, error) {
	cfg, d := r.data.KubeConfig(ctx)
	if d.HasError() {
		return nil, fmt.Errorf("the provider's Kubernetes configuration: %v", d)
	}
	server := m.APIServer.ValueString()
	if server == "" {
		server = cfg.Host
	}
	ca := cfg.CAData
	cm, err := kc.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	switch {
	case err == nil && cm.Data["ca.crt"] != "":
		ca = []byte(cm.Data["ca.crt"])
	case err != nil && !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read the cluster's CA (ConfigMap kube-system/kube-root-ca.crt): %w", err)
	}
	if len(ca) == 0 {
		return nil, errors.New("no CA to trust the API server with: kube-system/kube-root-ca.crt has no ca.crt and the " +
			"provider's kubernetes block gives no cluster_ca_certificate")
	}
	return install.ManagedKubeconfig(server, ca, name, secret)
}

// createVirtualNodeRequest is the CreateVirtualNode call m describes.
func createVirtualNodeRequest(m *vnodeResourceModel, kubeconfig []byte) (*eci.CreateVirtualNodeRequest, error) {
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("draw a client token: %w", err)
	}
	taints, err := taintsOf(m.Taints)
	if err != nil {
		return nil, err
	}
	req := &eci.CreateVirtualNodeRequest{
		VirtualNodeName:     m.Name.ValueString(),
		SecurityGroupID:     m.SecurityGroupID.ValueString(),
		VSwitchIDs:          strList(m.VSwitchIDs),
		KubeConfig:          string(kubeconfig),
		TLSBootstrapEnabled: ptrTo(true),
		ClusterDNS:          strings.Join(strList(m.ClusterDNS), ","),
		ClusterDomain:       m.ClusterDomain.ValueString(),
		CustomResources:     customResources(m.CustomResources),
		EIPInstanceID:       m.EIPInstanceID.ValueString(),
		ResourceGroupID:     m.ResourceGroupID.ValueString(),
		// One token per apply: the client retries a create that timed out
		// with it, and ECI makes no second VNode.
		ClientToken: hex.EncodeToString(token),
		Tags:        eciTags(strMap(m.TagsAll)),
	}
	if zones := strList(m.ZoneIDs); len(zones) > 0 {
		req.ZoneID = zones[0]
	}
	if !m.EnablePublicNetwork.IsNull() {
		req.EnablePublicNetwork = ptrTo(m.EnablePublicNetwork.ValueBool())
	}
	for _, t := range taints {
		req.Taints = append(req.Taints, eci.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
	}
	return req, nil
}

// customResources renders custom_resources as CreateVirtualNode's
// "name=count,name=count", sorted.
func customResources(m types.Map) string {
	c := strMap(m)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		out = append(out, k+"="+c[k])
	}
	return strings.Join(out, ",")
}

func eciTags(m map[string]string) []eci.Tag {
	var out []eci.Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, eci.Tag{Key: k, Value: m[k]})
	}
	return out
}

// readManaged refreshes a managed VNode from ECI and the cluster. A VNode
// ECI no longer has is gone from state, so the next plan creates it again.
func (r *vnodeResource) readManaged(ctx context.Context, m *vnodeResourceModel, private privateState, resp *resource.ReadResponse) {
	c, ok := r.managedClients(ctx, &resp.Diagnostics)
	if !ok {
		return
	}
	id := m.VirtualNodeID.ValueString()
	vn, err := describeVirtualNode(ctx, c.eci, id)
	if err != nil {
		addECIError(&resp.Diagnostics, "read the VNode", err)
		return
	}
	if vn == nil {
		tflog.Info(ctx, "managed VNode gone: ECI does not describe it", map[string]any{"id": id})
		resp.State.RemoveResource(ctx)
		return
	}
	m.ID = types.StringValue(id)
	m.Name, m.NodeName = types.StringValue(vn.VirtualNodeName), types.StringValue(vn.VirtualNodeName)
	m.SecurityGroupID = types.StringValue(vn.VirtualNodeSecurityGroupID)
	// ECI names the one vSwitch it placed the VNode in; the list given is
	// kept while it holds that one.
	if given := strList(m.VSwitchIDs); !slices.Contains(given, vn.VirtualNodeVSwitchID) {
		m.VSwitchIDs = listOf([]string{vn.VirtualNodeVSwitchID})
	}
	if vn.ResourceGroupID != "" || !m.ResourceGroupID.IsNull() {
		m.ResourceGroupID = types.StringValue(vn.ResourceGroupID)
	}
	live := map[string]string{}
	for _, t := range vn.Tags {
		live[t.Key] = t.Value
	}
	m.TagsAll = mapOf(live)
	m.Tags = mapOf(ownTags(live, strMap(m.Tags), r.data))
	m.Status = types.StringValue(vn.Status)
	name := vn.VirtualNodeName
	node, err := getNode(ctx, c.kc, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode", err.Error())
		return
	}
	_, ready := readiness(node)
	m.Ready = types.BoolValue(ready)
	stateTaints, err := taintsOf(m.Taints)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode", err.Error())
		return
	}
	if m.Taints.IsNull() {
		// Imported: the Node's taints, as it registered with them.
		stateTaints = nil
		if node != nil {
			for _, t := range node.Spec.Taints {
				if !isRuntimeTaint(t.Key) {
					stateTaints = append(stateTaints, install.Taint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
				}
			}
		}
		m.Taints = taintsValue(stateTaints)
	} else {
		m.Taints = taintsValue(taintsRead(stateTaints, stateTaints, node))
	}
	if vn.Status == eci.VirtualNodeReady {
		m.HourlyPrice = residentPrice(ctx, c.eci, *m, &resp.Diagnostics)
	}
	drift, err := managedDrift(ctx, c, name, privateString(ctx, private, privateBootstrapSecret, &resp.Diagnostics))
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the VNode", err.Error())
		return
	}
	m.DriftedObjects = listOf(drift)
	if len(drift) == 0 {
		m.DriftedObjects = noDrift()
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// managedDrift compares the VNode's identity objects with the cluster. The
// token Secret is compared with the secret state keeps; without one (an
// import), with the secret the cluster holds.
func managedDrift(ctx context.Context, c managedClients, name, secret string) ([]string, error) {
	if secret == "" {
		var err error
		if secret, err = liveTokenSecret(ctx, c.kc, name); err != nil {
			return nil, err
		}
	}
	return install.Drift(ctx, c.dyn, install.ManagedIdentityObjects(name, secret))
}

// liveTokenSecret is the secret half of the bootstrap token of managed VNode
// name as the cluster holds it; "" when its Secret is gone.
func liveTokenSecret(ctx context.Context, kc kubernetes.Interface, name string) (string, error) {
	secretName := install.BootstrapTokenSecretName(install.ManagedTokenID(name))
	s, err := kc.CoreV1().Secrets(metav1.NamespaceSystem).Get(ctx, secretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get Secret kube-system/%s: %w", secretName, err)
	}
	return string(s.Data["token-secret"]), nil
}

// updateManaged changes what ECI and the cluster allow in place: the
// identity objects (written again), tags (TagResources, UntagResources),
// cluster DNS, domain and custom resources (UpdateVirtualNode) and the
// Node's taints.
func (r *vnodeResource) updateManaged(ctx context.Context, m, prior *vnodeResourceModel, private privateState, state stateSetter,
	diags *diag.Diagnostics, wait waitFor) {
	c, ok := r.managedClients(ctx, diags)
	if !ok {
		return
	}
	deadline := time.Now().Add(wait.timeout)
	id, name := prior.VirtualNodeID.ValueString(), prior.Name.ValueString()
	secret := privateString(ctx, private, privateBootstrapSecret, diags)
	if secret == "" {
		var err error
		if secret, err = liveTokenSecret(ctx, c.kc, name); err != nil {
			diags.AddError("Cannot update the VNode's identity", err.Error())
			return
		}
	}
	identity := install.ManagedIdentityObjects(name, secret)
	if secret == "" {
		// Imported, and the token Secret deleted since: its secret is only in
		// the kubeconfig ECI holds, which cannot be changed.
		identity = identity[1:]
		diags.AddWarning("The VNode's bootstrap token is lost",
			"Secret kube-system/"+install.BootstrapTokenSecretName(install.ManagedTokenID(name))+" is gone and state does not "+
				"hold its secret, so it cannot be written again. The resident node keeps working on its client certificate "+
				"and renews it, but cannot bootstrap again if it lets it expire. Replace the VNode to give it a new token: "+
				"terraform apply -replace=<this resource>.")
	}
	if err := install.Apply(ctx, c.dyn, identity); err != nil {
		diags.AddError("Cannot update the VNode's identity", err.Error())
		return
	}
	upd := &eci.UpdateVirtualNodeRequest{VirtualNodeID: id}
	changed := false
	if !m.ClusterDNS.Equal(prior.ClusterDNS) {
		upd.ClusterDNS, changed = strings.Join(strList(m.ClusterDNS), ","), true
	}
	if !m.ClusterDomain.Equal(prior.ClusterDomain) {
		upd.ClusterDomain, changed = m.ClusterDomain.ValueString(), true
	}
	if !m.CustomResources.Equal(prior.CustomResources) {
		upd.CustomResources, changed = customResources(m.CustomResources), true
	}
	if changed {
		tflog.Info(ctx, "updating the managed VNode", map[string]any{"id": id})
		if err := c.eci.UpdateVirtualNode(ctx, upd); err != nil {
			addECIError(diags, "update the VNode", err)
			return
		}
	}
	if err := retagVirtualNode(ctx, c.eci, id, strMap(prior.TagsAll), strMap(m.TagsAll)); err != nil {
		addECIError(diags, "change the VNode's tags", err)
		return
	}
	if !m.Taints.Equal(prior.Taints) {
		want, err := taintsOf(m.Taints)
		if err != nil {
			diags.AddError("Invalid taints", err.Error())
			return
		}
		was, err := taintsOf(prior.Taints)
		if err != nil {
			diags.AddError("Invalid state", err.Error())
			return
		}
		if err := applyNodeTaints(ctx, c.kc, name, want, was); err != nil {
			diags.AddError("Cannot update the VNode's Node", fmt.Sprintf("write the taints of Node %s: %v", name, err))
			return
		}
	}
	r.waitManagedReady(ctx, c, m, deadline, wait, diags)
	if diags.HasError() {
		return
	}
	diags.Append(state.Set(ctx, m)...)
}

// retagVirtualNode brings VNode id's tags from was (what it carried when
// read) to want: UntagResources for the keys it no longer has, TagResources
// for those added or changed. Tags set outside Terraform are in was, so a
// tag added in the console is removed, as drift.
func retagVirtualNode(ctx context.Context, client *eci.Client, id string, was, want map[string]string) error {
	var remove []string
	for _, k := range slices.Sorted(maps.Keys(was)) {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		if err := client.UntagResources(ctx, &eci.UntagResourcesRequest{ResourceType: eci.ResourceTypeVirtualNode,
			ResourceIDs: []string{id}, TagKeys: remove}); err != nil {
			return err
		}
	}
	set := map[string]string{}
	for k, v := range want {
		if old, ok := was[k]; !ok || old != v {
			set[k] = v
		}
	}
	if len(set) == 0 {
		return nil
	}
	return client.TagResources(ctx, &eci.TagResourcesRequest{ResourceType: eci.ResourceTypeVirtualNode,
		ResourceIDs: []string{id}, Tags: eciTags(set)})
}

// deleteManaged deletes the VNode in ECI, waits for it to go, then deletes
// its Node and identity.
func (r *vnodeResource) deleteManaged(ctx context.Context, m *vnodeResourceModel, diags *diag.Diagnostics, wait waitFor) {
	c, ok := r.managedClients(ctx, diags)
	if !ok {
		return
	}
	deadline := time.Now().Add(wait.timeout)
	id, name := m.VirtualNodeID.ValueString(), m.Name.ValueString()
	if msg, err := podsStillOn(ctx, c.kc, name); err != nil {
		diags.AddError("Cannot delete the VNode", err.Error())
		return
	} else if msg != "" {
		diags.AddError("The VNode still runs pods", msg)
		return
	}
	if id != "" {
		tflog.Info(ctx, "deleting the managed VNode", map[string]any{"id": id})
		if err := c.eci.DeleteVirtualNode(ctx, &eci.DeleteVirtualNodeRequest{VirtualNodeID: id}); err != nil && !eci.IsNotFound(err) {
			addECIError(diags, "delete the VNode", err)
			return
		}
		if err := waitGone(ctx, time.Until(deadline), "VNode "+id, func(ctx context.Context) error {
			vn, err := describeVirtualNode(ctx, c.eci, id)
			if err == nil && vn == nil {
				return apierrors.NewNotFound(metav1.SchemeGroupVersion.WithResource("virtualnodes").GroupResource(), id)
			}
			return err
		}); err != nil {
			diags.AddError("The VNode is not deleted in ECI", err.Error()+"."+wait.hint())
			return
		}
	}
	// Its resident node has stopped: nothing registers the Node again.
	objs := append(install.ManagedIdentityObjects(name, ""), install.ManagedLeftovers(name)...)
	if err := install.Delete(ctx, c.dyn, objs); err != nil {
		diags.AddError("Cannot delete the VNode's Node and identity", err.Error())
		return
	}
	if err := waitGone(ctx, time.Until(deadline), "Node "+name, func(ctx context.Context) error {
		_, err := c.kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err
	}); err != nil {
		diags.AddError("The VNode's Node is not deleted", err.Error()+"."+wait.hint())
	}
}

// isRuntimeTaint tells the taints others put on a VNode's Node from its own:
// the runtime's taint while ECI does not answer (runtime/node,
// TaintECIUnreachable) and those of Kubernetes' node lifecycle
// (https://kubernetes.io/docs/reference/labels-annotations-taints/).
func isRuntimeTaint(key string) bool {
	return key == "eci-vnode.io/eci-api-unreachable" || strings.HasPrefix(key, "node.kubernetes.io/") ||
		strings.HasPrefix(key, "node.cloudprovider.kubernetes.io/")
}

// importManaged takes a VNode ID; Read fills in the rest from ECI.
func importManaged(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("virtual_node_id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("mode"), vnodeModeManaged)...)
}

// addECIError reports a failed ECI call with what to do about it where the
// error code says.
func addECIError(diags *diag.Diagnostics, doing string, err error) {
	var apiErr *eci.APIError
	hint := ""
	if errors.As(err, &apiErr) {
		switch code := apiErr.Code; {
		case strings.HasPrefix(code, "QuotaExceed"):
			hint = " The account has reached a quota: delete VNodes it no longer needs, or ask for a higher quota in the Quota Center (https://quotas.console.aliyun.com)."
		case code == "InvalidVSwitchId.NotFound" || code == "InvalidSecurityGroupId.NotFound" || code == "InvalidZoneId.NotFound":
			hint = " Check that the IDs in vswitch_ids, security_group_id and zone_ids exist in the provider's region."
		case strings.HasPrefix(code, "InvalidParameter") || strings.HasPrefix(code, "MissingParameter"):
			hint = " Fix the attribute the message names."
		case code == "IncorrectStatus":
			hint = " Wait until the VNode is Ready in ECI, then apply again."
		}
	}
	diags.AddError("Cannot "+doing, "ECI refused to "+doing+": "+err.Error()+"."+hint)
}
