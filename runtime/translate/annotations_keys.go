package translate

// The pod annotations ECI documents
// (https://www.alibabacloud.com/help/en/eci/user-guide/pod-annotations-1),
// the legacy spellings still seen in manifests, and the Kubernetes bandwidth
// annotations. Each is translated to its CreateContainerGroup parameter,
// honoured by the runtime (Options), or reported as having no effect.
const (
	aliyunPrefix = "k8s.aliyun.com/"

	annVSwitch            = aliyunPrefix + "eci-vswitch"
	annScheduleStrategy   = aliyunPrefix + "eci-schedule-strategy"
	annUseSpecs           = aliyunPrefix + "eci-use-specs"
	annGPUDriverVersion   = aliyunPrefix + "eci-gpu-driver-version"
	annInstanceFamily     = aliyunPrefix + "eci-instance-family"
	annInstanceGeneration = aliyunPrefix + "eci-instance-generation"
	annComputeCategory    = aliyunPrefix + "eci-compute-category"
	annSpotStrategy       = aliyunPrefix + "eci-spot-strategy"
	annSpotPriceLimit     = aliyunPrefix + "eci-spot-price-limit"
	annSpotDuration       = aliyunPrefix + "eci-spot-duration"
	annSpotFallback       = aliyunPrefix + "eci-spot-fallback"
	annPrivatePoolMatch   = aliyunPrefix + "eci-privatepool-matchcriteria"
	annPrivatePoolID      = aliyunPrefix + "eci-privatepool-id"
	annFailStrategy       = aliyunPrefix + "eci-fail-strategy"
	annMaxPendingMinute   = aliyunPrefix + "eci-max-pending-minute"
	annCustomHosts        = aliyunPrefix + "eci-custom-hosts"
	annCustomTags         = aliyunPrefix + "eci-custom-tags"
	annRAMRoleName        = aliyunPrefix + "eci-ram-role-name"
	annAutoIMC            = aliyunPrefix + "eci-auto-imc"
	annIMCPerfectMatch    = aliyunPrefix + "imc-perfect-match"
	annIMCMatchCount      = aliyunPrefix + "imc-match-count-request"
	annIMCID              = aliyunPrefix + "eci-imc-id"
	annACRInstanceIDs     = aliyunPrefix + "acr-instance-ids"
	annACRServiceARNs     = aliyunPrefix + "acr-service-arns"
	annACRUserARNs        = aliyunPrefix + "acr-user-arns"
	annPlainHTTPRegistry  = aliyunPrefix + "plain-http-registry"
	annInsecureRegistry   = aliyunPrefix + "insecure-registry"
	annDataCacheBucket    = aliyunPrefix + "eci-data-cache-bucket"
	annDataCachePL        = aliyunPrefix + "eci-data-cache-pl"
	annDataCacheIOPS      = aliyunPrefix + "eci-data-cache-provisionedIops"
	annDataCacheBursting  = aliyunPrefix + "eci-data-cache-burstingEnabled"
	annSecurityGroup      = aliyunPrefix + "eci-security-group"
	annEIPInstanceID      = aliyunPrefix + "eci-eip-instanceid"
	annWithEIP            = aliyunPrefix + "eci-with-eip"
	annEIPBandwidth       = aliyunPrefix + "eip-bandwidth"
	annEIPCommonBandwidth = aliyunPrefix + "eip-common-bandwidth-package-id"
	annEIPISP             = aliyunPrefix + "eip-isp"
	annEIPChargeType      = aliyunPrefix + "eip-internet-charge-type"
	annEIPPoolID          = aliyunPrefix + "eip-public-ip-address-pool-id"
	annEnableIPv6         = aliyunPrefix + "eci-enable-ipv6"
	annIPv6BandwidthOn    = aliyunPrefix + "eci-ipv6-bandwidth-enable"
	annIPv6Bandwidth      = aliyunPrefix + "eci-ipv6-bandwidth"
	annPrivateIP          = aliyunPrefix + "eci-private-ip-address"
	annFixedIP            = aliyunPrefix + "eci-fixed-ip"
	annFixedIPRetainHour  = aliyunPrefix + "eci-fixed-ip-retain-hour"
	annCustomDNSConfig    = aliyunPrefix + "eci-custom-dnsconfig"
	annExtraStorage       = aliyunPrefix + "eci-extra-ephemeral-storage"
	annStorageOptions     = aliyunPrefix + "eci-ephemeral-storage-options"
	annEvictionEnable     = aliyunPrefix + "eci-eviction-enable"
	annNTPServer          = aliyunPrefix + "eci-ntp-server"
	annSLSEnable          = aliyunPrefix + "eci-sls-enable"
	annCorePattern        = aliyunPrefix + "eci-core-pattern"

	// Legacy keys (older ECI/ACK docs).
	annLegacyImageSnapshot = aliyunPrefix + "eci-image-snapshot-id" // = eci-imc-id
	annLegacyImageCache    = aliyunPrefix + "eci-image-cache"       // = eci-auto-imc
	annLegacyACRInstance   = aliyunPrefix + "acr-instance-id"       // = acr-instance-ids
	annLegacyCPUCore       = aliyunPrefix + "eci-cpu-option-core"
	annLegacyCPUThreads    = aliyunPrefix + "eci-cpu-option-ht"
	annLegacyReschedule    = aliyunPrefix + "eci-reschedule-enable"
	annLegacyFailOnCreate  = aliyunPrefix + "pod-fail-on-create-err"
	annLegacyResourceGroup = aliyunPrefix + "eci-resource-group-id"

	// Kubernetes bandwidth annotations (the kubelet's bandwidth plugin).
	annIngressBandwidth = "kubernetes.io/ingress-bandwidth"
	annEgressBandwidth  = "kubernetes.io/egress-bandwidth"
)

// isOutputAnnotation reports the keys a virtual kubelet writes back after
// creation (the second table of ECI's pod annotations page). They describe
// an instance, configure nothing, and are skipped without a warning.
func isOutputAnnotation(key string) bool {
	switch key {
	case aliyunPrefix + "eci-request-id", aliyunPrefix + "eci-instance-id", aliyunPrefix + "eci-instance-spec",
		aliyunPrefix + "eci-instance-compute-category", aliyunPrefix + "allocated-eipInstanceId",
		aliyunPrefix + "allocated-eipAddress", aliyunPrefix + "allocated-ipv6Address",
		aliyunPrefix + "eci-created-by-template", aliyunPrefix + "eni-instance-id", aliyunPrefix + "eci-vpc",
		aliyunPrefix + "eci-matched-image-cache", aliyunPrefix + "eci-schedule-result":
		return true
	}
	return false
}

// looksLikeECIAnnotation reports keys in the families ECI uses, so an
// unknown (misspelt) one is reported instead of silently ignored.
func looksLikeECIAnnotation(key string) bool {
	if len(key) <= len(aliyunPrefix) || key[:len(aliyunPrefix)] != aliyunPrefix {
		return false
	}
	rest := key[len(aliyunPrefix):]
	for _, family := range [...]string{"eci-", "eip-", "imc-", "acr-"} {
		if len(rest) > len(family) && rest[:len(family)] == family {
			return true
		}
	}
	return false
}
