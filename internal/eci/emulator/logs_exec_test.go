package emulator

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	"github.com/gorilla/websocket"
)

func TestDescribeContainerLog(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1, CrashBackoff: 10 * time.Second}
		cfg.Images = map[string]ImageBehaviour{
			"talker":  {Logs: []string{"hello", "world"}, LogEvery: 10 * time.Second, LogLine: "tick"},
			"crasher": {Logs: []string{"starting"}, RunFor: 5 * time.Second, ExitCode: 1},
		}
	})
	id := createGroup(t, c, e, "talk", map[string]string{"Container.1.Image": "talker"})
	crash := createGroup(t, c, e, "crash", map[string]string{"Container.1.Image": "crasher"})
	clk.Advance(time.Hour)

	logs := func(groupID string, mod func(*eci.DescribeContainerLogRequest)) string {
		t.Helper()
		req := eci.CreateDescribeContainerLogRequest()
		req.ContainerGroupId, req.ContainerName = groupID, "app"
		if mod != nil {
			mod(req)
		}
		resp, err := c.DescribeContainerLog(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContainerName != "app" {
			t.Fatalf("container name %q", resp.ContainerName)
		}
		return resp.Content
	}
	lines := strings.Split(strings.TrimSuffix(logs(id, nil), "\n"), "\n")
	if len(lines) != 362 || lines[0] != "hello" || lines[361] != "tick 360" {
		t.Fatalf("default tail: %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if got := logs(id, func(r *eci.DescribeContainerLogRequest) { r.Tail = "3" }); got != "tick 358\ntick 359\ntick 360\n" {
		t.Fatalf("tail 3: %q", got)
	}
	if got := logs(id, func(r *eci.DescribeContainerLogRequest) { r.SinceSeconds = "25" }); got != "tick 358\ntick 359\ntick 360\n" {
		t.Fatalf("since 25s: %q", got)
	}
	if got := logs(id, func(r *eci.DescribeContainerLogRequest) { r.StartTime = "2025-06-01T12:00:00Z"; r.Tail = "4" }); got != "tick 357\ntick 358\ntick 359\ntick 360\n" {
		t.Fatalf("start time: %q", got)
	}
	var out struct{ Content string }
	mustAPI(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "app", "Tail": "1", "Timestamps": "true"}, &out)
	if out.Content != "2025-06-01T13:00:00.000000000Z tick 360\n" {
		t.Fatalf("timestamps: %q", out.Content)
	}
	mustAPI(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "app", "LimitBytes": "7"}, &out)
	if out.Content != "hello\nw" {
		t.Fatalf("limit bytes: %q", out.Content)
	}
	wantCode(t, api(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "app", "Tail": "2001"}, nil), "InvalidParameter", 400)
	wantCode(t, api(t, c, e, "DescribeContainerLog", map[string]string{"ContainerGroupId": id, "ContainerName": "nope"}, nil), "InvalidParameter", 400)
	// LastTime: the previous (crashed) instance of the container.
	if got := logs(crash, func(r *eci.DescribeContainerLogRequest) { r.LastTime = "true" }); got != "starting\n" {
		t.Fatalf("previous: %q", got)
	}
}

// execSession drives the documented websocket framing.
func runExec(t *testing.T, uri string, stdin []string) (stdout, stderr string, code int) {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(uri, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", uri, err)
	}
	defer conn.Close()
	for _, s := range stdin {
		if err := conn.WriteMessage(websocket.BinaryMessage, append([]byte{0}, s...)); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.WriteMessage(websocket.BinaryMessage, []byte{0}) // EOF
	var out, errOut strings.Builder
	code = -1
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			break
		}
		switch msg[0] {
		case 1:
			out.Write(msg[1:])
		case 2:
			errOut.Write(msg[1:])
		case 3:
			var st ExecStatus
			if err := json.Unmarshal(msg[1:], &st); err != nil {
				t.Fatal(err)
			}
			code = st.ExitCode
		}
	}
	return out.String(), errOut.String(), code
}

