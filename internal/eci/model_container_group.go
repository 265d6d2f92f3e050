package eci

// This file is the request model of CreateContainerGroup, API version
// 2018-08-08, with the complete current parameter set of
// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-createcontainergroup.
// It is the contract between runtime/translate (which builds it from a pod)
// and this client (which encodes it, see wire.go). Go names follow Go
// conventions; the `wire` tag is the exact API spelling.
//
// Zero values: plain fields are not sent when zero. Fields whose zero value is
// meaningful and differs from the API default (a boolean false, a probe
// threshold, a file mode, RunAsUser 0 = root, a grace period of 0) are
// pointers: nil means "not set, let ECI apply its default". Use Ptr(v) or
// new(v) to set them.

// Ptr returns a pointer to v, for the optional fields of the request model.
func Ptr[T any](v T) *T { return &v }

// Values the API documents for the enumerated fields used most often.
const (
	RestartPolicyAlways    = "Always"
	RestartPolicyNever     = "Never"
	RestartPolicyOnFailure = "OnFailure"

	ImagePullPolicyAlways       = "Always"
	ImagePullPolicyIfNotPresent = "IfNotPresent"
	ImagePullPolicyNever        = "Never"

	SpotStrategyNoSpot             = "NoSpot"
	SpotStrategySpotWithPriceLimit = "SpotWithPriceLimit"
	SpotStrategySpotAsPriceGo      = "SpotAsPriceGo"

	ScheduleStrategyVSwitchOrdered = "VSwitchOrdered"
	ScheduleStrategyVSwitchRandom  = "VSwitchRandom"

	DNSPolicyNone    = "None"
	DNSPolicyDefault = "Default"

	VolumeTypeEmptyDir   = "EmptyDirVolume"
	VolumeTypeNFS        = "NFSVolume"
	VolumeTypeConfigFile = "ConfigFileVolume"
	VolumeTypeDisk       = "DiskVolume"
	VolumeTypeFlex       = "FlexVolume"
	VolumeTypeHostPath   = "HostPathVolume"
)

