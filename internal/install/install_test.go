package install

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/yaml"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook"
)

func testRuntime() Runtime {
	return Runtime{
		Version: "v0.3.0", ClusterName: "prod", Region: "cn-hangzhou",
		Credentials: &Credentials{AccessKeyID: "LTAIexample", AccessKeySecret: "s3cret"},
	}
}

func testVNode() VNode {
	return VNode{
		Name: "vnode-a", ZoneIDs: []string{"cn-hangzhou-h"}, VSwitchIDs: []string{"vsw-1", "vsw-2"},
		SecurityGroupID: "sg-1", Tags: map[string]string{"team": "shop", "cost": "burst"},
		Capacity: map[string]string{"pods": "500", "cpu": "1000"}, Labels: map[string]string{"pool": "burst"},
		ClusterDNS: []string{"10.96.0.10"},
	}
}

// must fails the test on a rendering error: must(t)(r.Objects()).
func must(t *testing.T) func([]Object, error) []Object {
	return func(objs []Object, err error) []Object {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
}

// ids names objects as Kind namespace/name, in order.
func ids(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = describe(o)
	}
	return out
}

// find returns the object of type T named name, in namespace[0] when one is given.
func find[T Object](t *testing.T, objs []Object, name string, namespace ...string) T {
	t.Helper()
	for _, o := range objs {
		if v, ok := o.(T); ok && o.GetName() == name && (len(namespace) == 0 || o.GetNamespace() == namespace[0]) {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T named %s in %v", zero, name, ids(objs))
	return zero
}

func TestRuntimeObjectsInstallTheWebhookInItsNamespace(t *testing.T) {
	objs := must(t)(testRuntime().Objects())
	want := []string{
		"Namespace eci-vnode-system",
		"Secret eci-vnode-system/eci-vnode-credentials",
		"ServiceAccount eci-vnode-system/eci-vnode-kube-proxy",
		"ClusterRoleBinding eci-vnode:kube-proxy",
		"ServiceAccount eci-vnode-system/eci-vnode-webhook",
		"ClusterRole eci-vnode:profile-webhook",
		"ClusterRoleBinding eci-vnode:profile-webhook",
		"Role kube-system/eci-vnode:profile-webhook",
		"RoleBinding kube-system/eci-vnode:profile-webhook",
		"Role eci-vnode-system/eci-vnode:profile-webhook",
		"RoleBinding eci-vnode-system/eci-vnode:profile-webhook",
		"Service eci-vnode-system/eci-vnode-webhook",
		"Deployment eci-vnode-system/eci-vnode-webhook",
		"ServiceAccount eci-vnode-system/eci-vnode-approver",
		"ClusterRole eci-vnode:approver",
		"ClusterRoleBinding eci-vnode:approver",
		"Role eci-vnode-system/eci-vnode:approver",
		"RoleBinding eci-vnode-system/eci-vnode:approver",
		"Role kube-system/eci-vnode:approver",
		"RoleBinding kube-system/eci-vnode:approver",
		"ClusterRoleBinding eci-vnode:node-bootstrapper",
		"Deployment eci-vnode-system/eci-vnode-approver",
	}
	if got := ids(objs); !slices.Equal(got, want) {
		t.Errorf("objects:\n got %q\nwant %q", got, want)
	}
	d := find[*appsv1.Deployment](t, objs, "eci-vnode-webhook")
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "ghcr.io/eci-vnode/eci-vnode:v0.3.0" || !slices.Equal(c.Args, []string{"profile-webhook"}) {
		t.Errorf("webhook container %s %q: want the version's image and the runtime's defaults", c.Image, c.Args)
	}
	if d.Spec.Template.Spec.ServiceAccountName != "eci-vnode-webhook" {
		t.Errorf("webhook runs as %q", d.Spec.Template.Spec.ServiceAccountName)
	}
	svc := find[*corev1.Service](t, objs, "eci-vnode-webhook")
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, which the webhook's pods do not carry (%v)", k, v, d.Spec.Template.Labels)
		}
	}
	if svc.Spec.Ports[0].Port != 443 {
		t.Errorf("Service port %d: the webhook configurations call port 443", svc.Spec.Ports[0].Port)
	}
}

