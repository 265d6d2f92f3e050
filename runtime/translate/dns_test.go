package translate_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

func TestDNSPolicies(t *testing.T) {
	dnsConfig := &corev1.PodDNSConfig{
		Nameservers: []string{"1.1.1.1"},
		Searches:    []string{"corp.example"},
		Options:     []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}, {Name: "edns0"}},
	}
	cases := []struct {
		name   string
		policy corev1.DNSPolicy
		config *corev1.PodDNSConfig
		node   func(*translate.VNode)
		want   map[string]string
		warn   string
	}{
		{name: "ClusterFirst is the kubelet's resolv.conf", policy: corev1.DNSClusterFirst, want: map[string]string{
			"DnsPolicy": "None", "DnsConfig.NameServer.1": "10.96.0.10",
			"DnsConfig.Search.1": "shop.svc.cluster.local", "DnsConfig.Search.2": "svc.cluster.local", "DnsConfig.Search.3": "cluster.local",
			"DnsConfig.Option.1.Name": "ndots", "DnsConfig.Option.1.Value": "5"}},
		{name: "ClusterFirst merged with dnsConfig", policy: corev1.DNSClusterFirst, config: dnsConfig, want: map[string]string{
			"DnsConfig.NameServer.1": "10.96.0.10", "DnsConfig.NameServer.2": "1.1.1.1",
			"DnsConfig.Search.4":      "corp.example",
			"DnsConfig.Option.1.Name": "ndots", "DnsConfig.Option.1.Value": "2", // the pod's option wins
			"DnsConfig.Option.2.Name": "edns0", "DnsConfig.Option.2.Value": absent}},
		{name: "ClusterFirstWithHostNet is ClusterFirst (no host network on ECI)", policy: corev1.DNSClusterFirstWithHostNet, want: map[string]string{
			"DnsPolicy": "None", "DnsConfig.NameServer.1": "10.96.0.10"}},
		{name: "custom cluster domain", policy: corev1.DNSClusterFirst, node: func(n *translate.VNode) { n.ClusterDomain = "corp.local" }, want: map[string]string{
			"DnsConfig.Search.1": "shop.svc.corp.local", "DnsConfig.Search.3": "corp.local"}},
		{name: "Default uses ECI's (the VPC's) DNS", policy: corev1.DNSDefault, want: map[string]string{
			"DnsPolicy": "Default", "DnsConfig.NameServer.1": absent}},
		{name: "None uses the pod's dnsConfig only", policy: corev1.DNSNone, config: dnsConfig, want: map[string]string{
			"DnsPolicy": "None", "DnsConfig.NameServer.1": "1.1.1.1", "DnsConfig.NameServer.2": absent,
			"DnsConfig.Search.1": "corp.example", "DnsConfig.Option.1.Value": "2"}},
		{name: "Default cannot merge dnsConfig", policy: corev1.DNSDefault, config: dnsConfig,
			want: map[string]string{"DnsPolicy": "Default"},
			warn: "spec.dnsConfig: with dnsPolicy Default, ECI uses the VPC's DNS settings and cannot merge dnsConfig into them; use dnsPolicy None with the complete configuration"},
		{name: "a VNode without cluster DNS falls back to Default", policy: corev1.DNSClusterFirst,
			node: func(n *translate.VNode) { n.ClusterDNS = nil }, want: map[string]string{"DnsPolicy": "Default"},
			warn: "spec.dnsPolicy: the VNode has no cluster DNS server configured, so the pod uses ECI's default DNS (the VPC's resolvers) and cannot resolve Service names; the operator should set the VNode's cluster DNS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ctr("app", "img")
			c.Resources = res("", "", "1", "1Gi")
			p := pod("dns", c)
			p.Spec.DNSPolicy, p.Spec.DNSConfig = tc.policy, tc.config
			node := vnode()
			if tc.node != nil {
				tc.node(&node)
			}
			out := run(t, p, node, cluster(t))
			expectWire(t, wire(t, out.Request), tc.want)
			if tc.warn != "" && !contains(warnings(out.Warnings), tc.warn) {
				t.Errorf("warnings %q; want %q", warnings(out.Warnings), tc.warn)
			}
			if tc.warn == "" && len(out.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings(out.Warnings))
			}
		})
	}
}

// k8s.aliyun.com/eci-custom-dnsconfig under dnsPolicy Default replaces
// ECI's default resolvers (the hybrid-cloud case it exists for).
func TestCustomDNSAnnotationWithDefaultPolicy(t *testing.T) {
	p := pod("hybrid", ctr("app", "img"))
	p.Spec.DNSPolicy = corev1.DNSDefault
	p.Annotations = map[string]string{"k8s.aliyun.com/eci-custom-dnsconfig": `{"nameservers":["10.1.0.2","10.1.0.3"],"options":"timeout:1"}`}
	expectWire(t, wire(t, run(t, p, vnode(), cluster(t)).Request), map[string]string{
		"DnsPolicy": "None", "DnsConfig.NameServer.1": "10.1.0.2", "DnsConfig.NameServer.2": "10.1.0.3",
		"DnsConfig.Search.1": absent, "DnsConfig.Option.1.Name": "timeout", "DnsConfig.Option.1.Value": "1",
	})
}

func TestHostnameAndAliases(t *testing.T) {
	c := ctr("app", "img")
	p := pod("db-0", c)
	p.Spec.Hostname, p.Spec.Subdomain = "db-0", "db"
	p.Spec.HostAliases = []corev1.HostAlias{{IP: "10.0.0.9", Hostnames: []string{"legacy.internal", "legacy"}}}
	p.Annotations = map[string]string{"k8s.aliyun.com/eci-custom-hosts": `[{"host":"example.com","ip":"100.100.1.1"}]`}
	out := run(t, p, vnode(), cluster(t))
	expectWire(t, wire(t, out.Request), map[string]string{
		"HostName":                "db-0",
		"HostAliase.1.Ip":         "10.0.0.9",
		"HostAliase.1.Hostname.1": "legacy.internal", "HostAliase.1.Hostname.2": "legacy",
		"HostAliase.2.Ip": "100.100.1.1", "HostAliase.2.Hostname.1": "example.com",
	})
	p.Spec.SetHostnameAsFQDN = ptr(true)
	expectWire(t, wire(t, run(t, p, vnode(), cluster(t)).Request), map[string]string{"HostName": "db-0.db.shop.svc.cluster.local"})

	// Without spec.hostname the kubelet uses the pod name, cut to 63 characters.
	long := pod("a-very-long-pod-name-generated-by-some-operator-for-a-statefulset-x", ctr("app", "img"))
	expectWire(t, wire(t, run(t, long, vnode(), cluster(t)).Request), map[string]string{
		"HostName": "a-very-long-pod-name-generated-by-some-operator-for-a-statefuls"})
}
