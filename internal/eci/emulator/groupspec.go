package emulator

import (
	"encoding/base64"
	"strings"
	"time"
)

// This file reads the container, volume and pod-level parameters shared by
// CreateContainerGroup and UpdateContainerGroup, validating them with the
// documented rules and recording the first violation in c.rd.

func readProbe(c *call, v Value) probeSpec {
	p := probeSpec{
		InitialDelaySeconds: int(c.rd.int(v.Get("InitialDelaySeconds"), 0)),
		PeriodSeconds:       int(c.rd.int(v.Get("PeriodSeconds"), 0)),
		TimeoutSeconds:      int(c.rd.int(v.Get("TimeoutSeconds"), 0)),
		SuccessThreshold:    int(c.rd.int(v.Get("SuccessThreshold"), 0)),
		FailureThreshold:    int(c.rd.int(v.Get("FailureThreshold"), 0)),
		Exec:                v.Get("Exec").Get("Command").Strings(),
		HTTPPath:            v.Get("HttpGet").Get("Path").String(),
		HTTPScheme:          c.rd.oneOf(v.Get("HttpGet").Get("Scheme"), "HTTP", "HTTPS"),
		HTTPPort:            int(c.rd.int(v.Get("HttpGet").Get("Port"), 0)),
		TCPPort:             int(c.rd.int(v.Get("TcpSocket").Get("Port"), 0)),
	}
	p.set = v.Exists() && (p.InitialDelaySeconds != 0 || p.PeriodSeconds != 0 || p.TimeoutSeconds != 0 ||
		p.SuccessThreshold != 0 || p.FailureThreshold != 0 || len(p.Exec) > 0 || p.HTTPPort != 0 || p.TCPPort != 0 || p.HTTPPath != "")
	handlers := 0
	for _, on := range []bool{len(p.Exec) > 0, p.HTTPPort != 0 || p.HTTPPath != "", p.TCPPort != 0} {
		if on {
			handlers++
		}
	}
	if handlers > 1 {
		c.rd.fail(errInvalid(v.Path(), "A probe takes exactly one of Exec, HttpGet and TcpSocket."))
	}
	if p.set && handlers == 0 {
		c.rd.fail(errInvalid(v.Path(), "A probe needs one of Exec.Command, HttpGet or TcpSocket."))
	}
	for _, port := range []int{p.HTTPPort, p.TCPPort} {
		if port < 0 || port > 65535 {
			c.rd.fail(errInvalid(v.Path(), "Port must be 1-65535."))
		}
	}
	for _, n := range []int{p.InitialDelaySeconds, p.PeriodSeconds, p.TimeoutSeconds, p.SuccessThreshold, p.FailureThreshold} {
		if n < 0 {
			c.rd.fail(errInvalid(v.Path(), "Probe timings cannot be negative."))
		}
	}
	return p
}

