package translate

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// A VNode with cluster IP access on (VNode.KubeProxy set) adds a kube-proxy
// container to every instance: an ECI instance is a VM with its own network
// namespace, shared by the pod's containers, so ClusterIP addresses (and the
// cluster DNS, itself a ClusterIP Service) are reachable from the pod only
// when kube-proxy's iptables rules exist inside the instance. Alibaba's own
// VNodes have kube-proxy built in
// (https://help.aliyun.com/en/eci/user-guide/overview-3).
const (
	// AnnotationKubeProxy opts a pod out with the value "disabled". ECI
	// documents no annotation for this, so the key is this project's.
	AnnotationKubeProxy = "eci-vnode.io/kube-proxy"
	// KubeProxyDisabled and KubeProxyEnabled are its values; "enabled" is
	// the default and only spelled out for clarity.
	KubeProxyDisabled = "disabled"
	KubeProxyEnabled  = "enabled"

	// KubeProxyContainer is the name of the added container and of its
	// config-file volume. The runtime hides the container from the pod's
	// status, logs and exec; a pod may not use the name itself.
	KubeProxyContainer = "eci-vnode-kube-proxy"
	// kubeProxyDir is where the volume is mounted in the container.
	kubeProxyDir = "/var/lib/eci-vnode-kube-proxy"

	// kubeProxyMilliCPU and kubeProxyMemBytes are the container's share of
	// the instance, added to the pod's own size before it is rounded to a
	// size ECI sells: the upstream kube-proxy DaemonSets request 100m CPU,
	// and kube-proxy of a cluster of a few thousand Services stays well
	// under 128 MiB.
	kubeProxyMilliCPU = 100
	kubeProxyMemBytes = 128 * mib

	// kubeProxyTokenSeconds is the lifetime asked for the kube-proxy's
	// token: a year, like the kube-api-access token every pod gets (see
	// kubeAPIAccessSeconds), so the runtime replaces it in a running
	// instance (KubeProxyVolume) rarely; an API server that caps token
	// lifetimes makes that more frequent.
	kubeProxyTokenSeconds = 365 * 24 * 3600
)

// KubeProxy is what the kube-proxy of each instance needs from the VNode.
type KubeProxy struct {
	// Image is the kube-proxy image, by default the upstream one of the
	// cluster's version (registry.k8s.io/kube-proxy:v1.37.2).
	Image string
	// Server is the API server's URL as reachable from the VPC: the
	// address of the default/kubernetes Service's endpoints, not its
	// ClusterIP, which only kube-proxy itself would make reachable.
	Server string
	// Namespace and ServiceAccount name kube-proxy's identity, a
	// ServiceAccount bound to the ClusterRole system:node-proxier.
	Namespace, ServiceAccount string
}

// kubeProxyOverhead is the kube-proxy container's size.
var kubeProxyOverhead = amounts{milliCPU: kubeProxyMilliCPU, memBytes: kubeProxyMemBytes}

// kubeProxyChoice decides whether this pod gets the kube-proxy container:
// the VNode has cluster IP access on and the pod does not opt out.
func (t *translator) kubeProxyChoice() {
	v, set := t.pod.Annotations[AnnotationKubeProxy]
	if set && v != KubeProxyDisabled && v != KubeProxyEnabled {
		t.c.fail(annotationField(AnnotationKubeProxy), ReasonInvalidAnnotation,
			"%q is not a value of %s; use %q to run the pod without kube-proxy (no ClusterIP Services, no cluster DNS) or %q",
			v, AnnotationKubeProxy, KubeProxyDisabled, KubeProxyEnabled)
		return
	}
	if t.node.KubeProxy == nil {
		return
	}
	t.proxyOptOut = v == KubeProxyDisabled
	t.proxy = !t.proxyOptOut
	if !t.proxy {
		return
	}
	for _, list := range [][]corev1.Container{t.pod.Spec.InitContainers, t.pod.Spec.Containers} {
		for i := range list {
			if list[i].Name == KubeProxyContainer {
				t.c.fail("spec.containers", ReasonInvalidSpec,
					"the container name %s is reserved on this VNode for the kube-proxy it adds to every instance; rename the container, or set the annotation %s: %q",
					KubeProxyContainer, AnnotationKubeProxy, KubeProxyDisabled)
			}
		}
	}
	for i := range t.pod.Spec.Volumes {
		if t.pod.Spec.Volumes[i].Name == KubeProxyContainer {
			t.c.fail(index("spec.volumes", i)+".name", ReasonInvalidSpec,
				"the volume name %s is reserved on this VNode for the kube-proxy it adds to every instance; rename the volume", KubeProxyContainer)
		}
	}
}

