package emulator

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cmdParams sets a container's command line (Container.1.Command.N).
func cmdParams(prefix string, argv ...string) map[string]string {
	q := map[string]string{}
	for i, a := range argv {
		q[prefix+".Command."+strconv.Itoa(i+1)] = a
	}
	return q
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// instantEmu starts processes as soon as a group is created.
func instantEmu(t *testing.T, mod func(*Config)) (*Emulator, *FakeClock, func(id string, extra ...map[string]string) string) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1, CrashBackoff: 10 * time.Second}
		if mod != nil {
			mod(cfg)
		}
	})
	logs := func(id string, extra ...map[string]string) string {
		t.Helper()
		var out struct{ Content string }
		mustAPI(t, c, e, "DescribeContainerLog", merge(append([]map[string]string{{"ContainerGroupId": id, "ContainerName": "app"}}, extra...)...), &out)
		return out.Content
	}
	return e, clk, logs
}

func TestContainerCommandRunsInTheShell(t *testing.T) {
	e, clk, logs := instantEmu(t, nil)
	c := newClient(t, e)
	id := createGroup(t, c, e, "exit-three", merge(map[string]string{"RestartPolicy": "Never", "Container.1.Image": "busybox:1.36"},
		cmdParams("Container.1", "sh", "-c", "echo hi; exit 3")))
	g := mustDescribe(t, c, e, id)
	if g.Status != "Failed" || g.Containers[0].CurrentState.State != "Terminated" || g.Containers[0].CurrentState.ExitCode != 3 ||
		g.Containers[0].CurrentState.Reason != "Error" {
		t.Fatalf("sh -c 'echo hi; exit 3': %s %+v", g.Status, g.Containers[0].CurrentState)
	}
	if got := logs(id); got != "hi\n" {
		t.Fatalf("log %q", got)
	}

	// sleep takes emulator time: "start" at once, "done" 5 s later, then
	// the process exits 0.
	id = createGroup(t, c, e, "sleeper", merge(map[string]string{"RestartPolicy": "Never", "Container.1.Image": "busybox"},
		cmdParams("Container.1", "/bin/sh", "-c", "echo start; sleep 5; echo done")))
	start := clk.Now()
	clk.Advance(4 * time.Second)
	if g := mustDescribe(t, c, e, id); g.Status != "Running" || logs(id) != "start\n" {
		t.Fatalf("at +4s: %s %q", g.Status, logs(id))
	}
	clk.Advance(time.Second)
	g = mustDescribe(t, c, e, id)
	if g.Status != "Succeeded" || g.Containers[0].CurrentState.ExitCode != 0 ||
		g.Containers[0].CurrentState.FinishTime != start.Add(5*time.Second).UTC().Format("2006-01-02T15:04:05Z") {
		t.Fatalf("at +5s: %s %+v", g.Status, g.Containers[0].CurrentState)
	}
	want := start.UTC().Format(logTimeLayout) + " start\n" + start.Add(5*time.Second).UTC().Format(logTimeLayout) + " done\n"
	if got := logs(id, map[string]string{"Timestamps": "true"}); got != want {
		t.Fatalf("timestamps:\n%s\nwant\n%s", got, want)
	}

	// Args alone are the command line; environment, hostname and config
	// files are the container's.
	conf := base64.StdEncoding.EncodeToString([]byte("level=debug\n"))
	id = createGroup(t, c, e, "args-only", map[string]string{"RestartPolicy": "Never", "Container.1.Image": "busybox", "HostName": "box-1",
		"Container.1.Arg.1": "sh", "Container.1.Arg.2": "-c", "Container.1.Arg.3": "echo \"$GREETING from ${HOSTNAME}\"\nhostname\ncat /etc/app/app.conf",
		"Container.1.EnvironmentVar.1.Key": "GREETING", "Container.1.EnvironmentVar.1.Value": "hello",
		"Volume.1.Name": "cfg", "Volume.1.Type": "ConfigFileVolume",
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Path": "app.conf", "Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content": conf,
		"Container.1.VolumeMount.1.Name": "cfg", "Container.1.VolumeMount.1.MountPath": "/etc/app"})
	if g := mustDescribe(t, c, e, id); g.Status != "Succeeded" || logs(id) != "hello from box-1\nbox-1\nlevel=debug\n" {
		t.Fatalf("args only: %s %q", g.Status, logs(id))
	}
}

