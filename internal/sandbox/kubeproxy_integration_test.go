package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	ecic "github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// The kube-proxy of an ECI instance, end to end: a VNode installed by internal/install (its
// runtime under the rendered RBAC only) creates a pod's instance with the kube-proxy container;
// the credential in that instance is the installation's kube-proxy identity, which may list
// Services and EndpointSlices and may not read Secrets; and the real kube-proxy v1.37.2,
// built from the module proxy, run with the instance's arguments and files in a network
// namespace of its own, syncs from the API server with that identity and writes the iptables
// rules of a test Service. An instance's network namespace is what the test's stands for.
func TestKubeProxyOfAnInstanceSyncsWithItsCredential(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane and builds kube-proxy")
	}
	ctx := context.Background()
	vs := startVNodeSandbox(t, nil)
	sb, eci := vs.Sandbox, vs.ECI
	c := sb.Client()
	rt := vs.Runtime

	// A Service without a selector and its EndpointSlice: kube-proxy turns the ClusterIP into
	// the endpoint's address.
	svc, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kp-web"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "kp-web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "kp-web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.9.9"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A pod on the VNode, and the kube-proxy container of its instance.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kp-client", Namespace: "default"}, Spec: onVNode(corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36", Command: []string{"sh", "-c", "sleep infinity"}}},
	})}
	if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var instanceID string
	waitFor(t, 2*time.Minute, "the pod Running on the VNode", func() (bool, string) {
		p, err := c.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		instanceID = p.Annotations["k8s.aliyun.com/eci-instance-id"]
		return p.Status.Phase == corev1.PodRunning && instanceID != "", fmt.Sprintf("phase %s, %q %q", p.Status.Phase, p.Status.Reason, p.Status.Message)
	})
	info := eci.Info()
	client, err := ecic.New(ecic.Config{Region: info.Region, Endpoint: info.Endpoint,
		Credentials: &ecic.Credentials{AccessKeyID: info.AccessKeyID, AccessKeySecret: info.AccessKeySecret}})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := client.DescribeContainerGroups(ctx, &ecic.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{instanceID}})
	if err != nil || len(groups.ContainerGroups) != 1 {
		t.Fatalf("describe instance %s: %v, %+v", instanceID, err, groups)
	}
	grp := groups.ContainerGroups[0]
	var command []string
	for _, ct := range grp.Containers {
		if ct.Name == translate.KubeProxyContainer {
			command = ct.Commands
		}
	}
	if len(command) == 0 {
		t.Fatalf("instance %s has no %s container: %+v", instanceID, translate.KubeProxyContainer, grp.Containers)
	}
	files := t.TempDir()
	for _, v := range grp.Volumes {
		if v.Name != translate.KubeProxyContainer {
			continue
		}
		for _, f := range v.ConfigFileVolumeConfigFileToPaths {
			raw, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(files, f.Path), raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	const mountPath = "/var/lib/eci-vnode-kube-proxy"

	t.Run("the credential is the installation's kube-proxy identity, system:node-proxier only", func(t *testing.T) {
		kc, err := os.ReadFile(filepath.Join(files, "kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		local := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(local, bytes.ReplaceAll(kc, []byte(mountPath+"/"), []byte(files+"/")), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", local)
		if err != nil {
			t.Fatalf("the instance's kubeconfig: %v", err)
		}
		proxy := kubernetes.NewForConfigOrDie(cfg)
		review, err := proxy.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := "system:serviceaccount:" + rt.Namespace + ":" + install.KubeProxyServiceAccount; review.Status.UserInfo.Username != want {
			t.Errorf("the instance's kube-proxy is %q, want %q", review.Status.UserInfo.Username, want)
		}
		if _, err := proxy.CoreV1().Services("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("list Services: %v", err)
		}
		if _, err := proxy.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("list EndpointSlices: %v", err)
		}
		if _, err := proxy.CoreV1().Secrets(rt.Namespace).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("list Secrets of %s: %v; want Forbidden", rt.Namespace, err)
		}
		if _, err := proxy.CoreV1().Secrets("default").Get(ctx, "anything", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("get a Secret: %v; want Forbidden", err)
		}
	})

	t.Run("the API server binds no kube-proxy token to the pod it serves", func(t *testing.T) {
		// Why the token is not pod-bound: the API server looks the pod up in the
		// ServiceAccount's namespace and wants it to run as that ServiceAccount.
		p, err := c.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bound := func(p *corev1.Pod) error {
			_, err := c.CoreV1().ServiceAccounts(rt.Namespace).CreateToken(ctx, install.KubeProxyServiceAccount, &authenticationv1.TokenRequest{
				Spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{
					Kind: "Pod", APIVersion: "v1", Name: p.Name, UID: p.UID}}}, metav1.CreateOptions{})
			return err
		}
		if err := bound(p); !apierrors.IsNotFound(err) {
			t.Errorf("a kube-proxy token bound to pod default/%s: %v; want NotFound (pods are looked up in %s)", p.Name, err, rt.Namespace)
		}
		// Even a pod in the ServiceAccount's namespace, when it runs as another account.
		same, err := c.CoreV1().Pods(rt.Namespace).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "kp-bound"},
			Spec: corev1.PodSpec{NodeName: "nowhere", Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = c.CoreV1().Pods(rt.Namespace).Delete(ctx, same.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		}()
		if err := bound(same); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "cannot bind token for serviceaccount") {
			t.Errorf("a kube-proxy token bound to pod %s/%s (running as %q): %v; want the API server's refusal", rt.Namespace, same.Name, same.Spec.ServiceAccountName, err)
		}
	})

	t.Run("the real kube-proxy syncs with that credential and writes the Service's rules", func(t *testing.T) {
		bin, err := EnsureKubeProxy(ctx, "", io.Discard)
		if err != nil {
			t.Fatalf("build kube-proxy %s from the module proxy (and install iptables): %v", KubernetesVersion, err)
		}
		if reason := netnsUnavailable(); reason != "" {
			t.Skip(reason)
		}
		ns := fmt.Sprintf("eci-kp-%d", os.Getpid())
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", ns).Run() })
		if out, err := exec.Command("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("lo up: %v: %s", err, out)
		}
		// The instance reaches the API server at the address in its kubeconfig; here that is
		// the sandbox's 127.0.0.1, which a forwarder listening on the namespace's own loopback
		// relays to.
		kc, _ := os.ReadFile(filepath.Join(files, "kubeconfig"))
		server := ""
		for _, l := range strings.Split(string(kc), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(l), "server: "); ok {
				server = s
			}
		}
		u, err := url.Parse(server)
		if err != nil || u.Host == "" {
			t.Fatalf("server %q in the instance's kubeconfig", server)
		}
		stop := forwardIntoNetns(t, ns, u.Host)
		defer stop()

		// The instance's mount path and command line, exactly; only the binary's path differs.
		// The files are bind-mounted in the private mount namespace of `ip netns exec`; then
		// kube-proxy runs with the instance's capabilities only, NET_ADMIN and NET_RAW (every
		// other one leaves the bounding set, and root keeps no more than that).
		if err := os.MkdirAll(mountPath, 0o755); err != nil {
			t.Fatal(err)
		}
		caps := "-all"
		for _, c := range translate.KubeProxyCapabilities() {
			caps += ",+" + strings.ToLower(c)
		}
		script := "mount --bind " + files + " " + mountPath + " && exec setpriv --bounding-set " + caps + " " + bin + ` "$@"`
		args := append([]string{"netns", "exec", ns, "sh", "-c", script, "kube-proxy"}, command[1:]...)
		logf, err := os.Create(filepath.Join(t.TempDir(), "kube-proxy.log"))
		if err != nil {
			t.Fatal(err)
		}
		kp := exec.Command("ip", args...)
		kp.Stdout, kp.Stderr = logf, logf
		kp.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := kp.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = syscall.Kill(-kp.Process.Pid, syscall.SIGKILL)
			_ = kp.Wait()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("kube-proxy log:\n%s", b)
			}
		}()
		t.Logf("kube-proxy %s: %q", KubernetesVersion, command)

		want := []string{
			"-A KUBE-SERVICES -d " + svc.Spec.ClusterIP + "/32 -p tcp -m comment --comment \"default/kp-web:http cluster IP\"",
			"-j DNAT --to-destination 10.244.9.9:8080",
		}
		var rules string
		waitFor(t, 90*time.Second, "kube-proxy's rules for default/kp-web", func() (bool, string) {
			out, err := exec.Command("ip", "netns", "exec", ns, "iptables-save", "-t", "nat").CombinedOutput()
			rules = string(out)
			if err != nil {
				return false, fmt.Sprintf("iptables-save: %v: %s", err, out)
			}
			for _, w := range want {
				if !strings.Contains(rules, w) {
					return false, "no " + w
				}
			}
			return true, ""
		})
		for _, l := range strings.Split(rules, "\n") {
			if strings.Contains(l, "kp-web") {
				t.Log(l)
			}
		}
		b, _ := os.ReadFile(logf.Name())
		if strings.Contains(string(b), "forbidden") {
			t.Errorf("kube-proxy was refused something by the API server:\n%s", b)
		}
	})
}

