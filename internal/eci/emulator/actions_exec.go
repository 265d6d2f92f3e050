package emulator

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"path"
	"strings"
	"time"
)

// execTokenTTL is how long a WebSocketUri can be opened (the documented
// validity of HttpUrl); it is one-shot either way.
const execTokenTTL = 30 * time.Second

// execSession is what an exec websocket runs: a snapshot of the
// container's shell context taken when ExecContainerCommand was called.
type execSession struct {
	groupID, container string
	argv               []string
	tty, stdin         bool
	sh                 *shell
	expires            time.Time
}

// shellFor builds the interpreter context of a container.
func (g *group) shellFor(ct *ctr) *shell {
	sh := &shell{hostname: g.name, workdir: ct.spec.WorkingDir, files: map[string]string{}}
	if g.spec.HostName != "" {
		sh.hostname = g.spec.HostName
	}
	if sh.workdir == "" {
		sh.workdir = "/"
	}
	sh.env = append(sh.env,
		envVar{Key: "PATH", Value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		envVar{Key: "HOSTNAME", Value: sh.hostname})
	for _, e := range ct.spec.Env {
		v := e.Value
		if e.FieldPath == "status.podIP" {
			v = g.ip
		}
		sh.env = append(sh.env, envVar{Key: e.Key, Value: v})
	}
	vols := map[string]volumeSpec{}
	for _, v := range g.spec.Volumes {
		vols[v.Name] = v
	}
	for _, m := range ct.spec.Mounts {
		v, ok := vols[m.Name]
		if !ok || v.Type != "ConfigFileVolume" {
			continue
		}
		for _, f := range v.ConfigFiles {
			raw, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil {
				continue
			}
			switch {
			case m.SubPath == "":
				sh.files[path.Clean(m.MountPath+"/"+f.Path)] = string(raw)
			case m.SubPath == f.Path:
				sh.files[path.Clean(m.MountPath)] = string(raw)
			}
		}
	}
	for p, content := range ct.beh.Files {
		sh.files[path.Clean(p)] = content
	}
	return sh
}

func actExecContainerCommand(c *call) (any, *apiError) {
	g, ae := c.readGroup()
	if ae != nil {
		return nil, ae
	}
	name := c.p.Get("ContainerName").String()
	if name == "" {
		return nil, errMissing("ContainerName")
	}
	if !c.p.Get("Command").HasValue() {
		return nil, errMissing("Command")
	}
	argv := c.rd.jsonStrings(c.p.Get("Command"))
	tty := c.rd.bool(c.p.Get("TTY"), false)
	stdin := c.rd.bool(c.p.Get("Stdin"), true)
	sync := c.rd.bool(c.p.Get("Sync"), false)
	if c.rd.err != nil {
		return nil, nil
	}
	switch {
	case len(argv) == 0:
		return nil, errInvalid("Command", "At least one command is required.")
	case len(argv) > 20:
		return nil, errInvalid("Command", "At most 20 commands.")
	case sync && tty:
		return nil, errInvalid("Sync", "Sync requires TTY=false.")
	case sync && (path.Base(argv[0]) == "bash" || path.Base(argv[0]) == "sh") && len(argv) == 1:
		return nil, errInvalid("Sync", "Sync cannot run an interactive shell.")
	}
	for _, a := range argv {
		if len(a) > 256 {
			return nil, errInvalid("Command", "Each command can be at most 256 characters.")
		}
	}
	ct := g.findContainer(name)
	if ct == nil || ct.init {
		return nil, errInvalid("ContainerName", "Container %q does not exist in %s.", name, g.id)
	}
	if (g.status != stRunning && g.status != stUpdating) || ct.phase != phRunning {
		return nil, newErr(http.StatusForbidden, "IncorrectStatus",
			"The current status of the resource does not support this operation. Container %s of %s is not running.", name, g.id)
	}
	sh := g.shellFor(ct)
	if sync {
		var out bytes.Buffer
		sh.run(argv, strings.NewReader(""), &out, &out, false)
		return struct {
			SyncResponse string `json:"SyncResponse"`
		}{out.String()}, nil
	}
	tok := c.e.st.newID("")
	c.e.st.execSessions[tok] = &execSession{groupID: g.id, container: name, argv: argv, tty: tty, stdin: stdin, sh: sh,
		expires: c.now.Add(execTokenTTL)}
	host := c.e.Endpoint()
	return struct {
		WebSocketUri string `json:"WebSocketUri"`
		HttpUrl      string `json:"HttpUrl"`
	}{"ws://" + host + execPath + "?s=" + tok, "http://" + host + execPath + "terminal?s=" + tok}, nil
}
