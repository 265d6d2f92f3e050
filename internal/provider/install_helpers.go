package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
)

// Helpers the resources that install the runtime (eci_runtime, eci_vnode)
// share: their clients, how install's problems become attribute errors, and
// waiting for a Deployment.

// kubeClients returns the typed and the dynamic client of the provider's
// cluster.
func kubeClients(ctx context.Context, d *providerData) (kubernetes.Interface, dynamic.Interface, diag.Diagnostics) {
	if d == nil {
		var diags diag.Diagnostics
		diags.AddError("Provider not configured", "Terraform called the resource before it configured the eci provider.")
		return nil, nil, diags
	}
	kc, diags := d.Kube(ctx)
	if diags.HasError() {
		return nil, nil, diags
	}
	cfg, cd := d.KubeConfig(ctx)
	if diags.Append(cd...); diags.HasError() {
		return nil, nil, diags
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		diags.AddError("Cannot configure the Kubernetes client", err.Error())
		return nil, nil, diags
	}
	return kc, dyn, diags
}

// addProblems turns install's problems into attribute errors; attrs maps a
// problem's Setting to the attribute it comes from (unmapped settings give a
// resource-wide error).
func addProblems(diags *diag.Diagnostics, err error, attrs map[string]path.Path) {
	ps, ok := err.(install.Problems)
	if !ok {
		diags.AddError("Invalid settings", err.Error())
		return
	}
	for _, p := range ps {
		if at, ok := attrs[p.Setting]; ok {
			diags.AddAttributeError(at, "Invalid "+lastStep(at), p.Message)
			continue
		}
		diags.AddError("Invalid settings", p.String())
	}
}

func lastStep(p path.Path) string {
	s := p.String()
	if i := strings.LastIndex(s, "."); i >= 0 {
		return s[i+1:]
	}
	return s
}

// credentialsSHA256 is what state keeps of the credentials eci_runtime copies
// into the cluster: enough to see that they changed, never the key.
func credentialsSHA256(id, secret, token string) string {
	sum := sha256.Sum256([]byte(id + "\n" + secret + "\n" + token))
	return hex.EncodeToString(sum[:])
}

// eciScheme is the ECIScheme of an endpoint argument: HTTP for an http://
// URL (an emulator), otherwise the default.
func eciScheme(endpoint string) string {
	if strings.HasPrefix(strings.ToLower(endpoint), "http://") {
		return "HTTP"
	}
	return ""
}

// deploymentReady reports whether d has rolled out its current spec and all
// its replicas are ready.
func deploymentReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want && s.Replicas == want
}

// waitDeploymentReady waits until the Deployment has rolled out and is ready.
func waitDeploymentReady(ctx context.Context, kc kubernetes.Interface, namespace, name string, timeout time.Duration) error {
	var last *appsv1.Deployment
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		d, err := kc.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = d
		return deploymentReady(d), nil
	})
	if err != nil {
		status := "not found"
		if last != nil {
			status = fmt.Sprintf("%d of %d replicas ready, %d updated", last.Status.ReadyReplicas, ptrOr(last.Spec.Replicas, 1), last.Status.UpdatedReplicas)
		}
		return fmt.Errorf("deployment %s/%s is not ready after %s (%s): %w", namespace, name, timeout, status, err)
	}
	return nil
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// waitFor is how long an operation waits, and the key of the timeouts block
// that sets it, for the message when it is not long enough.
type waitFor struct {
	timeout time.Duration
	key     string
}

func (w waitFor) hint() string {
	return fmt.Sprintf(" If it needs longer than %s, raise timeouts.%s.", w.timeout, w.key)
}

// noDrift is drifted_objects of a resource as applied (eci_runtime, eci_vnode): an empty list, not null, so
// that a plan with no drift has nothing to show.
func noDrift() types.List {
	return types.ListValueMust(types.StringType, []attr.Value{})
}