// netnsUnavailable says why this machine cannot run kube-proxy in a network namespace of
// its own, or "" when it can.
func netnsUnavailable() string {
	if os.Geteuid() != 0 {
		return "running kube-proxy in a network namespace needs root (ip netns, iptables, mount)"
	}
	for _, tool := range []string{"ip", "iptables", "iptables-save", "iptables-restore", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed (Debian: apt-get install iproute2 iptables util-linux)"
		}
	}
	if out, err := exec.Command("unshare", "--net", "iptables", "-t", "nat", "-L", "-n").CombinedOutput(); err != nil {
		return fmt.Sprintf("iptables does not work in a new network namespace here: %v: %s", err, out)
	}
	return ""
}

// forwardIntoNetns listens on addr (host:port on loopback) inside the network namespace ns and
// relays every connection to the same address in the test's own namespace.
func forwardIntoNetns(t *testing.T, ns, addr string) (stop func()) {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread enters ns for the listen and is never used again: a goroutine that ends
		// while locked takes its thread with it.
		runtime.LockOSThread()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("setns %s: %w", ns, err)}
			return
		}
		ln, err := net.Listen("tcp", addr)
		ch <- result{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, r.err)
	}
	go func() {
		for {
			in, err := r.ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { _, _ = io.Copy(out, in) }()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	return func() { r.ln.Close() }
}
