package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/node/steadyhour"
)

// A quiet hour on ECI's clock: the calls a VNode's runtime makes while its
// pods run untouched. A stock provider reads every pod every status cycle (1
// call a pod a cycle); this runtime asks once a cycle which of the VNode's
// instances changed, lists them all as often as its share of the read budget
// allows, and checks ECI's health, so a pod costs well under the benchmarks'
// goal of 0.05 calls a status cycle (docs/benchmarks.md).
//
// The hour runs pass by pass on the emulator's fake clock, so it takes
// seconds. By default it is small, with a small read share so that the
// listings are stretched as they are for a large VNode; STEADY_HOUR_PODS sets
// the pods (with the default read share) and STEADY_HOUR_JSON a file for the
// result (runtime/node/steadyhour), which is how `make bench` runs it.
func TestAQuietHourCostsAFewCallsPerStatusCycle(t *testing.T) {
	pods, share := 300, 0.02
	if v := os.Getenv("STEADY_HOUR_PODS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("STEADY_HOUR_PODS=%q: want a positive number of pods", v)
		}
		pods, share = n, 0
	}
	ctx := context.Background()
	clock := emulator.NewFakeClock(time.Now().Truncate(time.Second))
	// The pods start on the real clock with fast polls; only the hour is
	// simulated. No limits during the set-up, on either side: ECI's buckets
	// refill on its clock, which stands still until the hour begins.
	// The vCPU quota is lifted: it would cap the pods, not the reads.
	r := newRigWithClient(t, emulator.Config{Clock: clock, Quotas: emulator.QuotaConfig{MaxCPU: -1}}, func(c *Config) { c.Workers = 50 },
		func(c *eci.Config) { c.DisableRateLimits = true })
	r.emu.SetRateLimitsEnabled(false)
	quiet := make([]*corev1.Pod, pods)
	for i := range quiet {
		quiet[i] = unitPod(fmt.Sprintf("quiet-%05d", i), nil)
		r.create(quiet[i])
	}
	for _, pod := range quiet {
		r.waitFor(pod, "running", running)
	}
	r.stop()

	// The same pods, now with the runtime's default periods and the read
	// share under test, on ECI's clock.
	cfg := r.p.cfg
	cfg.StatusPollFast, cfg.StatusPollSlow, cfg.ECIHealthInterval, cfg.ReadBudgetShare = 0, 0, 0, share
	cfg.Defaults()
	p := NewProvider(cfg, ProviderDeps{ECI: r.client, Kube: r.kube, Resolver: r.p.resolver, PodsSynced: func() bool { return true }})
	p.now = clock.Now
	maps.Copy(p.byUID, r.p.byUID)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: cfg.NodeName}}
	if _, err := r.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	health := NewHealth(r.client, r.kube, node, cfg, NewMetrics(nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	health.now = clock.Now

	r.emu.SetRateLimitsEnabled(true) // the hour must fit ECI's documented quotas
	run := func(d time.Duration) {
		for elapsed := time.Duration(0); elapsed < d; elapsed += cfg.StatusPollFast {
			if elapsed%cfg.ECIHealthInterval == 0 {
				health.check(ctx)
			}
			p.pollOnce(ctx)
			clock.Advance(cfg.StatusPollFast)
		}
	}
	// A minute first, not counted: the start-up's inventory, and the
	// pods' starts still in the changes feed's window.
	run(time.Minute)
	before := r.emu.Calls()
	res := steadyhour.Result{Pods: pods, Duration: time.Hour, StatusCycle: cfg.StatusPollFast, ReadShare: cfg.ReadBudgetShare,
		Calls: map[string]int{}, Quotas: maps.Clone(readActions)}
	run(res.Duration)
	for action, st := range r.emu.Calls() {
		if n := st.Count - before[action].Count; n > 0 {
			res.Calls[action] = n
		}
		if n := st.Count - st.ByCode["Success"] - (before[action].Count - before[action].ByCode["Success"]); n > 0 {
			t.Errorf("%d %s calls failed in the quiet hour (%v)", n, action, st.ByCode)
		}
	}
	p.mu.Lock()
	res.ListingInterval = p.fullInterval()
	tracked := len(p.byUID)
	p.mu.Unlock()
	logSteadyHour(t, res)
	if path := os.Getenv("STEADY_HOUR_JSON"); path != "" {
		raw, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	if tracked != pods {
		t.Fatalf("the runtime tracks %d pods after the hour, want all %d", tracked, pods)
	}
	for action, n := range res.Calls {
		switch action {
		case actionDescribeContainerGroups, actionDescribeContainerGroupStatus, "DescribeRegions":
		default:
			t.Errorf("%d %s calls in a quiet hour; nothing changed, so only reads were expected", n, action)
		}
	}
	// Listings: pages of 20, as often as the budget allows, and no more.
	pages := (pods + describePageSize - 1) / describePageSize
	listings := float64(res.Calls[actionDescribeContainerGroups]) / float64(pages)
	want := res.Duration.Seconds() / res.ListingInterval.Seconds()
	if listings < want-1 || listings > want+1 {
		t.Errorf("%.1f complete listings (%d DescribeContainerGroups calls) in the hour; want one every %s, about %.1f",
			listings, res.Calls[actionDescribeContainerGroups], res.ListingInterval, want)
	}
	if budget := cfg.readBudget(actionDescribeContainerGroups) * listingBudgetShare; res.PerMinute(actionDescribeContainerGroups) > budget*1.05 {
		t.Errorf("listings spent %.1f DescribeContainerGroups a minute; their share of the budget is %.1f",
			res.PerMinute(actionDescribeContainerGroups), budget)
	}
	// The changes query: one a cycle for the whole VNode, minus the cycles
	// that listed instead.
	if n := float64(res.Calls[actionDescribeContainerGroupStatus]); n > res.Cycles()-listings+1 || n < res.Cycles()-listings-1 {
		t.Errorf("%.0f DescribeContainerGroupStatus calls in %.0f cycles; want one a cycle that did not list", n, res.Cycles())
	}
	if got := res.PerPodCycle(""); got > 0.05 {
		t.Errorf("%.4f ECI calls a pod a status cycle; the goal is at most 0.05", got)
	}
	for action := range readActions {
		if share := res.QuotaShare(action); share > 0.1 {
			t.Errorf("%s: %.1f %% of the account's quota in a quiet hour; the goal is at most 10 %%", action, 100*share)
		}
	}
}

func logSteadyHour(t *testing.T, res steadyhour.Result) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%d pods, %s at a status cycle of %s, complete listing every %s (read share %g):\n",
		res.Pods, res.Duration, res.StatusCycle, res.ListingInterval, res.ReadShare)
	actions := make([]string, 0, len(res.Calls))
	for a := range res.Calls {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		fmt.Fprintf(&b, "  %-30s %6d calls  %7.1f /min  %5.2f %% of quota  %.5f a pod a cycle\n",
			a, res.Calls[a], res.PerMinute(a), 100*res.QuotaShare(a), res.PerPodCycle(a))
	}
	fmt.Fprintf(&b, "  all: %.5f calls a pod a status cycle", res.PerPodCycle(""))
	t.Log(b.String())
}

