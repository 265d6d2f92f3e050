package translate_test

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

const (
	kubeProxySA    = "eci-vnode-kube-proxy"
	kubeProxyNS    = "eci-vnode-system"
	kubeProxyImage = "registry.k8s.io/kube-proxy:v1.37.2"
	testCA         = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
)

// proxyVNode is a VNode with cluster IP access on and no --cluster-dns, so
// the cluster DNS comes from kube-system/kube-dns.
func proxyVNode() translate.VNode {
	n := vnode()
	n.ClusterDNS = nil
	n.KubeProxy = &translate.KubeProxy{
		Image: kubeProxyImage, Server: "https://192.168.0.10:6443",
		Namespace: kubeProxyNS, ServiceAccount: kubeProxySA,
	}
	return n
}

// proxyCluster holds what the kube-proxy needs: the CA ConfigMap of the
// pod's namespace, the kube-proxy ServiceAccount and the cluster DNS Service.
func proxyCluster(t testing.TB) translate.Listers {
	kubeDNS := service("kube-system", "kube-dns", "10.96.0.10")
	kubeDNS.Spec.ClusterIPs = []string{"10.96.0.10"}
	return cluster(t,
		configMap("kube-root-ca.crt", map[string]string{"ca.crt": testCA}),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: kubeProxySA, Namespace: kubeProxyNS}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "shop"}},
		kubeDNS,
	)
}

// A pod on a VNode with cluster IP access reaches ECI (through the client
// and the emulator's wire) with one container more: kube-proxy in iptables
// mode, with only NET_ADMIN and NET_RAW, its kubeconfig and the token of
// its own ServiceAccount in a config-file volume; and the cluster DNS is
// the ClusterIP of kube-dns.
func TestKubeProxyContainerReachesTheEmulator(t *testing.T) {
	e := emulator.StartForTest(t, emulator.Config{})
	cr := e.Credentials()[0]
	client, err := eci.New(eci.Config{
		Region: e.Region(), Endpoint: "http://" + e.Endpoint(), Timeout: 5 * time.Second,
		Credentials: &eci.Credentials{AccessKeyID: cr.AccessKeyID, AccessKeySecret: cr.AccessKeySecret, SecurityToken: cr.SecurityToken},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	node := proxyVNode()
	node.Region, node.ZoneIDs, node.VSwitchIDs, node.SecurityGroupID = e.Region(), []string{e.Region() + "-h"}, []string{"vsw-h-1"}, "sg-emulator0001"

	app := ctr("app", "registry.example.com/shop/app:1")
	app.Resources = res("", "", "1", "2Gi")
	p := pod("app-0", app)
	out := run(t, p, node, proxyCluster(t))

	ctx := context.Background()
	created, err := client.CreateContainerGroup(ctx, out.Request)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{created.ContainerGroupID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups.ContainerGroups) != 1 {
		t.Fatalf("described %d groups, want 1", len(groups.ContainerGroups))
	}
	g := groups.ContainerGroups[0]
	var names []string
	var proxy *eci.ContainerInfo
	for i := range g.Containers {
		names = append(names, g.Containers[i].Name)
		if g.Containers[i].Name == translate.KubeProxyContainer {
			proxy = &g.Containers[i]
		}
	}
	if proxy == nil || len(g.Containers) != 2 {
		t.Fatalf("containers %v; want app and %s", names, translate.KubeProxyContainer)
	}
	if proxy.Image != kubeProxyImage {
		t.Errorf("kube-proxy image %q, want %q", proxy.Image, kubeProxyImage)
	}
	wantCmd := []string{"/usr/local/bin/kube-proxy", "--kubeconfig=/var/lib/eci-vnode-kube-proxy/kubeconfig", "--proxy-mode=iptables",
		"--hostname-override=" + node.NodeName, "--healthz-port=0", "--metrics-bind-address=127.0.0.1:10249", "--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0", "--conntrack-tcp-timeout-close-wait=0", "--iptables-localhost-nodeports=false"}
	if !slices.Equal(proxy.Commands, wantCmd) {
		t.Errorf("kube-proxy command\n%q\nwant\n%q", proxy.Commands, wantCmd)
	}
	if proxy.SecurityContext == nil || !slices.Equal(proxy.SecurityContext.Capability.Adds, []string{"NET_ADMIN", "NET_RAW"}) {
		t.Errorf("kube-proxy security context %+v; want capabilities NET_ADMIN and NET_RAW only", proxy.SecurityContext)
	}
	if len(proxy.VolumeMounts) != 1 || proxy.VolumeMounts[0].Name != translate.KubeProxyContainer ||
		proxy.VolumeMounts[0].MountPath != "/var/lib/eci-vnode-kube-proxy" || !proxy.VolumeMounts[0].ReadOnly {
		t.Errorf("kube-proxy mounts %+v; want its volume read-only at /var/lib/eci-vnode-kube-proxy", proxy.VolumeMounts)
	}
	files := map[string]string{}
	for _, v := range g.Volumes {
		if v.Name != translate.KubeProxyContainer {
			continue
		}
		if v.Type != "ConfigFileVolume" {
			t.Errorf("volume %s is a %s, want a ConfigFileVolume", v.Name, v.Type)
		}
		for _, f := range v.ConfigFileVolumeConfigFileToPaths {
			raw, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				t.Fatalf("file %s: %v", f.Path, err)
			}
			files[f.Path] = string(raw)
		}
	}
	if got, want := files["token"], "token:"+kubeProxyNS+"/"+kubeProxySA+"::31536000"; got != want {
		t.Errorf("token file %q, want %q (a year's token of the kube-proxy's own ServiceAccount)", got, want)
	}
	kc := files["kubeconfig"]
	for _, want := range []string{
		"server: https://192.168.0.10:6443\n",
		"certificate-authority-data: " + base64.StdEncoding.EncodeToString([]byte(testCA)) + "\n",
		"tokenFile: /var/lib/eci-vnode-kube-proxy/token\n",
	} {
		if !strings.Contains(kc, want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, kc)
		}
	}
	if out.Request.DNSConfig == nil || !slices.Equal(out.Request.DNSConfig.NameServers, []string{"10.96.0.10"}) {
		t.Errorf("DNS config %+v; want the kube-dns ClusterIP 10.96.0.10", out.Request.DNSConfig)
	}
	// 1 vCPU / 2 GiB is a size ECI sells, but not with the kube-proxy's
	// 0.1 vCPU / 0.125 GiB beside it: the instance is the next size up.
	if g.CPU != 2 || g.Memory != 4 {
		t.Errorf("instance %g vCPU / %g GiB; want 2 / 4 (1 / 2 plus the kube-proxy, rounded up)", g.CPU, g.Memory)
	}
	if !hasWarning(out.Warnings, "spec.containers", translate.WarnDefaulted, "makes the instance 2 vCPU / 4 GiB instead of 1 vCPU / 2 GiB") {
		t.Errorf("no warning names the larger size; warnings:\n%s", strings.Join(warnings(out.Warnings), "\n"))
	}
}

