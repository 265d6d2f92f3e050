package install

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The kube-proxy's identity is bound to system:node-proxier and nothing else, nothing mounts
// its tokens, and a VNode's runtime may ask for tokens of that account by name.
func TestKubeProxyIdentityIsNodeProxierOnly(t *testing.T) {
	r := testRuntime()
	objs := must(t)(r.Objects())
	sa := find[*corev1.ServiceAccount](t, objs, KubeProxyServiceAccount)
	if sa.Namespace != DefaultNamespace || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount %s/%s automount %v; want the runtime's namespace, never mounted", sa.Namespace, sa.Name, sa.AutomountServiceAccountToken)
	}
	var bindings []string
	for _, o := range objs {
		if b, ok := o.(*rbacv1.ClusterRoleBinding); ok {
			for _, s := range b.Subjects {
				if s.Name == KubeProxyServiceAccount {
					bindings = append(bindings, b.RoleRef.Kind+" "+b.RoleRef.Name+" to "+s.Kind+" "+s.Namespace+"/"+s.Name)
				}
			}
		}
		if b, ok := o.(*rbacv1.RoleBinding); ok && slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool { return s.Name == KubeProxyServiceAccount }) {
			t.Errorf("RoleBinding %s/%s binds the kube-proxy's account too", b.Namespace, b.Name)
		}
	}
	if want := []string{"ClusterRole system:node-proxier to ServiceAccount eci-vnode-system/eci-vnode-kube-proxy"}; !slices.Equal(bindings, want) {
		t.Errorf("bindings of the kube-proxy's account %q, want %q", bindings, want)
	}

	vobjs := must(t)(r.VNodeObjects(testVNode()))
	var got []rbacv1.PolicyRule
	for _, o := range vobjs {
		if role, ok := o.(*rbacv1.Role); ok && role.Name == "eci-vnode:node:vnode-a:kube-proxy" && role.Namespace == DefaultNamespace {
			got = role.Rules
		}
	}
	if len(got) != 1 || !slices.Equal(got[0].APIGroups, []string{""}) || !slices.Equal(got[0].Resources, []string{"serviceaccounts/token"}) ||
		!slices.Equal(got[0].Verbs, []string{"create"}) || !slices.Equal(got[0].ResourceNames, []string{KubeProxyServiceAccount}) {
		t.Errorf("the runtime's token rule in %s: %+v, want create serviceaccounts/token of %s only", DefaultNamespace, got, KubeProxyServiceAccount)
	}
	// The tokens are bound to no pod, which NodeRestriction refuses a node: the runtime
	// asks for them as its ServiceAccount. It reads the API server's address as its node.
	for _, o := range vobjs {
		if b, ok := o.(*rbacv1.RoleBinding); ok && strings.HasSuffix(b.Name, ":kube-proxy") {
			want := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "eci-vnode-vnode-a", Namespace: DefaultNamespace}
			if b.Namespace == "default" {
				want = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:node:vnode-a"}
			}
			if len(b.Subjects) != 1 || b.Subjects[0] != want {
				t.Errorf("RoleBinding %s/%s binds %+v, want %+v", b.Namespace, b.Name, b.Subjects, want)
			}
		}
	}
}

// Cluster IP access is the runtime's default, so only turning it off or naming an image
// renders a flag, and a VNode without it gets no rights for it.
func TestClusterIPAccessSettingsBecomeFlags(t *testing.T) {
	r := testRuntime()
	args := func(v VNode) ([]string, []string) {
		objs := must(t)(r.VNodeObjects(v))
		var flags, roles []string
		for _, a := range find[*appsv1.Deployment](t, objs, "eci-vnode-"+v.Name).Spec.Template.Spec.Containers[0].Args {
			if strings.HasPrefix(a, "--cluster-ip-access") || strings.HasPrefix(a, "--kube-proxy") {
				flags = append(flags, a)
			}
		}
		for _, o := range objs {
			if role, ok := o.(*rbacv1.Role); ok && strings.HasSuffix(role.Name, ":kube-proxy") {
				roles = append(roles, role.Namespace)
			}
		}
		return flags, roles
	}
	v := testVNode()
	if flags, roles := args(v); len(flags) != 0 || !slices.Equal(roles, []string{DefaultNamespace, "default"}) {
		t.Errorf("default: flags %q, kube-proxy roles in %q", flags, roles)
	}
	v.NoClusterIPAccess, v.KubeProxyImage = true, "mirror.example.com/kube-proxy:v1.37.2"
	flags, roles := args(v)
	if want := []string{"--cluster-ip-access=false", "--kube-proxy-image=mirror.example.com/kube-proxy:v1.37.2"}; !slices.Equal(flags, want) {
		t.Errorf("flags %q, want %q", flags, want)
	}
	if len(roles) != 0 {
		t.Errorf("a VNode without cluster IP access still gets kube-proxy roles in %q", roles)
	}
}
