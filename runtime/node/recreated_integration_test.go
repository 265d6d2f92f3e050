package node

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// A StatefulSet recreates a pod under the same name at once. A write-back
// meant for the old pod — its instance ID, its status — must never land on
// the new one, which has no instance yet.
func TestWriteBacksForAPodNeverLandOnItsSuccessorOfTheSameName(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	sb := sandbox.StartForTest(t, sandbox.Options{Workers: -1})
	kube := sb.Client()
	ctx := context.Background()
	create := func() *corev1.Pod {
		t.Helper()
		p, err := kube.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-0"},
			Spec:       corev1.PodSpec{NodeName: "vnode-u", Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := NewProvider(Config{NodeName: "vnode-u", ClusterName: "unit", Region: "cn-hangzhou"}, ProviderDeps{Kube: kube})
	old := create()
	if err := p.CreatePod(ctx, old); err != nil { // queues a Pending status for it
		t.Fatal(err)
	}
	zero := int64(0)
	if err := kube.CoreV1().Pods("default").Delete(ctx, "web-0", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	successor := create()

	p.annotate(ctx, old, map[string]string{AnnotationInstanceID: "eci-of-the-old-pod"})
	if err := p.writeStatus(ctx, old.UID); err != nil {
		t.Fatalf("writing the old pod's status: %v", err)
	}
	got, err := kube.CoreV1().Pods("default").Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != successor.UID {
		t.Fatalf("pod web-0 has UID %s, want the successor's %s", got.UID, successor.UID)
	}
	if id, ok := got.Annotations[AnnotationInstanceID]; ok {
		t.Errorf("the successor carries the old pod's instance ID %q", id)
	}
	if got.Status.Reason != "" || got.ResourceVersion != successor.ResourceVersion {
		t.Errorf("the successor's status was written (reason %q, resourceVersion %s -> %s)", got.Status.Reason, successor.ResourceVersion, got.ResourceVersion)
	}
	// And the precondition itself: the live status is read first, but a
	// patch built for the old pod is refused should it race the recreation.
	st := old.Status.DeepCopy()
	st.Reason = ReasonCreating
	patch, err := statusPatch(old, st, map[string]string{AnnotationInstanceID: "eci-of-the-old-pod"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kube.CoreV1().Pods("default").Patch(ctx, "web-0", "application/strategic-merge-patch+json", patch, metav1.PatchOptions{}, "status")
	if !uidMismatch(err) {
		t.Errorf("a status patch for the old pod applied to its successor: err %v; want it refused for its UID", err)
	}
}
