package translate

import (
	"net"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// The kubelet's resolv.conf limits (it drops the excess with a warning).
const (
	maxDNSNameservers = 3
	maxDNSSearches    = 32
	defaultDomain     = "cluster.local"
	maxHostnameLen    = 63
)

// dns sets the DNS policy, resolver configuration, hostname and /etc/hosts
// entries the way a kubelet would set them up for the pod.
func (t *translator) dns() {
	spec := &t.pod.Spec
	domain := t.node.ClusterDomain
	if domain == "" {
		domain = defaultDomain
	}
	var cfg *eci.DNSConfig
	policy := spec.DNSPolicy
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet, "":
		if t.proxyOptOut {
			t.c.warn("spec.dnsPolicy", WarnKubeProxyDisabled,
				"dnsPolicy %s is used as Default (ECI's DNS, the VPC's resolvers): the pod opts out of kube-proxy with %s: %q, and the cluster DNS is a ClusterIP Service, which only kube-proxy makes reachable from an ECI instance; remove the annotation to resolve Service names",
				policyName(policy), AnnotationKubeProxy, KubeProxyDisabled)
			policy = corev1.DNSDefault
			break
		}
		servers := t.node.ClusterDNS
		if len(servers) == 0 && t.proxy {
			servers = t.clusterDNSFromService()
		}
		if len(servers) == 0 {
			t.c.warn("spec.dnsPolicy", WarnApproximated,
				"the VNode has no cluster DNS server configured, so the pod uses ECI's default DNS (the VPC's resolvers) and cannot resolve Service names; the operator should set the VNode's cluster DNS")
			policy = corev1.DNSDefault
			break
		}
		// ECI's None policy with the kubelet's ClusterFirst resolv.conf.
		cfg = &eci.DNSConfig{
			NameServers: append([]string(nil), servers...),
			Searches:    []string{t.pod.Namespace + ".svc." + domain, "svc." + domain, domain},
			Options:     []eci.DNSOption{{Name: "ndots", Value: "5"}},
		}
		policy = corev1.DNSNone
	case corev1.DNSNone:
		cfg = &eci.DNSConfig{}
	case corev1.DNSDefault:
	default:
		t.c.fail("spec.dnsPolicy", ReasonInvalidSpec, "DNS policy %s is not ClusterFirst, ClusterFirstWithHostNet, Default or None", policy)
		return
	}
	if dc := spec.DNSConfig; dc != nil {
		if cfg == nil {
			t.c.warn("spec.dnsConfig", WarnIgnored,
				"with dnsPolicy Default, ECI uses the VPC's DNS settings and cannot merge dnsConfig into them; use dnsPolicy None with the complete configuration")
		} else {
			mergeDNS(cfg, dc.Nameservers, dc.Searches, podDNSOptions(dc.Options))
		}
	}
	if a := t.ann.customDNS; a != nil {
		if cfg == nil { // the annotation replaces ECI's default resolvers
			cfg, policy = &eci.DNSConfig{}, corev1.DNSNone
		}
		mergeDNS(cfg, a.NameServers, a.Searches, a.Options)
	}
	if cfg != nil {
		if len(cfg.NameServers) > maxDNSNameservers {
			t.c.warn("spec.dnsConfig.nameservers", WarnIgnored, "only the first %d nameservers are used (%s); the rest are dropped, as the kubelet does",
				maxDNSNameservers, strings.Join(cfg.NameServers[:maxDNSNameservers], ", "))
			cfg.NameServers = cfg.NameServers[:maxDNSNameservers]
		}
		if len(cfg.Searches) > maxDNSSearches {
			t.c.warn("spec.dnsConfig.searches", WarnIgnored, "only the first %d search domains are used; the rest are dropped, as the kubelet does", maxDNSSearches)
			cfg.Searches = cfg.Searches[:maxDNSSearches]
		}
	}
	if policy == corev1.DNSNone {
		t.req.DNSPolicy = eci.DNSPolicyNone
		t.req.DNSConfig = cfg
	} else {
		t.req.DNSPolicy = eci.DNSPolicyDefault
	}
	t.hostname(domain)
	t.hostAliases()
}

