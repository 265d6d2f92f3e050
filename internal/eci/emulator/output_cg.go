package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// JSON shapes of DescribeContainerGroups, from the v1 SDK structs and the
// current API (Tea SDK) response types; field names are the API's.

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

type kvOut struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type nameValueOut struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type eventOut struct {
	Count          int    `json:"Count"`
	Type           string `json:"Type"`
	Name           string `json:"Name"`
	Message        string `json:"Message"`
	FirstTimestamp string `json:"FirstTimestamp"`
	LastTimestamp  string `json:"LastTimestamp"`
	Reason         string `json:"Reason"`
}

type stateOut struct {
	State        string `json:"State"`
	DetailStatus string `json:"DetailStatus"`
	ExitCode     int    `json:"ExitCode"`
	StartTime    string `json:"StartTime"`
	FinishTime   string `json:"FinishTime"`
	Reason       string `json:"Reason"`
	Message      string `json:"Message"`
	Signal       int    `json:"Signal"`
}

type httpGetOut struct {
	Path   string `json:"Path"`
	Port   int    `json:"Port"`
	Scheme string `json:"Scheme"`
}

type tcpOut struct {
	Host string `json:"Host"`
	Port int    `json:"Port"`
}

type probeOut struct {
	InitialDelaySeconds int        `json:"InitialDelaySeconds"`
	PeriodSeconds       int        `json:"PeriodSeconds"`
	TimeoutSeconds      int        `json:"TimeoutSeconds"`
	SuccessThreshold    int        `json:"SuccessThreshold"`
	FailureThreshold    int        `json:"FailureThreshold"`
	Execs               []string   `json:"Execs"`
	HttpGet             httpGetOut `json:"HttpGet"`
	TcpSocket           tcpOut     `json:"TcpSocket"`
}

type volumeMountOut struct {
	Name             string `json:"Name"`
	MountPath        string `json:"MountPath"`
	ReadOnly         bool   `json:"ReadOnly"`
	SubPath          string `json:"SubPath,omitempty"`
	MountPropagation string `json:"MountPropagation,omitempty"`
}

type portOut struct {
	Port     int    `json:"Port"`
	Protocol string `json:"Protocol"`
}

type envOut struct {
	Key       string `json:"Key"`
	Value     string `json:"Value"`
	ValueFrom struct {
		FieldRef struct {
			FieldPath string `json:"FieldPath"`
		} `json:"FieldRef"`
	} `json:"ValueFrom"`
}

type securityContextOut struct {
	ReadOnlyRootFilesystem bool  `json:"ReadOnlyRootFilesystem"`
	RunAsUser              int64 `json:"RunAsUser"`
	Capability             struct {
		Adds []string `json:"Adds"`
	} `json:"Capability"`
}

type containerOut struct {
	Name            string             `json:"Name"`
	Image           string             `json:"Image"`
	Memory          float64            `json:"Memory"`
	Cpu             float64            `json:"Cpu"`
	RestartCount    int                `json:"RestartCount"`
	WorkingDir      string             `json:"WorkingDir"`
	ImagePullPolicy string             `json:"ImagePullPolicy"`
	Ready           bool               `json:"Ready"`
	Gpu             int                `json:"Gpu"`
	Stdin           bool               `json:"Stdin"`
	StdinOnce       bool               `json:"StdinOnce"`
	Tty             bool               `json:"Tty"`
	VolumeMounts    []volumeMountOut   `json:"VolumeMounts"`
	Ports           []portOut          `json:"Ports"`
	EnvironmentVars []envOut           `json:"EnvironmentVars"`
	Commands        []string           `json:"Commands"`
	Command         []string           `json:"Command,omitempty"` // InitContainers use this name in the current API
	Args            []string           `json:"Args"`
	PreviousState   stateOut           `json:"PreviousState"`
	CurrentState    stateOut           `json:"CurrentState"`
	ReadinessProbe  *probeOut          `json:"ReadinessProbe,omitempty"`
	LivenessProbe   *probeOut          `json:"LivenessProbe,omitempty"`
	SecurityContext securityContextOut `json:"SecurityContext"`
}

type configFileOut struct {
	Content string `json:"Content"`
	Path    string `json:"Path"`
}

type volumeOut struct {
	Type                              string          `json:"Type"`
	Name                              string          `json:"Name"`
	NFSVolumePath                     string          `json:"NFSVolumePath,omitempty"`
	NFSVolumeServer                   string          `json:"NFSVolumeServer,omitempty"`
	NFSVolumeReadOnly                 bool            `json:"NFSVolumeReadOnly,omitempty"`
	DiskVolumeDiskId                  string          `json:"DiskVolumeDiskId,omitempty"`
	DiskVolumeFsType                  string          `json:"DiskVolumeFsType,omitempty"`
	FlexVolumeDriver                  string          `json:"FlexVolumeDriver,omitempty"`
	FlexVolumeFsType                  string          `json:"FlexVolumeFsType,omitempty"`
	FlexVolumeOptions                 string          `json:"FlexVolumeOptions,omitempty"`
	EmptyDirVolumeMedium              string          `json:"EmptyDirVolumeMedium,omitempty"`
	EmptyDirVolumeSizeLimit           string          `json:"EmptyDirVolumeSizeLimit,omitempty"`
	ConfigFileVolumeConfigFileToPaths []configFileOut `json:"ConfigFileVolumeConfigFileToPaths,omitempty"`
}

