package translate_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

func annotated(ann map[string]string) *corev1.Pod {
	c := ctr("app", "img")
	c.Resources = res("", "", "1", "2Gi")
	p := pod("annotated", c)
	p.Annotations = ann
	return p
}

// Every documented ECI annotation reaches its CreateContainerGroup
// parameter (or the runtime's Options).
func TestAnnotationsMapToParameters(t *testing.T) {
	cases := []struct {
		name string
		ann  map[string]string
		want map[string]string
		opts func(*testing.T, translate.Options)
	}{
		{"vSwitches replace the VNode's, and the zone follows them",
			map[string]string{"k8s.aliyun.com/eci-vswitch": "vsw-a, vsw-b"},
			map[string]string{"VSwitchId": "vsw-a,vsw-b", "ZoneId": absent}, nil},
		{"schedule strategy", map[string]string{"k8s.aliyun.com/eci-schedule-strategy": "VSwitchRandom"},
			map[string]string{"ScheduleStrategy": "VSwitchRandom"}, nil},
		{"security group replaces the VNode's", map[string]string{"k8s.aliyun.com/eci-security-group": "sg-pod"},
			map[string]string{"SecurityGroupId": "sg-pod"}, nil},
		{"resource group (legacy key)", map[string]string{"k8s.aliyun.com/eci-resource-group-id": "rg-acfm"},
			map[string]string{"ResourceGroupId": "rg-acfm"}, nil},
		{"specs", map[string]string{"k8s.aliyun.com/eci-use-specs": "2-4Gi, 4-8Gi ,ecs.c6.xlarge"},
			map[string]string{"InstanceType": "2-4Gi,4-8Gi,ecs.c6.xlarge", "Cpu": absent}, nil},
		{"compute category", map[string]string{"k8s.aliyun.com/eci-compute-category": "economy,general"},
			map[string]string{"ComputeCategory.1": "economy", "ComputeCategory.2": "general"}, nil},
		{"GPU driver", map[string]string{"k8s.aliyun.com/eci-gpu-driver-version": "tesla=470.82.01"},
			map[string]string{"GpuDriverVersion": "tesla=470.82.01"}, nil},
		{"spot with a price limit", map[string]string{
			"k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit", "k8s.aliyun.com/eci-spot-price-limit": "0.125",
			"k8s.aliyun.com/eci-spot-duration": "0", "k8s.aliyun.com/eci-spot-fallback": "true"},
			map[string]string{"SpotStrategy": "SpotWithPriceLimit", "SpotPriceLimit": "0.125", "SpotDuration": "0"},
			func(t *testing.T, o translate.Options) {
				if !o.SpotFallback {
					t.Error("SpotFallback not set")
				}
			}},
		{"spot as price goes", map[string]string{"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"},
			map[string]string{"SpotStrategy": "SpotAsPriceGo", "SpotPriceLimit": absent}, nil},
		{"fail strategy", map[string]string{"k8s.aliyun.com/eci-fail-strategy": "fail-fast"}, nil,
			func(t *testing.T, o translate.Options) {
				if o.FailStrategy != translate.FailFast {
					t.Errorf("FailStrategy = %q", o.FailStrategy)
				}
			}},
		{"legacy pod-fail-on-create-err means fail-fast", map[string]string{"k8s.aliyun.com/pod-fail-on-create-err": "true"}, nil,
			func(t *testing.T, o translate.Options) {
				if o.FailStrategy != translate.FailFast {
					t.Errorf("FailStrategy = %q", o.FailStrategy)
				}
			}},
		{"eci-fail-strategy wins over the legacy key", map[string]string{
			"k8s.aliyun.com/pod-fail-on-create-err": "true", "k8s.aliyun.com/eci-fail-strategy": "fail-over"}, nil,
			func(t *testing.T, o translate.Options) {
				if o.FailStrategy != translate.FailOver {
					t.Errorf("FailStrategy = %q", o.FailStrategy)
				}
			}},
		{"max pending minutes", map[string]string{"k8s.aliyun.com/eci-max-pending-minute": "30"},
			map[string]string{"MaxPendingMinute": "30"}, nil},
		{"RAM role", map[string]string{"k8s.aliyun.com/eci-ram-role-name": "AliyunECIContainerGroupRole"},
			map[string]string{"RamRoleName": "AliyunECIContainerGroupRole"}, nil},
		{"image cache by ID", map[string]string{"k8s.aliyun.com/eci-imc-id": "imc-2zebxkiifuyzzlhl"},
			map[string]string{"ImageSnapshotId": "imc-2zebxkiifuyzzlhl"}, nil},
		{"image cache by legacy key", map[string]string{"k8s.aliyun.com/eci-image-snapshot-id": "imc-old"},
			map[string]string{"ImageSnapshotId": "imc-old"}, nil},
		{"automatic image cache", map[string]string{"k8s.aliyun.com/eci-auto-imc": "false"},
			map[string]string{"AutoMatchImageCache": "false"}, nil},
		{"automatic image cache (legacy key)", map[string]string{"k8s.aliyun.com/eci-image-cache": "true"},
			map[string]string{"AutoMatchImageCache": "true"}, nil},
		{"ACR Enterprise Edition instances", map[string]string{
			"k8s.aliyun.com/acr-instance-ids": "cri-abc,cn-beijing:cri-def",
			"k8s.aliyun.com/acr-service-arns": "acs:ram::1609982529:role/role-assume",
			"k8s.aliyun.com/acr-user-arns":    "acs:ram::1298452580:role/role-acr"},
			map[string]string{
				"AcrRegistryInfo.1.InstanceId": "cri-abc", "AcrRegistryInfo.1.RegionId": "cn-hangzhou",
				"AcrRegistryInfo.2.InstanceId": "cri-def", "AcrRegistryInfo.2.RegionId": "cn-beijing",
				"AcrRegistryInfo.2.ArnService": "acs:ram::1609982529:role/role-assume",
				"AcrRegistryInfo.1.ArnUser":    "acs:ram::1298452580:role/role-acr"}, nil},
		{"ACR instance (legacy key)", map[string]string{"k8s.aliyun.com/acr-instance-id": "cri-one"},
			map[string]string{"AcrRegistryInfo.1.InstanceId": "cri-one"}, nil},
		{"plain HTTP and insecure registries", map[string]string{
			"k8s.aliyun.com/plain-http-registry": "harbor.pre.com,192.168.1.1:5000",
			"k8s.aliyun.com/insecure-registry":   "reg.test.com:80"},
			map[string]string{"PlainHttpRegistry": "harbor.pre.com,192.168.1.1:5000", "InsecureRegistry": "reg.test.com:80"}, nil},
		{"data cache", map[string]string{
			"k8s.aliyun.com/eci-data-cache-bucket": "default", "k8s.aliyun.com/eci-data-cache-pl": "PL1",
			"k8s.aliyun.com/eci-data-cache-provisionedIops": "40000", "k8s.aliyun.com/eci-data-cache-burstingEnabled": "true"},
			map[string]string{"DataCacheBucket": "default", "DataCachePL": "PL1", "DataCacheProvisionedIops": "40000", "DataCacheBurstingEnabled": "true"}, nil},
		{"existing EIP", map[string]string{"k8s.aliyun.com/eci-eip-instanceid": "eip-uf66jeqopgqa9hdn"},
			map[string]string{"EipInstanceId": "eip-uf66jeqopgqa9hdn", "AutoCreateEip": absent}, nil},
		{"new EIP", map[string]string{
			"k8s.aliyun.com/eci-with-eip": "true", "k8s.aliyun.com/eip-bandwidth": "10", "k8s.aliyun.com/eip-isp": "BGP_PRO",
			"k8s.aliyun.com/eip-common-bandwidth-package-id": "cbwp-2zeukbj916scmj51m"},
			map[string]string{"AutoCreateEip": "true", "EipBandwidth": "10", "EipISP": "BGP_PRO", "EipCommonBandwidthPackage": "cbwp-2zeukbj916scmj51m"}, nil},
		{"IPv6", map[string]string{
			"k8s.aliyun.com/eci-enable-ipv6": "true", "k8s.aliyun.com/eci-ipv6-bandwidth-enable": "true", "k8s.aliyun.com/eci-ipv6-bandwidth": "100M"},
			map[string]string{"Ipv6AddressCount": "1", "Ipv6GatewayBandwidthEnable": "true", "Ipv6GatewayBandwidth": "100"}, nil},
		{"fixed private IP", map[string]string{
			"k8s.aliyun.com/eci-private-ip-address": "172.16.0.1", "k8s.aliyun.com/eci-fixed-ip": "true", "k8s.aliyun.com/eci-fixed-ip-retain-hour": "24"},
			map[string]string{"PrivateIpAddress": "172.16.0.1", "FixedIp": "true", "FixedIpRetainHour": "24"}, nil},
		{"Kubernetes bandwidth annotations in bit/s", map[string]string{"kubernetes.io/ingress-bandwidth": "40M", "kubernetes.io/egress-bandwidth": "1G"},
			map[string]string{"IngressBandwidth": "40000000", "EgressBandwidth": "1000000000"}, nil},
		{"extra ephemeral storage", map[string]string{"k8s.aliyun.com/eci-extra-ephemeral-storage": "50Gi"},
			map[string]string{"EphemeralStorage": "50"}, nil},
		{"extra ephemeral storage in whole GiB", map[string]string{"k8s.aliyun.com/eci-extra-ephemeral-storage": "20"},
			map[string]string{"EphemeralStorage": "20"}, nil},
		{"NTP servers", map[string]string{"k8s.aliyun.com/eci-ntp-server": "100.100.3.1,ntp.aliyun.com"},
			map[string]string{"NtpServer.1": "100.100.3.1", "NtpServer.2": "ntp.aliyun.com"}, nil},
		{"core pattern", map[string]string{"k8s.aliyun.com/eci-core-pattern": "/pod/data/dump/core"},
			map[string]string{"CorePattern": "/pod/data/dump/core"}, nil},
		{"CPU options (legacy keys)", map[string]string{"k8s.aliyun.com/eci-cpu-option-core": "2", "k8s.aliyun.com/eci-cpu-option-ht": "1"},
			map[string]string{"CpuOptionsCore": "2", "CpuOptionsThreadsPerCore": "1"}, nil},
		{"custom DNS is merged into the pod's resolver configuration", map[string]string{
			"k8s.aliyun.com/eci-custom-dnsconfig": `{"nameservers":"20.1.1.1,20.1.1.2","searches":"corp.example","options":"ndots:2,edns0"}`},
			map[string]string{"DnsPolicy": "None", "DnsConfig.NameServer.2": "20.1.1.1", "DnsConfig.NameServer.3": "20.1.1.2",
				"DnsConfig.Search.4": "corp.example", "DnsConfig.Option.1.Value": "2", "DnsConfig.Option.2.Name": "edns0"}, nil},
		{"custom tags", map[string]string{"k8s.aliyun.com/eci-custom-tags": "env:test,name:alice"},
			map[string]string{"Tag.6.Key": "team", "Tag.7.Key": "env", "Tag.7.Value": "test", "Tag.8.Key": "name", "Tag.8.Value": "alice"}, nil},
		{"a custom tag wins over the VNode's tag of the same key", map[string]string{"k8s.aliyun.com/eci-custom-tags": "team:payments"},
			map[string]string{"Tag.6.Key": "team", "Tag.6.Value": "payments", "Tag.7.Key": absent}, nil},
		{"annotations the runtime writes back are not inputs", map[string]string{
			"k8s.aliyun.com/eci-instance-id": "eci-2ze1y0la40qgva09", "k8s.aliyun.com/eci-instance-spec": "2.0-4.0Gi",
			"k8s.aliyun.com/allocated-eipAddress": "47.99.1.1"},
			map[string]string{"InstanceType": absent}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, annotated(tc.ann), vnode(), cluster(t))
			expectWire(t, wire(t, out.Request), tc.want)
			if tc.opts != nil {
				tc.opts(t, out.Options)
			}
			if len(out.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", warnings(out.Warnings))
			}
		})
	}
}

