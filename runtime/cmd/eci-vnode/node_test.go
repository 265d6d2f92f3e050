package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubeconfigFile writes a kubeconfig for an API server that is never
// called: the command only loads it before it starts.
func kubeconfigFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// validNodeArgs are settings `eci-vnode node` accepts, with credentials in
// the environment.
func validNodeArgs(t *testing.T) ([]string, map[string]string) {
	args := []string{"--node-name", "vnode-1", "--cluster-name", "c1", "--region", "cn-hangzhou",
		"--kubeconfig", kubeconfigFile(t), "--metrics-addr", "127.0.0.1:0"}
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tTestKey", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "test-secret"}
	return args, env
}

// runRefused runs a subcommand that must refuse its settings, and returns
// what it printed on stderr. A command that accepts them would start and
// run until stopped; the test fails instead of waiting for it.
func runRefused(t *testing.T, cmd func(args []string, stdout, stderr *bytes.Buffer, getenv func(string) string) int, args []string, env map[string]string) string {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		code := cmd(args, &out, &errOut, func(k string) string { return env[k] })
		done <- result{code, errOut.String()}
	}()
	select {
	case r := <-done:
		if r.code != 2 {
			t.Fatalf("exit code %d, want 2 (a usage error); stderr:\n%s", r.code, r.stderr)
		}
		return r.stderr
	case <-time.After(20 * time.Second):
		t.Fatalf("the command accepted %q and started", args)
		return ""
	}
}

func nodeCmd(args []string, stdout, stderr *bytes.Buffer, getenv func(string) string) int {
	return nodeCommand(args, stdout, stderr, getenv)
}

func webhookCmd(args []string, stdout, stderr *bytes.Buffer, getenv func(string) string) int {
	return profileWebhookCommand(args, stdout, stderr, getenv)
}

// problems returns the listed problems of a settings report.
func problems(report string) []string {
	var out []string
	for _, l := range strings.Split(report, "\n") {
		if p, ok := strings.CutPrefix(l, "  - "); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestNodeReportsEveryBadSettingAtOnce(t *testing.T) {
	args, env := validNodeArgs(t)
	args = append(args, "--log-level", "verbose", "--eci-scheme", "ftp", "--status-poll-fast", "-1s",
		"--capacity", "cpu=lots", "--create-workers", "0", "--cluster-name", "", "--eci-create-qps", "0", "--event-burst", "0",
		"--eci-create-per-minute", "-5")
	env["ECI_VNODE_ORPHAN_GRACE_PERIOD"] = "two minutes"
	delete(env, "ALIBABA_CLOUD_ACCESS_KEY_SECRET")

	report := runRefused(t, nodeCmd, args, env)
	t.Logf("report:\n%s", report)
	if strings.Count(report, "problems with the settings") != 1 {
		t.Errorf("want one report, got:\n%s", report)
	}
	want := map[string]string{ // flag and environment variable -> what the problem says
		"--log-level / ECI_VNODE_LOG_LEVEL":                         `"verbose" is not a log level; use debug, info, warn, error`,
		"--eci-scheme / ECI_VNODE_ECI_SCHEME":                       `"ftp": want HTTPS or HTTP`,
		"--status-poll-fast / ECI_VNODE_STATUS_POLL_FAST":           "-1s: want a duration above zero",
		"--capacity / ECI_VNODE_CAPACITY":                           "cpu=lots is not a quantity",
		"--create-workers / ECI_VNODE_CREATE_WORKERS":               "0: want 1 or more",
		"--orphan-grace-period / ECI_VNODE_ORPHAN_GRACE_PERIOD":     `"two minutes" is not a duration`,
		"--credentials-dir / ECI_VNODE_CREDENTIALS_DIR":             "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
		"--cluster-name / ECI_VNODE_CLUSTER_NAME":                   "required",
		"--eci-create-qps / ECI_VNODE_ECI_CREATE_QPS":               "0: want a number above zero",
		"--event-burst / ECI_VNODE_EVENT_BURST":                     "0: want 1 or more",
		"--eci-create-per-minute / ECI_VNODE_ECI_CREATE_PER_MINUTE": "-5: want 0 or more",
	}
	listed := problems(report)
	for label, says := range want {
		found := false
		for _, p := range listed {
			if strings.HasPrefix(p, label) && strings.Contains(p, says) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem %q ... %q in the report", label, says)
		}
	}
	if len(listed) != len(want) {
		t.Errorf("%d problems listed, want %d (one per bad setting)", len(listed), len(want))
	}
	if strings.Contains(report, "two minutes\" is not a duration") && !strings.Contains(report, "set by ECI_VNODE_ORPHAN_GRACE_PERIOD") {
		t.Errorf("a value from the environment should say so:\n%s", report)
	}
}

func TestNodeRefusesAnUnknownLogLevel(t *testing.T) {
	args, env := validNodeArgs(t)
	report := runRefused(t, nodeCmd, append(args, "--log-level", "verbose"), env)
	want := []string{`--log-level / ECI_VNODE_LOG_LEVEL: "verbose" is not a log level; use debug, info, warn, error`}
	if got := problems(report); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems %q, want %q", got, want)
	}
}

func TestNodeRefusesASchemeOtherThanHTTPOrHTTPS(t *testing.T) {
	args, env := validNodeArgs(t)
	env["ECI_VNODE_ECI_SCHEME"] = "ftp"
	report := runRefused(t, nodeCmd, args, env)
	want := []string{`--eci-scheme / ECI_VNODE_ECI_SCHEME: "ftp": want HTTPS or HTTP (set by ECI_VNODE_ECI_SCHEME)`}
	if got := problems(report); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems %q, want %q", got, want)
	}
}

