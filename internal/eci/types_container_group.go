package eci

// Response types of DescribeContainerGroups
// (https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-describecontainergroups;
// statuses and events in docs/design.md, "ECI API facts", "Status and
// events"). JSON names are the API's; Go names follow Go conventions.

// Container group statuses.
const (
	StatusPending        = "Pending"
	StatusRunning        = "Running"
	StatusSucceeded      = "Succeeded"
	StatusFailed         = "Failed"
	StatusScheduling     = "Scheduling"
	StatusScheduleFailed = "ScheduleFailed"
	StatusRestarting     = "Restarting"
	StatusUpdating       = "Updating"
	StatusTerminating    = "Terminating"
	StatusExpired        = "Expired"
)

// IsTerminalStatus reports whether a group in this status will not run again.
func IsTerminalStatus(status string) bool {
	switch status {
	case StatusSucceeded, StatusFailed, StatusScheduleFailed, StatusExpired:
		return true
	}
	return false
}

// ContainerGroup is one instance as DescribeContainerGroups reports it.
type ContainerGroup struct {
	ContainerGroupID   string  `json:"ContainerGroupId"`
	ContainerGroupName string  `json:"ContainerGroupName"`
	Status             string  `json:"Status"`
	RegionID           string  `json:"RegionId"`
	ZoneID             string  `json:"ZoneId"`
	VpcID              string  `json:"VpcId"`
	VSwitchID          string  `json:"VSwitchId"`
	SecurityGroupID    string  `json:"SecurityGroupId"`
	ResourceGroupID    string  `json:"ResourceGroupId"`
	InstanceType       string  `json:"InstanceType"`
	ComputeCategory    string  `json:"ComputeCategory"`
	CPU                float64 `json:"Cpu"`
	Memory             float64 `json:"Memory"`
	EphemeralStorage   int32   `json:"EphemeralStorage"`
	RestartPolicy      string  `json:"RestartPolicy"`
	DNSPolicy          string  `json:"DnsPolicy"`
	RAMRoleName        string  `json:"RamRoleName"`
	SpotStrategy       string  `json:"SpotStrategy"`
	SpotPriceLimit     float64 `json:"SpotPriceLimit"`
	Discount           int32   `json:"Discount"`

	IntranetIP            string `json:"IntranetIp"`
	InternetIP            string `json:"InternetIp"`
	IPv6Address           string `json:"Ipv6Address"`
	EniInstanceID         string `json:"EniInstanceId"`
	TenantEniInstanceID   string `json:"TenantEniInstanceId"`
	TenantEniIP           string `json:"TenantEniIp"`
	TenantSecurityGroupID string `json:"TenantSecurityGroupId"`
	TenantVSwitchID       string `json:"TenantVSwitchId"`

	// Timestamps are RFC 3339 UTC strings, e.g. 2018-08-02T15:00:00Z.
	CreationTime  string `json:"CreationTime"`
	SucceededTime string `json:"SucceededTime"`
	FailedTime    string `json:"FailedTime"`
	ExpiredTime   string `json:"ExpiredTime"`

	Containers         []ContainerInfo     `json:"Containers"`
	InitContainers     []InitContainerInfo `json:"InitContainers"`
	Volumes            []VolumeInfo        `json:"Volumes"`
	Events             []Event             `json:"Events"`
	Tags               []Tag               `json:"Tags"`
	HostAliases        []HostAliasInfo     `json:"HostAliases"`
	DNSConfig          *DNSConfigInfo      `json:"DnsConfig"`
	EciSecurityContext *SysctlContextInfo  `json:"EciSecurityContext"`
}