// However many instances a VNode has, its complete listings stay within 10 %
// of the account's DescribeContainerGroups quota at the default read share
// (the benchmarks' steady-state goal), and run every --status-poll-slow when
// they fit.
func TestListingsOfALargeVNodeFitTheSteadyReadGoal(t *testing.T) {
	var cfg Config
	cfg.Defaults()
	budget, quota := cfg.readBudget(actionDescribeContainerGroups), readActions[actionDescribeContainerGroups]
	for _, n := range []int{0, 100, 900, 1000, 5000, 20000} {
		every := listingInterval(n, budget, cfg.StatusPollSlow)
		pages := (n + describePageSize - 1) / describePageSize
		perMinute := float64(pages) / every.Minutes()
		t.Logf("%5d instances: a listing every %s, %.0f calls a minute", n, every.Round(time.Second), perMinute)
		if every < cfg.StatusPollSlow {
			t.Errorf("%d instances: listed every %s, more often than --status-poll-slow %s", n, every, cfg.StatusPollSlow)
		}
		if perMinute > 0.1*quota {
			t.Errorf("%d instances: listings take %.0f of the %.0f DescribeContainerGroups a minute, over 10 %%", n, perMinute, quota)
		}
		if n <= 900 && every != cfg.StatusPollSlow {
			t.Errorf("%d instances fit the budget every %s, yet are listed every %s", n, cfg.StatusPollSlow, every)
		}
	}
}
