package install

import (
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/tools/clientcmd"
)

func TestManagedVNodeIdentityIsABootstrapTokenAllowedOnlyNodeClientCertificates(t *testing.T) {
	secret, err := NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z0-9]{16}$`).MatchString(secret) {
		t.Fatalf("token secret %q is not 16 of [a-z0-9]", secret)
	}
	if other, _ := NewTokenSecret(); other == secret {
		t.Fatal("two token secrets are the same")
	}
	id := ManagedTokenID("vnode-m")
	if !regexp.MustCompile(`^[a-z0-9]{6}$`).MatchString(id) || id == ManagedTokenID("vnode-n") {
		t.Fatalf("token id %q: want 6 of [a-z0-9], one per node", id)
	}
	if id == BootstrapTokenID("eci-vnode", "vnode-m") {
		t.Fatal("a managed VNode shares the token id of a bundled one of the same name")
	}

	objs := ManagedIdentityObjects("vnode-m", secret)
	s, ok := objs[0].(*corev1.Secret)
	if !ok || s.Namespace != "kube-system" || s.Name != "bootstrap-token-"+id || s.Type != corev1.SecretTypeBootstrapToken {
		t.Fatalf("first object %T %s/%s: want the kube-system bootstrap token Secret", objs[0], objs[0].GetNamespace(), objs[0].GetName())
	}
	if string(s.Data["token-id"]) != id || string(s.Data["token-secret"]) != secret || string(s.Data["usage-bootstrap-authentication"]) != "true" {
		t.Fatalf("token data %q", s.Data)
	}
	if _, ok := s.Data["auth-extra-groups"]; ok {
		t.Fatal("the token joins extra groups; it should hold only its own user's bindings")
	}
	want := map[string]string{
		"system:node-bootstrapper": "system:bootstrap:" + id,
		"system:certificates.k8s.io:certificatesigningrequests:nodeclient":     "system:bootstrap:" + id,
		"system:certificates.k8s.io:certificatesigningrequests:selfnodeclient": "system:node:vnode-m",
	}
	for _, o := range objs[1:] {
		b := o.(*rbacv1.ClusterRoleBinding)
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != rbacv1.UserKind || want[b.RoleRef.Name] != b.Subjects[0].Name {
			t.Errorf("binding %s: %v -> %s", b.Name, b.Subjects, b.RoleRef.Name)
		}
		delete(want, b.RoleRef.Name)
	}
	if len(want) > 0 {
		t.Errorf("no binding to %v", want)
	}

	raw, err := ManagedKubeconfig("https://10.0.0.1:6443", []byte("ca"), "vnode-m", secret)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://10.0.0.1:6443" || cfg.BearerToken != id+"."+secret || string(cfg.CAData) != "ca" {
		t.Fatalf("kubeconfig: host %s token %s ca %q", cfg.Host, cfg.BearerToken, cfg.CAData)
	}
}
