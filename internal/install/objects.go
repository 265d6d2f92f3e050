package install

import (
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// Object is one rendered Kubernetes object; its apiVersion and kind are set.
type Object interface {
	metav1.Object
	runtime.Object
}

// Objects renders the cluster-wide part of the installation, in the order to apply it.
func (r Runtime) Objects() ([]Object, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	r = r.withDefaults()
	var objs []Object
	if !r.NamespaceExists {
		ns := &corev1.Namespace{ObjectMeta: r.meta("", "", "", nil)}
		ns.Name = r.Namespace
		objs = append(objs, typed(ns, "v1", "Namespace"))
	}
	if c := r.Credentials; c != nil {
		s := &corev1.Secret{
			ObjectMeta: r.meta(CredentialsSecretName, r.Namespace, "node", nil),
			Type:       corev1.SecretTypeOpaque,
			Data: map[string][]byte{
				eci.FileAccessKeyID:     []byte(c.AccessKeyID),
				eci.FileAccessKeySecret: []byte(c.AccessKeySecret),
			},
		}
		if c.SecurityToken != "" {
			s.Data[eci.FileSecurityToken] = []byte(c.SecurityToken)
		}
		objs = append(objs, typed(s, "v1", "Secret"))
	}
	objs = append(objs, r.kubeProxyObjects()...)
	if !r.Webhook.Disabled {
		objs = append(objs, r.webhookObjects()...)
	}
	objs = append(objs, r.approverObjects()...)
	return objs, nil
}

// RuntimeLeftovers are the objects the installed runtime writes itself and that
// deleting the installation should remove too: the webhook's TLS Secret and its
// configurations. Only names are set; they are for Delete, not Apply. Pass them first,
// Delete(ctx, c, append(r.RuntimeLeftovers(), objs...)), so that Delete, which works
// backwards, removes the webhook's Deployment before what the webhook would write again.
func (r Runtime) RuntimeLeftovers() []Object {
	r = r.withDefaults()
	if r.Webhook.Disabled {
		return nil
	}
	return []Object{
		typed(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: WebhookSecretName, Namespace: r.Namespace}}, "v1", "Secret"),
		typed(&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigurationName}},
			"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
		typed(&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigurationName}},
			"admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
	}
}

// VNodeObjects renders one VNode, in the order to apply it. The cluster-wide objects
// (namespace, credentials) must exist before its Deployment can start.
func (r Runtime) VNodeObjects(v VNode) ([]Object, error) {
	if err := r.ValidateVNode(v); err != nil {
		return nil, err
	}
	r, v = r.withDefaults(), v.withDefaults()
	name := "eci-vnode-" + v.Name
	rbacName := "eci-vnode:node:" + v.Name
	objs, sa := r.identity(name, rbacName, "node", &v, taintRules(v.Name))
	// The node identity's rights come from the Node authorizer; these Roles add what a
	// kubelet does not do: read the API server's client CA, hold the leader Lease.
	node := nodeUser(v.Name)
	objs = append(objs, r.role(rbacName, metav1.NamespaceSystem, "node", &v, node, clientCARules())...)
	if v.Replicas > 1 {
		objs = append(objs, r.role(rbacName, r.Namespace, "node", &v, node, leaseRules("eci-vnode-"+v.Name))...)
	}
	objs = append(objs, r.kubeProxyNodeObjects(&v, rbacName, sa, node)...)
	// The approver keeps this VNode's bootstrap token: these two Secrets and no others.
	approver := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ApproverName, Namespace: r.Namespace}}
	tokenRole := "eci-vnode:bootstrap-token:" + v.Name
	objs = append(objs, r.role(tokenRole, metav1.NamespaceSystem, "approver", &v, approver,
		approverTokenRules(BootstrapTokenSecretName(BootstrapTokenID(r.Namespace, v.Name))))...)
	objs = append(objs, r.role(tokenRole, r.Namespace, "approver", &v, approver, approverTokenRules(BootstrapTokenCopyName(v.Name)))...)
	objs = append(objs, typed(r.nodeDeployment(v, name), "apps/v1", "Deployment"))
	return objs, nil
}

// VNodeLeftovers are what the runtime of v registers itself: its Node and node Lease,
// and the leader Lease. Deleting the Node lets the cluster clean up after a VNode that
// is gone; do it only after the VNode's pods (and so its ECI instances) are gone, since
// without its runtime nothing deletes their instances.
func (r Runtime) VNodeLeftovers(v VNode) []Object {
	r = r.withDefaults()
	return append(r.bootstrapTokenLeftovers(v),
		typed(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode-" + v.Name, Namespace: r.Namespace}},
			"coordination.k8s.io/v1", "Lease"),
		typed(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: v.Name, Namespace: corev1.NamespaceNodeLease}},
			"coordination.k8s.io/v1", "Lease"),
		typed(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: v.Name}}, "v1", "Node"),
	)
}

