// Package translate turns a pod bound to a VNode into the one ECI
// CreateContainerGroup request (internal/eci) that runs it.
//
// Pod is a pure function of the pod, the VNode and the cluster objects the
// pod refers to (read through a Resolver; Listers is the informer-backed
// one): the same input always gives the same request. A pod that cannot run
// on ECI yields Errors listing every problem at once, each with a field
// path, a stable Reason and a message that says what to do instead;
// IsRetryable tells problems that go away by themselves (a missing
// ConfigMap, an unbound claim) from ones that need a changed pod. Fields
// translated approximately or left out come back as Warnings, which the
// runtime reports as pod Events. Nothing the pod sets is dropped silently.
//
// # Identity
//
//	ContainerGroupName  InstanceName(namespace, name): "<namespace>-<name>", lowercase, dots and other
//	                    characters ECI refuses become "-", cut to 128 with a 10-character hash suffix
//	                    when longer. Deterministic and always valid; not unique (a.b and a-b share it).
//	ClientToken         the pod UID: a retried create never makes a second instance.
//	Tag                 eci-vnode/cluster, eci-vnode/node, eci-vnode/pod-namespace, eci-vnode/pod-name,
//	                    eci-vnode/pod-uid (values over 128 characters cut with a hash by TagValue; the
//	                    UID tag is the identity, see PodUIDFromTags; OwnedTags is the VNode's selector),
//	                    then the VNode's tags (sorted), then k8s.aliyun.com/eci-custom-tags (which win
//	                    over a VNode tag of the same key). More than ECI's 20 → TooManyTags with the
//	                    count per source. User tags may not use the eci-vnode/ prefix, nor ECI's
//	                    reserved aliyun*/acs: keys.
//
// # Pod spec
//
//	field                                supported / approximated (how) / refused (message gist)
//	-----------------------------------  ----------------------------------------------------------------
//	containers[].name,image,workingDir   supported
//	containers[].imagePullPolicy         supported (Always | IfNotPresent | Never)
//	containers[].command, args           supported; $(VAR) expanded with the container's environment as
//	                                     the kubelet does ($$ escapes). More than 10 args (ECI's limit):
//	                                     sent as part of the command when a command is set, else refused
//	                                     (TooLarge: set command to the image's entrypoint).
//	containers[].ports                   TCP/UDP supported. SCTP: not declared (warning). hostPort ≠
//	                                     containerPort: approximated (the pod IP is the host; warning).
//	                                     hostIP: ignored (warning). 111/10250/10255: refused (reserved by ECI).
//	containers[].env value               supported, $(VAR) expansion as the kubelet; values > 256 bytes
//	                                     refused (TooLarge: use a ConfigMap file), never truncated.
//	                                     Names must match [A-Za-z_][A-Za-z0-9_]{0,127} (ECI), else refused.
//	env fieldRef                         metadata.name/namespace/uid, metadata.labels['k'],
//	                                     metadata.annotations['k'], spec.nodeName, spec.serviceAccountName
//	                                     → literals. status.podIP(s) → ECI FieldRef status.podIP.
//	                                     status.hostIP(s) → FieldRef status.podIP: an ECI instance is its own
//	                                     host (approximated, warning). $(POD_IP)-style references to such a
//	                                     variable stay unexpanded (warning).
//	env resourceFieldRef                 limits/requests of cpu, memory, ephemeral-storage with divisor,
//	                                     rounded up like the kubelet → literal. A limit the container does
//	                                     not set resolves to the instance's size (the kubelet uses the
//	                                     node's allocatable; warning). hugepages: refused.
//	env configMapKeyRef, secretKeyRef    supported; missing optional → skipped (warning); missing mandatory
//	                                     object or key → MissingReference (retryable). Secret values make
//	                                     the container EnvironmentVarHide so Describe does not show them.
//	env fileKeyRef                       refused (the file exists only after an init container runs).
//	containers[].envFrom (+prefix)       supported; keys that are not ECI env names are skipped (warning),
//	                                     as the kubelet skips invalid keys.
//	service link variables               the kubelet's: the master Service default/kubernetes always
//	                                     (KUBERNETES_SERVICE_HOST/PORT, ...), every Service of the namespace
//	                                     unless enableServiceLinks: false; lowest precedence.
//	containers[].resources               limits → Container Cpu/Memory (a container without a limit may use
//	                                     the whole instance, as on a node); nvidia.com/gpu → Gpu (needs a
//	                                     GPU ECS type in eci-use-specs, else InvalidSpec). Other resources:
//	                                     ignored (warning). resources.claims: refused.
//	instance Cpu/Memory                  per resource the limit, else the request; app containers and
//	                                     sidecars add up, each init container counts alone (with the
//	                                     sidecars before it), spec.resources (pod level) raises it; rounded
//	                                     UP to the nearest size in SupportedSpecs (fewest vCPUs, then least
//	                                     memory). Nothing set → ECI's default 2 vCPU / 4 GiB, sent
//	                                     explicitly (warning: it is billed). Beyond 64 vCPU / 512 GiB →
//	                                     TooLarge. With eci-use-specs no instance Cpu/Memory is sent.
//	ephemeral-storage                    beyond the 30 GiB every instance has → EphemeralStorage extra GiB
//	                                     (warning), unless eci-extra-ephemeral-storage is set.
//	livenessProbe, readinessProbe        exec / httpGet (named ports resolved) / tcpSocket with thresholds.
//	                                     grpc → TCP check of the port (warning). httpGet host and headers:
//	                                     ignored (warning). Readiness successThreshold > 1 → 1 (ECI
//	                                     requires it; warning). Per-probe grace period: ignored (warning).
//	startupProbe                         ECI has none: folded into the liveness probe's initialDelaySeconds
//	                                     (startup initialDelay + period × failureThreshold; warning); with no
//	                                     liveness probe it is ignored (warning).
//	lifecycle postStart/preStop          exec, httpGet (host, headers, named port), tcpSocket supported;
//	                                     sleep → exec ["sleep", "N"] (warning). stopSignal: ignored.
//	securityContext (container)          runAsUser, runAsGroup, runAsNonRoot (pod values as defaults),
//	                                     capabilities.add, readOnlyRootFilesystem, privileged (app
//	                                     containers). Init containers: runAsUser, capabilities.add,
//	                                     readOnlyRootFilesystem only; runAsGroup/runAsNonRoot ignored;
//	                                     privileged refused. capabilities.drop, allowPrivilegeEscalation:
//	                                     false, seccomp/AppArmor/SELinux profiles, procMount, Windows options:
//	                                     ignored — listed in one warning per pod.
//	securityContext (pod)                sysctls: the kubelet's safe set → SecurityContext, all others →
//	                                     HostSecurityContext. fsGroup(ChangePolicy), supplementalGroups(Policy),
//	                                     seccomp/AppArmor/SELinux, hostUsers: false → ignored (same warning).
//	stdin, stdinOnce, tty                supported
//	terminationMessagePath/Policy        sent when not the Kubernetes default
//	initContainers                       supported (no probes or hooks, as in Kubernetes). Sidecars
//	                                     (restartPolicy: Always) → first application containers,
//	                                     listed in Options.SidecarContainers (warning: they no longer start
//	                                     before the init containers).
//	volumeMounts                         name, mountPath, subPath, subPathExpr (expanded; a pod-IP reference
//	                                     is refused), readOnly, mountPropagation. recursiveReadOnly: Enabled
//	                                     refused; bindMountOptions ignored (security warning).
//	volumeDevices                        refused (no raw block devices)
//	volumes: emptyDir                    EmptyDirVolume; medium Memory, sizeLimit; HugePages refused;
//	                                     mode ignored (warning)
//	volumes: configMap, secret,          ConfigFileVolume: Base64 files with items (key → path), per-item
//	downwardAPI, projected               mode, defaultMode, optional (missing optional source → empty dir).
//	                                     Mounted read-only like Kubernetes API data volumes. A file over
//	                                     ECI's 32 KiB → TooLarge. Labels/annotations files are a snapshot
//	                                     (warning). File owners (defaultUser/user) ignored (warning).
//	                                     clusterTrustBundle, podCertificate sources: refused.
//	projected serviceAccountToken        a TokenRequest bound to the pod (audience, expirationSeconds,
//	(and kube-api-access-*)              default 3600) issued last and only for a pod that can be created;
//	                                     ca.crt from ConfigMap kube-root-ca.crt and the namespace file come
//	                                     from the generic projected handling. ECI files are static: each
//	                                     token is issued once and never refreshed. kube-api-access tokens
//	                                     ask for 3607 s, which the API server's default
//	                                     --service-account-extend-token-expiration makes last a year; any
//	                                     other token expires after its expirationSeconds (or the API
//	                                     server's shorter --service-account-max-token-expiration), and one
//	                                     that lasts less than 24 h gives a TokenExpires warning naming the
//	                                     file, the time and what to do (ask for longer, or have the
//	                                     workload request its own tokens).
//	volumes: persistentVolumeClaim,      resolved through the claim's bound PersistentVolume: NFS →
//	ephemeral                            NFSVolume; CSI diskplugin.csi.alibabacloud.com → DiskVolume (disk ID
//	                                     = volumeHandle, fsType); CSI nasplugin.csi.alibabacloud.com →
//	                                     NFSVolume (server/path attributes); FlexVolume → FlexVolume.
//	                                     Read-only claims mount read-only. Unbound or missing →
//	                                     MissingReference (retryable). Block mode, local/hostPath and other
//	                                     drivers → refused (use NAS or an Alibaba Cloud disk). mountOptions
//	                                     ignored (warning).
//	volumes: nfs, flexVolume             NFSVolume / FlexVolume (options as JSON); FlexVolume secretRef
//	                                     refused.
//	volumes: hostPath                    refused: "use emptyDir, a cloud disk, or NAS (NFS) instead"
//	volumes: image, gitRepo, csi (inline), refused with an alternative (init container into an emptyDir,
//	iscsi, rbd, cephfs, ... (all others)  a PVC, or emptyDir / cloud disk / NAS)
//	restartPolicy                        Always | OnFailure | Never
//	terminationGracePeriodSeconds,       supported (0 is sent: it means "kill at once")
//	activeDeadlineSeconds
//	shareProcessNamespace                supported
//	dnsPolicy ClusterFirst (default),    DnsPolicy None + DnsConfig as the kubelet writes resolv.conf: the
//	ClusterFirstWithHostNet              VNode's cluster DNS servers, searches <ns>.svc.<domain>
//	                                     svc.<domain> <domain>, ndots:5, merged with dnsConfig (servers and
//	                                     searches appended without duplicates, options replaced by name;
//	                                     over 3 servers / 32 searches dropped with a warning, as the
//	                                     kubelet). The cluster DNS servers: the VNode's --cluster-dns, else
//	                                     (cluster IP access on) the ClusterIP of kube-system/kube-dns, read
//	                                     for each pod. None of them → Default (warning). A pod opted out of
//	                                     kube-proxy → Default (KubeProxyDisabled warning: the DNS Service
//	                                     is a ClusterIP only kube-proxy makes reachable).
//	dnsPolicy Default                    DnsPolicy Default (ECI's VPC resolvers); dnsConfig cannot be
//	                                     merged: ignored (warning)
//	dnsPolicy None                       DnsPolicy None + dnsConfig
//	hostAliases                          HostAliase (then eci-custom-hosts entries)
//	hostname, subdomain,                 HostName as the kubelet: hostnameOverride, else hostname, else the
//	setHostnameAsFQDN, hostnameOverride  pod name cut to 63; with setHostnameAsFQDN the FQDN
//	                                     <hostname>.<subdomain>.<ns>.svc.<domain> (over 64 → InvalidSpec).
//	                                     The kubelet's "<pod IP> <FQDN> <hostname>" /etc/hosts line cannot be
//	                                     sent (the IP is unknown before placement); the FQDN still resolves
//	                                     through cluster DNS.
//	imagePullSecrets                     kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg; "auth"
//	                                     (base64 user:password) or username/password → one
//	                                     ImageRegistryCredential per registry host (scheme and path
//	                                     stripped; first Secret wins). Missing Secrets, other types,
//	                                     token-only entries: skipped (warning), as the kubelet pulls without.
//	hostNetwork                          refused: "use a Service of type LoadBalancer"
//	hostPID, hostIPC                     refused: unsupported on ECI (isolated VM; shareProcessNamespace for
//	                                     processes within the pod)
//	DaemonSet-owned pods                 refused: "use a sidecar container in the pod instead"
//	os.name windows, resourceClaims      refused
//	ephemeralContainers, runtimeClassName ignored (warning)
//	resizePolicy, restartPolicyRules     ignored (warning)
//	nodeName, nodeSelector, affinity,    used by Kubernetes to schedule the pod onto the VNode; nothing to
//	tolerations, priority*, scheduler*,  send
//	topologySpreadConstraints,
//	readinessGates, overhead, ...
//
// # Annotations
//
// Every annotation of the ECI pod annotation list is validated; an invalid
// value is an InvalidAnnotation problem naming the key, the value and what
// is wanted. Pod annotations win over the VNode's defaults. Unknown keys in
// ECI's families (k8s.aliyun.com/eci-*, eip-*, imc-*, acr-*) give a
// warning; the keys a virtual kubelet writes back (eci-instance-id, ...)
// are outputs and skipped.
//
//	annotation (k8s.aliyun.com/...)      parameter / handling
//	-----------------------------------  ----------------------------------------------------------------
//	eci-vswitch                          VSwitchId (≤10 vsw- IDs); the VNode's single ZoneId is then not sent
//	eci-schedule-strategy                ScheduleStrategy (VSwitchOrdered | VSwitchRandom)
//	eci-security-group                   SecurityGroupId; several IDs refused (the API takes one)
//	eci-resource-group-id (legacy)       ResourceGroupId
//	eci-use-specs                        InstanceType (≤5 of <cpu>-<mem>Gi or ecs.*); warning for a spec
//	                                     smaller than the containers
//	eci-gpu-driver-version               GpuDriverVersion (tesla=<version>)
//	eci-compute-category                 ComputeCategory (economy, general)
//	eci-cpu-option-core / -ht (legacy)   CpuOptionsCore / CpuOptionsThreadsPerCore (1–2)
//	eci-extra-ephemeral-storage          EphemeralStorage (quantity rounded up to GiB, or whole GiB)
//	eci-spot-strategy                    SpotStrategy; SpotWithPriceLimit requires eci-spot-price-limit
//	eci-spot-price-limit                 SpotPriceLimit (> 0, ≤ 3 decimals); only with SpotWithPriceLimit
//	eci-spot-duration                    SpotDuration (hours ≥ 0); no effect without spot (warning)
//	eci-spot-fallback                    Options.SpotFallback (the runtime retries pay-as-you-go)
//	eci-fail-strategy                    Options.FailStrategy (fail-back default | fail-over | fail-fast)
//	pod-fail-on-create-err (legacy)      "true" → Options.FailStrategy fail-fast (eci-fail-strategy wins)
//	eci-max-pending-minute               MaxPendingMinute (10–1440)
//	eci-custom-tags                      Tag (≤3 key:value)
//	eci-custom-hosts                     HostAliase (JSON [{"host","ip"}])
//	eci-custom-dnsconfig                 merged into DnsConfig (JSON nameservers/searches/options, strings
//	                                     or lists); under dnsPolicy Default it replaces ECI's resolvers
//	eci-ram-role-name                    RamRoleName
//	eci-ntp-server                       NtpServer
//	eci-core-pattern                     CorePattern (absolute path)
//	eci-auto-imc, eci-image-cache (leg.) AutoMatchImageCache
//	eci-imc-id, eci-image-snapshot-id    ImageSnapshotId (imc-); legacy and new key must agree
//	acr-instance-ids, acr-instance-id    AcrRegistryInfo (cri- or <region>:cri-; default region the VNode's)
//	acr-service-arns, acr-user-arns      AcrRegistryInfo ArnService / ArnUser (one for all, or one each)
//	plain-http-registry, insecure-registry PlainHttpRegistry / InsecureRegistry
//	eci-data-cache-bucket, -pl,          DataCacheBucket, DataCachePL (PL0–PL3), DataCacheProvisionedIops,
//	-provisionedIops, -burstingEnabled   DataCacheBurstingEnabled; the others need the bucket (warning)
//	eci-eip-instanceid                   EipInstanceId (eip-); conflicts with eci-with-eip: "true"
//	eci-with-eip                         AutoCreateEip
//	eip-bandwidth, eip-isp               EipBandwidth (Mbit/s), EipISP (BGP | BGP_PRO); need eci-with-eip
//	eip-common-bandwidth-package-id      EipCommonBandwidthPackage (cbwp-)
//	eci-enable-ipv6                      Ipv6AddressCount = 1
//	eci-ipv6-bandwidth-enable            Ipv6GatewayBandwidthEnable
//	eci-ipv6-bandwidth                   Ipv6GatewayBandwidth in Mbit/s ("100M" or "100")
//	eci-private-ip-address               PrivateIpAddress (IPv4)
//	eci-fixed-ip, -retain-hour           FixedIp, FixedIpRetainHour (≥ 1)
//	kubernetes.io/ingress-bandwidth,     IngressBandwidth / EgressBandwidth in bit/s ("10M" = 10 Mbit/s;
//	kubernetes.io/egress-bandwidth       1k–1P, the kubelet's bounds)
//	eci-instance-family, -generation,    validated where they have a format, then a NoEffect warning: the
//	eci-privatepool-*, imc-perfect-match, CreateContainerGroup API has no parameter for them
//	imc-match-count-request,
//	eip-internet-charge-type,
//	eip-public-ip-address-pool-id,
//	eci-ephemeral-storage-options,
//	eci-eviction-enable, eci-sls-enable,
//	eci-reschedule-enable (legacy)
//
// # Cluster IP access (kube-proxy)
//
// With VNode.KubeProxy set, every instance gets one container more,
// KubeProxyContainer: kube-proxy in iptables mode (KubeProxyCommand), with
// the capabilities NET_ADMIN and NET_RAW only, sized 0.1 vCPU / 0.125 GiB
// added to the pod's own size before rounding (a warning says when that
// makes the instance larger), and a ConfigFileVolume of the same name with
// its kubeconfig (the VNode's API server URL, the CA of the pod namespace's
// ConfigMap kube-root-ca.crt) and a token of the kube-proxy's
// ServiceAccount. The token is issued with the pod's own tokens, by the
// same TokenRequest call, for a year and not bound to the pod: the API
// server binds a token only to a pod that runs as the same ServiceAccount.
// Result.KubeProxyToken has its times; the runtime replaces it in the
// running instance before it expires with the volume KubeProxyVolume
// builds, except for restartPolicy Never pods (KubeProxyTokenRefreshed),
// whose token, when the API server cut it short, is reported
// (TokenExpires). The container and volume names are reserved
// (InvalidSpec).
//
//	annotation                           handling
//	-----------------------------------  ----------------------------------------------------------------
//	eci-vnode.io/kube-proxy              "disabled": no kube-proxy container, and ClusterFirst DNS becomes
//	                                     Default (warning KubeProxyDisabled); "enabled": the default; other
//	                                     values → InvalidAnnotation
//
// # Placement defaults from the VNode
//
// VSwitchIDs, SecurityGroupID, ResourceGroupID, ScheduleStrategy and Tags
// apply to every pod; a VNode with exactly one zone also sends it as ZoneId
// (dropped when the pod names its own vSwitches, whose zone then decides).
//
// # Defaults from the VNode
//
// SpotStrategy (with SpotPriceLimit, for SpotWithPriceLimit only) and
// AutoMatchImageCache apply to every pod that does not set them:
//
//   - a pod with eci-spot-strategy replaces the VNode's spot settings as a
//     whole: its SpotWithPriceLimit needs its own eci-spot-price-limit, and
//     its NoSpot or SpotAsPriceGo gets no price limit from the VNode;
//   - a pod with eci-spot-price-limit but no eci-spot-strategy keeps the
//     VNode's strategy, which must then be SpotWithPriceLimit (the pod's
//     price wins); eci-spot-duration and eci-spot-fallback count the VNode's
//     strategy as the pod's;
//   - eci-auto-imc (or its legacy eci-image-cache) wins over the VNode's
//     AutoMatchImageCache, "false" included.
//
// A VNode whose own spot settings are inconsistent (an unknown strategy, a
// price limit without SpotWithPriceLimit or the reverse) fails every pod
// with InvalidNodeConfig; `eci-vnode node` refuses such flags at start.
//
// # What the runtime must do around translation
//
//   - Run the virtual-kubelet PodController with SkipDownwardAPIResolution:
//     true; this package resolves the environment itself (the library
//     rejects status.podIP and never resolves resourceFieldRef).
//   - Honour Options (fail strategy, spot fallback, sidecar status).
//   - Hide KubeProxyContainer from the pod's status, logs and exec: it is
//     the VNode's, not the pod's.
package translate