func TestUnknownCommandExits127AndRestarts(t *testing.T) {
	e, clk, logs := instantEmu(t, nil)
	c := newClient(t, e)
	// Like sh, the script goes on after a command fails; its status is
	// the last command's.
	id := createGroup(t, c, e, "typo", merge(map[string]string{"Container.1.Image": "alpine", "RestartPolicy": "Never"},
		cmdParams("Container.1", "sh", "-c", "ngnix; echo still here")))
	if g := mustDescribe(t, c, e, id); g.Status != "Succeeded" || logs(id) != "sh: ngnix: not found\nstill here\n" {
		t.Fatalf("%s, log %q", g.Status, logs(id))
	}
	id = createGroup(t, c, e, "typo-2", merge(map[string]string{"Container.1.Image": "alpine"},
		cmdParams("Container.1", "sh", "-c", "echo starting; ngnix -g 'daemon off;'")))
	g := mustDescribe(t, c, e, id)
	if g.Containers[0].CurrentState.Reason != "CrashLoopBackOff" || g.Containers[0].PreviousState.ExitCode != 127 {
		t.Fatalf("not found: %+v", g.Containers[0])
	}
	// RestartPolicy Always: restarted after the back-off, the command runs
	// again and logs again; the previous run's log stays readable.
	clk.Advance(10 * time.Second)
	g = mustDescribe(t, c, e, id)
	if g.Containers[0].RestartCount != 1 || g.Containers[0].PreviousState.ExitCode != 127 {
		t.Fatalf("after back-off: %+v", g.Containers[0])
	}
	if cur, prev := logs(id), logs(id, map[string]string{"LastTime": "true"}); cur != "starting\nsh: ngnix: not found\n" || cur != prev {
		t.Fatalf("current %q, previous %q", cur, prev)
	}
}

func TestOrdinaryProgramsAndUnsupportedScriptsKeepTheDefault(t *testing.T) {
	e, clk, logs := instantEmu(t, nil)
	c := newClient(t, e)
	running := map[string]map[string]string{
		"nginx":       cmdParams("Container.1", "nginx", "-g", "daemon off;"),
		"server":      merge(cmdParams("Container.1", "/app/server"), map[string]string{"Container.1.Arg.1": "--port", "Container.1.Arg.2": "8080"}),
		"python":      cmdParams("Container.1", "python", "app.py"),
		"env-wrapped": cmdParams("Container.1", "/usr/bin/env", "python3", "app.py"),
		"no-command":  nil,
		"loop":        cmdParams("Container.1", "sh", "-c", "while true; do echo tick; sleep 1; done"),
		"pipe":        cmdParams("Container.1", "sh", "-c", "echo a | tee /tmp/x"),
		"script-file": cmdParams("Container.1", "sh", "/docker-entrypoint.sh"),
		"assignment":  cmdParams("Container.1", "sh", "-c", "X=1; echo $X"),
		"forever":     cmdParams("Container.1", "sh", "-c", "echo ready; sleep infinity"),
		"stdin":       merge(cmdParams("Container.1", "sh"), map[string]string{"Container.1.Stdin": "true"}),
	}
	ids := map[string]string{}
	for name, q := range running {
		ids[name] = createGroup(t, c, e, name, merge(map[string]string{"Container.1.Image": "example/app:1"}, q))
	}
	// An init container whose wait loop cannot be interpreted ends after
	// the default second, so the app starts.
	initLoop := createGroup(t, c, e, "init-loop", merge(map[string]string{"InitContainer.1.Name": "wait", "InitContainer.1.Image": "busybox"},
		cmdParams("InitContainer.1", "sh", "-c", "until nc -z db 5432; do sleep 1; done")))
	clk.Advance(time.Hour)
	for name, id := range ids {
		g := mustDescribe(t, c, e, id)
		if g.Status != "Running" || g.Containers[0].RestartCount != 0 {
			t.Errorf("%s: %s %+v", name, g.Status, g.Containers[0])
		}
		want := ""
		if name == "forever" {
			want = "ready\n"
		}
		if got := logs(id); got != want {
			t.Errorf("%s: log %q, want %q", name, got, want)
		}
	}
	if g := mustDescribe(t, c, e, initLoop); g.Status != "Running" || g.InitContainers[0].CurrentState.ExitCode != 0 {
		t.Fatalf("init loop: %s %+v", g.Status, g.InitContainers[0])
	}

	// Without an attached stdin an interactive sh ends at once.
	id := createGroup(t, c, e, "no-stdin", merge(map[string]string{"Container.1.Image": "busybox", "RestartPolicy": "Never"},
		cmdParams("Container.1", "sh")))
	if g := mustDescribe(t, c, e, id); g.Status != "Succeeded" {
		t.Fatalf("sh without stdin: %s", g.Status)
	}
}

func TestConfiguredImageBehaviourWinsOverTheCommand(t *testing.T) {
	e, clk, logs := instantEmu(t, func(cfg *Config) {
		cfg.Images = map[string]ImageBehaviour{"busybox": {RunFor: 10 * time.Second, Logs: []string{"configured"}}}
		cfg.DefaultImage = &ImageBehaviour{RunFor: time.Minute, ExitCode: 9}
	})
	c := newClient(t, e)
	configured := createGroup(t, c, e, "configured", merge(map[string]string{"Container.1.Image": "busybox:1.36", "RestartPolicy": "Never"},
		cmdParams("Container.1", "sh", "-c", "echo mine; exit 4")))
	// DefaultImage does not count as configured: the command runs.
	scripted := createGroup(t, c, e, "scripted", merge(map[string]string{"Container.1.Image": "alpine", "RestartPolicy": "Never"},
		cmdParams("Container.1", "sh", "-c", "echo mine; exit 4")))
	// An ordinary program gets DefaultImage.
	program := createGroup(t, c, e, "program", merge(map[string]string{"Container.1.Image": "alpine", "RestartPolicy": "Never"},
		cmdParams("Container.1", "/app/server")))
	clk.Advance(time.Minute)
	if g := mustDescribe(t, c, e, configured); g.Status != "Succeeded" || logs(configured) != "configured\n" {
		t.Fatalf("configured: %s %q", g.Status, logs(configured))
	}
	if g := mustDescribe(t, c, e, scripted); g.Containers[0].CurrentState.ExitCode != 4 || logs(scripted) != "mine\n" {
		t.Fatalf("scripted: %+v %q", g.Containers[0].CurrentState, logs(scripted))
	}
	if g := mustDescribe(t, c, e, program); g.Status != "Failed" || g.Containers[0].CurrentState.ExitCode != 9 {
		t.Fatalf("program: %s %+v", g.Status, g.Containers[0].CurrentState)
	}
}