// CreateContainerGroupRequest is every parameter of CreateContainerGroup
// except RegionId, which the client fills in from its configuration.
type CreateContainerGroupRequest struct {
	// ContainerGroupName: 2–128 chars, lowercase letters, digits, hyphens. Required.
	ContainerGroupName string `wire:"ContainerGroupName"`
	// ClientToken makes the call idempotent (ASCII, ≤64 chars). The client
	// refuses to send a create without one, because it retries creates.
	ClientToken string `wire:"ClientToken"`
	// DryRun asks ECI to only validate; success comes back as DryRunOperation.
	DryRun bool `wire:"DryRun"`

	// Placement.
	ZoneID           string   `wire:"ZoneId"`
	VSwitchIDs       []string `wire:"VSwitchId,comma"` // up to 10, sent comma-separated
	SecurityGroupID  string   `wire:"SecurityGroupId"`
	ResourceGroupID  string   `wire:"ResourceGroupId"`
	ScheduleStrategy string   `wire:"ScheduleStrategy"`

	// Size and hardware.
	CPU                      float64  `wire:"Cpu"`
	Memory                   float64  `wire:"Memory"` // GiB
	InstanceTypes            []string `wire:"InstanceType,comma"`
	ComputeCategory          []string `wire:"ComputeCategory"` // economy | general
	CPUArchitecture          string   `wire:"CpuArchitecture"` // AMD64 | ARM64
	CPUOptionsCore           int32    `wire:"CpuOptionsCore"`
	CPUOptionsNuma           string   `wire:"CpuOptionsNuma"`
	CPUOptionsThreadsPerCore int32    `wire:"CpuOptionsThreadsPerCore"`
	EphemeralStorage         int32    `wire:"EphemeralStorage"` // extra GiB
	GPUDriverVersion         string   `wire:"GpuDriverVersion"`
	OSType                   string   `wire:"OsType"` // Linux | Windows

	// Preemptible instances.
	SpotStrategy   string  `wire:"SpotStrategy"`
	SpotPriceLimit float64 `wire:"SpotPriceLimit"`
	SpotDuration   *int64  `wire:"SpotDuration"` // hours; 0 = no protection period
	StrictSpot     *bool   `wire:"StrictSpot"`

	// Pod shape.
	Containers                    []Container     `wire:"Container"`
	InitContainers                []InitContainer `wire:"InitContainer"`
	Volumes                       []Volume        `wire:"Volume"`
	RestartPolicy                 string          `wire:"RestartPolicy"`
	TerminationGracePeriodSeconds *int64          `wire:"TerminationGracePeriodSeconds"`
	ActiveDeadlineSeconds         *int64          `wire:"ActiveDeadlineSeconds"`
	ShareProcessNamespace         *bool           `wire:"ShareProcessNamespace"`
	ContainerResourceView         *bool           `wire:"ContainerResourceView"`
	CorePattern                   string          `wire:"CorePattern"`
	MaxPendingMinute              int32           `wire:"MaxPendingMinute"`

	// Security.
	SecurityContext     *PodSecurityContext `wire:"SecurityContext"`     // safe sysctls
	HostSecurityContext *PodSecurityContext `wire:"HostSecurityContext"` // unsafe sysctls
	RAMRoleName         string              `wire:"RamRoleName"`

	// DNS and host identity.
	DNSPolicy   string      `wire:"DnsPolicy"`
	DNSConfig   *DNSConfig  `wire:"DnsConfig"`
	HostAliases []HostAlias `wire:"HostAliase"` // sic: the API spells it HostAliase
	HostName    string      `wire:"HostName"`
	NTPServers  []string    `wire:"NtpServer"`

	// Networking.
	AutoCreateEIP              *bool  `wire:"AutoCreateEip"`
	EIPBandwidth               int32  `wire:"EipBandwidth"` // Mbit/s
	EIPCommonBandwidthPackage  string `wire:"EipCommonBandwidthPackage"`
	EIPISP                     string `wire:"EipISP"`
	EIPInstanceID              string `wire:"EipInstanceId"`
	PrivateIPAddress           string `wire:"PrivateIpAddress"`
	FixedIP                    *bool  `wire:"FixedIp"`
	FixedIPRetainHour          *int32 `wire:"FixedIpRetainHour"`
	IPv6AddressCount           int32  `wire:"Ipv6AddressCount"`
	IPv6GatewayBandwidth       string `wire:"Ipv6GatewayBandwidth"`
	IPv6GatewayBandwidthEnable *bool  `wire:"Ipv6GatewayBandwidthEnable"`
	IngressBandwidth           int64  `wire:"IngressBandwidth"` // bit/s
	EgressBandwidth            int64  `wire:"EgressBandwidth"`  // bit/s

	// Images.
	ImageRegistryCredentials []ImageRegistryCredential `wire:"ImageRegistryCredential"`
	ACRRegistryInfos         []ACRRegistryInfo         `wire:"AcrRegistryInfo"`
	AutoMatchImageCache      *bool                     `wire:"AutoMatchImageCache"`
	ImageSnapshotID          string                    `wire:"ImageSnapshotId"`
	ImageAccelerateMode      string                    `wire:"ImageAccelerateMode"`
	PlainHTTPRegistries      []string                  `wire:"PlainHttpRegistry,comma"`
	InsecureRegistries       []string                  `wire:"InsecureRegistry,comma"`

	// Data caches.
	DataCacheBucket          string `wire:"DataCacheBucket"`
	DataCachePL              string `wire:"DataCachePL"`
	DataCacheBurstingEnabled *bool  `wire:"DataCacheBurstingEnabled"`
	DataCacheProvisionedIOPS int64  `wire:"DataCacheProvisionedIops"`

	// Tags: at most 20 per instance.
	Tags []Tag `wire:"Tag"`

	// RAM delegation parameters, rarely used.
	OwnerID              int64  `wire:"OwnerId"`
	OwnerAccount         string `wire:"OwnerAccount"`
	ResourceOwnerID      int64  `wire:"ResourceOwnerId"`
	ResourceOwnerAccount string `wire:"ResourceOwnerAccount"`
}