func TestAReleasedVersionPinsItsImageByDigest(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	r := testRuntime()
	r.ImageDigest = digest
	objs := must(t)(r.VNodeObjects(testVNode()))
	objs = append(objs, must(t)(r.Objects())...)
	want := "ghcr.io/eci-vnode/eci-vnode:v0.3.0@" + digest
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			if got := d.Spec.Template.Spec.Containers[0].Image; got != want {
				t.Errorf("%s runs %s, want the released image pinned: %s", d.Name, got, want)
			}
		}
	}
	// An explicit image (a mirror) wins over the released one.
	r.Image = "registry.example.com/eci-vnode:v0.3.0"
	d := find[*appsv1.Deployment](t, must(t)(r.Objects()), "eci-vnode-webhook")
	if got := d.Spec.Template.Spec.Containers[0].Image; got != r.Image {
		t.Errorf("webhook runs %s, want the configured image %s", got, r.Image)
	}
	r.Image, r.ImageDigest = "", "sha256:abc"
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "ImageDigest") {
		t.Errorf("a malformed digest was accepted: %v", err)
	}
}

func TestWebhookSettingsBecomeFlags(t *testing.T) {
	r := testRuntime()
	r.Namespace, r.NamespaceExists = "ops", true
	r.Credentials, r.CredentialsSecret = nil, "aliyun"
	r.Webhook = Webhook{LogLevel: "debug", FailurePolicy: "Fail", DirectURL: true, ExtraArgs: []string{"--deletion-cost=off"}}
	objs := must(t)(r.Objects())
	for _, o := range objs {
		if _, ok := o.(*corev1.Namespace); ok {
			t.Errorf("NamespaceExists, yet the namespace is rendered (and Delete would remove it)")
		}
		if _, ok := o.(*corev1.Secret); ok {
			t.Errorf("CredentialsSecret names an existing Secret, yet a Secret is rendered: %s", describe(o))
		}
	}
	c := find[*appsv1.Deployment](t, objs, "eci-vnode-webhook").Spec.Template.Spec.Containers[0]
	want := []string{"profile-webhook", "--failure-policy=Fail", "--log-level=debug", "--webhook-url-host=$(POD_IP):9443", "--deletion-cost=off"}
	if !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	if got := find[*rbacv1.Role](t, objs, "eci-vnode:profile-webhook").Namespace; got != profile.ConfigMapNamespace {
		t.Errorf("the first Role is in %s, want the profile's namespace", got)
	}

	r.Webhook = Webhook{Disabled: true}
	objs = must(t)(r.Objects())
	for _, o := range objs {
		if o.GetLabels()[LabelComponent] == "profile-webhook" {
			t.Errorf("a disabled webhook still renders %s", describe(o))
		}
	}
	if len(r.RuntimeLeftovers()) != 0 {
		t.Errorf("a disabled webhook still leaves %v", ids(r.RuntimeLeftovers()))
	}
}

