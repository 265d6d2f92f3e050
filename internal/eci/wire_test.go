package eci

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// fillAll sets every exported field reachable from v to a distinct non-zero
// value (one element per slice) and returns the string form of every scalar
// value it set, so a test can look for each of them in the encoded output.
func fillAll(t *testing.T, v reflect.Value, next *int, leaves *[]string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(t, v.Elem(), next, leaves)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillAll(t, v.Field(i), next, leaves)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(t, v.Index(0), next, leaves)
	case reflect.String:
		*next++
		s := fmt.Sprintf("s%d", *next)
		v.SetString(s)
		*leaves = append(*leaves, s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int32, reflect.Int64, reflect.Int:
		*next++
		v.SetInt(int64(1000 + *next))
		*leaves = append(*leaves, fmt.Sprint(1000+*next))
	case reflect.Float64:
		*next++
		v.SetFloat(float64(*next) + 0.25)
		*leaves = append(*leaves, fmt.Sprintf("%d.25", *next))
	default:
		t.Fatalf("fillAll: unhandled kind %s", v.Kind())
	}
}

var listIndex = regexp.MustCompile(`\.\d+(\.|$)`)

// normalizeKey turns Container.1.Port.1.Port into Container.N.Port.N.Port.
func normalizeKey(k string) string {
	for {
		n := listIndex.ReplaceAllString(k, ".N$1")
		if n == k {
			return k
		}
		k = n
	}
}

func TestCreateContainerGroupModelCoversTheAPI(t *testing.T) {
	var req CreateContainerGroupRequest
	next := 0
	var leaves []string
	fillAll(t, reflect.ValueOf(&req).Elem(), &next, &leaves)

	params, err := encodeWire(&req)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}

	got := map[string]bool{}
	for k := range params {
		got[normalizeKey(k)] = true
	}
	want := map[string]bool{}
	for _, k := range strings.Fields(apiCreateContainerGroupKeys) {
		want[k] = true
	}
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("API keys the model cannot send (%d):\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("keys the model sends that the API does not define (%d):\n  %s", len(extra), strings.Join(extra, "\n  "))
	}

	// Every value set in the model reaches the wire unchanged.
	values := map[string]bool{}
	for _, v := range params {
		for _, part := range strings.Split(v, ",") { // comma-joined lists
			values[part] = true
		}
	}
	for _, leaf := range leaves {
		if !values[leaf] {
			t.Errorf("value %q set in the model does not appear in the encoded parameters", leaf)
		}
	}
}