// readContainer reads Container.N or InitContainer.N.
func readContainer(c *call, v Value, init bool) containerSpec {
	cs := containerSpec{
		Name:                     v.Get("Name").String(),
		Image:                    v.Get("Image").String(),
		WorkingDir:               v.Get("WorkingDir").String(),
		ImagePullPolicy:          c.rd.oneOf(v.Get("ImagePullPolicy"), "Always", "IfNotPresent", "Never"),
		CPU:                      c.rd.float(v.Get("Cpu"), 0),
		Memory:                   c.rd.float(v.Get("Memory"), 0),
		GPU:                      int(c.rd.int(v.Get("Gpu"), 0)),
		Commands:                 v.Get("Command").Strings(),
		Args:                     v.Get("Arg").Strings(),
		EnvHide:                  c.rd.bool(v.Get("EnvironmentVarHide"), false),
		Stdin:                    c.rd.bool(v.Get("Stdin"), false),
		StdinOnce:                c.rd.bool(v.Get("StdinOnce"), false),
		TTY:                      c.rd.bool(v.Get("Tty"), false),
		Privileged:               c.rd.bool(v.Get("SecurityContextPrivileged"), false),
		TerminationMessagePath:   v.Get("TerminationMessagePath").String(),
		TerminationMessagePolicy: v.Get("TerminationMessagePolicy").String(),
	}
	if cs.Name == "" {
		c.rd.fail(errMissing(v.Get("Name").Path()))
	} else if !c.e.valid.ctrName.MatchString(cs.Name) {
		c.rd.fail(errInvalid(v.Get("Name").Path(), "Container names use lowercase letters, digits and hyphens and cannot start or end with a hyphen."))
	}
	if cs.Image == "" {
		c.rd.fail(errMissing(v.Get("Image").Path()))
	}
	if cs.CPU < 0 || cs.Memory < 0 || cs.GPU < 0 {
		c.rd.fail(errInvalid(v.Path(), "Cpu, Memory and Gpu cannot be negative."))
	}
	if len(cs.Args) > 10 && !init {
		// "You can specify up to 10 arguments" is documented for Arg.
		c.rd.fail(errInvalid(v.Get("Arg").Path(), "At most 10 arguments are allowed."))
	}
	for _, it := range v.Get("EnvironmentVar").Items() {
		ev := envVar{Key: it.Get("Key").String(), Value: it.Get("Value").String(),
			FieldPath: it.Get("FieldRef").Get("FieldPath").String()}
		switch {
		case ev.Key == "":
			c.rd.fail(errMissing(it.Get("Key").Path()))
		case !c.e.valid.envKey.MatchString(ev.Key):
			c.rd.fail(errInvalid(it.Get("Key").Path(), "1-128 letters, digits and underscores, not starting with a digit."))
		case len(ev.Value) > maxEnvValueLen:
			c.rd.fail(errInvalid(it.Get("Value").Path(), "At most %d characters.", maxEnvValueLen))
		case ev.FieldPath != "" && ev.FieldPath != "status.podIP":
			c.rd.fail(errInvalid(it.Get("FieldRef").Get("FieldPath").Path(), "Only status.podIP is supported."))
		}
		cs.Env = append(cs.Env, ev)
	}
	for _, it := range v.Get("Port").Items() {
		p := portSpec{Port: int(c.rd.int(it.Get("Port"), 0)), Protocol: c.rd.oneOf(it.Get("Protocol"), "TCP", "UDP", "SCTP")}
		if p.Port < 1 || p.Port > 65535 {
			c.rd.fail(errInvalid(it.Get("Port").Path(), "Valid values: 1 to 65535."))
		}
		cs.Ports = append(cs.Ports, p)
	}
	for _, it := range v.Get("VolumeMount").Items() {
		m := mountSpec{Name: it.Get("Name").String(), MountPath: it.Get("MountPath").String(), SubPath: it.Get("SubPath").String(),
			MountPropagation: c.rd.oneOf(it.Get("MountPropagation"), "None", "HostToContainer", "Bidirectional"),
			ReadOnly:         c.rd.bool(it.Get("ReadOnly"), false)}
		if m.Name == "" {
			c.rd.fail(errMissing(it.Get("Name").Path()))
		}
		if m.MountPath == "" {
			c.rd.fail(errMissing(it.Get("MountPath").Path()))
		}
		cs.Mounts = append(cs.Mounts, m)
	}
	sc := v.Get("SecurityContext")
	cs.ReadOnlyRootFS = c.rd.bool(sc.Get("ReadOnlyRootFilesystem"), false)
	cs.RunAsUserSet = sc.Get("RunAsUser").HasValue()
	cs.RunAsUser = c.rd.int(sc.Get("RunAsUser"), 0)
	cs.CapAdd = sc.Get("Capability").Get("Add").Strings()
	if !init {
		cs.Readiness = readProbe(c, v.Get("ReadinessProbe"))
		cs.Liveness = readProbe(c, v.Get("LivenessProbe"))
		for _, hook := range []string{"LifecyclePostStartHandler", "LifecyclePreStopHandler"} {
			for _, port := range []string{"HttpGetPort", "TcpSocketPort"} {
				if n := c.rd.int(v.Get(hook+port), 0); n < 0 || n > 65535 {
					c.rd.fail(errInvalid(v.Get(hook+port).Path(), "Valid values: 1 to 65535."))
				}
			}
			c.rd.oneOf(v.Get(hook+"HttpGetScheme"), "HTTP", "HTTPS")
		}
	}
	return cs
}