func TestVNodeDeploymentRunsTheNodeWithItsSettings(t *testing.T) {
	r := testRuntime()
	objs := must(t)(r.VNodeObjects(testVNode()))
	want := []string{
		"ServiceAccount eci-vnode-system/eci-vnode-vnode-a",
		"ClusterRole eci-vnode:node:vnode-a",
		"ClusterRoleBinding eci-vnode:node:vnode-a",
		"Role kube-system/eci-vnode:node:vnode-a",
		"RoleBinding kube-system/eci-vnode:node:vnode-a",
		"Role eci-vnode-system/eci-vnode:node:vnode-a:kube-proxy",
		"RoleBinding eci-vnode-system/eci-vnode:node:vnode-a:kube-proxy",
		"Role default/eci-vnode:node:vnode-a:kube-proxy",
		"RoleBinding default/eci-vnode:node:vnode-a:kube-proxy",
		"Role kube-system/eci-vnode:bootstrap-token:vnode-a",
		"RoleBinding kube-system/eci-vnode:bootstrap-token:vnode-a",
		"Role eci-vnode-system/eci-vnode:bootstrap-token:vnode-a",
		"RoleBinding eci-vnode-system/eci-vnode:bootstrap-token:vnode-a",
		"Deployment eci-vnode-system/eci-vnode-vnode-a",
	}
	if got := ids(objs); !slices.Equal(got, want) {
		t.Errorf("objects:\n got %q\nwant %q", got, want)
	}
	d := find[*appsv1.Deployment](t, objs, "eci-vnode-vnode-a")
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	wantArgs := []string{"node", "--node-name=vnode-a", "--cluster-name=prod", "--region=cn-hangzhou",
		"--zones=cn-hangzhou-h", "--vswitch-ids=vsw-1,vsw-2", "--security-group-id=sg-1",
		"--tags=cost=burst,team=shop", "--capacity=cpu=1000,pods=500", "--node-labels=pool=burst",
		"--cluster-dns=10.96.0.10", "--credentials-dir=/etc/eci-vnode/credentials"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args\n got %q\nwant %q", c.Args, wantArgs)
	}
	if spec.ServiceAccountName != "eci-vnode-vnode-a" {
		t.Errorf("runs as %q", spec.ServiceAccountName)
	}
	if len(spec.Volumes) != 1 || spec.Volumes[0].Secret == nil || spec.Volumes[0].Secret.SecretName != CredentialsSecretName ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != CredentialsDir || c.VolumeMounts[0].SubPath != "" {
		t.Errorf("credentials must be the whole Secret mounted at --credentials-dir: volumes %+v, mounts %+v", spec.Volumes, c.VolumeMounts)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("one replica without leader election must be replaced, not rolled (two runtimes of one VNode): %q", d.Spec.Strategy.Type)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s not on the template", k, v)
		}
	}
	if _, ok := d.Spec.Selector.MatchLabels[LabelVersion]; ok {
		t.Errorf("the selector carries the version: an upgrade would need a new Deployment (selectors are immutable)")
	}
	var envNames []string
	for _, e := range c.Env {
		envNames = append(envNames, e.Name)
	}
	if !slices.Equal(envNames, []string{"POD_NAME", "POD_NAMESPACE", "POD_IP", BootstrapTokenEnv}) {
		t.Errorf("env %q", envNames)
	}
	if ref := c.Env[3].ValueFrom.SecretKeyRef; ref == nil || ref.Name != BootstrapTokenCopyName("vnode-a") || ref.Key != BootstrapTokenKey {
		t.Errorf("the bootstrap token comes from %+v, want the copy the approver writes", c.Env[3].ValueFrom)
	}
	na := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0]
	if na.Key != profile.VNodeLabelKey || na.Operator != corev1.NodeSelectorOpNotIn {
		t.Errorf("the runtime may land on a VNode: %+v", na)
	}
}

func TestVNodeReplicasRunActiveStandby(t *testing.T) {
	v := testVNode()
	v.Replicas = 2
	objs := must(t)(testRuntime().VNodeObjects(v))
	d := find[*appsv1.Deployment](t, objs, "eci-vnode-vnode-a")
	if !slices.Contains(d.Spec.Template.Spec.Containers[0].Args, "--leader-elect") || *d.Spec.Replicas != 2 {
		t.Errorf("two replicas without --leader-elect: %q", d.Spec.Template.Spec.Containers[0].Args)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		t.Errorf("with a standby, a rollout need not stop the VNode")
	}
	leader := find[*rbacv1.Role](t, objs, "eci-vnode:node:vnode-a", DefaultNamespace)
	if len(leader.Rules) < 2 || !slices.Contains(leader.Rules[1].ResourceNames, "eci-vnode-vnode-a") {
		t.Fatalf("no rule for the leader Lease eci-vnode-vnode-a in the runtime's namespace: %+v", leader.Rules)
	}
	binding := find[*rbacv1.RoleBinding](t, objs, "eci-vnode:node:vnode-a", DefaultNamespace)
	if len(binding.Subjects) != 1 || binding.Subjects[0].Kind != rbacv1.UserKind || binding.Subjects[0].Name != "system:node:vnode-a" {
		t.Errorf("the leader Lease is granted to %+v, want the node identity system:node:vnode-a", binding.Subjects)
	}
}

func TestCredentialsAsEnvironment(t *testing.T) {
	r := testRuntime()
	r.Credentials, r.CredentialsSecret, r.CredentialsAs = nil, "aliyun", CredentialsAsEnv
	c := find[*appsv1.Deployment](t, must(t)(r.VNodeObjects(testVNode())), "eci-vnode-vnode-a").Spec.Template.Spec.Containers[0]
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--credentials-dir") }) || len(c.VolumeMounts) != 0 {
		t.Errorf("credentials as environment, yet mounted: %q %+v", c.Args, c.VolumeMounts)
	}
	got := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			got[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	want := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "aliyun/access-key-id",
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "aliyun/access-key-secret", "ALIBABA_CLOUD_SECURITY_TOKEN": "aliyun/security-token",
		BootstrapTokenEnv: BootstrapTokenCopyName("vnode-a") + "/" + BootstrapTokenKey}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("env from the Secret %v, want %v", got, want)
	}
}

