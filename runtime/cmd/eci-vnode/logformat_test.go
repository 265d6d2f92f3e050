package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogFormatJSONWritesOneJSONObjectPerRecord(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "debug", "json")
	log.Info("serving metrics", "addr", "127.0.0.1:10255")
	log.With("node", "vnode-1").Error("create failed\non ECI", "err", errors.Join(errors.New("Throttling.User"), stackError{}))
	log.Debug("debug record", "n", 3)

	sc := bufio.NewScanner(&buf)
	var records []map[string]any
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		records = append(records, rec)
	}
	if len(records) != 3 {
		t.Fatalf("got %d JSON lines, want 3 (one per record):\n%s", len(records), buf.String())
	}
	if records[0]["msg"] != "serving metrics" || records[0]["addr"] != "127.0.0.1:10255" || records[0]["level"] != "INFO" {
		t.Errorf("first record lacks msg, level or addr: %v", records[0])
	}
	// An error is its text on one line, not {} and not a stack trace.
	e, _ := records[1]["err"].(string)
	if e != "Throttling.User; sync pod: create: eci: quota" || records[1]["node"] != "vnode-1" || records[1]["msg"] != "create failed; on ECI" {
		t.Errorf("error record = %v; want err as one line of text, the node attribute and a one-line msg", records[1])
	}
	if records[2]["level"] != "DEBUG" {
		t.Errorf("debug record at level %v", records[2]["level"])
	}
}

func TestLogFormatIsASettingLikeTheOthers(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  func(args []string, stdout, stderr *bytes.Buffer, getenv func(string) string) int
	}{{"node", nodeCmd}, {"profile-webhook", webhookCmd}, {"approver", approverCmd}} {
		t.Run(tc.name+" refuses an unknown format from the flag, the environment or the config file", func(t *testing.T) {
			args, env := validNodeArgs(t)
			if tc.name != "node" {
				args = []string{"--kubeconfig", kubeconfigFile(t)}
				env = map[string]string{}
			}
			// From the command line.
			out := runRefused(t, tc.cmd, append(args, "--log-format=yaml"), env)
			want := `--log-format / ECI_VNODE_LOG_FORMAT: "yaml" is not a log format; use text or json`
			if !strings.Contains(out, want) {
				t.Fatalf("report lacks %q:\n%s", want, out)
			}
			// From the environment, with the source named.
			envBad := map[string]string{"ECI_VNODE_LOG_FORMAT": "logfmt"}
			for k, v := range env {
				envBad[k] = v
			}
			out = runRefused(t, tc.cmd, args, envBad)
			if !strings.Contains(out, `"logfmt" is not a log format`) || !strings.Contains(out, "(set by ECI_VNODE_LOG_FORMAT)") {
				t.Fatalf("report does not name the environment's bad value:\n%s", out)
			}
			// From --config.
			cfg := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(cfg, []byte("log-format: xml\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			out = runRefused(t, tc.cmd, append(args, "--config", cfg), env)
			if !strings.Contains(out, `"xml" is not a log format`) || !strings.Contains(out, "(set by config file "+cfg+")") {
				t.Fatalf("report does not name the config file's bad value:\n%s", out)
			}
		})
	}
}

func approverCmd(args []string, stdout, stderr *bytes.Buffer, getenv func(string) string) int {
	return approverCommand(args, stdout, stderr, getenv)
}