// Invalid values are refused with the annotation, the value and what is
// wanted — never ignored.
func TestInvalidAnnotations(t *testing.T) {
	cases := []struct {
		ann  map[string]string
		want []string
	}{
		{map[string]string{"k8s.aliyun.com/eci-vswitch": "subnet-1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-vswitch"]: invalid value "subnet-1": want an ID of the form vsw-..., got "subnet-1"`}},
		{map[string]string{"k8s.aliyun.com/eci-vswitch": "vsw-1,vsw-2,vsw-3,vsw-4,vsw-5,vsw-6,vsw-7,vsw-8,vsw-9,vsw-10,vsw-11"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-vswitch"]: invalid value "vsw-1,vsw-2,vsw-3,vsw-4,vsw-5,vsw-6,vsw-7,vsw-8,vsw-9,vsw-10,vsw-11": ECI accepts at most 10, got 11`}},
		{map[string]string{"k8s.aliyun.com/eci-schedule-strategy": "Random"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-schedule-strategy"]: invalid value "Random": want one of VSwitchOrdered, VSwitchRandom`}},
		{map[string]string{"k8s.aliyun.com/eci-security-group": "sg-a,sg-b"},
			[]string{`Unsupported metadata.annotations["k8s.aliyun.com/eci-security-group"]: 2 security groups given; this VNode sends one security group per instance, as the CreateContainerGroup API takes one: give a single sg- ID`}},
		{map[string]string{"k8s.aliyun.com/eci-use-specs": "2C4G"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-use-specs"]: invalid value "2C4G": want <cpu>-<memory>Gi such as 2-4Gi or an ECS instance type such as ecs.c6.large; "2C4G" is neither`}},
		{map[string]string{"k8s.aliyun.com/eci-use-specs": "1-2Gi,2-4Gi,4-8Gi,8-16Gi,16-32Gi,32-64Gi"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-use-specs"]: invalid value "1-2Gi,2-4Gi,4-8Gi,8-16Gi,16-32Gi,32-64Gi": ECI tries at most 5 specs, got 6`}},
		{map[string]string{"k8s.aliyun.com/eci-gpu-driver-version": "525.85.12"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-gpu-driver-version"]: invalid value "525.85.12": want a driver such as tesla=525.85.12`}},
		{map[string]string{"k8s.aliyun.com/eci-compute-category": "cheap"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-compute-category"]: invalid value "cheap": want one of economy, general (one or more, comma-separated, in order of preference)`}},
		{map[string]string{"k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit", "k8s.aliyun.com/eci-spot-price-limit": "0.1234"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-price-limit"]: invalid value "0.1234": want a positive price per hour with at most 3 decimals, such as 0.5`}},
		{map[string]string{"k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-strategy"]: SpotWithPriceLimit needs k8s.aliyun.com/eci-spot-price-limit, the highest hourly price to pay (such as 0.5); set it, or use SpotAsPriceGo`}},
		{map[string]string{"k8s.aliyun.com/eci-spot-price-limit": "0.5"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-price-limit"]: only applies with k8s.aliyun.com/eci-spot-strategy: SpotWithPriceLimit; set that, or remove this annotation`}},
		{map[string]string{"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo", "k8s.aliyun.com/eci-spot-price-limit": "0.5"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-price-limit"]: only applies with k8s.aliyun.com/eci-spot-strategy: SpotWithPriceLimit; set that, or remove this annotation`}},
		{map[string]string{"k8s.aliyun.com/eci-spot-strategy": "spot"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-strategy"]: invalid value "spot": want one of SpotWithPriceLimit, SpotAsPriceGo, NoSpot`}},
		{map[string]string{"k8s.aliyun.com/eci-spot-duration": "-1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-duration"]: invalid value "-1": want a whole number of at least 0 (hours)`}},
		{map[string]string{"k8s.aliyun.com/eci-spot-fallback": "yes"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-spot-fallback"]: invalid value "yes": want "true" or "false"`}},
		{map[string]string{"k8s.aliyun.com/eci-fail-strategy": "retry"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-fail-strategy"]: invalid value "retry": want one of fail-back, fail-over, fail-fast`}},
		{map[string]string{"k8s.aliyun.com/eci-max-pending-minute": "5"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-max-pending-minute"]: invalid value "5": want a whole number from 10 to 1440 (minutes)`}},
		{map[string]string{"k8s.aliyun.com/eci-max-pending-minute": "2000"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-max-pending-minute"]: invalid value "2000": want a whole number from 10 to 1440 (minutes)`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-hosts": `{"host":"a","ip":"1.1.1.1"}`},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-hosts"]: invalid value "{\"host\":\"a\",\"ip\":\"1.1.1.1\"}": want a JSON list such as [{"host":"example.com","ip":"100.100.1.1"}]`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-hosts": `[{"host":"a","ip":"300.1.1.1"}]`},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-hosts"]: invalid value "[{\"host\":\"a\",\"ip\":\"300.1.1.1\"}]": want a JSON list such as [{"host":"example.com","ip":"100.100.1.1"}]; entry 1 needs a host name and an IP address`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-dnsconfig": `nameservers=1.1.1.1`},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-dnsconfig"]: invalid value "nameservers=1.1.1.1": want JSON such as {"nameservers":"10.0.0.10","searches":"example.com","options":"ndots:2,edns0"}`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-dnsconfig": `{"nameservers":"dns.example"}`},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-dnsconfig"]: invalid value "{\"nameservers\":\"dns.example\"}": nameserver "dns.example" is not an IP address`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-tags": "a:1,b:2,c:3,d:4"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-tags"]: invalid value "a:1,b:2,c:3,d:4": ECI takes at most 3 tags here, got 4`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-tags": "env=test"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-tags"]: invalid value "env=test": want key:value pairs separated by commas, such as env:test,team:web; "env=test" is not one`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-tags": "eci-vnode/pod-uid:fake"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-tags"]: invalid value "eci-vnode/pod-uid:fake": tag key "eci-vnode/pod-uid" uses the prefix eci-vnode/, which eci-vnode reserves for its own tags`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-tags": "aliyun-x:1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-tags"]: invalid value "aliyun-x:1": tag key "aliyun-x" starts with aliyun or acs:, which ECI reserves`}},
		{map[string]string{"k8s.aliyun.com/eci-custom-tags": "a:1,a:2"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-custom-tags"]: invalid value "a:1,a:2": tag key "a" is given twice`}},
		{map[string]string{"k8s.aliyun.com/eci-ram-role-name": "my role"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-ram-role-name"]: invalid value "my role": want a RAM role name of 1 to 64 letters, digits, periods, hyphens and underscores`}},
		{map[string]string{"k8s.aliyun.com/eci-auto-imc": "1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-auto-imc"]: invalid value "1": want "true" or "false"`}},
		{map[string]string{"k8s.aliyun.com/eci-imc-id": "cache-1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-imc-id"]: invalid value "cache-1": want an ID of the form imc-..., got "cache-1"`}},
		{map[string]string{"k8s.aliyun.com/eci-imc-id": "imc-new", "k8s.aliyun.com/eci-image-snapshot-id": "imc-old"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-image-snapshot-id"]: conflicts with k8s.aliyun.com/eci-imc-id ("imc-old" vs "imc-new"); remove the legacy key`}},
		{map[string]string{"k8s.aliyun.com/acr-instance-ids": "registry-1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/acr-instance-ids"]: invalid value "registry-1": want cri-... or <region>:cri-..., got "registry-1"`}},
		{map[string]string{"k8s.aliyun.com/acr-instance-ids": "cri-a,cri-b,cri-c", "k8s.aliyun.com/acr-service-arns": "acs:ram::1:role/a,acs:ram::1:role/b"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/acr-service-arns"]: invalid value "acs:ram::1:role/a,acs:ram::1:role/b": want one RAM role ARN (acs:ram::<account>:role/<name>) for all instances in k8s.aliyun.com/acr-instance-ids, or one per instance in the same order`}},
		{map[string]string{"k8s.aliyun.com/acr-user-arns": "acs:ram::1:role/a"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/acr-user-arns"]: needs k8s.aliyun.com/acr-instance-ids, the ACR Enterprise Edition instances the role gives access to`}},
		{map[string]string{"k8s.aliyun.com/plain-http-registry": "http://harbor"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/plain-http-registry"]: invalid value "http://harbor": want registry addresses (host or host:port) separated by commas, such as harbor.example.com,192.168.1.2:5000`}},
		{map[string]string{"k8s.aliyun.com/eci-data-cache-bucket": "default", "k8s.aliyun.com/eci-data-cache-pl": "PL9"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-data-cache-pl"]: invalid value "PL9": want one of PL0, PL1, PL2, PL3`}},
		{map[string]string{"k8s.aliyun.com/eci-with-eip": "true", "k8s.aliyun.com/eci-eip-instanceid": "eip-1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-with-eip"]: conflicts with k8s.aliyun.com/eci-eip-instanceid: either bind an existing EIP or create one, not both`}},
		{map[string]string{"k8s.aliyun.com/eci-with-eip": "true", "k8s.aliyun.com/eip-bandwidth": "5M"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eip-bandwidth"]: invalid value "5M": want a whole number of at least 1 (Mbit/s)`}},
		{map[string]string{"k8s.aliyun.com/eci-with-eip": "true", "k8s.aliyun.com/eip-isp": "CMCC"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eip-isp"]: invalid value "CMCC": want one of BGP, BGP_PRO`}},
		{map[string]string{"k8s.aliyun.com/eci-enable-ipv6": "true", "k8s.aliyun.com/eci-ipv6-bandwidth-enable": "true", "k8s.aliyun.com/eci-ipv6-bandwidth": "100k"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-ipv6-bandwidth"]: invalid value "100k": want a whole number of Mbit/s such as 100, or a quantity such as 100M`}},
		{map[string]string{"k8s.aliyun.com/eci-private-ip-address": "fd00::1"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-private-ip-address"]: invalid value "fd00::1": want an IPv4 address such as 172.16.0.1`}},
		{map[string]string{"k8s.aliyun.com/eci-fixed-ip": "true", "k8s.aliyun.com/eci-fixed-ip-retain-hour": "0"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-fixed-ip-retain-hour"]: invalid value "0": want a whole number of at least 1 (hours)`}},
		{map[string]string{"kubernetes.io/ingress-bandwidth": "10"},
			[]string{`InvalidAnnotation metadata.annotations["kubernetes.io/ingress-bandwidth"]: invalid value "10": want a bandwidth in bit/s from 1k to 1P, such as 10M`}},
		{map[string]string{"kubernetes.io/egress-bandwidth": "fast"},
			[]string{`InvalidAnnotation metadata.annotations["kubernetes.io/egress-bandwidth"]: invalid value "fast": want a bandwidth in bit/s from 1k to 1P, such as 10M`}},
		{map[string]string{"k8s.aliyun.com/eci-extra-ephemeral-storage": "lots"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-extra-ephemeral-storage"]: invalid value "lots": want a size such as 50Gi (or a whole number of GiB)`}},
		{map[string]string{"k8s.aliyun.com/eci-ntp-server": " , "},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-ntp-server"]: invalid value " , ": want one or more NTP server addresses separated by commas`}},
		{map[string]string{"k8s.aliyun.com/eci-core-pattern": "core"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-core-pattern"]: invalid value "core": want an absolute path such as /pod/data/dump/core`}},
		{map[string]string{"k8s.aliyun.com/eci-cpu-option-ht": "4"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-cpu-option-ht"]: invalid value "4": want a whole number from 1 to 2 (threads per core)`}},
		{map[string]string{"k8s.aliyun.com/eci-resource-group-id": "default"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-resource-group-id"]: invalid value "default": want an ID of the form rg-..., got "default"`}},
		{map[string]string{"k8s.aliyun.com/eci-sls-enable": "no"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-sls-enable"]: invalid value "no": want "true" or "false"`}},
		{map[string]string{"k8s.aliyun.com/eip-internet-charge-type": "Free"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eip-internet-charge-type"]: invalid value "Free": want one of PayByBandwidth, PayByTraffic`}},
		{map[string]string{"k8s.aliyun.com/eci-privatepool-matchcriteria": "Any"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/eci-privatepool-matchcriteria"]: invalid value "Any": want one of Open, Target`}},
		{map[string]string{"k8s.aliyun.com/imc-match-count-request": "zero"},
			[]string{`InvalidAnnotation metadata.annotations["k8s.aliyun.com/imc-match-count-request"]: invalid value "zero": want a whole number of at least 1 (images)`}},
	}
	for _, tc := range cases {
		name := ""
		for k := range tc.ann {
			if strings.HasPrefix(tc.want[0], "InvalidAnnotation metadata.annotations[\""+k) || strings.HasPrefix(tc.want[0], "Unsupported metadata.annotations[\""+k) {
				name = k
			}
		}
		t.Run(name, func(t *testing.T) {
			es := problems(t, annotated(tc.ann), vnode(), cluster(t))
			expectProblems(t, es, tc.want)
			if es.Retryable() {
				t.Error("an invalid annotation is not retryable")
			}
		})
	}
}

// Documented annotations with no effect here are reported, never silently
// dropped.
func TestAnnotationsWithoutEffect(t *testing.T) {
	cases := []struct {
		ann  map[string]string
		want string
	}{
		{map[string]string{"k8s.aliyun.com/eci-instance-family": "ecs.c6,ecs.g6"},
			`metadata.annotations["k8s.aliyun.com/eci-instance-family"]: has no effect on this VNode: CreateContainerGroup has no parameter to filter instance families; name ECS instance types in k8s.aliyun.com/eci-use-specs instead`},
		{map[string]string{"k8s.aliyun.com/eci-instance-generation": "6,5"},
			`metadata.annotations["k8s.aliyun.com/eci-instance-generation"]: has no effect on this VNode: CreateContainerGroup has no parameter to filter instance families; name ECS instance types in k8s.aliyun.com/eci-use-specs instead`},
		{map[string]string{"k8s.aliyun.com/eci-privatepool-matchcriteria": "Target", "k8s.aliyun.com/eci-privatepool-id": "eap-1"},
			`metadata.annotations["k8s.aliyun.com/eci-privatepool-id"]: has no effect on this VNode: CreateContainerGroup has no parameter for elasticity-assurance private pools`},
		{map[string]string{"k8s.aliyun.com/eip-internet-charge-type": "PayByTraffic"},
			`metadata.annotations["k8s.aliyun.com/eip-internet-charge-type"]: has no effect on this VNode: CreateContainerGroup has no parameter for the EIP billing method; ECI creates the EIP with its default`},
		{map[string]string{"k8s.aliyun.com/eip-public-ip-address-pool-id": "pippool-1"},
			`metadata.annotations["k8s.aliyun.com/eip-public-ip-address-pool-id"]: has no effect on this VNode: CreateContainerGroup has no parameter for an IP address pool`},
		{map[string]string{"k8s.aliyun.com/imc-perfect-match": "true"},
			`metadata.annotations["k8s.aliyun.com/imc-perfect-match"]: has no effect on this VNode: CreateContainerGroup has no parameter for it; name the cache with k8s.aliyun.com/eci-imc-id for an exact choice`},
		{map[string]string{"k8s.aliyun.com/imc-match-count-request": "2"},
			`metadata.annotations["k8s.aliyun.com/imc-match-count-request"]: has no effect on this VNode: CreateContainerGroup has no parameter for it; name the cache with k8s.aliyun.com/eci-imc-id for an exact choice`},
		{map[string]string{"k8s.aliyun.com/eci-ephemeral-storage-options": `{"encrypted":"true"}`},
			`metadata.annotations["k8s.aliyun.com/eci-ephemeral-storage-options"]: has no effect on this VNode: CreateContainerGroup has no parameter for it`},
		{map[string]string{"k8s.aliyun.com/eci-eviction-enable": "true"},
			`metadata.annotations["k8s.aliyun.com/eci-eviction-enable"]: has no effect on this VNode: CreateContainerGroup has no parameter for it`},
		{map[string]string{"k8s.aliyun.com/eci-sls-enable": "false"},
			`metadata.annotations["k8s.aliyun.com/eci-sls-enable"]: has no effect on this VNode: SLS log collection is not configured by this VNode (the current CreateContainerGroup API has no SlsEnable parameter)`},
		{map[string]string{"k8s.aliyun.com/eci-reschedule-enable": "true"},
			`metadata.annotations["k8s.aliyun.com/eci-reschedule-enable"]: has no effect on this VNode: it is a retired ECI setting; use k8s.aliyun.com/eci-fail-strategy to choose between retrying (fail-back) and failing the pod (fail-fast)`},
		{map[string]string{"k8s.aliyun.com/eci-spot-duration": "1"},
			`metadata.annotations["k8s.aliyun.com/eci-spot-duration"]: has no effect on this VNode: it only applies to spot instances; set k8s.aliyun.com/eci-spot-strategy`},
		{map[string]string{"k8s.aliyun.com/eci-spot-fallback": "true"},
			`metadata.annotations["k8s.aliyun.com/eci-spot-fallback"]: has no effect on this VNode: it only applies to spot instances; set k8s.aliyun.com/eci-spot-strategy`},
		{map[string]string{"k8s.aliyun.com/eip-bandwidth": "10"},
			`metadata.annotations["k8s.aliyun.com/eip-bandwidth"]: has no effect on this VNode: it only applies to an EIP ECI creates; set k8s.aliyun.com/eci-with-eip: "true"`},
		{map[string]string{"k8s.aliyun.com/eci-fixed-ip-retain-hour": "24"},
			`metadata.annotations["k8s.aliyun.com/eci-fixed-ip-retain-hour"]: has no effect on this VNode: it only applies with k8s.aliyun.com/eci-fixed-ip: "true"`},
		{map[string]string{"k8s.aliyun.com/eci-ipv6-bandwidth-enable": "true"},
			`metadata.annotations["k8s.aliyun.com/eci-ipv6-bandwidth-enable"]: has no effect on this VNode: it only applies with k8s.aliyun.com/eci-enable-ipv6: "true"`},
		{map[string]string{"k8s.aliyun.com/eci-data-cache-pl": "PL1"},
			`metadata.annotations["k8s.aliyun.com/eci-data-cache-pl"]: has no effect on this VNode: data cache settings need k8s.aliyun.com/eci-data-cache-bucket`},
		{map[string]string{"k8s.aliyun.com/eci-use-spec": "2-4Gi"},
			`metadata.annotations["k8s.aliyun.com/eci-use-spec"]: is not an ECI annotation this VNode knows, so it has no effect; check its spelling against the ECI pod annotation list`},
	}
	for _, tc := range cases {
		t.Run(tc.want[len(`metadata.annotations["`):strings.Index(tc.want, `"]`)], func(t *testing.T) {
			out := run(t, annotated(tc.ann), vnode(), cluster(t))
			if !contains(warnings(out.Warnings), tc.want) {
				t.Errorf("warnings:\n got: %s\nwant: %s", strings.Join(warnings(out.Warnings), "\n      "), tc.want)
			}
			for _, w := range out.Warnings {
				if w.Reason != translate.WarnNoEffect {
					t.Errorf("warning %q has reason %s; want %s", w, w.Reason, translate.WarnNoEffect)
				}
			}
		})
	}
}

// Unrelated annotations (kubectl, Prometheus, Istio, ...) are none of our
// business and produce nothing.
func TestForeignAnnotationsAreQuiet(t *testing.T) {
	out := run(t, annotated(map[string]string{
		"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z",
		"prometheus.io/scrape":              "true",
		"eci-vnode.io/profile-selector":     "burst",
		"k8s.aliyun.com/vnode":              "true",
	}), vnode(), cluster(t))
	if len(out.Warnings) > 0 {
		t.Errorf("unexpected warnings %q", warnings(out.Warnings))
	}
}