// kubeProxyContainer appends the kube-proxy container and its volume. The
// token file is filled by issueTokens, with the pod's own tokens.
func (t *translator) kubeProxyContainer() {
	if !t.proxy {
		return
	}
	vol := t.kubeProxyVolume()
	if vol == nil {
		return
	}
	t.req.Volumes = append(t.req.Volumes, *vol)
	t.req.Containers = append(t.req.Containers, eci.Container{
		Name:     KubeProxyContainer,
		Image:    t.node.KubeProxy.Image,
		Commands: KubeProxyCommand(kubeProxyDir+"/kubeconfig", t.node.NodeName),
		CPU:      float64(kubeProxyMilliCPU) / 1000,
		Memory:   float64(kubeProxyMemBytes) / gib,
		VolumeMounts: []eci.VolumeMount{
			{Name: KubeProxyContainer, MountPath: kubeProxyDir, ReadOnly: eci.Ptr(true)},
		},
		SecurityContext: &eci.ContainerSecurityContext{CapabilityAdd: KubeProxyCapabilities()},
	})
}

// kubeProxyVolume is the kube-proxy's config-file volume, its kubeconfig
// and its token file, which issueTokens fills; nil when the CA is missing
// (the problem is recorded).
func (t *translator) kubeProxyVolume() *eci.Volume {
	kp := t.node.KubeProxy
	ca := t.kubeProxyCA()
	if ca == nil {
		return nil
	}
	files := &eci.ConfigFileVolume{Files: []eci.ConfigFile{
		{Path: "kubeconfig", Content: base64.StdEncoding.EncodeToString(kubeProxyKubeconfig(kp.Server, ca))},
		{Path: "token"}, // issueTokens
	}}
	t.tokens = append(t.tokens, pendingToken{
		field:  annotationField(AnnotationKubeProxy),
		volume: KubeProxyContainer,
		src:    &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: eci.Ptr(int64(kubeProxyTokenSeconds))},
		files:  files,
		proxy:  kp,
	})
	return &eci.Volume{Name: KubeProxyContainer, Type: eci.VolumeTypeConfigFile, ConfigFile: files}
}

// KubeProxyVolume builds the kube-proxy's config-file volume of a pod's
// running instance anew, with a fresh token, the current API server
// address and the current CA: what the runtime sends with
// UpdateContainerGroup to replace the token before it expires
// (docs/runtime.md, "Cluster IP access"). The Token has no Value, only the
// times the API server gave it. Errors are of type Errors, as Pod's.
func KubeProxyVolume(ctx context.Context, pod *corev1.Pod, node VNode, r Resolver) (eci.Volume, Token, error) {
	if pod == nil || r == nil || node.KubeProxy == nil {
		return eci.Volume{}, Token{}, errors.New("translate: KubeProxyVolume needs a pod, a resolver and a VNode with a kube-proxy")
	}
	t := newTranslator(ctx, pod, node, r)
	t.proxy = true
	vol := t.kubeProxyVolume()
	t.issueTokens()
	if len(t.c.errs) > 0 {
		return eci.Volume{}, Token{}, t.c.errs
	}
	return *vol, t.proxyToken, nil
}

// KubeProxyTokenRefreshed reports whether the runtime keeps the kube-proxy
// token of this pod's instance fresh. Not for restartPolicy Never: ECI
// warns that updating such an instance may make its containers fail
// (https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-updatecontainergroup),
// and a pod that must not restart is better served by a kube-proxy that
// stops following Service changes than by failing.
func KubeProxyTokenRefreshed(pod *corev1.Pod) bool {
	return pod.Spec.RestartPolicy != corev1.RestartPolicyNever
}

// KubeProxyCapabilities are the only privileges the kube-proxy container
// gets: NET_ADMIN to change the instance's iptables rules, NET_RAW for the
// raw sockets iptables opens. It is not privileged, so it cannot write
// sysctls; KubeProxyCommand turns off what would.
func KubeProxyCapabilities() []string { return []string{"NET_ADMIN", "NET_RAW"} }

// KubeProxyCommand is the kube-proxy command line of an instance, exported
// so a test runs the real binary with exactly these arguments. Flags rather
// than a configuration file: only the (deprecated) --healthz-port=0 turns
// the health server off, so its port 10256 stays free in the pod's own
// network namespace on every address. The metrics server cannot be turned
// off (kube-proxy v1.37 refuses an empty --metrics-bind-address); it keeps
// its default, 127.0.0.1:10249, loopback only.
func KubeProxyCommand(kubeconfig, nodeName string) []string {
	return []string{
		"/usr/local/bin/kube-proxy",
		"--kubeconfig=" + kubeconfig,
		"--proxy-mode=iptables",
		// The VNode's Node: kube-proxy reads its labels for topology
		// aware routing and its name for node-local endpoints.
		"--hostname-override=" + nodeName,
		"--healthz-port=0",
		"--metrics-bind-address=127.0.0.1:10249",
		// Leave the kernel's conntrack settings alone (writing them needs a
		// privileged container; an instance serves one pod).
		"--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
		// NodePorts on 127.0.0.1 need the sysctl route_localnet; a pod has
		// no use for them.
		"--iptables-localhost-nodeports=false",
	}
}