// The kube-proxy's overhead is part of the size before rounding: a pod
// whose own size still fits the rounded size gets no warning and no larger
// instance, and a pod without any resources keeps ECI's default size.
func TestKubeProxyOverheadIsRoundedWithThePod(t *testing.T) {
	cases := []struct {
		name          string
		rr            corev1.ResourceRequirements
		cpu, mem      float64
		warnOverhead  bool
		warnDefaulted bool
	}{
		{name: "exact size: one size up", rr: res("", "", "1", "2Gi"), cpu: 2, mem: 4, warnOverhead: true},
		{name: "room left: same size", rr: res("", "", "800m", "1536Mi"), cpu: 1, mem: 2},
		{name: "small pod", rr: res("100m", "128Mi", "", ""), cpu: 0.25, mem: 0.5},
		{name: "no resources: ECI's default", cpu: 2, mem: 4, warnDefaulted: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := ctr("app", "app:1")
			app.Resources = tc.rr
			out := run(t, pod("app-0", app), proxyVNode(), proxyCluster(t))
			if out.Request.CPU != tc.cpu || out.Request.Memory != tc.mem {
				t.Errorf("instance %g vCPU / %g GiB, want %g / %g", out.Request.CPU, out.Request.Memory, tc.cpu, tc.mem)
			}
			if got := hasWarning(out.Warnings, "spec.containers", translate.WarnDefaulted, "the kube-proxy this VNode adds"); got != tc.warnOverhead {
				t.Errorf("overhead warning %v, want %v: %v", got, tc.warnOverhead, warnings(out.Warnings))
			}
			if got := hasWarning(out.Warnings, "spec.containers", translate.WarnDefaulted, "ECI's default size"); got != tc.warnDefaulted {
				t.Errorf("default size warning %v, want %v: %v", got, tc.warnDefaulted, warnings(out.Warnings))
			}
		})
	}
}

