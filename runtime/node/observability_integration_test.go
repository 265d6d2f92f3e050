package node_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// TestObservabilityEndpointsMetricsAndJSONLogs runs the eci-vnode binary
// against the sandbox's API server and the ECI emulator and reads what an
// operator reads: /livez, /healthz and /readyz before and after the runtime
// has synced, the metrics of throttling, status-sync lag, pod phases and
// queues, a standby replica's readiness, and JSON logs.
func TestObservabilityEndpointsMetricsAndJSONLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	g := startGround(t, emulator.Config{})
	// The runtime reaches the API server through a proxy that holds every
	// connection until opened: until then it cannot sync or register.
	gate := newGatedProxy(t, g.sb.Kubeconfig())
	a := g.startRuntime("vnode-obs", "rt-obs-a", "--kubeconfig", gate.kubeconfig, "--log-format", "json")
	dumpJSONLogOnFailure(t, a)
	addrA := jsonMetricsAddress(t, g, a)
	var b *runtimeProc // the standby, once started

	t.Run("before the API server answers: live, and not ready, saying why", func(t *testing.T) {
		for _, path := range []string{"/livez", "/healthz"} {
			if code, body := get(t, addrA, path); code != http.StatusOK || body != "ok" {
				t.Fatalf("%s = %d %q; want 200 ok (liveness checks nothing outside the process)", path, code, body)
			}
		}
		code, body := get(t, addrA, "/readyz")
		if code != http.StatusServiceUnavailable {
			t.Fatalf("/readyz = %d before the pod informers could sync; want 503:\n%s", code, body)
		}
		for _, want := range []string{"[+]leader-election ok", "[-]pods-synced failed:", "[-]node-registered failed:", "readyz check failed"} {
			if !strings.Contains(body, want) {
				t.Errorf("/readyz body lacks %q:\n%s", want, body)
			}
		}
	})

	gate.open()
	t.Run("once synced and registered: ready", func(t *testing.T) {
		g.t = t
		var body string
		g.poll("/readyz 200", time.Minute, func(context.Context) (bool, error) {
			var code int
			code, body = get(t, addrA, "/readyz")
			return code == http.StatusOK, nil
		})
		for _, want := range []string{"[+]pods-synced ok", "[+]node-registered ok", "readyz check passed"} {
			if !strings.Contains(body, want) {
				t.Errorf("/readyz body lacks %q:\n%s", want, body)
			}
		}
		g.waitNodeReady("vnode-obs")
	})

	t.Run("a pod that runs is counted by phase and its status writes by lag", func(t *testing.T) {
		g.t = t
		p := g.pod("obs-running", "vnode-obs", "nginx:1.27", nil)
		g.waitPod(p.Name, podRunningReady)
		var exp string
		g.poll("the lag histogram and the Running phase on /metrics", 30*time.Second, func(context.Context) (bool, error) {
			exp = scrape(t, addrA)
			return sampleValue(exp, "eci_vnode_pod_status_sync_lag_seconds_count", "") >= 1 &&
				sampleSum(exp, "eci_vnode_pods_by_phase", `phase="Running"`) >= 1, nil
		})
		if v := sampleValue(exp, "eci_vnode_leader", ""); v != 1 {
			t.Errorf("eci_vnode_leader = %v on the only replica; want 1", v)
		}
		for _, q := range []string{"eci-create", "eci-pod-status", "vk-sync-pods-from-kubernetes", "vk-delete-pods-from-kubernetes", "vk-sync-pod-status-from-provider"} {
			if !strings.Contains(exp, `eci_vnode_queue_depth{queue="`+q+`"}`) {
				t.Errorf("no eci_vnode_queue_depth series for queue %s", q)
			}
		}
		t.Logf("status-sync lag: %v writes, %.3fs in all", sampleValue(exp, "eci_vnode_pod_status_sync_lag_seconds_count", ""),
			sampleValue(exp, "eci_vnode_pod_status_sync_lag_seconds_sum", ""))
	})

	t.Run("ECI throttling is counted by action, and neither liveness nor readiness follows it", func(t *testing.T) {
		g.t = t
		const action = "DescribeContainerGroupStatus"
		before := sampleSum(scrape(t, addrA), "eci_vnode_eci_throttles_total", `action="`+action+`"`)
		g.emu.SetRateLimit(action, emulator.RateLimit{Burst: 1, Per: time.Hour})
		defer g.emu.SetRateLimit(action, emulator.RateLimit{Burst: 10000, Per: time.Minute}) // the documented quota
		var exp string
		g.poll("throttles on /metrics", 30*time.Second, func(context.Context) (bool, error) {
			exp = scrape(t, addrA)
			return sampleSum(exp, "eci_vnode_eci_throttles_total", `action="`+action+`"`) > before, nil
		})
		if n := sampleSum(exp, "eci_vnode_eci_api_attempts_total", `action="`+action+`",result="Throttling.User"`); n < 1 {
			t.Errorf("eci_vnode_eci_api_attempts_total counts %v throttled %s attempts; want them as in eci_vnode_eci_throttles_total", n, action)
		}
		if code, _ := get(t, addrA, "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz = %d while ECI throttles; want 200", code)
		}
		if code, body := get(t, addrA, "/readyz"); code != http.StatusOK {
			t.Errorf("/readyz = %d while ECI throttles; want 200:\n%s", code, body)
		}
	})

	t.Run("a standby replica is live and ready as a standby, and names the leader", func(t *testing.T) {
		g.t = t
		// Another replica holds the VNode's Lease for the rest of the test.
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "eci-vnode-vnode-obs-b", Namespace: ns},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("rt-obs-elsewhere"), LeaseDurationSeconds: ptr.To[int32](3600),
				AcquireTime: &metav1.MicroTime{Time: time.Now()}, RenewTime: &metav1.MicroTime{Time: time.Now()}},
		}
		if _, err := g.kube.CoordinationV1().Leases(ns).Create(context.Background(), lease, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		b = g.startRuntime("vnode-obs-b", "rt-obs-b", "--leader-elect", "--log-format", "json")
		dumpJSONLogOnFailure(t, b)
		addrB := jsonMetricsAddress(t, g, b)
		var body string
		g.poll("the standby's /readyz 200", time.Minute, func(context.Context) (bool, error) {
			var code int
			code, body = get(t, addrB, "/readyz")
			return code == http.StatusOK, nil
		})
		if want := "[+]leader-election ok: standing by: replica rt-obs-elsewhere holds Lease default/eci-vnode-vnode-obs-b"; !strings.Contains(body, want) {
			t.Errorf("standby /readyz lacks %q:\n%s", want, body)
		}
		exp := scrape(t, addrB)
		if v := sampleValue(exp, "eci_vnode_leader", ""); v != 0 {
			t.Errorf("eci_vnode_leader = %v on a standby; want 0", v)
		}
		// Series known in advance exist at zero before anything happened.
		for _, series := range []string{`eci_vnode_eci_throttles_total{action="CreateContainerGroup"} 0`,
			`eci_vnode_pods_by_phase{phase="Failed"} 0`, `eci_vnode_queue_depth{queue="eci-create"} 0`} {
			if !strings.Contains(exp, series) {
				t.Errorf("standby's /metrics lacks %s", series)
			}
		}
		if n, err := g.kube.CoreV1().Nodes().Get(context.Background(), "vnode-obs-b", metav1.GetOptions{}); err == nil {
			t.Errorf("the standby registered Node %s", n.Name)
		}
	})

	t.Run("--log-format=json writes every record, client-go's included, as one JSON object a line", func(t *testing.T) {
		for _, rt := range []*runtimeProc{a, b} {
			if rt == nil {
				continue // the standby's subtest failed early
			}
			records := jsonLines(t, rt)
			if len(records) == 0 {
				t.Fatalf("%s logged nothing", rt.name)
			}
			clientGo := false
			for i, r := range records {
				if r["msg"] == nil || r["level"] == nil || r["time"] == nil {
					t.Fatalf("%s record %d lacks time, level or msg: %v", rt.name, i, r)
				}
				// client-go's reflectors and leader election log through
				// klog, with these keys.
				clientGo = clientGo || r["reflector"] != nil || r["lock"] != nil
			}
			if !clientGo {
				t.Errorf("%s: no record of client-go's reflectors or leader election among %d; klog is not sent through the runtime's logger", rt.name, len(records))
			}
		}
	})
}

