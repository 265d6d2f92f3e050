package sandbox

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestEnvResolver(t *testing.T) {
	client := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"A": "from-cm", "B": "b"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec", Namespace: "ns"}, Data: map[string][]byte{"pw": []byte("hunter2")}},
	)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1", Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{NodeName: "worker-1", ServiceAccountName: "sa"},
	}
	ref := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	c := &corev1.Container{
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}, Prefix: "CM_"},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}},
		},
		Env: []corev1.EnvVar{
			{Name: "NAME", ValueFrom: ref("metadata.name")},
			{Name: "NS", ValueFrom: ref("metadata.namespace")},
			{Name: "NODE", ValueFrom: ref("spec.nodeName")},
			{Name: "IP", ValueFrom: ref("status.podIP")},
			{Name: "HOST", ValueFrom: ref("status.hostIP")},
			{Name: "APP", ValueFrom: ref("metadata.labels['app']")},
			{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "pw"}}},
			{Name: "MAYBE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "nope", Optional: ptr.To(true)}}},
			{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "URL", Value: "http://$(IP):8080/$(NAME)/$(LATER)"},
			{Name: "CM_A", Value: "env-wins-over-envFrom"},
			{Name: "LATER", Value: "x"},
		},
	}
	r := &envResolver{client: client, pod: pod, podIP: "127.0.0.7", hostIP: "127.0.1.1"}
	vars, err := r.resolve(context.Background(), c, []envVar{{"POD_IP", "127.0.0.7"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vars {
		got[v.Name] = v.Value
	}
	want := map[string]string{
		"POD_IP": "127.0.0.7", "CM_A": "env-wins-over-envFrom", "CM_B": "b",
		"NAME": "p", "NS": "ns", "NODE": "worker-1", "IP": "127.0.0.7", "HOST": "127.0.1.1", "APP": "x",
		"PW": "hunter2", "MEM_MI": "64",
		// $(LATER) is defined after URL, so it stays as written (kubelet semantics).
		"URL": "http://127.0.0.7:8080/p/$(LATER)", "LATER": "x",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["MAYBE"]; ok {
		t.Error("optional missing key must leave the variable unset")
	}
	if len(got) != len(want) {
		t.Errorf("got %d variables %v, want %d", len(got), got, len(want))
	}
}

func TestEnvResolverMissingReferences(t *testing.T) {
	client := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	for name, tc := range map[string]struct {
		c    corev1.Container
		want string
	}{
		"secret missing": {corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}}},
			`env X: secret "s" not found`},
		"configmap key missing": {corev1.Container{Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "k"}}}}},
			"env X: couldn't find key k in ConfigMap ns/cm"},
		"envFrom configmap missing": {corev1.Container{EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "other"}}}}},
			`configmap "other" not found`},
	} {
		t.Run(name, func(t *testing.T) {
			r := &envResolver{client: client, pod: pod}
			_, err := r.resolve(context.Background(), &tc.c, nil)
			var ce *configError
			if !errors.As(err, &ce) || err.Error() != tc.want {
				t.Errorf("error = %v (%T), want configError %q", err, err, tc.want)
			}
		})
	}
}