func TestCredentialsSecretHoldsTheFilesTheRuntimeReads(t *testing.T) {
	r := testRuntime()
	r.Credentials.SecurityToken = "sts"
	s := find[*corev1.Secret](t, must(t)(r.Objects()), CredentialsSecretName)
	if string(s.Data["access-key-id"]) != "LTAIexample" || string(s.Data["access-key-secret"]) != "s3cret" || string(s.Data["security-token"]) != "sts" {
		t.Errorf("secret data %q", s.Data)
	}
}

// TestRBACHasNoWildcards walks every Role and ClusterRole of an installation with
// everything turned on.
func TestRBACHasNoWildcards(t *testing.T) {
	r := testRuntime()
	v := testVNode()
	v.Replicas = 3
	objs := must(t)(r.Objects())
	objs = append(objs, must(t)(r.VNodeObjects(v))...)
	roles := 0
	for _, o := range objs {
		var rules []rbacv1.PolicyRule
		switch x := o.(type) {
		case *rbacv1.Role:
			rules = x.Rules
		case *rbacv1.ClusterRole:
			rules = x.Rules
			if x.AggregationRule != nil {
				t.Errorf("%s aggregates other roles", describe(o))
			}
		default:
			continue
		}
		roles++
		for _, rule := range rules {
			for _, list := range [][]string{rule.Verbs, rule.Resources, rule.APIGroups, rule.NonResourceURLs} {
				for _, s := range list {
					if strings.Contains(s, "*") {
						t.Errorf("%s grants %q: %+v", describe(o), s, rule)
					}
				}
			}
			if len(rule.Verbs) == 0 || len(rule.Resources) == 0 {
				t.Errorf("%s has an empty rule %+v", describe(o), rule)
			}
			for _, verb := range rule.Verbs {
				if slices.Contains([]string{"escalate", "bind", "impersonate"}, verb) {
					t.Errorf("%s grants %s", describe(o), verb)
				}
			}
		}
	}
	if roles != 13 {
		t.Errorf("walked %d roles, want 13 (the webhook's 3; the approver's 3; the VNode's ClusterRole (taints), client CA, leader Lease, kube-proxy token and API server address roles, and the approver's two for its bootstrap token)", roles)
	}
}

// TestVNodeMayWriteOnlyItsOwnNode: a VNode's identity must not be able to change other
// nodes.
func TestVNodeMayWriteOnlyItsOwnNode(t *testing.T) {
	role := find[*rbacv1.ClusterRole](t, must(t)(testRuntime().VNodeObjects(testVNode())), "eci-vnode:node:vnode-a")
	for _, rule := range role.Rules {
		if !slices.Contains(rule.Resources, "nodes") && !slices.Contains(rule.Resources, "nodes/status") {
			continue
		}
		if slices.Equal(rule.Verbs, []string{"create"}) {
			continue // RBAC cannot name an object that does not exist yet
		}
		if !slices.Equal(rule.ResourceNames, []string{"vnode-a"}) {
			t.Errorf("node rule %+v is not limited to vnode-a", rule)
		}
	}
}

func TestValidateReportsEveryProblemWithItsSetting(t *testing.T) {
	r := Runtime{Namespace: "Bad_NS", ECIScheme: "FTP", CredentialsAs: "disk", Webhook: Webhook{DirectURL: true, Replicas: 2, LogLevel: "loud"}}
	v := VNode{Name: "", VSwitchIDs: strings.Split("a,b,c,d,e,f,g,h,i,j,k", ","), Tags: map[string]string{"eci-vnode/node": "x"},
		Capacity: map[string]string{"cpu": "lots"}, ScheduleStrategy: "Closest", StatusPollFast: -time.Second}
	err := r.ValidateVNode(v)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	settings := map[string]bool{}
	for _, p := range ps {
		settings[p.Setting] = true
	}
	for _, s := range []string{"Version", "Namespace", "ECIScheme", "CredentialsAs", "Webhook.Replicas", "Webhook.LogLevel",
		"ClusterName", "Region", "Credentials", "VNode.Name", "VNode.VSwitchIDs", "VNode.Tags", "VNode.Capacity",
		"VNode.ScheduleStrategy", "VNode.StatusPollFast"} {
		if !settings[s] {
			t.Errorf("no problem reported for %s; got %v", s, err)
		}
	}
	if _, err := r.VNodeObjects(v); err == nil {
		t.Errorf("VNodeObjects rendered invalid settings")
	}
	if err := testRuntime().ValidateVNode(testVNode()); err != nil {
		t.Errorf("valid settings refused: %v", err)
	}
	// The webhook alone needs no cloud settings.
	if err := (Runtime{Version: "dev"}).Validate(); err != nil {
		t.Errorf("a webhook-only installation refused: %v", err)
	}
}