func (r Runtime) withDefaults() Runtime {
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	if r.Image == "" {
		r.Image = ImageReference(r.Version, r.ImageDigest)
	}
	if r.CredentialsAs == "" {
		r.CredentialsAs = CredentialsAsFiles
	}
	if r.Webhook.Replicas == 0 {
		r.Webhook.Replicas = 1
	}
	if r.Webhook.Resources.Requests == nil && r.Webhook.Resources.Limits == nil {
		r.Webhook.Resources = requests("50m", "64Mi")
	}
	return r
}

func (v VNode) withDefaults() VNode {
	if v.Replicas == 0 {
		v.Replicas = 1
	}
	if v.Resources.Requests == nil && v.Resources.Limits == nil {
		v.Resources = requests("100m", "128Mi")
	}
	return v
}

func requests(cpu, memory string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}}
}

// meta names an object and labels it as part of the runtime; component and v add the
// component and VNode labels.
func (r Runtime) meta(name, namespace, component string, v *VNode) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: r.labels(component, v, true)}
}

// labels of an object; without version they are a stable selector.
func (r Runtime) labels(component string, v *VNode, version bool) map[string]string {
	l := map[string]string{LabelName: "eci-vnode"}
	if component != "" {
		l[LabelComponent] = component
	}
	if v != nil {
		l[LabelNode] = v.Name
	}
	if version && r.Version != "" {
		l[LabelVersion] = r.Version
	}
	return l
}

// identity renders a component's ServiceAccount (in the runtime's namespace) and its
// cluster-wide rights, a ClusterRole and its binding, and returns them with the subject
// that its Roles bind.
func (r Runtime) identity(name, rbacName, component string, v *VNode, rules []rbacv1.PolicyRule) ([]Object, []rbacv1.Subject) {
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: r.Namespace}}
	return []Object{
		typed(&corev1.ServiceAccount{ObjectMeta: r.meta(name, r.Namespace, component, v)}, "v1", "ServiceAccount"),
		typed(&rbacv1.ClusterRole{ObjectMeta: r.meta(rbacName, "", component, v), Rules: rules},
			"rbac.authorization.k8s.io/v1", "ClusterRole"),
		typed(&rbacv1.ClusterRoleBinding{ObjectMeta: r.meta(rbacName, "", component, v), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: rbacName}},
			"rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
	}, subject
}

// role renders a Role and its RoleBinding.
func (r Runtime) role(name, namespace, component string, v *VNode, subject []rbacv1.Subject, rules []rbacv1.PolicyRule) []Object {
	role := &rbacv1.Role{ObjectMeta: r.meta(name, namespace, component, v), Rules: rules}
	binding := &rbacv1.RoleBinding{ObjectMeta: r.meta(name, namespace, component, v), Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}
	return []Object{typed(role, "rbac.authorization.k8s.io/v1", "Role"), typed(binding, "rbac.authorization.k8s.io/v1", "RoleBinding")}
}

func (r Runtime) webhookObjects() []Object {
	const component = "profile-webhook"
	const rbacName = "eci-vnode:profile-webhook"
	w := r.Webhook
	objs, subject := r.identity(WebhookName, rbacName, component, nil, webhookClusterRules())
	objs = append(objs, r.role(rbacName, profile.ConfigMapNamespace, component, nil, subject, webhookProfileRules(profile.ConfigMapName))...)
	objs = append(objs, r.role(rbacName, r.Namespace, component, nil, subject, webhookOwnRules())...)

	selector := r.labels(component, nil, false)
	svc := &corev1.Service{ObjectMeta: r.meta(WebhookName, r.Namespace, component, nil), Spec: corev1.ServiceSpec{
		Selector: selector,
		Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP}},
	}}
	objs = append(objs, typed(svc, "v1", "Service"))

	args := []string{"profile-webhook"}
	if w.FailurePolicy != "" {
		args = append(args, "--failure-policy="+w.FailurePolicy)
	}
	if w.LogLevel != "" {
		args = append(args, "--log-level="+w.LogLevel)
	}
	if w.LogFormat != "" {
		args = append(args, "--log-format="+w.LogFormat)
	}
	if w.DirectURL {
		args = append(args, "--webhook-url-host=$(POD_IP):"+strconv.Itoa(WebhookPort))
	}
	args = append(args, w.ExtraArgs...)
	c := corev1.Container{
		Name:  "profile-webhook",
		Image: r.Image,
		Args:  args,
		Env:   podEnv(),
		Ports: []corev1.ContainerPort{
			{Name: "https", ContainerPort: WebhookPort, Protocol: corev1.ProtocolTCP},
			{Name: "metrics", ContainerPort: WebhookMetricsPort, Protocol: corev1.ProtocolTCP},
		},
		// Ready once its configurations are applied, so a rollout waits for a webhook
		// the API server can call.
		ReadinessProbe:  httpProbe("/readyz", "metrics"),
		LivenessProbe:   livenessProbe(),
		Resources:       w.Resources,
		SecurityContext: restricted(),
	}
	d := r.deployment(WebhookName, component, nil, w.Replicas, selector, c, nil)
	return append(objs, typed(d, "apps/v1", "Deployment"))
}

