package node_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// With cluster IP access, the runtime (the real binary, against the real
// API server and the emulator) gives every instance a kube-proxy of the
// cluster's version, with a kubeconfig whose token is of the kube-proxy's
// own ServiceAccount: the API server lets it list Services and
// EndpointSlices and refuses it Secrets and pods. The pod never shows the
// container: not in its status, not to kubectl logs or exec, and a Job
// completes although kube-proxy keeps running. A pod that opts out has no
// kube-proxy and resolves with ECI's DNS, with an Event saying why.
func TestClusterIPAccessAddsAHiddenKubeProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	g := startGround(t, emulator.Config{
		Images: map[string]emulator.ImageBehaviour{
			"registry.local/job-ok": {RunFor: 800 * time.Millisecond, ExitCode: 0},
		},
	})
	ctx := context.Background()
	const vnode = "vnode-kp"
	// What the installation creates (internal/install, kubeproxy.go), in the
	// runtime's namespace (POD_NAMESPACE of the test runtime).
	if _, err := g.kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: install.KubeProxyServiceAccount}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "it-kube-proxy"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: install.KubeProxyServiceAccount, Namespace: ns}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: install.NodeProxierClusterRole},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The cluster DNS: the sandbox has none, so its Service is made here.
	if _, err := g.kube.CoreV1().Services(metav1.NamespaceSystem).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10", Ports: []corev1.ServicePort{
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	g.startRuntime(vnode, "rt-kp", "--cluster-ip-access=true")
	g.waitNodeReady(vnode)

	t.Run("the instance runs kube-proxy with its own identity, and the pod shows only its container", func(t *testing.T) {
		g.t = t
		// 1 vCPU / 2 GiB is sold as it is; with kube-proxy beside it the
		// instance is the next size.
		p := g.podWithLimits("kp-web", vnode, "nginx:1.27", "1", "2Gi")
		p = g.waitPod(p.Name, podRunningReady)
		grp := g.instancesOf(vnode)[p.Annotations[node.AnnotationInstanceID]]

		var kp *eci.ContainerInfo
		for i := range grp.Containers {
			if grp.Containers[i].Name == translate.KubeProxyContainer {
				kp = &grp.Containers[i]
			}
		}
		if kp == nil || len(grp.Containers) != 2 {
			t.Fatalf("instance containers %+v; want app and %s", grp.Containers, translate.KubeProxyContainer)
		}
		if kp.Image != "registry.k8s.io/kube-proxy:"+sandbox.KubernetesVersion {
			t.Errorf("kube-proxy image %q; want the upstream image of the API server's version %s", kp.Image, sandbox.KubernetesVersion)
		}
		if !slices.Equal(kp.Commands, translate.KubeProxyCommand("/var/lib/eci-vnode-kube-proxy/kubeconfig", vnode)) {
			t.Errorf("kube-proxy command %q", kp.Commands)
		}
		if kp.SecurityContext == nil || !slices.Equal(kp.SecurityContext.Capability.Adds, []string{"NET_ADMIN", "NET_RAW"}) {
			t.Errorf("kube-proxy security context %+v; want NET_ADMIN and NET_RAW only", kp.SecurityContext)
		}
		if grp.CPU != 2 || grp.Memory != 4 {
			t.Errorf("instance %g vCPU / %g GiB; want 2 / 4: the pod's 1 / 2 plus kube-proxy, rounded up", grp.CPU, grp.Memory)
		}
		if grp.DNSConfig == nil || !slices.Equal(grp.DNSConfig.NameServers, []string{"10.96.0.10"}) {
			t.Errorf("DNS config %+v; want the ClusterIP of kube-system/kube-dns", grp.DNSConfig)
		}

		// The credential, exactly as the instance gets it.
		dir := t.TempDir()
		for _, v := range grp.Volumes {
			if v.Name != translate.KubeProxyContainer {
				continue
			}
			for _, f := range v.ConfigFileVolumeConfigFileToPaths {
				raw, err := base64.StdEncoding.DecodeString(f.Content)
				if err != nil {
					t.Fatal(err)
				}
				if f.Path == "kubeconfig" {
					raw = []byte(strings.ReplaceAll(string(raw), "/var/lib/eci-vnode-kube-proxy/", dir+"/"))
				}
				if err := os.WriteFile(filepath.Join(dir, f.Path), raw, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		// The pod records when that token was issued and expires, as the API server signed it:
		// the runtime replaces it at 80 % of that (kubeproxytoken.go).
		issued, expires := jwtTimes(t, filepath.Join(dir, "token"))
		if got := p.Annotations[node.AnnotationKubeProxyTokenIssued]; got != issued.UTC().Format(time.RFC3339) {
			t.Errorf("annotation %s = %q; want the token's iat, %s", node.AnnotationKubeProxyTokenIssued, got, issued.UTC().Format(time.RFC3339))
		}
		if got := p.Annotations[node.AnnotationKubeProxyTokenExpires]; got != expires.UTC().Format(time.RFC3339) {
			t.Errorf("annotation %s = %q; want the token's exp, %s", node.AnnotationKubeProxyTokenExpires, got, expires.UTC().Format(time.RFC3339))
		}
		if life := expires.Sub(issued); life != 365*24*time.Hour {
			t.Errorf("the kube-proxy's token lives %s; want the year asked (the sandbox's API server caps nothing)", life)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
		if err != nil {
			t.Fatalf("the kube-proxy's kubeconfig does not load: %v", err)
		}
		proxy := kubernetes.NewForConfigOrDie(cfg)
		if _, err := proxy.CoreV1().Services("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("kube-proxy cannot list Services: %v", err)
		}
		if _, err := proxy.DiscoveryV1().EndpointSlices("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("kube-proxy cannot list EndpointSlices: %v", err)
		}
		if _, err := proxy.CoreV1().Nodes().Get(ctx, vnode, metav1.GetOptions{}); err != nil {
			t.Errorf("kube-proxy cannot read its Node: %v", err)
		}
		if _, err := proxy.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("listing Secrets with the kube-proxy's token: %v; want Forbidden", err)
		}
		if _, err := proxy.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("listing pods with the kube-proxy's token: %v; want Forbidden", err)
		}

		if n := len(p.Status.ContainerStatuses); n != 1 || p.Status.ContainerStatuses[0].Name != "app" {
			t.Errorf("container statuses %+v; want the pod's app only", p.Status.ContainerStatuses)
		}
		// kubectl logs and exec name the container; the API server refuses a
		// name the pod does not have before any kubelet is asked.
		raw, err := g.kube.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: translate.KubeProxyContainer}).DoRaw(ctx)
		if !apierrors.IsBadRequest(err) || !strings.Contains(string(raw), "container "+translate.KubeProxyContainer+" is not valid for pod kp-web") {
			t.Errorf("logs of %s: %v %s; want the API server's refusal", translate.KubeProxyContainer, err, raw)
		}
	})

	t.Run("a Job completes while kube-proxy keeps its instance running", func(t *testing.T) {
		g.t = t
		g.job("kp-job", vnode, "registry.local/job-ok:1")
		g.waitJob("kp-job", batchv1.JobComplete)
		p := g.waitPods("job-name=kp-job", 1, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })[0]
		grp := g.instancesOf(vnode)[p.Annotations[node.AnnotationInstanceID]]
		if grp.Status != eci.StatusRunning {
			t.Errorf("instance %s is %s; want Running (its kube-proxy still runs), else this checks nothing", grp.ContainerGroupID, grp.Status)
		}
		if n := len(p.Status.ContainerStatuses); n != 1 || p.Status.ContainerStatuses[0].State.Terminated == nil {
			t.Errorf("container statuses %+v; want the task's, terminated", p.Status.ContainerStatuses)
		}
	})

	t.Run("a pod that opts out has no kube-proxy and ECI's DNS, with an Event", func(t *testing.T) {
		g.t = t
		p := g.pod("kp-optout", vnode, "nginx:1.27", map[string]string{translate.AnnotationKubeProxy: translate.KubeProxyDisabled})
		p = g.waitPod(p.Name, podRunningReady)
		grp := g.instancesOf(vnode)[p.Annotations[node.AnnotationInstanceID]]
		if len(grp.Containers) != 1 || grp.DNSPolicy != eci.DNSPolicyDefault {
			t.Errorf("instance containers %d, DNS policy %q; want the app alone and Default", len(grp.Containers), grp.DNSPolicy)
		}
		g.waitEvent(p, "ECI"+string(translate.WarnKubeProxyDisabled))
	})
}

// jwtTimes reads the iat and exp claims of the JWT in file, unverified.
func jwtTimes(t *testing.T, file string) (issued, expires time.Time) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimSpace(string(raw)), ".")
	if len(parts) != 3 {
		t.Fatalf("%s is not a JWT", file)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload of %s: %v", file, err)
	}
	var claims struct {
		Iat, Exp int64
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == 0 {
		t.Fatalf("JWT claims of %s: %v (%s)", file, err, payload)
	}
	return time.Unix(claims.Iat, 0), time.Unix(claims.Exp, 0)
}

// podWithLimits creates a pod on the VNode whose container has limits.
func (g *ground) podWithLimits(name, nodeName, image, cpu, mem string) *corev1.Pod {
	spec := placement(nodeName)
	spec.Containers = []corev1.Container{{Name: "app", Image: image, Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
	out, err := g.kube.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	return out
}
