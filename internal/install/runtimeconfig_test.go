package install

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The runtime's ConfigMap carries what a VNode needs, and no key; read back,
// it renders the same VNode as the runtime it records.
func TestRuntimeConfigMapRecordsWhatVNodesNeed(t *testing.T) {
	r := testRuntime()
	r.ECIEndpoint, r.ECIScheme, r.CredentialsAs = "http://127.0.0.1:8080", "HTTP", CredentialsAsEnv
	o, err := r.ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	cm := o.(*corev1.ConfigMap)
	if cm.Name != RuntimeConfigMapName || cm.Namespace != DefaultNamespace {
		t.Errorf("ConfigMap %s/%s", cm.Namespace, cm.Name)
	}
	for k, v := range cm.Data {
		if v == r.Credentials.AccessKeySecret {
			t.Errorf("key %s holds the secret", k)
		}
	}
	back, err := RuntimeFromConfigMap(cm)
	if err != nil {
		t.Fatal(err)
	}
	if back.CredentialsSecret != CredentialsSecretName || back.Credentials != nil {
		t.Errorf("credentials read back as %q, %v", back.CredentialsSecret, back.Credentials)
	}
	want := must(t)(r.VNodeObjects(testVNode()))
	got := must(t)(back.VNodeObjects(testVNode()))
	wy, _ := YAML(want)
	gy, _ := YAML(got)
	if string(wy) != string(gy) {
		t.Errorf("a VNode rendered from the ConfigMap differs:\n%s\nwant\n%s", gy, wy)
	}
	if _, err := RuntimeFromConfigMap(&corev1.ConfigMap{}); err == nil {
		t.Errorf("an empty ConfigMap was accepted")
	}
}
