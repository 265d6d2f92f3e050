package node

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/rest"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// Cluster IP access: with Config.ClusterIPAccess every instance runs a
// kube-proxy (runtime/translate, "Cluster IP access"). What it needs from
// the cluster is read here, not configured, so it follows the cluster:
// the image of the API server's version, and the API server's address.

// KubeProxyImageRepository is where the default kube-proxy image comes
// from: the upstream image of the API server's version.
const KubeProxyImageRepository = "registry.k8s.io/kube-proxy"

// kubeProxyRecheck is how long what was read about the cluster is reused:
// a changed API server address or an upgraded API server reaches the
// instances created after that, without a read per pod.
const kubeProxyRecheck = time.Minute

// kubeProxyInfo caches the cluster facts the kube-proxy settings need.
type kubeProxyInfo struct {
	mu     sync.Mutex
	image  string
	server string
	readAt time.Time
}

// translationVNode is the VNode a pod is translated for: the configured
// one, plus the kube-proxy settings when cluster IP access is on.
func (p *Provider) translationVNode(ctx context.Context) (translate.VNode, error) {
	v := p.vnode
	if !p.cfg.ClusterIPAccess {
		return v, nil
	}
	image, server, err := p.kubeProxyFacts(ctx)
	if err != nil {
		return v, err
	}
	ns, name, _ := strings.Cut(p.cfg.KubeProxyServiceAccount, "/")
	v.KubeProxy = &translate.KubeProxy{Image: image, Server: server, Namespace: ns, ServiceAccount: name}
	return v, nil
}

// kubeProxyFacts returns the kube-proxy image and the API server URL,
// read again when the last read is older than kubeProxyRecheck. A failed
// read keeps the last good facts while there are some.
func (p *Provider) kubeProxyFacts(ctx context.Context) (image, server string, err error) {
	kp := &p.kubeProxy
	kp.mu.Lock()
	defer kp.mu.Unlock()
	if kp.server != "" && p.now().Sub(kp.readAt) < kubeProxyRecheck {
		return kp.image, kp.server, nil
	}
	image, server, err = p.readKubeProxyFacts(ctx)
	if err != nil {
		if kp.server != "" {
			p.log.Warn("cannot read the cluster facts for the kube-proxy; using the last ones", "err", err)
			return kp.image, kp.server, nil
		}
		return "", "", err
	}
	kp.image, kp.server, kp.readAt = image, server, p.now()
	return image, server, nil
}

func (p *Provider) readKubeProxyFacts(ctx context.Context) (image, server string, err error) {
	image = p.cfg.KubeProxyImage
	if image == "" {
		info, err := p.kube.Discovery().ServerVersion()
		if err != nil {
			return "", "", fmt.Errorf("read the API server's version for the kube-proxy image: %w", err)
		}
		if image, err = KubeProxyImageFor(info.GitVersion); err != nil {
			return "", "", err
		}
	}
	eps, err := p.kube.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=kubernetes",
	})
	if err != nil {
		return "", "", fmt.Errorf("read the API server's address (EndpointSlices of Service default/kubernetes) for the kube-proxy: %w", err)
	}
	server, err = apiServerURL(eps.Items)
	if err != nil {
		// No endpoints (an API server run with --endpoint-reconciler-type=none):
		// the address this runtime itself uses, unless that is the Service's
		// ClusterIP (an in-cluster configuration), which an instance cannot
		// reach before its kube-proxy runs.
		own := p.ownAPIServer()
		if own == "" || p.isKubernetesClusterIP(own) {
			return "", "", err
		}
		server = own
	}
	return image, server, nil
}

// ownAPIServer is the scheme and host of the API server this runtime talks to.
func (p *Provider) ownAPIServer() string {
	rc, ok := p.kube.Discovery().RESTClient().(*rest.RESTClient)
	if !ok || rc == nil {
		return ""
	}
	u := rc.Get().URL()
	if u == nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// isKubernetesClusterIP reports whether the URL's host is a ClusterIP of the
// Service default/kubernetes.
func (p *Provider) isKubernetesClusterIP(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return true
	}
	svcs, err := p.resolver.Services(metav1.NamespaceDefault)
	if err != nil {
		return true // unknown: do not risk an unreachable address
	}
	for _, s := range svcs {
		if s.Name == "kubernetes" && (s.Spec.ClusterIP == u.Hostname() || slices.Contains(s.Spec.ClusterIPs, u.Hostname())) {
			return true
		}
	}
	return false
}

// KubeProxyImageFor is the upstream kube-proxy image of an API server's
// version: registry.k8s.io/kube-proxy:v1.37.2 for v1.37.2, and for a
// distribution's version such as v1.37.2+k3s1 or v1.37.2-eks-4d2 the
// upstream release it is built from. The minor version is what must match
// (kube-proxy follows the API server's version skew policy), and the
// patch release is the one the API server runs.
func KubeProxyImageFor(gitVersion string) (string, error) {
	v, err := utilversion.ParseGeneric(gitVersion)
	if err != nil {
		return "", fmt.Errorf("the API server's version %q is not a Kubernetes version, so the kube-proxy image cannot be chosen; set --kube-proxy-image", gitVersion)
	}
	return fmt.Sprintf("%s:v%d.%d.%d", KubeProxyImageRepository, v.Major(), v.Minor(), v.Patch()), nil
}

// apiServerURL is the URL of the first ready endpoint of the kubernetes
// Service: the API server's own advertised address, which an instance in
// the VPC can reach, where the Service's ClusterIP needs kube-proxy first.
func apiServerURL(items []discoveryv1.EndpointSlice) (string, error) {
	for _, s := range items {
		port := int32(0)
		for _, pt := range s.Ports {
			if pt.Port != nil && (pt.Name == nil || *pt.Name == "https" || port == 0) {
				port = *pt.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			if len(e.Addresses) > 0 {
				return "https://" + net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(port))), nil
			}
		}
	}
	return "", fmt.Errorf("the Service default/kubernetes has no ready endpoint, so the kube-proxy has no API server address")
}

// KubeProxyServiceAccountRef checks a --kube-proxy-service-account value,
// namespace/name.
func KubeProxyServiceAccountRef(ref string) error {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("%q is not namespace/name", ref)
	}
	return nil
}