// readVolumes reads Volume.N with per-type validation.
func readVolumes(c *call, v Value) []volumeSpec {
	items := v.Items()
	if len(items) > maxVolumes {
		c.rd.fail(errInvalid(v.Path(), "At most %d volumes are allowed, got %d.", maxVolumes, len(items)))
		return nil
	}
	var out []volumeSpec
	seen := map[string]bool{}
	for _, it := range items {
		vs := volumeSpec{Name: it.Get("Name").String(), Type: it.Get("Type").String()}
		if vs.Name == "" {
			c.rd.fail(errMissing(it.Get("Name").Path()))
		} else if seen[vs.Name] {
			c.rd.fail(errInvalid(it.Get("Name").Path(), "Duplicate volume name %q.", vs.Name))
		}
		seen[vs.Name] = true
		switch vs.Type {
		case "":
			c.rd.fail(errMissing(it.Get("Type").Path()))
		case "EmptyDirVolume":
			vs.EmptyDirMedium = c.rd.oneOf(it.Get("EmptyDirVolume").Get("Medium"), "", "memory", "Memory", "LocalRaid0")
			vs.EmptyDirSizeLimit = it.Get("EmptyDirVolume").Get("SizeLimit").String()
		case "NFSVolume":
			n := it.Get("NFSVolume")
			vs.NFSServer, vs.NFSPath = n.Get("Server").String(), n.Get("Path").String()
			vs.NFSReadOnly = c.rd.bool(n.Get("ReadOnly"), false)
			if vs.NFSServer == "" {
				c.rd.fail(errMissing(n.Get("Server").Path()))
			}
			if vs.NFSPath == "" {
				c.rd.fail(errMissing(n.Get("Path").Path()))
			}
		case "ConfigFileVolume":
			cf := it.Get("ConfigFileVolume")
			// v1 SDK field is DefaultModel (sic); the API's is DefaultMode.
			dm := cf.Get("DefaultMode")
			if !dm.HasValue() {
				dm = cf.Get("DefaultModel")
			}
			vs.DefaultMode = int(c.rd.int(dm, 0644))
			for _, f := range cf.Get("ConfigFileToPath").Items() {
				file := configFile{Path: f.Get("Path").String(), Content: f.Get("Content").String(),
					Mode: int(c.rd.int(f.Get("Mode"), int64(vs.DefaultMode)))}
				if file.Path == "" {
					c.rd.fail(errMissing(f.Get("Path").Path()))
				}
				raw, err := base64.StdEncoding.DecodeString(file.Content)
				switch {
				case err != nil:
					c.rd.fail(errInvalid(f.Get("Content").Path(), "The content must be Base64-encoded."))
				case len(raw) > maxConfigFile:
					c.rd.fail(errInvalid(f.Get("Content").Path(), "A config file can be at most 32 KB."))
				}
				vs.ConfigFiles = append(vs.ConfigFiles, file)
			}
		case "DiskVolume":
			d := it.Get("DiskVolume")
			vs.DiskID, vs.DiskFsType = d.Get("DiskId").String(), d.Get("FsType").String()
			vs.DiskSize = int(c.rd.int(d.Get("DiskSize"), 0))
			if vs.DiskID == "" && vs.DiskSize <= 0 {
				c.rd.fail(errMissing(d.Get("DiskId").Path()))
			}
		case "FlexVolume":
			f := it.Get("FlexVolume")
			vs.FlexDriver, vs.FlexFsType, vs.FlexOptions = f.Get("Driver").String(), f.Get("FsType").String(), f.Get("Options").String()
			if vs.FlexDriver == "" {
				c.rd.fail(errMissing(f.Get("Driver").Path()))
			}
		case "HostPathVolume":
			// Only whitelisted accounts may mount host paths.
			c.rd.fail(newErr(403, "Forbidden.HostPathVolume", "HostPathVolume is only available to users in the whitelist."))
		default:
			c.rd.fail(errInvalid(it.Get("Type").Path(), "Valid values: EmptyDirVolume, NFSVolume, ConfigFileVolume, DiskVolume, FlexVolume, HostPathVolume."))
		}
		out = append(out, vs)
	}
	return out
}

