package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// TestMetricsServerShowsVNodePodsInKubectlTop runs metrics-server (built from the module
// proxy) against a sandbox with a VNode: it scrapes the runtime's kubelet API directly, on
// the Node's InternalIP and port, with its own ServiceAccount's rights, and `kubectl top pod`
// shows the VNode's pod through the aggregated metrics API.
func TestMetricsServerShowsVNodePodsInKubectlTop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane and builds metrics-server")
	}
	ctx := context.Background()
	vs := startVNodeSandbox(t, func(o *Options) { o.ProxyablePodIPs = true; o.MetricsServer = true })
	sb, eciC := vs.Sandbox, vs.ECI
	if err := sb.MetricsServer(); err != nil {
		t.Skipf("no metrics-server here: %v", err)
	}
	c := sb.Client()
	vn := vs.VNode
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "topped", Namespace: "default"}, Spec: onVNode(corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}}}},
	})}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, sb.Tools().Kubectl, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+sb.Kubeconfig())
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("kubectl %q: %v", args, err)
		}
		return string(out), err
	}
	// metrics-server reports a pod once it has two samples of it (a CPU rate needs two):
	// ECI samples every 15 s, the first within 15 s of the start.
	var top string
	waitFor(t, 2*time.Minute, "kubectl top pod to show the VNode's pod", func() (bool, string) {
		out, err := kubectl("top", "pod", pod.Name, "--no-headers")
		top = out
		return err == nil && strings.HasPrefix(out, pod.Name+" "), out
	})
	fields := strings.Fields(top)
	if len(fields) != 3 || !strings.HasSuffix(fields[1], "m") || !strings.HasSuffix(fields[2], "Mi") {
		t.Fatalf("kubectl top pod: %q, want NAME CPU(cores) MEMORY(bytes)", top)
	}
	t.Logf("kubectl top pod: %s", strings.TrimSpace(top))

	// The working set is ECI's sample at the time metrics-server reports, to the byte.
	raw, err := c.CoreV1().RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", pod.Name).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pm struct {
		Timestamp  metav1.Time `json:"timestamp"`
		Containers []struct {
			Name  string              `json:"name"`
			Usage corev1.ResourceList `json:"usage"`
		} `json:"containers"`
	}
	if err := json.Unmarshal(raw, &pm); err != nil || len(pm.Containers) != 1 || pm.Containers[0].Name != "app" {
		t.Fatalf("PodMetrics %s: %v", raw, err)
	}
	p, err := c.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info := eciC.Info()
	eciClient, err := eci.New(eci.Config{Region: info.Region, Endpoint: info.Endpoint, Scheme: "HTTP",
		Credentials: &eci.Credentials{AccessKeyID: info.AccessKeyID, AccessKeySecret: info.AccessKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	at := pm.Timestamp.UTC().Format(time.RFC3339)
	rec, err := eciClient.DescribeContainerGroupMetric(ctx, &eci.DescribeContainerGroupMetricRequest{
		ContainerGroupID: p.Annotations["k8s.aliyun.com/eci-instance-id"], StartTime: at, EndTime: at, Period: "15"})
	if err != nil || len(rec.Records) != 1 {
		t.Fatalf("ECI's sample at %s: %+v, %v", at, rec, err)
	}
	// ECI also samples the instance's kube-proxy (cluster IP access), which the pod's
	// metrics leave out: compare the app's.
	var app *eci.ContainerMetric
	for i, cm := range rec.Records[0].Containers {
		if cm.Name == "app" {
			app = &rec.Records[0].Containers[i]
		}
	}
	if app == nil {
		t.Fatalf("ECI's sample at %s has no container app: %+v", at, rec.Records[0].Containers)
	}
	mem := pm.Containers[0].Usage[corev1.ResourceMemory]
	if want := app.Memory.WorkingSet; mem.Value() != want {
		t.Errorf("metrics API memory %s (%d bytes) at %s, ECI's working set %d", mem.String(), mem.Value(), at, want)
	}
	if cpu := pm.Containers[0].Usage[corev1.ResourceCPU]; cpu.MilliValue() <= 0 {
		t.Errorf("metrics API CPU %s, want a rate above zero", cpu.String())
	}

	// The node is the sum of its pods (docs/runtime.md, "Stats"). metrics-server keeps a
	// node only after two scrapes in which its cumulative CPU is above zero, which can be a
	// scrape later than the pod's.
	waitFor(t, time.Minute, "kubectl top node "+vn.Name, func() (bool, string) {
		out, err := kubectl("top", "node", vn.Name, "--no-headers")
		return err == nil && strings.HasPrefix(out, vn.Name+" "), fmt.Sprintf("%v, %q", err, out)
	})
}