// eci-vnode.io/kube-proxy: "disabled" leaves the container out, and a pod
// with dnsPolicy ClusterFirst falls back to ECI's DNS, with a warning (an
// Event on the pod) that says why; a value that is not ours is refused.
func TestKubeProxyOptOut(t *testing.T) {
	app := ctr("app", "app:1")
	app.Resources = res("", "", "1", "2Gi")
	p := pod("app-0", app)
	p.Annotations = map[string]string{translate.AnnotationKubeProxy: "disabled"}
	out := run(t, p, proxyVNode(), proxyCluster(t))
	for _, c := range out.Request.Containers {
		if c.Name == translate.KubeProxyContainer {
			t.Errorf("the opted-out pod has the kube-proxy container")
		}
	}
	for _, v := range out.Request.Volumes {
		if v.Name == translate.KubeProxyContainer {
			t.Errorf("the opted-out pod has the kube-proxy volume")
		}
	}
	if out.Request.DNSPolicy != eci.DNSPolicyDefault || out.Request.DNSConfig != nil {
		t.Errorf("DNS policy %q config %+v; want Default without a config", out.Request.DNSPolicy, out.Request.DNSConfig)
	}
	if !hasWarning(out.Warnings, "spec.dnsPolicy", translate.WarnKubeProxyDisabled, "dnsPolicy ClusterFirst is used as Default") {
		t.Errorf("no KubeProxyDisabled warning on spec.dnsPolicy: %v", warnings(out.Warnings))
	}
	if out.Request.CPU != 1 || out.Request.Memory != 2 {
		t.Errorf("instance %g vCPU / %g GiB, want 1 / 2: no overhead without the kube-proxy", out.Request.CPU, out.Request.Memory)
	}

	// dnsPolicy Default needs no explanation.
	p.Spec.DNSPolicy = corev1.DNSDefault
	out = run(t, p, proxyVNode(), proxyCluster(t))
	if hasWarning(out.Warnings, "spec.dnsPolicy", translate.WarnKubeProxyDisabled, "") {
		t.Errorf("a pod with dnsPolicy Default got the fallback warning: %v", warnings(out.Warnings))
	}

	p.Annotations[translate.AnnotationKubeProxy] = "off"
	es := problems(t, p, proxyVNode(), proxyCluster(t))
	if len(es) != 1 || es[0].Reason != translate.ReasonInvalidAnnotation || !strings.Contains(es[0].Message, `"off" is not a value of eci-vnode.io/kube-proxy`) {
		t.Errorf("problems %v; want one InvalidAnnotation", es)
	}
}

// Without cluster IP access nothing is added, and the annotation changes
// nothing.
func TestNoKubeProxyWithoutClusterIPAccess(t *testing.T) {
	p := pod("app-0", ctr("app", "app:1"))
	p.Annotations = map[string]string{translate.AnnotationKubeProxy: "disabled"}
	out := run(t, p, vnode(), proxyCluster(t))
	if len(out.Request.Containers) != 1 || out.Request.DNSPolicy != eci.DNSPolicyNone {
		t.Errorf("containers %d, DNS policy %q; want the pod's one container and its ClusterFirst resolver", len(out.Request.Containers), out.Request.DNSPolicy)
	}
}

// A pod cannot take the reserved names, and a missing CA is waited for.
func TestKubeProxyReservedNamesAndMissingCA(t *testing.T) {
	p := pod("app-0", ctr(translate.KubeProxyContainer, "app:1"))
	es := problems(t, p, proxyVNode(), proxyCluster(t))
	if len(es) == 0 || es[0].Reason != translate.ReasonInvalidSpec || !strings.Contains(es[0].Message, "is reserved on this VNode") {
		t.Errorf("problems %v; want the reserved container name refused", es)
	}
	p = pod("app-0", ctr("app", "app:1"))
	es = problems(t, p, proxyVNode(), cluster(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "shop"}}))
	if !es.Retryable() || !strings.Contains(es.Error(), "ConfigMap shop/kube-root-ca.crt") {
		t.Errorf("problems %v; want a retryable missing kube-root-ca.crt", es)
	}
}