// readContainers reads and cross-checks Container.N and InitContainer.N
// against the volumes (names unique, mounts refer to declared volumes).
func readContainers(c *call, vols []volumeSpec, required bool) (apps, inits []containerSpec) {
	items := c.p.Get("Container").Items()
	initItems := c.p.Get("InitContainer").Items()
	if required && len(items) == 0 {
		c.rd.fail(errMissing("Container"))
		return nil, nil
	}
	if len(items) > maxContainers {
		c.rd.fail(errInvalid("Container", "At most %d containers are allowed, got %d.", maxContainers, len(items)))
		return nil, nil
	}
	if len(initItems) > maxContainers {
		c.rd.fail(errInvalid("InitContainer", "At most %d init containers are allowed, got %d.", maxContainers, len(initItems)))
		return nil, nil
	}
	for _, it := range items {
		apps = append(apps, readContainer(c, it, false))
	}
	for _, it := range initItems {
		inits = append(inits, readContainer(c, it, true))
	}
	volNames := map[string]bool{}
	for _, v := range vols {
		volNames[v.Name] = true
	}
	names := map[string]bool{}
	for i, cs := range append(append([]containerSpec{}, inits...), apps...) {
		if cs.Name != "" && names[cs.Name] {
			c.rd.fail(errInvalid("Container", "Duplicate container name %q.", cs.Name))
		}
		names[cs.Name] = true
		for _, m := range cs.Mounts {
			if m.Name != "" && !volNames[m.Name] {
				c.rd.fail(errInvalid("VolumeMount", "Container %q mounts volume %q, which is not declared (container %d).", cs.Name, m.Name, i+1))
			}
		}
	}
	return apps, inits
}

// readPodLevel reads the group-level settings shared by create and update.
func readPodLevel(c *call, gs *groupSpec) {
	p := c.p
	if v := p.Get("RestartPolicy"); v.HasValue() {
		gs.RestartPolicy = c.rd.oneOf(v, "Always", "Never", "OnFailure")
	}
	dns := p.Get("DnsConfig")
	if dns.Exists() {
		gs.DNSNameServers = dns.Get("NameServer").Strings()
		gs.DNSSearches = dns.Get("Search").Strings()
		gs.DNSOptions = nil
		for _, o := range dns.Get("Option").Items() {
			gs.DNSOptions = append(gs.DNSOptions, tag{Key: o.Get("Name").String(), Value: o.Get("Value").String()})
		}
	}
	if v := p.Get("ResourceGroupId"); v.HasValue() {
		gs.ResourceGroupID = v.String()
	}
	if items := p.Get("ImageRegistryCredential").Items(); len(items) > 0 {
		gs.RegistryCreds = nil
		for _, it := range items {
			if it.Get("Server").String() == "" {
				c.rd.fail(errMissing(it.Get("Server").Path()))
			}
			gs.RegistryCreds = append(gs.RegistryCreds, it.Get("Server").String())
		}
	}
}

func seconds(n int64) time.Duration { return time.Duration(n) * time.Second }

// effectiveResources sums container requests the way ECI sizes an
// instance: app containers add up; an init container runs alone, so the
// largest one counts if it is bigger than the sum.
func effectiveResources(apps, inits []containerSpec) (cpu, mem float64) {
	for _, c := range apps {
		if !hasEnv(c, "__ECI_RESOURCE_IGNORE__", "TRUE") {
			cpu += c.CPU
			mem += c.Memory
		}
	}
	for _, c := range inits {
		cpu = max(cpu, c.CPU)
		mem = max(mem, c.Memory)
	}
	return cpu, mem
}

func hasEnv(c containerSpec, key, val string) bool {
	for _, e := range c.Env {
		if e.Key == key && strings.EqualFold(e.Value, val) {
			return true
		}
	}
	return false
}
