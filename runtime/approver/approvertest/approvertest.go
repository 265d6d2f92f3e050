// Package approvertest sets up, against a real API server, what the approver needs to
// know a VNode, and runs the approver, for the tests of the packages that depend on it
// (kubelet certificates, node identity).
package approvertest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eci-vnode/terraform-provider-eci/runtime/approver"
)

// VNode makes node a VNode of the installation in namespace ns, as internal/install
// renders it for the approver: the namespace, and the runtime Deployment eci-vnode-<node>
// labelled with the node's name.
func VNode(t testing.TB, ctx context.Context, admin kubernetes.Interface, ns, node string) {
	t.Helper()
	_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
	labels := map[string]string{approver.LabelNode: node}
	_, err = admin.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode-" + node, Labels: labels},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{ServiceAccountName: "eci-vnode-" + node,
				Containers: []corev1.Container{{Name: "node", Image: "ghcr.io/eci-vnode/eci-vnode:test"}}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create the runtime Deployment of VNode %s: %v", node, err)
	}
}

// Start runs the approver of namespace ns with admin's rights until the test ends.
func Start(t testing.TB, admin kubernetes.Interface, ns string) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&approver.Controller{Kube: admin, Namespace: ns, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(ctx)
	}()
	t.Cleanup(func() { stop(); <-done })
}