// Container is one application container (Container.N.*).
type Container struct {
	Name            string   `wire:"Name"`  // required
	Image           string   `wire:"Image"` // required
	ImagePullPolicy string   `wire:"ImagePullPolicy"`
	Commands        []string `wire:"Command"`
	Args            []string `wire:"Arg"`
	WorkingDir      string   `wire:"WorkingDir"`

	CPU    float64 `wire:"Cpu"`
	Memory float64 `wire:"Memory"` // GiB
	GPU    int32   `wire:"Gpu"`

	EnvironmentVars    []EnvVar      `wire:"EnvironmentVar"`
	EnvironmentVarHide *bool         `wire:"EnvironmentVarHide"`
	Ports              []Port        `wire:"Port"`
	VolumeMounts       []VolumeMount `wire:"VolumeMount"`

	LivenessProbe  *Probe `wire:"LivenessProbe"`
	ReadinessProbe *Probe `wire:"ReadinessProbe"`

	// The API spells hooks flat: LifecyclePostStartHandlerHttpGetPort.
	PostStart *LifecycleHandler `wire:"LifecyclePostStartHandler,flat"`
	PreStop   *LifecycleHandler `wire:"LifecyclePreStopHandler,flat"`

	SecurityContext *ContainerSecurityContext `wire:"SecurityContext,flat"`

	Stdin     *bool `wire:"Stdin"`
	StdinOnce *bool `wire:"StdinOnce"`
	TTY       *bool `wire:"Tty"`

	TerminationMessagePath   string `wire:"TerminationMessagePath"`
	TerminationMessagePolicy string `wire:"TerminationMessagePolicy"`
}

// InitContainer is one init container (InitContainer.N.*). The API accepts a
// smaller set of fields than for Container: no probes, hooks or TTY.
type InitContainer struct {
	Name            string   `wire:"Name"`
	Image           string   `wire:"Image"`
	ImagePullPolicy string   `wire:"ImagePullPolicy"`
	Commands        []string `wire:"Command"`
	Args            []string `wire:"Arg"`
	WorkingDir      string   `wire:"WorkingDir"`

	CPU    float64 `wire:"Cpu"`
	Memory float64 `wire:"Memory"`
	GPU    int32   `wire:"Gpu"`

	EnvironmentVars []EnvVar      `wire:"EnvironmentVar"`
	Ports           []Port        `wire:"Port"`
	VolumeMounts    []VolumeMount `wire:"VolumeMount"`

	SecurityContext *InitContainerSecurityContext `wire:"SecurityContext"`

	TerminationMessagePath   string `wire:"TerminationMessagePath"`
	TerminationMessagePolicy string `wire:"TerminationMessagePolicy"`
}

// EnvVar is an environment variable: a literal Value or a FieldRef.
type EnvVar struct {
	Key      string    `wire:"Key"`
	Value    string    `wire:"Value"`
	FieldRef *FieldRef `wire:"FieldRef"`
}

// FieldRef selects a pod field; ECI supports only status.podIP.
type FieldRef struct {
	FieldPath string `wire:"FieldPath"`
}

// Port is a container port.
type Port struct {
	Port     int32  `wire:"Port"`
	Protocol string `wire:"Protocol"` // TCP | UDP
}

// VolumeMount mounts a Volume (by name) into a container.
type VolumeMount struct {
	Name             string `wire:"Name"`
	MountPath        string `wire:"MountPath"`
	SubPath          string `wire:"SubPath"`
	MountPropagation string `wire:"MountPropagation"` // None | HostToContainer | Bidirectional
	ReadOnly         *bool  `wire:"ReadOnly"`
}