func TestYAMLIsOneDocumentPerObjectWithoutServerFields(t *testing.T) {
	r := testRuntime()
	objs := must(t)(r.Objects())
	objs = append(objs, must(t)(r.VNodeObjects(testVNode()))...)
	out, err := YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(out), "\n---\n")
	if len(docs) != len(objs) {
		t.Fatalf("%d documents for %d objects", len(docs), len(objs))
	}
	for i, doc := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		md := m["metadata"].(map[string]any)
		if m["kind"] != objs[i].GetObjectKind().GroupVersionKind().Kind || md["name"] != objs[i].GetName() {
			t.Errorf("document %d is %v %v, want %s", i, m["kind"], md["name"], describe(objs[i]))
		}
		if strings.Contains(doc, "status:") || strings.Contains(doc, "creationTimestamp") {
			t.Errorf("document %d carries fields the server owns:\n%s", i, doc)
		}
	}
}

// The names the runtime uses by default are the ones rendered here, so the installation
// needs no flags for them and its RBAC names the right objects.
func TestNamesMatchTheWebhooksDefaults(t *testing.T) {
	for _, c := range [][2]string{
		{DefaultNamespace, webhook.DefaultNamespace},
		{WebhookName, webhook.DefaultServiceName},
		{WebhookConfigurationName, webhook.DefaultConfigurationName},
		{WebhookSecretName, webhook.DefaultSecretName},
		{fmt.Sprint(WebhookPort), fmt.Sprint(webhook.DefaultPort)},
	} {
		if c[0] != c[1] {
			t.Errorf("install uses %q where the webhook defaults to %q", c[0], c[1])
		}
	}
}

// The approver recognises this installation's VNodes by their runtime Deployment.
func TestTheApproverFindsTheVNodesInstallRenders(t *testing.T) {
	v := testVNode()
	d := find[*appsv1.Deployment](t, must(t)(testRuntime().VNodeObjects(v)), "eci-vnode-"+v.Name)
	if d.Labels[LabelNode] != v.Name {
		t.Errorf("the runtime Deployment of %s is labelled %v", v.Name, d.Labels)
	}
}

func TestDeleteRemovesInReverseOrderAndToleratesNotFound(t *testing.T) {
	r := testRuntime()
	objs := append(r.RuntimeLeftovers(), must(t)(r.Objects())...)
	scheme := runtime.NewScheme()
	var present []runtime.Object
	// Only the Deployment and the Namespace exist; everything else is already gone.
	for _, o := range objs {
		switch o.(type) {
		case *appsv1.Deployment, *corev1.Namespace:
			u, err := Unstructured(o)
			if err != nil {
				t.Fatal(err)
			}
			present = append(present, u)
		}
	}
	gvrs := map[schema.GroupVersionResource]string{}
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		gvrs[schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}] = gvk.Kind + "List"
	}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, gvrs, present...)
	if err := Delete(context.Background(), client, objs); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "delete" {
			deleted = append(deleted, a.GetResource().Resource)
		}
	}
	if len(deleted) != len(objs) || deleted[0] != "deployments" || deleted[len(deleted)-1] != "secrets" {
		t.Errorf("deleted %q: want every object, the webhook's Deployment first and what it wrote last", deleted)
	}
	if _, err := client.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(context.Background(), DefaultNamespace, metav1.GetOptions{}); err == nil {
		t.Errorf("the namespace is still there")
	}
}

// A VNode registers its Node as the node, so labels NodeRestriction refuses a node are
// refused here, before anything is applied, with what to use instead.
func TestNodeLabelsANodeMayNotSetAreRefused(t *testing.T) {
	v := testVNode()
	v.Labels = map[string]string{"node-role.kubernetes.io/burst": "", "pool": "burst", "node.kubernetes.io/pool": "burst",
		"topology.kubernetes.io/zone": "cn-hangzhou-h", "example.com/role": "burst"}
	err := testRuntime().ValidateVNode(v)
	if err == nil || !strings.Contains(err.Error(), `"node-role.kubernetes.io/burst"`) || !strings.Contains(err.Error(), "kubectl label") {
		t.Fatalf("a node-role label: %v", err)
	}
	delete(v.Labels, "node-role.kubernetes.io/burst")
	if err := testRuntime().ValidateVNode(v); err != nil {
		t.Errorf("labels a node may set were refused: %v", err)
	}
}