func TestNodeNamesTheCredentialsDirectoryWhenItIsIncomplete(t *testing.T) {
	args, env := validNodeArgs(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "access-key-id"), []byte("LTAI5tTestKey\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	report := runRefused(t, nodeCmd, append(args, "--credentials-dir", dir), env)
	got := problems(report)
	if len(got) != 1 || !strings.HasPrefix(got[0], "--credentials-dir / ECI_VNODE_CREDENTIALS_DIR: ") || !strings.Contains(got[0], "access-key-secret") {
		t.Fatalf("problems %q; want one naming --credentials-dir and the missing access-key-secret", got)
	}
}

func TestProfileWebhookReportsEveryBadSettingAtOnce(t *testing.T) {
	args := []string{"--kubeconfig", kubeconfigFile(t), "--log-level", "loud", "--timeout-seconds", "30",
		"--failure-policy", "Sometimes", "--cert-validity", "-1h", "--listen", "9443"}
	report := runRefused(t, webhookCmd, args, map[string]string{"ECI_VNODE_RESYNC_PERIOD": "often"})
	t.Logf("report:\n%s", report)
	for _, label := range []string{"--log-level / ECI_VNODE_LOG_LEVEL", "--timeout-seconds / ECI_VNODE_TIMEOUT_SECONDS",
		"--failure-policy / ECI_VNODE_FAILURE_POLICY", "--cert-validity / ECI_VNODE_CERT_VALIDITY",
		"--listen / ECI_VNODE_LISTEN", "--resync-period / ECI_VNODE_RESYNC_PERIOD"} {
		if !strings.Contains(report, "  - "+label) {
			t.Errorf("the report does not list %s", label)
		}
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := nodeCommand([]string{"--help"}, &out, &errOut, func(string) string { return "" }); code != 0 {
		t.Fatalf("exit code %d; stderr %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "-credentials-dir") || !strings.Contains(out.String(), "ECI_VNODE_<FLAG_NAME>") {
		t.Fatalf("help lacks the flags or how the environment sets them:\n%s", out.String())
	}
}

// stackError prints a stack trace for %+v, as errors wrapped with
// github.com/pkg/errors (virtual-kubelet's) do.
type stackError struct{}

func (stackError) Error() string { return "sync pod: create: eci: quota" }
func (e stackError) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('+') {
		fmt.Fprint(f, e.Error()+"\ngithub.com/virtual-kubelet/virtual-kubelet/node.(*PodController).syncPod\n\t/go/pkg/node/pod.go:123")
		return
	}
	fmt.Fprint(f, e.Error())
}

func TestLogRecordsAreOneLineWithoutStackTraces(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "info", "text")
	log.With("error", stackError{}).Error("failed to sync pod\nin the provider", "detail", "SDK.ServerError\nErrorCode: Throttling\nRequestId: R-1")
	out := strings.TrimSuffix(buf.String(), "\n")
	if strings.Contains(out, "\n") || strings.Contains(out, `\n`) || strings.Contains(out, "pod.go:123") {
		t.Fatalf("record spans lines or carries a stack trace: %s", out)
	}
	for _, want := range []string{`error="sync pod: create: eci: quota"`, "ErrorCode: Throttling; RequestId: R-1", `msg="failed to sync pod; in the provider"`} {
		if !strings.Contains(out, want) {
			t.Errorf("record %s lacks %s", out, want)
		}
	}
}