// Probe is a liveness or readiness probe. Exactly one handler should be set.
type Probe struct {
	Exec      *ExecAction     `wire:"Exec"`
	HTTPGet   *ProbeHTTPGet   `wire:"HttpGet"`
	TCPSocket *ProbeTCPSocket `wire:"TcpSocket"`

	InitialDelaySeconds *int32 `wire:"InitialDelaySeconds"`
	PeriodSeconds       *int32 `wire:"PeriodSeconds"`
	TimeoutSeconds      *int32 `wire:"TimeoutSeconds"`
	SuccessThreshold    *int32 `wire:"SuccessThreshold"`
	FailureThreshold    *int32 `wire:"FailureThreshold"`
}

// ExecAction runs a command in the container (Exec.Command.N).
type ExecAction struct {
	Command []string `wire:"Command"`
}

// ProbeHTTPGet is a probe's HTTP GET handler.
type ProbeHTTPGet struct {
	Path   string `wire:"Path"`
	Port   int32  `wire:"Port"`
	Scheme string `wire:"Scheme"` // HTTP | HTTPS
}

// ProbeTCPSocket is a probe's TCP handler.
type ProbeTCPSocket struct {
	Port int32 `wire:"Port"`
}

// LifecycleHandler is a postStart or preStop hook. Exactly one of Exec,
// HTTPGet, TCPSocket should be set.
type LifecycleHandler struct {
	Exec      []string       `wire:"Exec"`
	HTTPGet   *HookHTTPGet   `wire:"HttpGet,flat"`
	TCPSocket *HookTCPSocket `wire:"TcpSocket,flat"`
}

// HookHTTPGet is a lifecycle hook's HTTP GET handler.
type HookHTTPGet struct {
	Host        string       `wire:"Host"`
	Path        string       `wire:"Path"`
	Port        int32        `wire:"Port"`
	Scheme      string       `wire:"Scheme"`
	HTTPHeaders []HTTPHeader `wire:"HttpHeader"`
}

// HTTPHeader is one header of a hook's HTTP GET request.
type HTTPHeader struct {
	Name  string `wire:"Name"`
	Value string `wire:"Value"`
}

// HookTCPSocket is a lifecycle hook's TCP handler.
type HookTCPSocket struct {
	Host string `wire:"Host"`
	Port int32  `wire:"Port"`
}

// ContainerSecurityContext is a container's security settings. The API
// spreads them over two spellings: SecurityContext.Capability.Add.N,
// SecurityContext.ReadOnlyRootFilesystem, SecurityContext.RunAsUser, and the
// flat SecurityContextPrivileged, SecurityContextRunAsGroup,
// SecurityContextRunAsNonRoot — hence the leading dots in the tags below.
type ContainerSecurityContext struct {
	CapabilityAdd          []string `wire:".Capability.Add"`
	ReadOnlyRootFilesystem *bool    `wire:".ReadOnlyRootFilesystem"`
	RunAsUser              *int64   `wire:".RunAsUser"`
	Privileged             *bool    `wire:"Privileged"`
	RunAsGroup             *int64   `wire:"RunAsGroup"`
	RunAsNonRoot           *bool    `wire:"RunAsNonRoot"`
}

// InitContainerSecurityContext is an init container's security settings.
type InitContainerSecurityContext struct {
	CapabilityAdd          []string `wire:"Capability.Add"`
	ReadOnlyRootFilesystem *bool    `wire:"ReadOnlyRootFilesystem"`
	RunAsUser              *int64   `wire:"RunAsUser"`
}

// PodSecurityContext carries sysctls for the whole container group.
type PodSecurityContext struct {
	Sysctls []Sysctl `wire:"Sysctl"`
}

// Sysctl is one kernel parameter.
type Sysctl struct {
	Name  string `wire:"Name"`
	Value string `wire:"Value"`
}

