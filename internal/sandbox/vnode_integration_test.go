package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// TestVNodeComponentRunsPodsWithTheInstalledRBAC brings up the demo's components — the
// ECI emulator and a VNode installed by internal/install — and runs a pod on the VNode
// that reads a ConfigMap, a Secret and a service account token, then deletes it. The
// runtime and the webhook run as their own ServiceAccounts with the rendered RBAC only,
// so a permission the installation forgot fails here.
func TestVNodeComponentRunsPodsWithTheInstalledRBAC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	ctx := context.Background()
	vs := startVNodeSandbox(t, nil)
	sb, eci := vs.Sandbox, vs.ECI
	c := sb.Client()
	rt, vn := vs.Runtime, vs.VNode

	t.Run("nothing is bound to cluster-admin", func(t *testing.T) {
		crbs, err := c.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range crbs.Items {
			for _, s := range b.Subjects {
				if s.Namespace == "eci-vnode-system" && b.RoleRef.Name == "cluster-admin" {
					t.Errorf("%s binds %s to cluster-admin", b.Name, s.Name)
				}
			}
		}
		pods, err := c.CoreV1().Pods("eci-vnode-system").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=node"})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("the VNode's runtime pods: %v, %v", pods, err)
		}
		if sa := pods.Items[0].Spec.ServiceAccountName; sa != "eci-vnode-"+vn.Name {
			t.Errorf("the runtime runs as %q", sa)
		}
	})

	t.Run("a pod on the VNode runs and is deleted", func(t *testing.T) {
		const ns = "default"
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config"},
			Data: map[string]string{"mode": "demo"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "app-secret"},
			StringData: map[string]string{"password": "demo"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "on-eci", Namespace: ns}, Spec: onVNode(corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27",
				Env: []corev1.EnvVar{{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}, Key: "mode"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "secret", MountPath: "/etc/app"}},
			}},
			Volumes: []corev1.Volume{{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "app-secret"}}}},
		})}
		if _, err := c.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "the pod Running and Ready on the VNode", func() (bool, string) {
			p, err := c.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return p.Spec.NodeName == vn.Name && p.Status.Phase == corev1.PodRunning && podReady(p),
				fmt.Sprintf("node %q, phase %s, reason %q %q", p.Spec.NodeName, p.Status.Phase, p.Status.Reason, p.Status.Message)
		})
		if err := c.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "the pod gone", func() (bool, string) {
			_, err := c.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			return err != nil, fmt.Sprint(err)
		})
		if n := eci.Emulator().Calls()["DeleteContainerGroup"].ByCode["Success"]; n == 0 {
			t.Errorf("the pod is gone but its container group was never deleted")
		}
	})

	t.Run("kubectl logs reaches ECI through the VNode's kubelet API", func(t *testing.T) {
		// The runtime's serving certificate is approved by the installed approver and
		// signed by kube-controller-manager; the API server then calls the runtime on the
		// Node's address and port, as it calls a kubelet.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "talker", Namespace: "default"}, Spec: onVNode(corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36",
				Command: []string{"sh", "-c", "echo hello from ECI; echo second line; sleep infinity"}}},
		})}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "the pod's log through the API server", func() (bool, string) {
			out, err := c.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{Container: "app"}).DoRaw(ctx)
			if err != nil {
				return false, err.Error()
			}
			return string(out) == "hello from ECI\nsecond line\n", fmt.Sprintf("log %q", out)
		})
		tail := int64(1)
		out, err := c.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		if err != nil || string(out) != "second line\n" {
			t.Errorf("--tail=1: %q, %v", out, err)
		}
		since := int64(3600)
		if out, err := c.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{SinceSeconds: &since}).DoRaw(ctx); err != nil ||
			string(out) != "hello from ECI\nsecond line\n" {
			t.Errorf("--since=1h: %q, %v", out, err)
		}

		n, err := c.CoreV1().Nodes().Get(ctx, vn.Name, metav1.GetOptions{})
		if err != nil || n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 {
			t.Errorf("the VNode advertises no kubelet port: %v", err)
		}

		// kubectl exec, with kubectl's own protocol negotiation, through the same path.
		kubectl := func(args ...string) (string, int) {
			cmd := exec.CommandContext(ctx, sb.Tools().Kubectl, args...)
			cmd.Env = append(os.Environ(), "KUBECONFIG="+sb.Kubeconfig())
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return string(out), exit.ExitCode()
			} else if err != nil {
				t.Fatalf("kubectl %q: %v", args, err)
			}
			return string(out), 0
		}
		if out, code := kubectl("logs", "talker", "--previous"); code == 0 || !strings.Contains(out, "has not restarted") {
			t.Errorf("kubectl logs --previous of a container that never restarted: exit %d, %q; want the reason", code, out)
		}
		if out, code := kubectl("exec", "talker", "--", "echo", "hello through exec"); code != 0 || out != "hello through exec\n" {
			t.Errorf("kubectl exec: exit %d, output %q", code, out)
		}
		if out, code := kubectl("exec", "talker", "--", "sh", "-c", "exit 3"); code != 3 {
			t.Errorf("kubectl exec of a command exiting 3: exit %d, output %q", code, out)
		}

		// An interactive exec: stdin through the API server, as client-go's remotecommand
		// (kubectl exec -i) sends it.
		req := c.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("talker").SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: "app", Command: []string{"cat"}, Stdin: true, Stdout: true, Stderr: true},
				scheme.ParameterCodec)
		executor, err := remotecommand.NewSPDYExecutor(sb.RESTConfig(), "POST", req.URL())
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		streamCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		err = executor.StreamWithContext(streamCtx, remotecommand.StreamOptions{
			Stdin: strings.NewReader("typed line one\ntyped line two\n"), Stdout: &stdout, Stderr: &stderr})
		if err != nil || stdout.String() != "typed line one\ntyped line two\n" {
			t.Errorf("exec -i cat: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
		}
	})

	t.Run("kubectl logs -f follows a VNode pod through the API server", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ticker", Namespace: "default"}, Spec: onVNode(corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36",
				Command: []string{"sh", "-c", "echo tick; sleep 3; echo tock; echo tock; sleep 2; echo done; sleep infinity"}}},
		})}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "the pod running", func() (bool, string) {
			p, err := c.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return p.Status.Phase == corev1.PodRunning, string(p.Status.Phase)
		})
		followCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		stream, err := c.CoreV1().Pods("default").GetLogs(pod.Name, &corev1.PodLogOptions{Follow: true}).Stream(followCtx)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		// Lines written while the follow is open arrive once each, the repeated one twice.
		var got []string
		sc := bufio.NewScanner(stream)
		for len(got) < 4 && sc.Scan() {
			got = append(got, sc.Text())
		}
		if strings.Join(got, ",") != "tick,tock,tock,done" {
			t.Errorf("followed lines %q (scan error %v), want tick, tock, tock, done", got, sc.Err())
		}
	})

	t.Run("the installed webhook guards VNode pods", func(t *testing.T) {
		if rt.Webhook.Disabled {
			t.Skip("the component installs no webhook")
		}
		waitFor(t, 2*time.Minute, "the webhook refusing a hostNetwork pod bound for a VNode", func() (bool, string) {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "host", Namespace: "default"}, Spec: corev1.PodSpec{
				HostNetwork:  true,
				NodeSelector: map[string]string{profile.VNodeLabelKey: profile.VNodeLabelValue},
				Containers:   []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
			}}
			_, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err != nil && strings.Contains(err.Error(), "hostNetwork is not supported on a VNode"), fmt.Sprint(err)
		})
	})
}
