package node_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
)

// A VNode started with --node-taints carries exactly those taints, a pod of a VNode
// with the default SpotAsPriceGo gets a spot instance, and a restart with other
// --node-taints and --node-labels brings the existing Node to them while a user's
// taint and label stay.
func TestNodeTaintsAndSpotDefaultFromFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	g := startGround(t, emulator.Config{})
	const name = "vnode-taints"
	ctx := context.Background()

	rt := g.startRuntime(name, "rt-taints-1", "--node-taints", "team=a:NoSchedule,pool:NoExecute",
		"--node-labels", "pool=x,old=1", "--spot-strategy", "SpotAsPriceGo")
	g.waitNodeReady(name)
	if got, want := ownTaints(g.node(name)), []string{"pool:NoExecute", "team=a:NoSchedule"}; !slices.Equal(got, want) {
		t.Fatalf("taints %q, want exactly %q", got, want)
	}

	// The pod tolerates the VNode's own taints, not the default VNode taint.
	spec := corev1.PodSpec{
		NodeSelector: map[string]string{"kubernetes.io/hostname": name},
		Tolerations:  []corev1.Toleration{{Key: "team", Value: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "pool", Operator: corev1.TolerationOpExists}},
		Containers:   []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
	}
	if _, err := g.kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "spot", Namespace: ns}, Spec: spec}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := g.waitPod("spot", podRunningReady)
	gr, ok := g.instancesOf(name)[running.Annotations[node.AnnotationInstanceID]]
	if !ok || gr.SpotStrategy != eci.SpotStrategySpotAsPriceGo {
		t.Fatalf("instance %+v: want SpotStrategy SpotAsPriceGo", gr)
	}

	// A user taints and labels the Node; the runtime restarts with other flags.
	rt.kill()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n := g.node(name)
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "maintenance", Value: "yes", Effect: corev1.TaintEffectPreferNoSchedule})
		n.Labels["owner"] = "ops"
		_, err := g.kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	g.startRuntime(name, "rt-taints-2", "--node-taints", "team=b:NoSchedule", "--node-labels", "pool=y")
	want := []string{"maintenance=yes:PreferNoSchedule", "team=b:NoSchedule"}
	g.poll("taints "+strings.Join(want, ","), time.Minute, func(ctx context.Context) (bool, error) {
		n, err := g.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && slices.Equal(ownTaints(n), want), nil
	})
	g.poll("labels pool=y, owner=ops, no old", time.Minute, func(ctx context.Context) (bool, error) {
		n, err := g.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		_, old := n.Labels["old"]
		return n.Labels["pool"] == "y" && n.Labels["owner"] == "ops" && !old, nil
	})
}

// ownTaints are a Node's taints as key[=value]:Effect, sorted, without the passing ones
// Kubernetes and the runtime's ECI health set (node.kubernetes.io/*, eci-api-unreachable).
func ownTaints(n *corev1.Node) []string {
	var out []string
	for _, t := range n.Spec.Taints {
		if strings.HasPrefix(t.Key, "node.kubernetes.io/") || t.Key == node.TaintECIUnreachable {
			continue
		}
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		out = append(out, s+":"+string(t.Effect))
	}
	sort.Strings(out)
	return out
}
