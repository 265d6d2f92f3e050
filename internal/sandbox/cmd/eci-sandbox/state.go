package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// Files the supervisor keeps in the state dir, next to what the sandbox itself writes.
const (
	pidFileName   = "supervisor.pid" // pid of the background supervisor
	readyFileName = "ready.json"     // written once the sandbox is up; removed on stop
	toolsFileName = "tools.json"     // tool paths `up` resolved, so the supervisor need not rebuild
	supervisorLog = "supervisor.log" // under logs/
	serveVerb     = "serve"          // hidden verb the supervisor runs
)

// readyInfo is what `up` prints and `down` checks.
type readyInfo struct {
	PID        int    `json:"pid"`
	Kubeconfig string `json:"kubeconfig"`
	Server     string `json:"server"`
	Ports      []int  `json:"ports"`
	BinDir     string `json:"binDir"`
	Workers    int    `json:"workers"`
	// ECIEndpoint and VNode are set when the ECI emulator and the demo VNode run.
	ECIEndpoint string `json:"eciEndpoint,omitempty"`
	VNode       string `json:"vnode,omitempty"`
}

func readReady(dir string) (readyInfo, error) {
	var r readyInfo
	b, err := os.ReadFile(filepath.Join(dir, readyFileName))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("parse %s: %w", readyFileName, err)
	}
	return r, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readTools(dir string) (*sandbox.Tools, error) {
	b, err := os.ReadFile(filepath.Join(dir, toolsFileName))
	if err != nil {
		return nil, err
	}
	var t sandbox.Tools
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse %s: %w", toolsFileName, err)
	}
	return &t, nil
}

// supervisorPID returns the pid of the supervisor running for dir, or 0. A pid file whose
// process is gone, or is now some other program (pid reuse), counts as none.
func supervisorPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, pidFileName))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0
	}
	args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	isServe, forDir := false, false
	for i, a := range args {
		if a == serveVerb {
			isServe = true
		}
		if (a == "--state-dir" || a == "-state-dir") && i+1 < len(args) && args[i+1] == dir {
			forDir = true
		}
	}
	if !isServe || !forDir || !alive(pid) {
		return 0
	}
	return pid
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after the parenthesised command name
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// absDir resolves and creates the state dir.
func absDir(dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("--state-dir is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(abs, "logs"), 0o755); err != nil {
		return "", fmt.Errorf("create state dir: %w", err)
	}
	return abs, nil
}

func printUsage(w io.Writer, dir string, r readyInfo) {
	fmt.Fprintf(w, `  kubeconfig:  %[2]s
  try:         kubectl --kubeconfig %[2]s get nodes
  or:          export KUBECONFIG=%[2]s
  apiserver:   %[3]s (%[4]d worker node(s))
  terraform:   PATH="%[5]s:$PATH" terraform version   (Terraform %[6]s)
  logs:        %[1]s/logs/ (control plane), %[1]s/pods/ (pod processes)%[7]s
  stop:        make demo-down   (or: go run ./internal/sandbox/cmd/eci-sandbox down --state-dir %[1]s)
`, dir, r.Kubeconfig, r.Server, r.Workers, r.BinDir, sandbox.TerraformVersion, eciUsage(dir, r))
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// eciUsage tells how to use the demo VNode, when it runs.
func eciUsage(dir string, r readyInfo) string {
	if r.VNode == "" {
		return ""
	}
	return fmt.Sprintf(`
  ECI:         emulator at %[2]s (address and credentials: %[1]s/components/eci-emulator/eci.json)
  VNode:       %[3]s — pods with nodeSelector k8s.aliyun.com/vnode: "true" and a toleration for
               k8s.aliyun.com/vnode=true:NoSchedule run as ECI instances, e.g.
               kubectl --kubeconfig %[4]s run web --image=nginx \
                 --overrides='{"spec":{"nodeSelector":{"k8s.aliyun.com/vnode":"true"},"tolerations":[{"key":"k8s.aliyun.com/vnode","operator":"Exists"}]}}'`,
		dir, r.ECIEndpoint, r.VNode, r.Kubeconfig)
}