type hostAliasOut struct {
	Ip        string   `json:"Ip"`
	Hostnames []string `json:"Hostnames"`
}

type containerGroupOut struct {
	ContainerGroupId   string         `json:"ContainerGroupId"`
	ContainerGroupName string         `json:"ContainerGroupName"`
	RegionId           string         `json:"RegionId"`
	ZoneId             string         `json:"ZoneId"`
	Memory             float64        `json:"Memory"`
	Cpu                float64        `json:"Cpu"`
	VSwitchId          string         `json:"VSwitchId"`
	SecurityGroupId    string         `json:"SecurityGroupId"`
	RestartPolicy      string         `json:"RestartPolicy"`
	IntranetIp         string         `json:"IntranetIp"`
	Status             string         `json:"Status"`
	InternetIp         string         `json:"InternetIp"`
	CreationTime       string         `json:"CreationTime"`
	SucceededTime      string         `json:"SucceededTime"`
	EniInstanceId      string         `json:"EniInstanceId"`
	InstanceType       string         `json:"InstanceType"`
	ExpiredTime        string         `json:"ExpiredTime"`
	FailedTime         string         `json:"FailedTime"`
	RamRoleName        string         `json:"RamRoleName"`
	Ipv6Address        string         `json:"Ipv6Address"`
	VpcId              string         `json:"VpcId"`
	Discount           int            `json:"Discount"`
	ResourceGroupId    string         `json:"ResourceGroupId"`
	ComputeCategory    string         `json:"ComputeCategory"`
	DnsPolicy          string         `json:"DnsPolicy"`
	EphemeralStorage   int            `json:"EphemeralStorage"`
	SpotStrategy       string         `json:"SpotStrategy"`
	SpotPriceLimit     float64        `json:"SpotPriceLimit"`
	Tags               []kvOut        `json:"Tags"`
	Events             []eventOut     `json:"Events"`
	Containers         []containerOut `json:"Containers"`
	Volumes            []volumeOut    `json:"Volumes"`
	InitContainers     []containerOut `json:"InitContainers"`
	HostAliases        []hostAliasOut `json:"HostAliases"`
	DnsConfig          struct {
		Options     []nameValueOut `json:"Options"`
		NameServers []string       `json:"NameServers"`
		Searches    []string       `json:"Searches"`
	} `json:"DnsConfig"`
	EciSecurityContext struct {
		Sysctls []nameValueOut `json:"Sysctls"`
	} `json:"EciSecurityContext"`
}

func stateToOut(s ctrState) stateOut {
	o := stateOut{State: s.State, ExitCode: s.ExitCode, Reason: s.Reason, Message: s.Message, Signal: s.Signal,
		StartTime: ts(s.StartedAt), FinishTime: ts(s.FinishedAt)}
	switch s.State {
	case "Waiting":
		o.DetailStatus = s.Reason
	case "Running":
		o.DetailStatus = "Started"
	case "Terminated":
		o.DetailStatus = s.Reason
	}
	return o
}