func TestExecContainerCommand(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1}
		cfg.Images = map[string]ImageBehaviour{"slow": {PullDuration: time.Hour}}
	})
	conf := base64.StdEncoding.EncodeToString([]byte("key: value\n"))
	id := createGroup(t, c, e, "shell", map[string]string{
		"Volume.1.Name": "cfg", "Volume.1.Type": "ConfigFileVolume",
		"Volume.1.ConfigFileVolume.ConfigFileToPath.1.Path": "app.yaml", "Volume.1.ConfigFileVolume.ConfigFileToPath.1.Content": conf,
		"Container.1.VolumeMount.1.Name": "cfg", "Container.1.VolumeMount.1.MountPath": "/etc/app",
		"Container.1.EnvironmentVar.1.Key": "GREETING", "Container.1.EnvironmentVar.1.Value": "hi there",
		"Container.1.EnvironmentVar.2.Key": "POD_IP", "Container.1.EnvironmentVar.2.FieldRef.FieldPath": "status.podIP",
	})
	clk.Advance(time.Second)
	g := mustDescribe(t, c, e, id)

	exec := func(cmd string, mod func(*eci.ExecContainerCommandRequest)) string {
		t.Helper()
		req := eci.CreateExecContainerCommandRequest()
		req.ContainerGroupId, req.ContainerName, req.Command = id, "app", cmd
		if mod != nil {
			mod(req)
		}
		resp, err := c.ExecContainerCommand(req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp.WebSocketUri, "ws://"+e.Endpoint()+"/exec/?s=") {
			t.Fatalf("uri %q", resp.WebSocketUri)
		}
		return resp.WebSocketUri
	}
	for _, tc := range []struct {
		cmd, stdin, out, errOut string
		code                    int
	}{
		{`["cat","/etc/app/app.yaml"]`, "", "key: value\n", "", 0},
		{`["/bin/sh","-c","echo $GREETING; hostname && exit 3"]`, "", "hi there\nshell\n", "", 3},
		{`["printenv","POD_IP"]`, "", g.IntranetIp + "\n", "", 0},
		{`["sh"]`, "echo one\nls /etc/app\nexit 7\necho never\n", "one\napp.yaml\n", "", 7},
		{`["cat"]`, "piped", "piped", "", 0},
		{`["ls","/nope"]`, "", "", "ls: /nope: No such file or directory\n", 1},
		{`["vim"]`, "", "", "sh: vim: not found\n", 127},
	} {
		uri := exec(tc.cmd, nil)
		var in []string
		if tc.stdin != "" {
			in = []string{tc.stdin}
		}
		out, errOut, code := runExec(t, uri, in)
		if out != tc.out || errOut != tc.errOut || code != tc.code {
			t.Errorf("%s: out=%q err=%q code=%d", tc.cmd, out, errOut, code)
		}
		// One-shot: the same URI cannot be opened twice.
		if _, _, err := websocket.DefaultDialer.Dial(uri, nil); err == nil {
			t.Errorf("%s: token reused", tc.cmd)
		}
	}
	// Sync mode returns the output directly (current API; CommonRequest).
	var syncOut struct{ SyncResponse string }
	mustAPI(t, c, e, "ExecContainerCommand", map[string]string{"ContainerGroupId": id, "ContainerName": "app",
		"Command": `["echo","-n","done"]`, "Sync": "true"}, &syncOut)
	if syncOut.SyncResponse != "done" {
		t.Fatalf("sync: %q", syncOut.SyncResponse)
	}
	wantCode(t, api(t, c, e, "ExecContainerCommand", map[string]string{"ContainerGroupId": id, "ContainerName": "app",
		"Command": `["ls"]`, "Sync": "true", "TTY": "true"}, nil), "InvalidParameter", 400)
	wantCode(t, api(t, c, e, "ExecContainerCommand", map[string]string{"ContainerGroupId": id, "ContainerName": "app",
		"Command": "ls -a"}, nil), "InvalidParameter", 400)
	// A token expires after 30 s.
	uri := exec(`["true"]`, nil)
	clk.Advance(31 * time.Second)
	if _, _, err := websocket.DefaultDialer.Dial(uri, nil); err == nil {
		t.Errorf("expired token accepted")
	}
	// Not running yet: refused.
	later := createGroup(t, c, e, "not-yet", map[string]string{"Container.1.Image": "slow"})
	wantCode(t, api(t, c, e, "ExecContainerCommand", map[string]string{"ContainerGroupId": later, "ContainerName": "app",
		"Command": `["ls"]`}, nil), "IncorrectStatus", 403)
}

