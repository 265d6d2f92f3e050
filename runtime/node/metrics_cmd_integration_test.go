package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// TestRuntimeCommandRotatesCredentialsAndServesDocumentedMetrics runs the
// eci-vnode binary as an operator would: credentials come from a mounted
// Secret whose STS token expires, and the documented metrics are scraped
// from its /metrics.
func TestRuntimeCommandRotatesCredentialsAndServesDocumentedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	// The emulator checks token expiry on this clock; moving it forward
	// expires a token without waiting. Request timestamps stay within the
	// API's 15-minute window.
	clock := &shiftedClock{}
	start := time.Now()
	tokenA := emulator.Credential{AccessKeyID: "STS.CmdRotationA", AccessKeySecret: "cmd-rotation-secret-a",
		SecurityToken: "cmd-rotation-token-a", Expiration: start.Add(5 * time.Minute)}
	tokenB := emulator.Credential{AccessKeyID: "STS.CmdRotationB", AccessKeySecret: "cmd-rotation-secret-b",
		SecurityToken: "cmd-rotation-token-b", Expiration: start.Add(time.Hour)}
	admin := emulator.DefaultCredential() // the test's own view of ECI
	g := startGround(t, emulator.Config{
		Credentials:    []emulator.Credential{admin, tokenA, tokenB},
		SignatureClock: clock,
	})

	secret := newMountedSecret(t, credentialFiles(tokenA))
	rt := g.startRuntime("vnode-creds", "rt-creds", "--credentials-dir", secret.dir)
	g.waitNodeReady("vnode-creds")

	first := g.pod("before-rotation", "vnode-creds", "nginx:1.27", nil)
	g.waitPod(first.Name, podRunningReady)

	t.Run("a pod created after the first token expired runs with the rotated one", func(t *testing.T) {
		g.t = t
		secret.update(credentialFiles(tokenB))
		g.poll("the runtime to pick up the rotated Secret", 30*time.Second, func(context.Context) (bool, error) {
			return rt.logged("ECI credentials changed"), nil
		})
		clock.shift(6 * time.Minute) // token A is now past its expiry
		if err := callWith(g.emu, tokenA); !isExpiredToken(err) {
			t.Fatalf("token A should have expired: %v", err)
		}
		p := g.pod("after-expiry", "vnode-creds", "nginx:1.27", nil)
		g.waitPod(p.Name, podRunningReady)
		g.waitNodeReady("vnode-creds")
		if rt.logged("InvalidSecurityToken.Expired") {
			t.Logf("note: some call still went out with the expired token (a call in flight during the swap)")
		}
		for _, secretText := range []string{tokenA.AccessKeySecret, tokenA.SecurityToken, tokenB.AccessKeySecret, tokenB.SecurityToken} {
			if rt.logged(secretText) {
				t.Errorf("the runtime's log shows a secret or token (%.12s...)", secretText)
			}
		}
	})

	t.Run("every metric docs/runtime.md lists is served, and ECI API attempts are counted", func(t *testing.T) {
		g.t = t
		// Labelled metrics appear once something happened to them: a
		// delete, and a pod the runtime fails.
		if err := g.kube.CoreV1().Pods(ns).Delete(context.Background(), first.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		bad := g.pod("bad-annotation", "vnode-creds", "nginx:1.27", map[string]string{"k8s.aliyun.com/eci-max-pending-minute": "5"})
		g.waitPod(bad.Name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		g.poll("the deleted pod to be gone", time.Minute, func(ctx context.Context) (bool, error) {
			_, err := g.kube.CoreV1().Pods(ns).Get(ctx, first.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})

		documented := documentedMetrics(t, filepath.Join("..", "..", "docs", "runtime.md"))
		addr := metricsAddress(t, rt)
		var missing []string
		var exposition string
		// Counters are bumped by the runtime's loops; give them a few
		// scrapes to catch up rather than racing them.
		g.poll("every documented metric on /metrics", 30*time.Second, func(context.Context) (bool, error) {
			exposition = scrape(t, addr)
			missing = missing[:0]
			served := servedFamilies(exposition)
			for _, name := range documented {
				if !served[name] {
					missing = append(missing, name)
				}
			}
			return len(missing) == 0, nil
		})
		if len(missing) > 0 {
			t.Fatalf("documented in docs/runtime.md but not served: %s", strings.Join(missing, ", "))
		}
		if n := sampleSum(exposition, "eci_vnode_eci_api_attempts_total", `action="CreateContainerGroup"`); n < 2 {
			t.Fatalf("eci_vnode_eci_api_attempts_total counts %v CreateContainerGroup attempts; want at least 2, one per pod that ran", n)
		}
		t.Logf("%d documented metrics served; CreateContainerGroup attempts %v",
			len(documented), sampleSum(exposition, "eci_vnode_eci_api_attempts_total", `action="CreateContainerGroup"`))
	})
}

// shiftedClock is the wall clock moved forward by a settable amount.
type shiftedClock struct{ offset atomic.Int64 }

func (c *shiftedClock) Now() time.Time        { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *shiftedClock) shift(d time.Duration) { c.offset.Add(int64(d)) }
func credentialFiles(c emulator.Credential) map[string]string {
	return map[string]string{
		eci.FileAccessKeyID: c.AccessKeyID + "\n", eci.FileAccessKeySecret: c.AccessKeySecret + "\n",
		eci.FileSecurityToken: c.SecurityToken + "\n",
	}
}

// callWith makes one authenticated call with c, without retries.
func callWith(emu *emulator.Emulator, c emulator.Credential) error {
	cl, err := eci.New(eci.Config{Region: "cn-hangzhou", Endpoint: "http://" + emu.Endpoint(), Retry: eci.RetryPolicy{MaxAttempts: 1},
		Credentials: &eci.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}})
	if err != nil {
		return err
	}
	defer cl.CloseIdleConnections()
	_, err = cl.DescribeRegions(context.Background())
	return err
}

func isExpiredToken(err error) bool {
	var ae *eci.APIError
	return errors.As(err, &ae) && ae.Code == "InvalidSecurityToken.Expired"
}

// mountedSecret is a directory laid out as the kubelet mounts a Secret:
// values in a timestamped directory, ..data a symlink to it, each key a
// symlink through ..data; update swaps ..data to a new directory.
type mountedSecret struct {
	t   *testing.T
	dir string
	gen int
	cur string
}

func newMountedSecret(t *testing.T, files map[string]string) *mountedSecret {
	s := &mountedSecret{t: t, dir: t.TempDir()}
	s.update(files)
	return s
}

func (s *mountedSecret) update(files map[string]string) {
	s.t.Helper()
	must := func(err error) {
		s.t.Helper()
		if err != nil {
			s.t.Fatal(err)
		}
	}
	s.gen++
	gen := fmt.Sprintf("..2026_06_01_12_00_%02d.%d", s.gen, 500+s.gen)
	must(os.Mkdir(filepath.Join(s.dir, gen), 0o755))
	for k, v := range files {
		must(os.WriteFile(filepath.Join(s.dir, gen, k), []byte(v), 0o600))
		if _, err := os.Lstat(filepath.Join(s.dir, k)); errors.Is(err, os.ErrNotExist) {
			must(os.Symlink(filepath.Join("..data", k), filepath.Join(s.dir, k)))
		}
	}
	must(os.Symlink(gen, filepath.Join(s.dir, "..data_tmp")))
	must(os.Rename(filepath.Join(s.dir, "..data_tmp"), filepath.Join(s.dir, "..data")))
	if s.cur != "" {
		must(os.RemoveAll(filepath.Join(s.dir, s.cur)))
	}
	s.cur = gen
}

// documentedMetrics returns the metric names the "### Metrics" section of
// docs/runtime.md lists (backticked, e.g. `eci_vnode_pods{state}`).
func documentedMetrics(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var section []string
	in := false
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "#") {
			if in {
				break
			}
			in = strings.TrimSpace(l) == "### Metrics"
			continue
		}
		if in {
			section = append(section, l)
		}
	}
	seen := map[string]bool{}
	var names []string
	for _, m := range regexp.MustCompile("`(eci_vnode_[a-z0-9_]+)[^`]*`").FindAllStringSubmatch(strings.Join(section, "\n"), -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s has no metric names in a \"### Metrics\" section", path)
	}
	sort.Strings(names)
	return names
}

// metricsAddress is the address the runtime logged it serves /metrics on.
func metricsAddress(t *testing.T, rt *runtimeProc) string {
	t.Helper()
	raw, err := os.ReadFile(rt.log)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`serving metrics.*\baddr=(\S+)`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("the runtime's log has no \"serving metrics addr=...\" line")
	}
	return string(m[1])
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape /metrics: status %d, %v", resp.StatusCode, err)
	}
	return string(b)
}

// servedFamilies are the metric families of a text exposition ("# TYPE"
// lines; a labelled family appears once it has a sample).
func servedFamilies(exposition string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(exposition, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
		}
	}
	return out
}

// sampleSum adds up the samples of metric whose labels contain label.
func sampleSum(exposition, metric, label string) float64 {
	var sum float64
	for _, l := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(l, metric+"{") || !strings.Contains(l, label) {
			continue
		}
		f := strings.Fields(l)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}
