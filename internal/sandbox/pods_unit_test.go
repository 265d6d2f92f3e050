package sandbox

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestIsRuntimeImage(t *testing.T) {
	for image, want := range map[string]bool{
		"ghcr.io/eci-vnode/eci-vnode":                     true,
		"ghcr.io/eci-vnode/eci-vnode:v0.1.0":              true,
		"ghcr.io/eci-vnode/eci-vnode@sha256:0123abcd":     true,
		"ghcr.io/eci-vnode/eci-vnode:dev@sha256:0123abcd": true,
		"ghcr.io/eci-vnode/eci-vnode-extra:v1":            false,
		"docker.io/library/nginx:1.27":                    false,
		"localhost:5000/eci-vnode/eci-vnode:v1":           false,
	} {
		if got := isRuntimeImage(image); got != want {
			t.Errorf("isRuntimeImage(%q) = %v, want %v", image, got, want)
		}
	}
}

func TestRuntimeArgv(t *testing.T) {
	tests := []struct {
		command, args, want []string
		wantErr             bool
	}{
		{nil, []string{"version"}, []string{"version"}, false},
		{[]string{"eci-vnode"}, []string{"node", "--name=a"}, []string{"node", "--name=a"}, false},
		{[]string{"/usr/local/bin/eci-vnode", "node"}, []string{"--x"}, []string{"node", "--x"}, false},
		{[]string{"/eci-vnode"}, nil, []string{}, false},
		{[]string{"sh", "-c", "echo"}, nil, nil, true},
	}
	for _, tt := range tests {
		got, err := runtimeArgv(tt.command, tt.args)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !slices.Equal(got, tt.want)) {
			t.Errorf("runtimeArgv(%q, %q) = %q, %v", tt.command, tt.args, got, err)
		}
	}
}

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"plain":         "plain",
		"$(A)":          "1",
		"x-$(A)-$(B)-y": "x-1-two-y",
		"$(MISSING)":    "$(MISSING)",
		"$$(A)":         "$(A)",
		"$A":            "$A",
		"cost: $$5":     "cost: $5",
		"open $(A":      "open $(A",
		"$()":           "$()",
		"trailing $":    "trailing $",
	} {
		if got := expandVars(in, lookup); got != want {
			t.Errorf("expandVars(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIPAllocatorNeverHandsOutAnAddressTwice(t *testing.T) {
	a := newIPAllocator()
	seen := map[string]bool{}
	for i := 0; i < 600; i++ {
		ip, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		if seen[ip] {
			t.Fatalf("%s handed out twice", ip)
		}
		seen[ip] = true
	}
	for s := range seen {
		ip := net.ParseIP(s).To4()
		if ip[0] != 127 || ip[1] != 0 || ip[2] == 1 || ip[3] == 0 || ip[3] == 255 || (ip[2] == 0 && ip[3] < 2) {
			t.Errorf("reserved address %s handed out", s)
		}
	}
	if !seen["127.0.0.2"] || !seen["127.0.0.254"] || !seen["127.0.2.1"] {
		t.Error("expected the pool to start at 127.0.0.2 and skip 127.0.1.0/24")
	}
	// Released addresses come back only after the rest of the pool (round-robin).
	a.release("127.0.0.2")
	next, _ := a.allocate()
	if next == "127.0.0.2" {
		t.Error("a just-released address was reused at once")
	}
}

func TestBackoffDelay(t *testing.T) {
	base := 10 * time.Second
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := backoffDelay(base, n); got != w {
			t.Errorf("backoffDelay(%d) = %s, want %s", n, got, w)
		}
	}
}

func TestShouldRestart(t *testing.T) {
	for _, tt := range []struct {
		policy corev1.RestartPolicy
		code   int
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 2, true},
		{corev1.RestartPolicyNever, 2, false},
	} {
		if got := shouldRestart(tt.policy, tt.code); got != tt.want {
			t.Errorf("shouldRestart(%s, %d) = %v", tt.policy, tt.code, got)
		}
	}
}