// Tag returns the value of tag key and whether it is set.
func (g *ContainerGroup) Tag(key string) (string, bool) {
	for _, t := range g.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// StockOut reports whether the group failed to schedule for lack of
// capacity: ECI accepts the create, then the group turns ScheduleFailed with
// a NoStock / StockExhaust / StockClose event. Callers usually retry such a
// pod with another zone, spec or instance type; ClassNoStock names the same
// condition when it comes back as an API error.
func (g *ContainerGroup) StockOut() bool {
	if g.Status != StatusScheduleFailed {
		return false
	}
	for _, e := range g.Events {
		if classifyCode(e.Reason, 0, "") == ClassNoStock {
			return true
		}
	}
	return false
}

// ContainerInfo is an application container of a described group.
type ContainerInfo struct {
	Name            string               `json:"Name"`
	Image           string               `json:"Image"`
	ImagePullPolicy string               `json:"ImagePullPolicy"`
	Commands        []string             `json:"Commands"`
	Args            []string             `json:"Args"`
	WorkingDir      string               `json:"WorkingDir"`
	CPU             float64              `json:"Cpu"`
	Memory          float64              `json:"Memory"`
	GPU             int32                `json:"Gpu"`
	Ready           bool                 `json:"Ready"`
	RestartCount    int32                `json:"RestartCount"`
	Stdin           bool                 `json:"Stdin"`
	StdinOnce       bool                 `json:"StdinOnce"`
	TTY             bool                 `json:"Tty"`
	CurrentState    ContainerState       `json:"CurrentState"`
	PreviousState   ContainerState       `json:"PreviousState"`
	EnvironmentVars []EnvVarInfo         `json:"EnvironmentVars"`
	Ports           []PortInfo           `json:"Ports"`
	VolumeMounts    []VolumeMountInfo    `json:"VolumeMounts"`
	LivenessProbe   *ProbeInfo           `json:"LivenessProbe"`
	ReadinessProbe  *ProbeInfo           `json:"ReadinessProbe"`
	SecurityContext *SecurityContextInfo `json:"SecurityContext"`
}

// InitContainerInfo is an init container of a described group. Note the API
// spells its command list "Command" here and "Commands" for containers.
type InitContainerInfo struct {
	Name            string               `json:"Name"`
	Image           string               `json:"Image"`
	ImagePullPolicy string               `json:"ImagePullPolicy"`
	Command         []string             `json:"Command"`
	Args            []string             `json:"Args"`
	WorkingDir      string               `json:"WorkingDir"`
	CPU             float64              `json:"Cpu"`
	Memory          float64              `json:"Memory"`
	GPU             int32                `json:"Gpu"`
	Ready           bool                 `json:"Ready"`
	RestartCount    int32                `json:"RestartCount"`
	CurrentState    ContainerState       `json:"CurrentState"`
	PreviousState   ContainerState       `json:"PreviousState"`
	EnvironmentVars []EnvVarInfo         `json:"EnvironmentVars"`
	Ports           []PortInfo           `json:"Ports"`
	VolumeMounts    []VolumeMountInfo    `json:"VolumeMounts"`
	SecurityContext *SecurityContextInfo `json:"SecurityContext"`
}

// Container states.
const (
	ContainerWaiting    = "Waiting"
	ContainerRunning    = "Running"
	ContainerTerminated = "Terminated"
)

// ContainerState is a container's current or previous state.
type ContainerState struct {
	State        string `json:"State"` // Waiting | Running | Terminated
	DetailStatus string `json:"DetailStatus"`
	Reason       string `json:"Reason"`
	Message      string `json:"Message"`
	ExitCode     int32  `json:"ExitCode"`
	Signal       int32  `json:"Signal"`
	StartTime    string `json:"StartTime"`
	FinishTime   string `json:"FinishTime"`
}

// EnvVarInfo is a described environment variable.
type EnvVarInfo struct {
	Key       string `json:"Key"`
	Value     string `json:"Value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `json:"FieldPath"`
		} `json:"FieldRef"`
	} `json:"ValueFrom"`
}

// PortInfo is a described container port.
type PortInfo struct {
	Port     int32  `json:"Port"`
	Protocol string `json:"Protocol"`
}

// VolumeMountInfo is a described volume mount.
type VolumeMountInfo struct {
	Name             string `json:"Name"`
	MountPath        string `json:"MountPath"`
	ReadOnly         bool   `json:"ReadOnly"`
	SubPath          string `json:"SubPath"`
	MountPropagation string `json:"MountPropagation"`
}

// ProbeInfo is a described probe.
type ProbeInfo struct {
	Execs   []string `json:"Execs"`
	HTTPGet *struct {
		Path   string `json:"Path"`
		Port   int32  `json:"Port"`
		Scheme string `json:"Scheme"`
	} `json:"HttpGet"`
	TCPSocket *struct {
		Host string `json:"Host"`
		Port int32  `json:"Port"`
	} `json:"TcpSocket"`
	InitialDelaySeconds int32 `json:"InitialDelaySeconds"`
	PeriodSeconds       int32 `json:"PeriodSeconds"`
	TimeoutSeconds      int32 `json:"TimeoutSeconds"`
	SuccessThreshold    int32 `json:"SuccessThreshold"`
	FailureThreshold    int32 `json:"FailureThreshold"`
}

// SecurityContextInfo is a described container security context.
type SecurityContextInfo struct {
	Capability *struct {
		Adds []string `json:"Adds"`
	} `json:"Capability"`
	ReadOnlyRootFilesystem bool  `json:"ReadOnlyRootFilesystem"`
	RunAsUser              int64 `json:"RunAsUser"`
}

// VolumeInfo is a described volume; the API flattens the source fields.
type VolumeInfo struct {
	Name                              string `json:"Name"`
	Type                              string `json:"Type"`
	NFSVolumePath                     string `json:"NFSVolumePath"`
	NFSVolumeServer                   string `json:"NFSVolumeServer"`
	NFSVolumeReadOnly                 bool   `json:"NFSVolumeReadOnly"`
	DiskVolumeDiskID                  string `json:"DiskVolumeDiskId"`
	DiskVolumeFsType                  string `json:"DiskVolumeFsType"`
	EmptyDirVolumeMedium              string `json:"EmptyDirVolumeMedium"`
	EmptyDirVolumeSizeLimit           string `json:"EmptyDirVolumeSizeLimit"`
	FlexVolumeDriver                  string `json:"FlexVolumeDriver"`
	FlexVolumeFsType                  string `json:"FlexVolumeFsType"`
	FlexVolumeOptions                 string `json:"FlexVolumeOptions"`
	ConfigFileVolumeConfigFileToPaths []struct {
		Content string `json:"Content"`
		Path    string `json:"Path"`
	} `json:"ConfigFileVolumeConfigFileToPaths"`
}

// Event is an instance event (e.g. reason NoStock on a ScheduleFailed group).
type Event struct {
	Name           string `json:"Name"`
	Type           string `json:"Type"` // Normal | Warning
	Reason         string `json:"Reason"`
	Message        string `json:"Message"`
	Count          int32  `json:"Count"`
	FirstTimestamp string `json:"FirstTimestamp"`
	LastTimestamp  string `json:"LastTimestamp"`
}

// HostAliasInfo is a described /etc/hosts entry.
type HostAliasInfo struct {
	IP        string   `json:"Ip"`
	Hostnames []string `json:"Hostnames"`
}

// DNSConfigInfo is a described DNS configuration.
type DNSConfigInfo struct {
	NameServers []string `json:"NameServers"`
	Searches    []string `json:"Searches"`
	Options     []struct {
		Name  string `json:"Name"`
		Value string `json:"Value"`
	} `json:"Options"`
}

// SysctlContextInfo is the described pod-level security context.
type SysctlContextInfo struct {
	Sysctls []struct {
		Name  string `json:"Name"`
		Value string `json:"Value"`
	} `json:"Sysctls"`
}