// mergeDNS adds servers and searches (without duplicates) and options
// (a later option of the same name replaces the earlier one), as the
// kubelet merges dnsConfig into the policy's configuration.
func mergeDNS(cfg *eci.DNSConfig, servers, searches []string, options []eci.DNSOption) {
	for _, s := range servers {
		if !slices.Contains(cfg.NameServers, s) {
			cfg.NameServers = append(cfg.NameServers, s)
		}
	}
	for _, s := range searches {
		if !slices.Contains(cfg.Searches, s) {
			cfg.Searches = append(cfg.Searches, s)
		}
	}
	for _, o := range options {
		i := slices.IndexFunc(cfg.Options, func(x eci.DNSOption) bool { return x.Name == o.Name })
		if i >= 0 {
			cfg.Options[i] = o
		} else {
			cfg.Options = append(cfg.Options, o)
		}
	}
}

func podDNSOptions(in []corev1.PodDNSConfigOption) []eci.DNSOption {
	out := make([]eci.DNSOption, 0, len(in))
	for _, o := range in {
		v := ""
		if o.Value != nil {
			v = *o.Value
		}
		out = append(out, eci.DNSOption{Name: o.Name, Value: v})
	}
	return out
}

// hostname is the kubelet's choice: spec.hostnameOverride, else
// spec.hostname, else the pod name cut to 63 characters; with
// setHostnameAsFQDN and a subdomain, the FQDN
// <hostname>.<subdomain>.<namespace>.svc.<domain>.
//
// The kubelet also writes "<pod IP> <FQDN> <hostname>" into /etc/hosts. The
// IP is only known once ECI has placed the instance, so that line cannot be
// sent as a host alias; the FQDN still resolves through cluster DNS via the
// pod's headless Service.
func (t *translator) hostname(domain string) {
	spec := &t.pod.Spec
	if spec.HostnameOverride != nil && *spec.HostnameOverride != "" {
		t.req.HostName = *spec.HostnameOverride
		return
	}
	h := spec.Hostname
	if h == "" {
		h = t.pod.Name
		if len(h) > maxHostnameLen {
			h = strings.TrimRight(h[:maxHostnameLen], "-.")
		}
	}
	if isTrue(spec.SetHostnameAsFQDN) && spec.Subdomain != "" {
		fqdn := h + "." + spec.Subdomain + "." + t.pod.Namespace + ".svc." + domain
		if len(fqdn) > 64 {
			t.c.fail("spec.setHostnameAsFQDN", ReasonInvalidSpec,
				"the FQDN %s is %d characters; a hostname can be at most 64, so it cannot be used as the hostname: shorten the names or unset setHostnameAsFQDN", fqdn, len(fqdn))
			return
		}
		h = fqdn
	}
	t.req.HostName = h
}

// hostAliases: the pod's hostAliases, then k8s.aliyun.com/eci-custom-hosts.
func (t *translator) hostAliases() {
	spec := &t.pod.Spec
	if len(spec.HostAliases)+len(t.ann.customHosts) == 0 {
		return
	}
	out := make([]eci.HostAlias, 0, len(spec.HostAliases)+len(t.ann.customHosts))
	for i, h := range spec.HostAliases {
		if parseIP(h.IP) == nil {
			t.c.fail(index("spec.hostAliases", i)+".ip", ReasonInvalidSpec, "%q is not an IP address", h.IP)
			continue
		}
		out = append(out, eci.HostAlias{IP: h.IP, Hostnames: append([]string(nil), h.Hostnames...)})
	}
	t.req.HostAliases = append(out, t.ann.customHosts...)
}

func parseIP(s string) net.IP { return net.ParseIP(s) }

func policyName(p corev1.DNSPolicy) string {
	if p == "" {
		return string(corev1.DNSClusterFirst)
	}
	return string(p)
}