// Volume is one volume; set Type and the matching source struct.
type Volume struct {
	Name string `wire:"Name"`
	Type string `wire:"Type"` // one of the VolumeType* constants

	EmptyDir   *EmptyDirVolume   `wire:"EmptyDirVolume"`
	NFS        *NFSVolume        `wire:"NFSVolume"`
	ConfigFile *ConfigFileVolume `wire:"ConfigFileVolume"`
	Disk       *DiskVolume       `wire:"DiskVolume"`
	Flex       *FlexVolume       `wire:"FlexVolume"`
	HostPath   *HostPathVolume   `wire:"HostPathVolume"`
}

// EmptyDirVolume is scratch space; Medium "Memory" makes it a tmpfs.
type EmptyDirVolume struct {
	Medium    string `wire:"Medium"`
	SizeLimit string `wire:"SizeLimit"` // a quantity such as "256Mi"
}

// NFSVolume mounts an NFS (NAS) export.
type NFSVolume struct {
	Server   string `wire:"Server"`
	Path     string `wire:"Path"`
	ReadOnly *bool  `wire:"ReadOnly"`
}

// ConfigFileVolume materialises files (ConfigMap / Secret / projected
// content). Content is sent as given; ECI expects it Base64-encoded.
type ConfigFileVolume struct {
	Files       []ConfigFile `wire:"ConfigFileToPath"`
	DefaultMode *int32       `wire:"DefaultMode"`
}

// ConfigFile is one file of a ConfigFileVolume.
type ConfigFile struct {
	Path    string `wire:"Path"`
	Content string `wire:"Content"`
	Mode    *int32 `wire:"Mode"`
}

// DiskVolume mounts a cloud disk.
type DiskVolume struct {
	DiskID   string `wire:"DiskId"`
	DiskSize int32  `wire:"DiskSize"` // GiB
	FSType   string `wire:"FsType"`
}

// FlexVolume mounts through a FlexVolume driver.
type FlexVolume struct {
	Driver  string `wire:"Driver"`
	FSType  string `wire:"FsType"`
	Options string `wire:"Options"` // JSON object string
}

// HostPathVolume mounts a host path (whitelisted accounts only).
type HostPathVolume struct {
	Path string `wire:"Path"`
	Type string `wire:"Type"` // Directory | File
}

// DNSConfig is used when DNSPolicy is None.
type DNSConfig struct {
	NameServers []string    `wire:"NameServer"`
	Searches    []string    `wire:"Search"`
	Options     []DNSOption `wire:"Option"`
}

// DNSOption is one resolv.conf option.
type DNSOption struct {
	Name  string `wire:"Name"`
	Value string `wire:"Value"`
}

// HostAlias adds /etc/hosts entries.
type HostAlias struct {
	IP        string   `wire:"Ip"`
	Hostnames []string `wire:"Hostname"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `wire:"Key" json:"Key"`
	Value string `wire:"Value" json:"Value"`
}

// ImageRegistryCredential logs in to a private registry. Its String method
// hides the password so a logged request never leaks it.
type ImageRegistryCredential struct {
	Server   string `wire:"Server"`
	UserName string `wire:"UserName"`
	Password string `wire:"Password"`
}

// String implements fmt.Stringer without the password.
func (c ImageRegistryCredential) String() string {
	return "{Server:" + c.Server + " UserName:" + c.UserName + " Password:" + redacted(c.Password) + "}"
}

// GoString implements fmt.GoStringer without the password.
func (c ImageRegistryCredential) GoString() string {
	return "eci.ImageRegistryCredential" + c.String()
}

// ACRRegistryInfo names a Container Registry Enterprise Edition instance to
// pull from without explicit credentials.
type ACRRegistryInfo struct {
	InstanceID   string   `wire:"InstanceId"`
	InstanceName string   `wire:"InstanceName"`
	RegionID     string   `wire:"RegionId"`
	Domains      []string `wire:"Domain"`
	ArnService   string   `wire:"ArnService"`
	ArnUser      string   `wire:"ArnUser"`
}

// redacted hides a secret while telling whether one was set.
func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "<redacted>"
}