// gatedProxy forwards TCP connections to the sandbox's API server once
// opened; until then it accepts them and holds them.
type gatedProxy struct {
	kubeconfig string // the sandbox's kubeconfig, through the proxy
	gate       chan struct{}
	once       sync.Once
}

func newGatedProxy(t *testing.T, kubeconfig string) *gatedProxy {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var target string
	for _, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			t.Fatal(err)
		}
		target = u.Host
		u.Host = net.JoinHostPort(u.Hostname(), port)
		c.Server = u.String()
	}
	p := &gatedProxy{kubeconfig: filepath.Join(t.TempDir(), "kubeconfig-gated"), gate: make(chan struct{})}
	if err := clientcmd.WriteToFile(*cfg, p.kubeconfig); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
		done  = make(chan struct{})
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		close(done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case <-p.gate:
				case <-done:
					return
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				track(up)
				wg.Add(1)
				go func() { defer wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
				_, _ = io.Copy(c, up)
				c.Close()
			}()
		}
	}()
	return p
}

func (p *gatedProxy) open() { p.once.Do(func() { close(p.gate) }) }

// jsonLines parses a runtime's log as JSON lines; a line that is not a JSON
// object fails the test.
func jsonLines(t *testing.T, rt *runtimeProc) []map[string]any {
	t.Helper()
	f, err := os.Open(rt.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%s: log line is not a JSON object (%v): %s", rt.name, err, sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// jsonMetricsAddress waits for a JSON-logging runtime to say where it
// serves /metrics.
func jsonMetricsAddress(t *testing.T, g *ground, rt *runtimeProc) string {
	t.Helper()
	var addr string
	g.poll(rt.name+" serving metrics", 30*time.Second, func(context.Context) (bool, error) {
		raw, err := os.ReadFile(rt.log)
		if err != nil {
			return false, nil
		}
		for _, l := range strings.Split(string(raw), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "serving metrics" && rec.Addr != "" {
				addr = rec.Addr
				return true, nil
			}
		}
		return false, nil
	})
	return addr
}

// dumpJSONLogOnFailure logs the last records of a JSON-logging runtime when
// the test fails (the ground's own dump reads text logs).
func dumpJSONLogOnFailure(t *testing.T, rt *runtimeProc) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		raw, _ := os.ReadFile(rt.log)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		t.Logf("---- %s log (last 60) ----\n%s", rt.name, strings.Join(lines, "\n"))
	})
}

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sampleValue is the value of the unlabelled sample metric, or of the one
// whose label set is exactly labels ("{a=\"b\"}"); -1 when absent.
func sampleValue(exposition, metric, labels string) float64 {
	for _, l := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(l, metric+labels+" "); ok {
			if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); err == nil {
				return v
			}
		}
	}
	return -1
}