// The kube-proxy counts against ECI's 20 containers per instance, and the refusal says so.
func TestKubeProxyCountsAgainstTheContainerLimit(t *testing.T) {
	cs := make([]corev1.Container, 20)
	for i := range cs {
		cs[i] = ctr("c"+itoa(int64(i)), "app:1")
	}
	p := pod("many", cs...)
	es := problems(t, p, proxyVNode(), proxyCluster(t))
	if len(es) != 1 || es[0].Reason != translate.ReasonTooLarge ||
		!strings.Contains(es[0].Message, `the pod has 21 containers (sidecars included) (one is the kube-proxy this VNode adds; the annotation eci-vnode.io/kube-proxy: "disabled" leaves it out)`) {
		t.Errorf("problems %v; want one TooLarge naming the kube-proxy", es)
	}
	p.Annotations = map[string]string{translate.AnnotationKubeProxy: translate.KubeProxyDisabled}
	run(t, p, proxyVNode(), proxyCluster(t))
}

// A kube-proxy token the API server cuts short is reported, however long it still lives, when
// the runtime will not replace it (restartPolicy Never); a pod whose token is refreshed is not
// warned, and its result carries the token's times for the refresh.
func TestKubeProxyTokenCutShortIsReported(t *testing.T) {
	app := ctr("app", "app:1")
	app.Resources = res("", "", "1", "2Gi")
	p := pod("app-0", app)
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	out := run(t, p, proxyVNode(), tokenAPI{Listers: proxyCluster(t), max: 7 * 24 * 3600})
	if !hasWarning(out.Warnings, `metadata.annotations["eci-vnode.io/kube-proxy"]`, translate.WarnTokenExpires,
		"the token of the kube-proxy this VNode adds expires at 2030-01-09T03:04:05Z, 168h0m0s after it was issued (the API server cut the 31536000 s asked for") {
		t.Errorf("no warning of the cut token: %v", warnings(out.Warnings))
	}
	if got := out.KubeProxyToken.Expiry.Sub(out.KubeProxyToken.IssuedAt); got != 7*24*time.Hour || out.KubeProxyToken.Value != "" {
		t.Errorf("result's kube-proxy token: lifetime %s, value %q; want 168h and no value", got, out.KubeProxyToken.Value)
	}
	p.Spec.RestartPolicy = corev1.RestartPolicyAlways
	out = run(t, p, proxyVNode(), tokenAPI{Listers: proxyCluster(t), max: 7 * 24 * 3600})
	if hasWarning(out.Warnings, `metadata.annotations["eci-vnode.io/kube-proxy"]`, translate.WarnTokenExpires, "") {
		t.Errorf("a token the runtime refreshes is reported: %v", warnings(out.Warnings))
	}
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	out = run(t, p, proxyVNode(), proxyCluster(t))
	if hasWarning(out.Warnings, `metadata.annotations["eci-vnode.io/kube-proxy"]`, translate.WarnTokenExpires, "") {
		t.Errorf("a year's token is reported: %v", warnings(out.Warnings))
	}
}

// KubeProxyVolume builds the same volume the instance got at creation, with a fresh token.
func TestKubeProxyVolumeIsTheCreatedOneWithAFreshToken(t *testing.T) {
	p := pod("app-0", ctr("app", "app:1"))
	out := run(t, p, proxyVNode(), proxyCluster(t))
	var created eci.Volume
	for _, v := range out.Request.Volumes {
		if v.Name == translate.KubeProxyContainer {
			created = v
		}
	}
	vol, tok, err := translate.KubeProxyVolume(context.Background(), p, proxyVNode(), tokenAPI{Listers: proxyCluster(t), max: 3600})
	if err != nil {
		t.Fatal(err)
	}
	if vol.Name != created.Name || vol.Type != created.Type || vol.ConfigFile == nil || created.ConfigFile == nil ||
		len(vol.ConfigFile.Files) != 2 || vol.ConfigFile.Files[0] != created.ConfigFile.Files[0] || vol.ConfigFile.Files[1].Path != "token" ||
		vol.ConfigFile.Files[1].Content == "" {
		t.Errorf("refreshed volume %+v; want the created one %+v with a token", vol, created)
	}
	if got := tok.Expiry.Sub(tok.IssuedAt); got != time.Hour || tok.Value != "" {
		t.Errorf("token lifetime %s, value %q; want the 1h granted and no value", got, tok.Value)
	}
	if _, _, err := translate.KubeProxyVolume(context.Background(), pod("other", ctr("app", "app:1")), proxyVNode(), translate.Listers{}); err == nil {
		t.Error("no error without the CA and a TokenRequest API")
	}
}