// approverObjects run `eci-vnode approver` (runtime/approver) with an identity of its own:
// it approves the kubelet certificates of this installation's VNodes and nothing else.
func (r Runtime) approverObjects() []Object {
	const component = "approver"
	const rbacName = "eci-vnode:approver"
	objs, subject := r.identity(ApproverName, rbacName, component, nil, approverClusterRules())
	objs = append(objs, r.role(rbacName, r.Namespace, component, nil, subject, approverOwnRules())...)
	objs = append(objs, r.role(rbacName, metav1.NamespaceSystem, component, nil, subject, approverTokenCreateRules())...)
	objs = append(objs, r.bootstrapObjects()...)
	c := corev1.Container{
		Name:            "approver",
		Image:           r.Image,
		Args:            []string{"approver"},
		Env:             podEnv(),
		Resources:       requests("10m", "32Mi"),
		SecurityContext: restricted(),
	}
	d := r.deployment(ApproverName, component, nil, 1, r.labels(component, nil, false), c, nil)
	return append(objs, typed(d, "apps/v1", "Deployment"))
}

func (r Runtime) nodeDeployment(v VNode, name string) *appsv1.Deployment {
	args := []string{"node",
		"--node-name=" + v.Name,
		"--cluster-name=" + r.ClusterName,
		"--region=" + r.Region,
	}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name+"="+value)
		}
	}
	flag("zones", strings.Join(v.ZoneIDs, ","))
	flag("vswitch-ids", strings.Join(v.VSwitchIDs, ","))
	flag("schedule-strategy", v.ScheduleStrategy)
	flag("security-group-id", v.SecurityGroupID)
	flag("resource-group-id", v.ResourceGroupID)
	flag("tags", pairs(v.Tags))
	flag("capacity", pairs(v.Capacity))
	flag("node-labels", pairs(v.Labels))
	if v.Taints != nil {
		// Rendered even when empty: "--node-taints=" means no taints at all.
		args = append(args, "--node-taints="+FormatTaints(v.Taints))
	}
	flag("spot-strategy", v.SpotStrategy)
	flag("spot-price-limit", v.SpotPriceLimit)
	if v.AutoMatchImageCache {
		args = append(args, "--auto-match-image-cache=true")
	}
	flag("cluster-dns", strings.Join(v.ClusterDNS, ","))
	flag("cluster-domain", v.ClusterDomain)
	args = append(args, v.kubeProxyArgs()...)
	flag("eci-endpoint", r.ECIEndpoint)
	flag("eci-scheme", r.ECIScheme)
	if v.StatusPollFast > 0 {
		flag("status-poll-fast", v.StatusPollFast.String())
	}
	if v.StatusPollSlow > 0 {
		flag("status-poll-slow", v.StatusPollSlow.String())
	}
	if v.ECIReadShare > 0 {
		flag("eci-read-share", strconv.FormatFloat(v.ECIReadShare, 'g', -1, 64))
	}
	if v.ECICreateQPS > 0 {
		flag("eci-create-qps", strconv.FormatFloat(v.ECICreateQPS, 'g', -1, 64))
	}
	if v.ECICreateBurst > 0 {
		flag("eci-create-burst", strconv.Itoa(v.ECICreateBurst))
	}
	if v.ECICreatePerMinute > 0 {
		flag("eci-create-per-minute", strconv.Itoa(v.ECICreatePerMinute))
	}
	if v.Replicas > 1 {
		args = append(args, "--leader-elect")
	}
	flag("log-level", v.LogLevel)
	flag("log-format", v.LogFormat)
	if v.CostTagKeys != nil {
		// Rendered even when empty: "--cost-tag-keys=" asks for no split.
		args = append(args, "--cost-tag-keys="+strings.Join(v.CostTagKeys, ","))
	}

	secret := r.CredentialsSecret
	if secret == "" {
		secret = CredentialsSecretName
	}
	env := append(podEnv(), corev1.EnvVar{Name: BootstrapTokenEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: BootstrapTokenCopyName(v.Name)}, Key: BootstrapTokenKey}}})
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	if r.CredentialsAs == CredentialsAsEnv {
		fromSecret := func(name, key string, optional bool) corev1.EnvVar {
			ref := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
			if optional {
				ref.Optional = ptr.To(true)
			}
			return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}}
		}
		env = append(env,
			fromSecret("ALIBABA_CLOUD_ACCESS_KEY_ID", eci.FileAccessKeyID, false),
			fromSecret("ALIBABA_CLOUD_ACCESS_KEY_SECRET", eci.FileAccessKeySecret, false),
			fromSecret("ALIBABA_CLOUD_SECURITY_TOKEN", eci.FileSecurityToken, true))
	} else {
		// The whole Secret as a directory: a subPath mount would never be updated.
		flag("credentials-dir", CredentialsDir)
		volumes = []corev1.Volume{{Name: "credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}}
		mounts = []corev1.VolumeMount{{Name: "credentials", MountPath: CredentialsDir, ReadOnly: true}}
	}
	args = append(args, v.ExtraArgs...)

	c := corev1.Container{
		Name:  "eci-vnode",
		Image: r.Image,
		Args:  args,
		Env:   env,
		Ports: []corev1.ContainerPort{
			{Name: "metrics", ContainerPort: NodeMetricsPort, Protocol: corev1.ProtocolTCP},
			{Name: "kubelet-api", ContainerPort: KubeletAPIPort, Protocol: corev1.ProtocolTCP},
		},
		// Ready when it does its part: the leader once the Node is registered and
		// its pods synced, a standby once it follows the Lease (docs/runtime.md,
		// "Metrics and health").
		ReadinessProbe:  httpProbe("/readyz", "metrics"),
		LivenessProbe:   livenessProbe(),
		Resources:       v.Resources,
		VolumeMounts:    mounts,
		SecurityContext: restricted(),
	}
	d := r.deployment(name, "node", &v, v.Replicas, r.labels("node", &v, false), c, volumes)
	d.Spec.Template.Spec.ServiceAccountName = name
	if v.Replicas == 1 {
		// A rolling update would start the new pod before the old one stops: two
		// runtimes of one VNode without a Lease between them.
		d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	return d
}

func (r Runtime) deployment(name, component string, v *VNode, replicas int32, selector map[string]string, c corev1.Container, volumes []corev1.Volume) *appsv1.Deployment {
	tmplLabels := r.labels(component, v, true)
	d := &appsv1.Deployment{
		ObjectMeta: r.meta(name, r.Namespace, component, v),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: tmplLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName: name,
					Containers:         []corev1.Container{c},
					Volumes:            volumes,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					// The runtime never runs on a VNode: it is what makes one work.
					Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
							MatchExpressions: []corev1.NodeSelectorRequirement{{
								Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpNotIn, Values: []string{profile.VNodeLabelValue},
							}},
						}}},
					}},
				},
			},
		},
	}
	return d
}