func probeToOut(p probeSpec) *probeOut {
	if !p.set {
		return nil
	}
	return &probeOut{InitialDelaySeconds: p.InitialDelaySeconds, PeriodSeconds: p.PeriodSeconds, TimeoutSeconds: p.TimeoutSeconds,
		SuccessThreshold: p.SuccessThreshold, FailureThreshold: p.FailureThreshold, Execs: nonNil(p.Exec),
		HttpGet: httpGetOut{Path: p.HTTPPath, Port: p.HTTPPort, Scheme: p.HTTPScheme}, TcpSocket: tcpOut{Port: p.TCPPort}}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (c *ctr) toOut(ip string) containerOut {
	cs := c.spec
	o := containerOut{Name: cs.Name, Image: cs.Image, Memory: cs.Memory, Cpu: cs.CPU, RestartCount: c.restartCount,
		WorkingDir: cs.WorkingDir, ImagePullPolicy: cs.ImagePullPolicy, Ready: c.ready, Gpu: cs.GPU,
		Stdin: cs.Stdin, StdinOnce: cs.StdinOnce, Tty: cs.TTY,
		VolumeMounts: []volumeMountOut{}, Ports: []portOut{}, EnvironmentVars: []envOut{},
		Commands: nonNil(cs.Commands), Args: nonNil(cs.Args), CurrentState: stateToOut(c.cur),
		ReadinessProbe: probeToOut(cs.Readiness), LivenessProbe: probeToOut(cs.Liveness)}
	if c.init {
		o.Command = o.Commands
	}
	if c.prev != nil {
		o.PreviousState = stateToOut(*c.prev)
	}
	for _, m := range cs.Mounts {
		o.VolumeMounts = append(o.VolumeMounts, volumeMountOut{Name: m.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly, SubPath: m.SubPath, MountPropagation: m.MountPropagation})
	}
	for _, p := range cs.Ports {
		o.Ports = append(o.Ports, portOut(p))
	}
	if !cs.EnvHide {
		for _, e := range cs.Env {
			var eo envOut
			eo.Key, eo.Value = e.Key, e.Value
			eo.ValueFrom.FieldRef.FieldPath = e.FieldPath
			o.EnvironmentVars = append(o.EnvironmentVars, eo)
		}
	}
	o.SecurityContext.ReadOnlyRootFilesystem = cs.ReadOnlyRootFS
	o.SecurityContext.RunAsUser = cs.RunAsUser
	o.SecurityContext.Capability.Adds = nonNil(cs.CapAdd)
	return o
}

func (g *group) toOut(region string, withEvents bool) containerGroupOut {
	o := containerGroupOut{
		ContainerGroupId: g.id, ContainerGroupName: g.name, RegionId: region, ZoneId: g.zoneID,
		Memory: g.mem, Cpu: g.cpu, VSwitchId: g.vswID, SecurityGroupId: g.sgID, RestartPolicy: g.spec.RestartPolicy,
		IntranetIp: g.ip, Status: g.status, InternetIp: g.eip, CreationTime: ts(g.created),
		SucceededTime: ts(g.succeededAt), FailedTime: ts(g.failedAt), InstanceType: g.instanceType,
		RamRoleName: g.spec.RAMRoleName, Ipv6Address: g.ipv6, VpcId: g.vpcID, ResourceGroupId: g.spec.ResourceGroupID,
		ComputeCategory: g.computeCategory, DnsPolicy: g.spec.DNSPolicy, EphemeralStorage: g.spec.EphemeralStorage,
		SpotStrategy: g.spec.SpotStrategy, SpotPriceLimit: g.spec.SpotPriceLimit,
		Tags: []kvOut{}, Events: []eventOut{}, Containers: []containerOut{}, Volumes: []volumeOut{},
		InitContainers: []containerOut{}, HostAliases: []hostAliasOut{},
	}
	if g.ip != "" && g.schedFail == "" {
		o.EniInstanceId = "eni-" + shortHash(g.id, 20)
	}
	for _, t := range g.tags {
		o.Tags = append(o.Tags, kvOut(t))
	}
	if withEvents {
		for _, ev := range g.recentEvents(maxEventsReturned, nil) {
			o.Events = append(o.Events, ev.toOut(g))
		}
	}
	for _, c := range g.containers {
		o.Containers = append(o.Containers, c.toOut(g.ip))
	}
	for _, c := range g.inits {
		o.InitContainers = append(o.InitContainers, c.toOut(g.ip))
	}
	for _, v := range g.spec.Volumes {
		vo := volumeOut{Type: v.Type, Name: v.Name, NFSVolumePath: v.NFSPath, NFSVolumeServer: v.NFSServer, NFSVolumeReadOnly: v.NFSReadOnly,
			DiskVolumeDiskId: v.DiskID, DiskVolumeFsType: v.DiskFsType, FlexVolumeDriver: v.FlexDriver, FlexVolumeFsType: v.FlexFsType,
			FlexVolumeOptions: v.FlexOptions, EmptyDirVolumeMedium: v.EmptyDirMedium, EmptyDirVolumeSizeLimit: v.EmptyDirSizeLimit}
		for _, f := range v.ConfigFiles {
			vo.ConfigFileVolumeConfigFileToPaths = append(vo.ConfigFileVolumeConfigFileToPaths, configFileOut{Content: f.Content, Path: f.Path})
		}
		o.Volumes = append(o.Volumes, vo)
	}
	for _, h := range g.spec.HostAliases {
		o.HostAliases = append(o.HostAliases, hostAliasOut{Ip: h.IP, Hostnames: nonNil(h.Hostnames)})
	}
	o.DnsConfig.Options = []nameValueOut{}
	for _, op := range g.spec.DNSOptions {
		o.DnsConfig.Options = append(o.DnsConfig.Options, nameValueOut{Name: op.Key, Value: op.Value})
	}
	o.DnsConfig.NameServers = nonNil(g.spec.DNSNameServers)
	o.DnsConfig.Searches = nonNil(g.spec.DNSSearches)
	o.EciSecurityContext.Sysctls = []nameValueOut{}
	for _, s := range g.spec.Sysctls {
		o.EciSecurityContext.Sysctls = append(o.EciSecurityContext.Sysctls, nameValueOut{Name: s.Key, Value: s.Value})
	}
	return o
}

func (ev *event) toOut(g *group) eventOut {
	return eventOut{Count: ev.Count, Type: ev.Type, Name: ev.name(g), Message: ev.Message,
		FirstTimestamp: ts(ev.First), LastTimestamp: ts(ev.Last), Reason: ev.Reason}
}

// name mimics Kubernetes event object names: <object>.<hex>.
func (ev *event) name(g *group) string {
	return g.name + "." + shortHash(g.id+ev.Reason+ev.Message+ev.Container, 16)
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])
	if n > len(h) {
		n = len(h)
	}
	return h[:n]
}
