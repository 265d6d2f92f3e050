package install

import (
	"context"
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// WebhookFieldManager is the field manager the webhook writes its configurations with
// (runtime/webhook.FieldManager; a test keeps the two equal). It is repeated here so that
// the installer does not link the webhook's server.
const WebhookFieldManager = "eci-vnode"

// Drift tells which of objs the cluster no longer holds as Apply would write them: one
// line per object, "Kind [namespace/]name: deleted" or "...: edited", sorted. An object is
// edited when a server-side apply of it under FieldManager would change it. That is asked
// of the API server itself (a dry run, forced as Apply forces), so defaulting, field
// ownership and list merging are the API server's, not a copy of them: a field another
// manager added and this installation does not render is no drift, a field this
// installation renders and someone changed is (docs/install.md, "With Terraform").
//
// The credentials Secret is left out: Terraform never holds its key at Read (it keeps a
// hash, compared apart), so its rendered copy would always differ. Errors other than
// NotFound are returned: not being able to look is not the same as finding nothing.
func Drift(ctx context.Context, client dynamic.Interface, objs []Object) ([]string, error) {
	var out []string
	for _, o := range objs {
		if isCredentialsSecret(o) {
			continue
		}
		u, err := Unstructured(o)
		if err != nil {
			return nil, err
		}
		res := resourceFor(client, o)
		live, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			out = append(out, describe(o)+": deleted")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", describe(o), err)
		}
		dry, err := res.Apply(ctx, o.GetName(), u, metav1.ApplyOptions{
			FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll},
		})
		if apierrors.IsNotFound(err) {
			// Deleted between the two calls.
			out = append(out, describe(o)+": deleted")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dry-run apply %s: %w", describe(o), err)
		}
		if !sameContent(live, dry) {
			out = append(out, describe(o)+": edited")
		}
	}
	sort.Strings(out)
	return out, nil
}

// WebhookConfigurationDrift tells whether the webhook's configurations are as the webhook
// wrote them. They are not rendered here (see the package documentation), so Drift cannot
// dry-run them; but the webhook is their only writer, by server-side apply under
// WebhookFieldManager, so a configuration that is missing, or holds fields of any other
// manager (a kubectl edit, patch or apply), is drift. Whoever edited it, the webhook
// would undo the edit only at its next resync; RepairWebhookConfigurations does it now.
// None with the webhook disabled.
func (r Runtime) WebhookConfigurationDrift(ctx context.Context, client dynamic.Interface) ([]string, error) {
	r = r.withDefaults()
	if r.Webhook.Disabled {
		return nil, nil
	}
	var out []string
	for _, o := range r.webhookConfigurations() {
		live, err := resourceFor(client, o).Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			out = append(out, describe(o)+": deleted")
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", describe(o), err)
		}
		for _, mf := range live.GetManagedFields() {
			if mf.Manager != WebhookFieldManager {
				out = append(out, describe(o)+": edited")
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// RepairWebhookConfigurations deletes the webhook's configurations and restarts the
// webhook, whose new pods write them whole again before they are ready (the webhook's
// readiness is its configurations applied; runtime/webhook documentation). Deleting
// first matters: the webhook's server-side apply at start would take back the fields
// another manager changed, but leave the ones another manager added. The restart is
// what `kubectl rollout restart` does, an annotation on the pod template, written under
// a field manager of its own so that it is no drift of the Deployment Apply writes.
func (r Runtime) RepairWebhookConfigurations(ctx context.Context, client dynamic.Interface, now time.Time) error {
	r = r.withDefaults()
	if r.Webhook.Disabled {
		return nil
	}
	if err := Delete(ctx, client, r.webhookConfigurations()); err != nil {
		return err
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, restartedAtAnnotation, now.UTC().Format(time.RFC3339))
	_, err := client.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(r.Namespace).
		Patch(ctx, WebhookName, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: RestartFieldManager})
	if err != nil {
		return fmt.Errorf("restart Deployment %s/%s: %w", r.Namespace, WebhookName, err)
	}
	return nil
}

// webhookConfigurations are the webhook's Mutating- and ValidatingWebhookConfiguration,
// among the objects the webhook leaves behind.
func (r Runtime) webhookConfigurations() []Object {
	var cfgs []Object
	for _, o := range r.RuntimeLeftovers() {
		if k := o.GetObjectKind().GroupVersionKind().Kind; k == "MutatingWebhookConfiguration" || k == "ValidatingWebhookConfiguration" {
			cfgs = append(cfgs, o)
		}
	}
	return cfgs
}

// RestartFieldManager writes the restart annotation of RepairWebhookConfigurations.
const RestartFieldManager = FieldManager + "-restart"

// restartedAtAnnotation is kubectl's: `kubectl rollout restart` writes it, and
// `kubectl rollout history` shows it.
const restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

func isCredentialsSecret(o Object) bool {
	return o.GetObjectKind().GroupVersionKind().Kind == "Secret" && o.GetName() == CredentialsSecretName
}

// sameContent compares a live object with the result of a dry-run apply of it. Against
// kube-apiserver 1.37 a dry run that changes nothing returns the live object as it is, to
// the field (the API server skips a no-op write, managedFields times included). What is
// left out is what another writer may change between the Get and the dry run while
// Apply's part stays as it is: status (the Deployment controller writes it all the time),
// the managers' records of those writes, resourceVersion and generation.
func sameContent(live, dry *unstructured.Unstructured) bool {
	return equality.Semantic.DeepEqual(comparable(live), comparable(dry))
}

func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	delete(c, "status")
	if md, ok := c["metadata"].(map[string]any); ok {
		for _, f := range []string{"managedFields", "resourceVersion", "generation"} {
			delete(md, f)
		}
	}
	return c
}
