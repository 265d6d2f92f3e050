package translate_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// imagePullSecrets become one credential per registry, from both Docker
// config formats, with "auth" or username/password.
func TestImagePullSecrets(t *testing.T) {
	p := pod("private", func() corev1.Container { c := ctr("app", "img"); c.Resources = res("", "", "1", "1Gi"); return c }())
	p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "acr"}, {Name: "legacy"}, {Name: "missing"}, {Name: "opaque"}, {Name: "dup"}}
	out := run(t, p, vnode(), cluster(t,
		secret("acr", corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{
			"registry-vpc.cn-hangzhou.aliyuncs.com":{"username":"robot","password":"pw1"},
			"https://index.docker.io/v1/":{"auth":"` + b64("hubuser:hubpass") + `"},
			"ghcr.io":{"identitytoken":"tok"}}}`}),
		secret("legacy", corev1.SecretTypeDockercfg, map[string]string{".dockercfg": `{"harbor.example.com:5000":{"auth":"` + b64("admin:Harbor12345") + `"}}`}),
		secret("opaque", corev1.SecretTypeOpaque, map[string]string{"x": "y"}),
		secret("dup", corev1.SecretTypeDockerConfigJson, map[string]string{".dockerconfigjson": `{"auths":{"registry-vpc.cn-hangzhou.aliyuncs.com":{"username":"other","password":"pw2"}}}`}),
	))
	expectWire(t, wire(t, out.Request), map[string]string{
		"ImageRegistryCredential.1.Server": "index.docker.io", "ImageRegistryCredential.1.UserName": "hubuser", "ImageRegistryCredential.1.Password": "hubpass",
		"ImageRegistryCredential.2.Server": "registry-vpc.cn-hangzhou.aliyuncs.com", "ImageRegistryCredential.2.UserName": "robot", "ImageRegistryCredential.2.Password": "pw1",
		"ImageRegistryCredential.3.Server": "harbor.example.com:5000", "ImageRegistryCredential.3.UserName": "admin", "ImageRegistryCredential.3.Password": "Harbor12345",
		"ImageRegistryCredential.4.Server": absent,
	})
	want := []string{
		"spec.imagePullSecrets[0]: registry ghcr.io in Secret shop/acr has no username and password (token-only credentials); ECI needs a username and password, so the entry is ignored",
		"spec.imagePullSecrets[2]: image pull Secret shop/missing does not exist; images are pulled without it, as the kubelet does",
		"spec.imagePullSecrets[3]: image pull Secret shop/opaque is ignored: it is of type Opaque, not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg",
		"spec.imagePullSecrets[4]: credentials for registry registry-vpc.cn-hangzhou.aliyuncs.com in Secret shop/dup are ignored: Secret acr already gives credentials for it, and ECI takes one per registry",
	}
	if got := warnings(out.Warnings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
	// Passwords never show in a printed request.
	if s := out.Request.ImageRegistryCredentials[0].String(); strings.Contains(s, "hubpass") {
		t.Errorf("credential prints its password: %s", s)
	}
}