func TestInitContainerCommands(t *testing.T) {
	e, clk, _ := instantEmu(t, nil)
	c := newClient(t, e)
	// The init script takes 3 s; the app starts after it.
	id := createGroup(t, c, e, "migrate", merge(map[string]string{"InitContainer.1.Name": "migrate", "InitContainer.1.Image": "busybox"},
		cmdParams("InitContainer.1", "sh", "-c", "echo migrating; sleep 3; echo migrated")))
	clk.Advance(2 * time.Second)
	if g := mustDescribe(t, c, e, id); g.Status != "Pending" || g.InitContainers[0].CurrentState.State != "Running" {
		t.Fatalf("at +2s: %s %+v", g.Status, g.InitContainers[0])
	}
	clk.Advance(time.Second)
	if g := mustDescribe(t, c, e, id); g.Status != "Running" || g.InitContainers[0].CurrentState.Reason != "Completed" {
		t.Fatalf("at +3s: %s %+v", g.Status, g.InitContainers[0])
	}
	var out struct{ Content string }
	mustAPI(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "migrate"}, &out)
	if out.Content != "migrating\nmigrated\n" {
		t.Fatalf("init log %q", out.Content)
	}
	// A failing init script fails the group under Never.
	id = createGroup(t, c, e, "bad-init", merge(map[string]string{"RestartPolicy": "Never", "InitContainer.1.Name": "check", "InitContainer.1.Image": "busybox"},
		cmdParams("InitContainer.1", "sh", "-ec", "echo checking; false; echo not reached")))
	if g := mustDescribe(t, c, e, id); g.Status != "Failed" || g.InitContainers[0].CurrentState.ExitCode != 1 {
		t.Fatalf("failing init: %s %+v", g.Status, g.InitContainers[0])
	}
}

// The interpreter's container mode, without a server.
func TestSimulatedScripts(t *testing.T) {
	for _, tc := range []struct {
		script  string
		out     string
		code    int
		elapsed time.Duration
		end     simEnd
	}{
		{"echo a; sleep 1.5; echo b", "0s a|1.5s b", 0, 1500 * time.Millisecond, endExited},
		{"sleep 1m 30s; exit 7", "", 7, 90 * time.Second, endExited},
		{"echo -n a; sleep 2; echo b", "0s ab", 0, 2 * time.Second, endExited},
		{"set -e\n# a comment\necho one &&\n  false || echo rescued\nfalse\necho never", "0s one|0s rescued", 1, 0, endExited},
		{"set -x; echo traced", "0s + echo traced|0s traced", 0, 0, endExited},
		{"sh -c 'exit 4'; echo after $HOME", "0s after /root", 0, 0, endExited},
		{"exec sleep 2; echo never", "", 0, 2 * time.Second, endExited},
		{"sleep x", "0s sleep: invalid time interval 'x'", 1, 0, endExited},
		{"echo up; sleep infinity", "0s up", 0, 0, endForever},
		{"echo up; cat", "0s up", 0, 0, endExited}, // no stdin attached: cat reads nothing
		{"echo a > /tmp/x", "", 0, 0, endUnsupported},
		{"echo ${A:-x}", "", 0, 0, endUnsupported},
		{"for i in 1 2; do echo $i; done", "", 0, 0, endUnsupported},
		{"echo $1", "", 0, 0, endUnsupported},
		{"printf '%s' x", "", 0, 0, endUnsupported},
		{"echo \"open", "0s sh: syntax error: unterminated quoted string", 2, 0, endExited},
	} {
		sim := &simulation{}
		sh := &shell{env: []envVar{{Key: "HOME", Value: "/root"}}, hostname: "h", workdir: "/", files: map[string]string{}, sim: sim}
		out := simWriter{sim}
		code, end := sh.runContainer([]string{"sh", "-c", tc.script}, nil, out, out)
		sim.flush()
		var lines []string
		for _, l := range sim.out {
			lines = append(lines, l.At.String()+" "+l.Text)
		}
		if got := strings.Join(lines, "|"); end != tc.end || end != endUnsupported && (got != tc.out || code != tc.code || sim.elapsed != tc.elapsed) {
			t.Errorf("%q: end %d code %d after %v, out %q", tc.script, end, code, sim.elapsed, got)
		}
	}
}
