package install

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook"
)

func TestWebhookFieldManagerIsTheWebhooks(t *testing.T) {
	if WebhookFieldManager != webhook.FieldManager {
		t.Errorf("install looks for the field manager %q, the webhook writes as %q", WebhookFieldManager, webhook.FieldManager)
	}
}

// driftClient is a fake cluster holding present, whose dry-run applies answer what
// dryRun makes of the object the cluster holds (the fake client knows no server-side
// apply; the API server's is what the acceptance tests run against).
func driftClient(t *testing.T, objs []Object, present []*unstructured.Unstructured, dryRun func(live *unstructured.Unstructured) (*unstructured.Unstructured, error)) *dynamicfake.FakeDynamicClient {
	t.Helper()
	gvrs := map[schema.GroupVersionResource]string{}
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		gvrs[schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"}] = gvk.Kind + "List"
	}
	var ros []runtime.Object
	for _, u := range present {
		ros = append(ros, u)
	}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), gvrs, ros...)
	client.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		opts := p.GetPatchOptions()
		if !slices.Equal(opts.DryRun, []string{metav1.DryRunAll}) || opts.FieldManager != FieldManager || opts.Force == nil || !*opts.Force {
			t.Errorf("patch %s %s with %+v: want a forced dry-run apply under %s", p.GetResource().Resource, p.GetName(), opts, FieldManager)
		}
		obj, err := client.Tracker().Get(p.GetResource(), p.GetNamespace(), p.GetName())
		if err != nil {
			return true, nil, err
		}
		out, err := dryRun(obj.(*unstructured.Unstructured).DeepCopy())
		return true, out, err
	})
	return client
}

func must1[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestDriftFindsDeletedAndEditedObjectsSorted(t *testing.T) {
	r := testRuntime()
	objs := must(t)(r.Objects())
	var present []*unstructured.Unstructured
	for _, o := range objs {
		if _, ok := o.(*rbacv1.ClusterRole); ok {
			continue // deleted
		}
		u := must1[*unstructured.Unstructured](t)(Unstructured(o))
		u.SetResourceVersion("7")
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply}})
		present = append(present, u)
	}
	client := driftClient(t, objs, present, func(live *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		// What a no-op dry run changes anyway.
		live.SetResourceVersion("8")
		live.SetGeneration(live.GetGeneration() + 1)
		live.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply, Time: &metav1.Time{Time: time.Now()}}})
		unstructured.SetNestedField(live.Object, map[string]any{"observedGeneration": int64(3)}, "status")
		if live.GetKind() == "Service" || live.GetKind() == "Secret" {
			// Someone changed what Apply writes; the Secret is never compared.
			live.SetLabels(map[string]string{"edited": "back"})
		}
		return live, nil
	})
	got, err := Drift(context.Background(), client, objs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ClusterRole eci-vnode:approver: deleted",
		"ClusterRole eci-vnode:profile-webhook: deleted",
		"Service eci-vnode-system/eci-vnode-webhook: edited",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Drift = %q, want %q", got, want)
	}
}

func TestDriftReturnsErrorsOtherThanNotFound(t *testing.T) {
	r := testRuntime()
	objs := must(t)(r.Objects())
	client := driftClient(t, objs, nil, nil)
	client.PrependReactor("get", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, DefaultNamespace, errors.New("no"))
	})
	got, err := Drift(context.Background(), client, objs)
	if err == nil || !apierrors.IsForbidden(err) {
		t.Errorf("Drift = %q, %v: want the Forbidden error", got, err)
	}
}

func TestWebhookConfigurationDriftCountsOtherWriters(t *testing.T) {
	r := testRuntime()
	leftovers := r.RuntimeLeftovers()
	cfg := func(kind string, managers ...string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("admissionregistration.k8s.io/v1")
		u.SetKind(kind)
		u.SetName(WebhookConfigurationName)
		var mf []metav1.ManagedFieldsEntry
		for _, m := range managers {
			mf = append(mf, metav1.ManagedFieldsEntry{Manager: m})
		}
		u.SetManagedFields(mf)
		return u
	}
	for _, c := range []struct {
		name    string
		present []*unstructured.Unstructured
		want    []string
	}{
		{"as the webhook wrote them", []*unstructured.Unstructured{
			cfg("MutatingWebhookConfiguration", WebhookFieldManager), cfg("ValidatingWebhookConfiguration", WebhookFieldManager)}, nil},
		{"edited and deleted", []*unstructured.Unstructured{
			cfg("MutatingWebhookConfiguration", WebhookFieldManager, "kubectl-edit")}, []string{
			"MutatingWebhookConfiguration eci-vnode-profile: edited",
			"ValidatingWebhookConfiguration eci-vnode-profile: deleted",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := driftClient(t, leftovers, c.present, nil)
			got, err := r.WebhookConfigurationDrift(context.Background(), client)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("WebhookConfigurationDrift = %q, want %q", got, c.want)
			}
		})
	}
}

func TestRepairWebhookConfigurationsDeletesThemAndRestartsTheWebhook(t *testing.T) {
	r := testRuntime()
	objs := append(r.RuntimeLeftovers(), must(t)(r.Objects())...)
	var present []*unstructured.Unstructured
	for _, o := range objs {
		switch o.(type) {
		case *appsv1.Deployment:
			present = append(present, must1[*unstructured.Unstructured](t)(Unstructured(o)))
		}
	}
	for _, o := range r.RuntimeLeftovers() {
		present = append(present, must1[*unstructured.Unstructured](t)(Unstructured(o)))
	}
	client := driftClient(t, objs, present, nil)
	client.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.PatchActionImpl)
		if p.GetPatchOptions().FieldManager != RestartFieldManager || !strings.Contains(string(p.GetPatch()), `"kubectl.kubernetes.io/restartedAt":"2026-01-02T03:04:05Z"`) {
			t.Errorf("restart patch %s with %+v", p.GetPatch(), p.GetPatchOptions())
		}
		return true, &unstructured.Unstructured{}, nil
	})
	if err := r.RepairWebhookConfigurations(context.Background(), client, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, a := range client.Actions() {
		verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
	}
	want := []string{"delete mutatingwebhookconfigurations", "delete validatingwebhookconfigurations", "patch deployments"}
	if !slices.Equal(verbs, want) {
		t.Errorf("actions %q, want %q", verbs, want)
	}
}