// kubeProxyCA is the cluster's CA bundle, from the ConfigMap
// kube-root-ca.crt that kube-controller-manager publishes in every
// namespace (the one the pod's own kube-api-access volume uses).
func (t *translator) kubeProxyCA() []byte {
	const name, key = "kube-root-ca.crt", "ca.crt"
	cm, err := t.r.ConfigMap(t.pod.Namespace, name)
	switch {
	case err == nil && cm != nil && cm.Data[key] != "":
		return []byte(cm.Data[key])
	case err == nil || apierrors.IsNotFound(err):
		t.c.failCause(annotationField(AnnotationKubeProxy), ReasonMissingReference, err,
			"ConfigMap %s/%s (key %s, the cluster's CA that kube-controller-manager publishes) is missing, and the kube-proxy this VNode adds needs it to trust the API server; the pod is retried until it exists",
			t.pod.Namespace, name, key)
	default:
		t.c.failCause(annotationField(AnnotationKubeProxy), ReasonLookupFailed, err,
			"reading ConfigMap %s/%s for the kube-proxy's CA failed: %v", t.pod.Namespace, name, err)
	}
	return nil
}

// kubeProxyKubeconfig is the kube-proxy's kubeconfig. The token is read
// from its file (client-go re-reads a tokenFile), not inlined.
func kubeProxyKubeconfig(server string, ca []byte) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n- name: cluster\n  cluster:\n")
	b.WriteString("    server: " + server + "\n")
	b.WriteString("    certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca) + "\n")
	b.WriteString("users:\n- name: kube-proxy\n  user:\n    tokenFile: " + kubeProxyDir + "/token\n")
	b.WriteString("contexts:\n- name: kube-proxy\n  context:\n    cluster: cluster\n    user: kube-proxy\n")
	b.WriteString("current-context: kube-proxy\n")
	return []byte(b.String())
}

// clusterDNSFromService is the ClusterIP of the Service kube-system/kube-dns,
// the name every cluster DNS (CoreDNS included) is installed under; nil when
// there is none. Read for each pod, so a changed Service reaches the next
// instance.
func (t *translator) clusterDNSFromService() []string {
	svcs, err := t.r.Services("kube-system")
	if err != nil {
		t.c.failCause("spec.dnsPolicy", ReasonLookupFailed, err, "listing the Services of kube-system to find the cluster DNS (kube-dns) failed: %v", err)
		return nil
	}
	for _, s := range svcs {
		if s == nil || s.Name != "kube-dns" {
			continue
		}
		var out []string
		for _, ip := range s.Spec.ClusterIPs {
			if ip != "" && ip != corev1.ClusterIPNone {
				out = append(out, ip)
			}
		}
		if len(out) == 0 && s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone {
			out = []string{s.Spec.ClusterIP}
		}
		return out
	}
	return nil
}

// warnShortProxyToken reports a kube-proxy token the API server granted for
// less than the year asked (its --service-account-max-token-expiration)
// when the runtime will not replace it (KubeProxyTokenRefreshed): when it
// expires, the instance's kube-proxy can no longer watch the API server and
// its rules stop following Services and endpoints, whenever that is, so any
// cut is worth a warning. A token that is refreshed needs none.
func (t *translator) warnShortProxyToken(p pendingToken, requested int64, tok Token) {
	if tok.IssuedAt.IsZero() || tok.Expiry.IsZero() || KubeProxyTokenRefreshed(t.pod) {
		return
	}
	lifetime := tok.Expiry.Sub(tok.IssuedAt)
	if lifetime >= time.Duration(requested)*time.Second {
		return
	}
	t.c.warn(p.field, WarnTokenExpires,
		"the token of the kube-proxy this VNode adds expires at %s, %s after it was issued (the API server cut the %s s asked for to its --service-account-max-token-expiration), and it is not refreshed for a pod with restartPolicy Never (ECI warns that updating such an instance may make its containers fail); from then on the instance's kube-proxy no longer follows Service and endpoint changes, so ClusterIP Services may fail: raise the API server's limit, or recreate the pod before then",
		tok.Expiry.UTC().Format(time.RFC3339), lifetime, strconv.FormatInt(requested, 10))
}