func TestShellParse(t *testing.T) {
	sh := &shell{env: []envVar{{Key: "A", Value: "x y"}}, hostname: "h", workdir: "/", files: map[string]string{}}
	for _, tc := range []struct {
		line string
		want [][]string
	}{
		{`echo "$A" '$A' \$A ${A}z`, [][]string{{"echo", "x y", "$A", "$A", "x yz"}}},
		{`a; b && c || d;`, [][]string{{"a"}, {"b"}, {"c"}, {"d"}}},
		{`echo ""`, [][]string{{"echo", ""}}},
	} {
		got, _, err := sh.parse(tc.line)
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("%q: %q %v", tc.line, got, err)
		}
		for i := range got {
			if strings.Join(got[i], "|") != strings.Join(tc.want[i], "|") {
				t.Errorf("%q: cmd %d = %q, want %q", tc.line, i, got[i], tc.want[i])
			}
		}
	}
	if _, _, err := sh.parse(`echo "open`); err == nil {
		t.Errorf("unterminated quote accepted")
	}
}

func TestExecTerminalSizeFollowsResizes(t *testing.T) {
	e, clk, c := fakeEmu(t, func(cfg *Config) {
		cfg.Lifecycle = LifecycleConfig{Scheduling: -1, ImagePull: -1, ContainerStart: -1}
	})
	id := createGroup(t, c, e, "tty", nil)
	clk.Advance(time.Second)
	open := func(tty string) *websocket.Conn {
		t.Helper()
		var out struct{ WebSocketUri string }
		mustAPI(t, c, e, "ExecContainerCommand", map[string]string{"ContainerGroupId": id, "ContainerName": "app",
			"Command": `["sh"]`, "TTY": tty}, &out)
		conn, _, err := websocket.DefaultDialer.Dial(out.WebSocketUri, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	send := func(conn *websocket.Conn, stream byte, payload string) {
		t.Helper()
		if err := conn.WriteMessage(websocket.BinaryMessage, append([]byte{stream}, payload...)); err != nil {
			t.Fatal(err)
		}
	}
	// read collects stdout and stderr up to the exit status.
	read := func(conn *websocket.Conn) (string, int) {
		t.Helper()
		var out strings.Builder
		for {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("no exit status; output so far %q: %v", out.String(), err)
			}
			if msg[0] == streamStatus {
				var st ExecStatus
				if err := json.Unmarshal(msg[1:], &st); err != nil {
					t.Fatal(err)
				}
				return out.String(), st.ExitCode
			}
			out.Write(msg[1:])
		}
	}

	// A resize and the stdin after it are separate streams, which a terminal does not
	// order either: each size is sent only once the command before it has answered.
	var seen strings.Builder
	await := func(conn *websocket.Conn, want string) {
		t.Helper()
		for !strings.HasSuffix(seen.String(), want) {
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := conn.ReadMessage()
			if err != nil || msg[0] == streamStatus {
				t.Fatalf("waiting for %q; output so far %q: %v", want, seen.String(), err)
			}
			seen.Write(msg[1:])
		}
	}
	conn := open("true")
	send(conn, streamStdin, "stty size\n")
	await(conn, "0 0\n# ")
	send(conn, streamResize, `{"Width":120,"Height":40}`)
	send(conn, streamStdin, "stty size\n")
	await(conn, "40 120\n# ")
	send(conn, streamResize, `{"Width":80,"Height":24}`)
	send(conn, streamStdin, "stty size\n")
	send(conn, streamStdin, "")
	rest, code := read(conn)
	if out := seen.String() + rest; out != "# 0 0\n# 40 120\n# 24 80\n# " || code != 0 {
		t.Fatalf("with a TTY: output %q, code %d; want each size as rows and columns", out, code)
	}

	conn = open("false")
	send(conn, streamResize, `{"Width":120,"Height":40}`)
	send(conn, streamStdin, "stty size\n")
	send(conn, streamStdin, "")
	if out, code := read(conn); !strings.Contains(out, "Not a tty") || code != 1 {
		t.Fatalf("without a TTY: output %q, code %d; want stty to fail", out, code)
	}
}