func TestUpdateContainerGroupModelReachesTheWire(t *testing.T) {
	var req UpdateContainerGroupRequest
	next := 0
	var leaves []string
	fillAll(t, reflect.ValueOf(&req).Elem(), &next, &leaves)
	params, err := req.wireParams()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	values := map[string]bool{}
	for _, v := range params {
		for _, part := range strings.Split(v, ",") {
			values[part] = true
		}
	}
	for _, leaf := range leaves {
		if !values[leaf] {
			t.Errorf("value %q set in the model does not appear in the encoded parameters", leaf)
		}
	}
	// The API spells the postStart header list differently for updates.
	for k := range params {
		if strings.Contains(k, "LifecyclePostStartHandlerHttpGetHttpHeader.") {
			t.Errorf("update sends %s; the API expects ...HttpGetHttpHeaders.N", k)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	req := CreateContainerGroupRequest{
		ContainerGroupName: "default-web-0",
		ClientToken:        "uid-1",
		VSwitchIDs:         []string{"vsw-1", "vsw-2"},
		SecurityGroupID:    "sg-1",
		CPU:                0.5,
		Memory:             1,
		RestartPolicy:      RestartPolicyAlways,
		Containers: []Container{{
			Name:     "web",
			Image:    "nginx:1.27",
			Commands: []string{"nginx"},
			Args:     []string{"-g", "", "daemon off;"},
			EnvironmentVars: []EnvVar{
				{Key: "MODE", Value: "prod"},
				{Key: "POD_IP", FieldRef: &FieldRef{FieldPath: "status.podIP"}},
			},
			Ports: []Port{{Port: 80, Protocol: "TCP"}},
			VolumeMounts: []VolumeMount{
				{Name: "cfg", MountPath: "/etc/nginx", ReadOnly: Ptr(true)},
				{Name: "data", MountPath: "/data", SubPath: "web", MountPropagation: "None", ReadOnly: Ptr(false)},
			},
			ReadinessProbe: &Probe{
				Exec:             &ExecAction{Command: []string{"cat", "/tmp/ready"}},
				PeriodSeconds:    Ptr[int32](5),
				FailureThreshold: Ptr[int32](0),
			},
			LivenessProbe: &Probe{HTTPGet: &ProbeHTTPGet{Path: "/healthz", Port: 80, Scheme: "HTTP"}},
			PreStop: &LifecycleHandler{HTTPGet: &HookHTTPGet{
				Path: "/quit", Port: 80,
				HTTPHeaders: []HTTPHeader{{Name: "X-Stop", Value: "1"}},
			}},
			PostStart: &LifecycleHandler{Exec: []string{"/bin/sh", "-c", "echo hi"}},
			SecurityContext: &ContainerSecurityContext{
				CapabilityAdd: []string{"NET_ADMIN"},
				RunAsUser:     Ptr[int64](0),
				Privileged:    Ptr(false),
			},
		}},
		Volumes: []Volume{
			{Name: "cfg", Type: VolumeTypeConfigFile, ConfigFile: &ConfigFileVolume{
				DefaultMode: Ptr[int32](0o644),
				Files:       []ConfigFile{{Path: "nginx.conf", Content: "ZXZlbnRzIHt9", Mode: Ptr[int32](0o600)}},
			}},
			{Name: "data", Type: VolumeTypeEmptyDir, EmptyDir: &EmptyDirVolume{Medium: "Memory", SizeLimit: "64Mi"}},
		},
		DNSConfig:                     &DNSConfig{NameServers: []string{"10.0.0.10"}, Searches: []string{"svc.cluster.local"}, Options: []DNSOption{{Name: "ndots", Value: "5"}}},
		HostAliases:                   []HostAlias{{IP: "10.1.1.1", Hostnames: []string{"a.local", "b.local"}}},
		Tags:                          []Tag{{Key: "eci-vnode/pod-uid", Value: "uid-1"}, {Key: "empty"}},
		TerminationGracePeriodSeconds: Ptr[int64](0),
		SpotDuration:                  Ptr[int64](0),
		SpotPriceLimit:                0.025,
		AutoCreateEIP:                 Ptr(false),
		ImageRegistryCredentials:      []ImageRegistryCredential{{Server: "r.example", UserName: "u", Password: "p"}},
	}
	params, err := encodeWire(&req)
	if err != nil {
		t.Fatal(err)
	}
	want := `AutoCreateEip=false
ClientToken=uid-1
Container.1.Arg.1=-g
Container.1.Arg.3=daemon off;
Container.1.Command.1=nginx
Container.1.EnvironmentVar.1.Key=MODE
Container.1.EnvironmentVar.1.Value=prod
Container.1.EnvironmentVar.2.FieldRef.FieldPath=status.podIP
Container.1.EnvironmentVar.2.Key=POD_IP
Container.1.Image=nginx:1.27
Container.1.LifecyclePostStartHandlerExec.1=/bin/sh
Container.1.LifecyclePostStartHandlerExec.2=-c
Container.1.LifecyclePostStartHandlerExec.3=echo hi
Container.1.LifecyclePreStopHandlerHttpGetHttpHeader.1.Name=X-Stop
Container.1.LifecyclePreStopHandlerHttpGetHttpHeader.1.Value=1
Container.1.LifecyclePreStopHandlerHttpGetPath=/quit
Container.1.LifecyclePreStopHandlerHttpGetPort=80
Container.1.LivenessProbe.HttpGet.Path=/healthz
Container.1.LivenessProbe.HttpGet.Port=80
Container.1.LivenessProbe.HttpGet.Scheme=HTTP
Container.1.Name=web
Container.1.Port.1.Port=80
Container.1.Port.1.Protocol=TCP
Container.1.ReadinessProbe.Exec.Command.1=cat
Container.1.ReadinessProbe.Exec.Command.2=/tmp/ready
Container.1.ReadinessProbe.FailureThreshold=0
Container.1.ReadinessProbe.PeriodSeconds=5
Container.1.SecurityContext.Capability.Add.1=NET_ADMIN
Container.1.SecurityContext.RunAsUser=0
Container.1.SecurityContextPrivileged=false
Container.1.VolumeMount.1.MountPath=/etc/nginx
Container.1.VolumeMount.1.Name=cfg
Container.1.VolumeMount.1.ReadOnly=true
Container.1.VolumeMount.2.MountPath=/data
Container.1.VolumeMount.2.MountPropagation=None
Container.1.VolumeMount.2.Name=data
Container.1.VolumeMount.2.ReadOnly=false
Container.1.VolumeMount.2.SubPath=web
ContainerGroupName=default-web-0
Cpu=0.5
DnsConfig.NameServer.1=10.0.0.10
DnsConfig.Option.1.Name=ndots
DnsConfig.Option.1.Value=5
DnsConfig.Search.1=svc.cluster.local
HostAliase.1.Hostname.1=a.local
HostAliase.1.Hostname.2=b.local
HostAliase.1.Ip=10.1.1.1
ImageRegistryCredential.1.Password=p
ImageRegistryCredential.1.Server=r.example
ImageRegistryCredential.1.UserName=u
Memory=1
RestartPolicy=Always
SecurityGroupId=sg-1
SpotDuration=0
SpotPriceLimit=0.025
Tag.1.Key=eci-vnode/pod-uid
Tag.1.Value=uid-1
Tag.2.Key=empty
TerminationGracePeriodSeconds=0
VSwitchId=vsw-1,vsw-2
Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content=ZXZlbnRzIHt9
Volume.1.ConfigFileVolume.ConfigFileToPath.1.Mode=384
Volume.1.ConfigFileVolume.ConfigFileToPath.1.Path=nginx.conf
Volume.1.ConfigFileVolume.DefaultMode=420
Volume.1.Name=cfg
Volume.1.Type=ConfigFileVolume
Volume.2.EmptyDirVolume.Medium=Memory
Volume.2.EmptyDirVolume.SizeLimit=64Mi
Volume.2.Name=data
Volume.2.Type=EmptyDirVolume
`
	if got := params.String(); got != want {
		t.Errorf("encoded parameters differ from golden\n got:\n%s\nwant:\n%s", got, want)
	}
	// Encoding is deterministic: the same request yields the same params.
	again, _ := encodeWire(&req)
	if !reflect.DeepEqual(params, again) {
		t.Error("encoding the same request twice gave different parameters")
	}
}

func TestEncodeRejectsUntaggedField(t *testing.T) {
	type bad struct {
		Good string `wire:"Good"`
		Oops string
	}
	_, err := encodeWire(bad{Good: "x", Oops: "y"})
	if err == nil || !strings.Contains(err.Error(), "Oops") {
		t.Fatalf("want an error naming the untagged field, got %v", err)
	}
}

func TestEncodeJSONList(t *testing.T) {
	type req struct {
		IDs  []string `wire:"ContainerGroupIds,json"`
		None []string `wire:"Nothing,json"`
	}
	p, err := encodeWire(req{IDs: []string{"eci-1", "eci-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := p["ContainerGroupIds"]; got != `["eci-1","eci-2"]` {
		t.Errorf("ContainerGroupIds = %s", got)
	}
	if _, ok := p["Nothing"]; ok {
		t.Error("an empty JSON list must not be sent")
	}
}

func TestRegistryPasswordNotPrinted(t *testing.T) {
	req := CreateContainerGroupRequest{ImageRegistryCredentials: []ImageRegistryCredential{{Server: "r", UserName: "u", Password: "hunter2"}}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, req); strings.Contains(out, "hunter2") {
			t.Errorf("%s prints the registry password: %s", format, out)
		}
	}
	if !slices.Contains(strings.Fields(apiCreateContainerGroupKeys), "ImageRegistryCredential.N.Password") {
		t.Fatal("yardstick lost the password key")
	}
}