// podEnv is the downward API the runtime reads its defaults from: the namespace of its
// Secret and Lease, its identity in leader election, and its address.
func podEnv() []corev1.EnvVar {
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	return []corev1.EnvVar{field("POD_NAME", "metadata.name"), field("POD_NAMESPACE", "metadata.namespace"), field("POD_IP", "status.podIP")}
}

func httpProbe(path, port string) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(port)}},
		PeriodSeconds: 10,
	}
}

// livenessProbe restarts a runtime whose HTTP server stopped answering for a
// minute. /livez checks nothing outside the process, so an outage of ECI or of
// the API server never restarts it.
func livenessProbe() *corev1.Probe {
	p := httpProbe("/livez", "metrics")
	p.TimeoutSeconds = 5
	p.FailureThreshold = 6
	return p
}

// restricted meets the Pod Security Standard "restricted": the runtime needs no
// privilege, only the network and the API server.
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To[int64](65532),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// pairs renders a map as the k=v,... syntax of the runtime's flags, sorted.
func pairs(m map[string]string) string {
	keys := sortedKeys(m)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + m[k]
	}
	return strings.Join(out, ",")
}

// typed sets the apiVersion and kind, which the API types leave empty.
func typed[T Object](o T, apiVersion, kind string) Object {
	o.GetObjectKind().SetGroupVersionKind(schemaGVK(apiVersion, kind))
	return o
}
