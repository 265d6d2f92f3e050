package webhook

import (
	"context"
	"fmt"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	arv1 "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// Names of the webhooks inside the configurations.
const (
	WebhookMutatePods         = "pods.profile.eci-vnode.io"
	WebhookValidatePods       = "pods.guard.eci-vnode.io"
	WebhookValidateServices   = "services.guard.eci-vnode.io"
	WebhookValidateDaemonSets = "daemonsets.guard.eci-vnode.io"
)

// webhookConfigs renders the MutatingWebhookConfiguration and
// ValidatingWebhookConfiguration of o with caBundle.
//
// Pods: the profile mutation and the guards, on CREATE, with o.FailurePolicy, never for
// kube-system or the webhook's own namespace, so the webhook can never keep itself or
// the control plane from starting. Services and DaemonSets: warnings only, so always
// failurePolicy Ignore, and kube-system is included (its DaemonSets — kube-proxy, CNI
// agents — are the ones that most often tolerate every taint).
func webhookConfigs(o *Options, caBundle []byte) (*arv1.MutatingWebhookConfigurationApplyConfiguration, *arv1.ValidatingWebhookConfigurationApplyConfiguration) {
	client := func(path string) *arv1.WebhookClientConfigApplyConfiguration {
		c := arv1.WebhookClientConfig().WithCABundle(caBundle...)
		if o.URLHost != "" {
			return c.WithURL("https://" + o.URLHost + path)
		}
		return c.WithService(arv1.ServiceReference().WithNamespace(o.Namespace).WithName(o.ServiceName).
			WithPort(o.ServicePort).WithPath(path))
	}
	notIn := func(namespaces ...string) *metav1ac.LabelSelectorApplyConfiguration {
		return metav1ac.LabelSelector().WithMatchExpressions(metav1ac.LabelSelectorRequirement().
			WithKey(profile.NamespaceNameLabel).WithOperator(metav1.LabelSelectorOpNotIn).WithValues(namespaces...))
	}
	rule := func(group, version, resource string, ops ...admissionregistrationv1.OperationType) *arv1.RuleWithOperationsApplyConfiguration {
		return arv1.RuleWithOperations().WithOperations(ops...).WithAPIGroups(group).WithAPIVersions(version).
			WithResources(resource).WithScope(admissionregistrationv1.NamespacedScope)
	}
	podNamespaces := notIn(dedupe(profile.ConfigMapNamespace, o.Namespace)...)
	labels := map[string]string{"app.kubernetes.io/managed-by": FieldManager, "app.kubernetes.io/component": "profile-webhook"}
	create := admissionregistrationv1.Create
	update := admissionregistrationv1.Update

	mutating := arv1.MutatingWebhookConfiguration(o.ConfigurationName).WithLabels(labels).WithWebhooks(
		arv1.MutatingWebhook().WithName(WebhookMutatePods).
			WithClientConfig(client(PathMutatePods)).
			WithRules(rule("", "v1", "pods", create)).
			WithFailurePolicy(o.FailurePolicy).
			WithMatchPolicy(admissionregistrationv1.Equivalent).
			WithNamespaceSelector(podNamespaces).
			WithSideEffects(admissionregistrationv1.SideEffectClassNone).
			WithTimeoutSeconds(o.TimeoutSeconds).
			WithAdmissionReviewVersions("v1").
			WithReinvocationPolicy(admissionregistrationv1.IfNeededReinvocationPolicy),
	)
	validating := arv1.ValidatingWebhookConfiguration(o.ConfigurationName).WithLabels(labels).WithWebhooks(
		arv1.ValidatingWebhook().WithName(WebhookValidatePods).
			WithClientConfig(client(PathValidatePods)).
			WithRules(rule("", "v1", "pods", create)).
			WithFailurePolicy(o.FailurePolicy).
			WithMatchPolicy(admissionregistrationv1.Equivalent).
			WithNamespaceSelector(podNamespaces).
			WithSideEffects(admissionregistrationv1.SideEffectClassNone).
			WithTimeoutSeconds(o.TimeoutSeconds).
			WithAdmissionReviewVersions("v1"),
		arv1.ValidatingWebhook().WithName(WebhookValidateServices).
			WithClientConfig(client(PathValidateServices)).
			WithRules(rule("", "v1", "services", create, update)).
			WithFailurePolicy(admissionregistrationv1.Ignore).
			WithMatchPolicy(admissionregistrationv1.Equivalent).
			WithNamespaceSelector(notIn(o.Namespace)).
			WithSideEffects(admissionregistrationv1.SideEffectClassNone).
			WithTimeoutSeconds(o.TimeoutSeconds).
			WithAdmissionReviewVersions("v1"),
		arv1.ValidatingWebhook().WithName(WebhookValidateDaemonSets).
			WithClientConfig(client(PathValidateDaemonSets)).
			WithRules(rule("apps", "v1", "daemonsets", create, update)).
			WithFailurePolicy(admissionregistrationv1.Ignore).
			WithMatchPolicy(admissionregistrationv1.Equivalent).
			WithNamespaceSelector(notIn(o.Namespace)).
			WithSideEffects(admissionregistrationv1.SideEffectClassNone).
			WithTimeoutSeconds(o.TimeoutSeconds).
			WithAdmissionReviewVersions("v1"),
	)
	return mutating, validating
}

func dedupe(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// applyWebhookConfigs writes both configurations by server-side apply with the field
// manager eci-vnode, taking over fields another manager may have changed.
func applyWebhookConfigs(ctx context.Context, kube kubernetes.Interface, o *Options, caBundle []byte) error {
	mutating, validating := webhookConfigs(o, caBundle)
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if _, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Apply(ctx, mutating, opts); err != nil {
		return fmt.Errorf("apply MutatingWebhookConfiguration %s: %w", o.ConfigurationName, err)
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Apply(ctx, validating, opts); err != nil {
		return fmt.Errorf("apply ValidatingWebhookConfiguration %s: %w", o.ConfigurationName, err)
	}
	return nil
}