func TestPodPhase(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	exited := func(code int32) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
	}
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	tests := []struct {
		name   string
		policy corev1.RestartPolicy
		states []corev1.ContainerState
		want   corev1.PodPhase
	}{
		{"creating", corev1.RestartPolicyAlways, []corev1.ContainerState{waiting}, corev1.PodPending},
		{"running", corev1.RestartPolicyAlways, []corev1.ContainerState{running}, corev1.PodRunning},
		{"never, exit 0", corev1.RestartPolicyNever, []corev1.ContainerState{exited(0)}, corev1.PodSucceeded},
		{"never, exit 2", corev1.RestartPolicyNever, []corev1.ContainerState{exited(2)}, corev1.PodFailed},
		{"never, one still running", corev1.RestartPolicyNever, []corev1.ContainerState{exited(2), running}, corev1.PodRunning},
		{"onfailure, exit 0", corev1.RestartPolicyOnFailure, []corev1.ContainerState{exited(0)}, corev1.PodSucceeded},
		{"onfailure, exit 1 restarts", corev1.RestartPolicyOnFailure, []corev1.ContainerState{exited(1)}, corev1.PodRunning},
		{"always, exit 0 restarts", corev1.RestartPolicyAlways, []corev1.ContainerState{exited(0)}, corev1.PodRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pw := &podWorker{pod: &corev1.Pod{Spec: corev1.PodSpec{RestartPolicy: tt.policy}}, podIP: "127.0.0.2", initDone: true}
			for _, s := range tt.states {
				pw.mains = append(pw.mains, &containerState{state: s})
			}
			if got := pw.phase(); got != tt.want {
				t.Errorf("phase = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSeekTailLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{0: "", 1: "three\n", 2: "two\nthree\n", 3: "one\ntwo\nthree\n", 10: "one\ntwo\nthree\n"} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := seekTailLines(f, n); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if string(got) != want {
			t.Errorf("tail %d = %q, want %q", n, got, want)
		}
	}
}

func TestRoutedIPAllocatorStaysInItsRange(t *testing.T) {
	a := newRoutedIPAllocator()
	a.next = ipPoolSize - 300 // wrap around the end of the range
	seen := map[string]bool{}
	for i := 0; i < 600; i++ {
		ip, err := a.allocate()
		if err != nil {
			t.Fatal(err)
		}
		p := net.ParseIP(ip).To4()
		if seen[ip] || p[0] != 100 || p[1] != 64 || p[3] == 0 || p[3] == 255 {
			t.Fatalf("%s handed out (twice, or outside 100.64.0.0/16, or reserved)", ip)
		}
		seen[ip] = true
	}
	if !seen["100.64.0.1"] || !seen["100.64.255.254"] {
		t.Error("expected the pool to wrap from 100.64.255.254 to 100.64.0.1")
	}
	// A loopback address is not this pool's to release.
	a.release("127.0.0.1")
	a.release("100.64.0.1")
	if a.used[1] {
		t.Error("100.64.0.1 still in use after its release")
	}
}

func TestRoutedRangeIsNotAddedOverARouteOfTheMachine(t *testing.T) {
	for out, want := range map[string]string{
		"":                                  "",
		"default via 192.0.2.1 dev eth0 \n": "",
		"local 100.64.0.0/16 dev lo table local scope host \n":                                  "",
		"default via 192.0.2.1 dev eth0 \nlocal 100.64.0.0/16 dev lo table local scope host \n": "",
		// A carrier-grade NAT or VPN on the range, or an address of an interface in it.
		"100.64.0.0/10 dev tailscale0 table 52 \n":                                        "100.64.0.0/10 dev tailscale0 table 52",
		"default via 192.0.2.1 dev eth0 \n100.64.3.0/24 dev eth1 proto kernel scope link": "100.64.3.0/24 dev eth1 proto kernel scope link",
		"local 100.64.3.7 dev eth1 table local proto kernel scope host src 100.64.3.7":    "local 100.64.3.7 dev eth1 table local proto kernel scope host src 100.64.3.7",
	} {
		if got := foreignRoute(out); got != want {
			t.Errorf("foreignRoute(%q) = %q, want %q", out, got, want)
		}
	}
}

func TestSandboxesStartTheirPodIPsApart(t *testing.T) {
	starts := map[string]bool{}
	for i := 0; i < 20; i++ {
		ip, err := newSandboxIPAllocator(i%2 == 1).allocate()
		if err != nil {
			t.Fatal(err)
		}
		starts[ip] = true
	}
	// Twenty sandboxes from one start would be the collision this avoids;
	// random starts in 65,000 addresses repeat with a chance of about 0.3 %.
	if len(starts) < 18 {
		t.Errorf("20 sandboxes started their pod IPs at only %d addresses: %v", len(starts), starts)
	}
}
