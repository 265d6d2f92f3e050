package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/runtime/node/steadyhour"
)

// SteadyHourResult is one quiet hour of ours on the emulator's fake clock
// (runtime/node TestAQuietHourCostsAFewCallsPerStatusCycle): pods running
// untouched for an hour of ECI's time, the runtime's poller driven pass by
// pass, every ECI call counted. A real hour would not fit a run; the fake
// clock makes it take seconds.
type SteadyHourResult struct {
	Pods   int                `json:"pods"`
	Result *steadyhour.Result `json:"result,omitempty"`
	// Error says why it did not run to the end, if it did not.
	Error string `json:"error,omitempty"`
}

// steadyHourTest is the test that simulates the hour.
const steadyHourTest = "TestAQuietHourCostsAFewCallsPerStatusCycle"

// runSteadyHour runs the quiet hour of pods with `go test` in the module at
// root; its output and result are also kept in dir.
func runSteadyHour(ctx context.Context, root, dir string, pods int, log io.Writer) SteadyHourResult {
	res := SteadyHourResult{Pods: pods}
	name := fmt.Sprintf("steady-hour-%d", pods)
	jsonPath, err := filepath.Abs(filepath.Join(dir, name+".json"))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	var r steadyhour.Result
	out, found, err := goTestJSON(ctx, root, []string{"STEADY_HOUR_PODS=" + strconv.Itoa(pods), "STEADY_HOUR_JSON=" + jsonPath}, jsonPath, &r, nil,
		"-run", "^"+steadyHourTest+"$", "-v", "-timeout", "30m", "./runtime/node/")
	_ = os.WriteFile(filepath.Join(dir, "logs", name+".log"), out, 0o644)
	if found {
		res.Result = &r
	}
	switch {
	case err != nil && res.Result != nil:
		// The hour ran, and the test found it over a goal: the figures stand.
		res.Error = fmt.Sprintf("go test -run %s: %v (its goals are checked in logs/%s.log)", steadyHourTest, err, name)
	case err != nil:
		res.Error = fmt.Sprintf("go test -run %s: %v; tail of logs/%s.log: %s", steadyHourTest, err, name, tail(string(out), 600))
	case res.Result == nil:
		res.Error = "the test wrote no result"
	}
	fmt.Fprintf(log, "bench: quiet hour of %d pods: %s\n", pods, res.oneLine())
	return res
}

func (s SteadyHourResult) oneLine() string {
	if s.Result == nil {
		return "did not finish: " + s.Error
	}
	r := s.Result
	return fmt.Sprintf("%.4f ECI calls a pod a status cycle; DescribeContainerGroups %.1f %% of quota, DescribeContainerGroupStatus %.1f %%",
		r.PerPodCycle(""), 100*r.QuotaShare("DescribeContainerGroups"), 100*r.QuotaShare("DescribeContainerGroupStatus"))
}

// steadyHourSection writes the report's quiet-hour section.
func steadyHourSection(w io.Writer, hours []SteadyHourResult) {
	if len(hours) == 0 {
		fmt.Fprintln(w, "Not run (`eci-bench run --steady-hour=false`). `make bench` runs it.")
		return
	}
	fmt.Fprintln(w, "ours only: runtime/node's "+steadyHourTest+" at each pod count, pods running untouched for an hour on the emulator's fake clock, "+
		"with the runtime's default periods and read share and ECI's documented quotas on, the runtime's poller and health check driven pass by pass. "+
		"A status cycle is one --status-poll-fast period, one chance to see a change of every pod; a provider that reads each pod every cycle spends 1 call a pod a cycle "+
		"(stock, whose cycle is 5 s, shows its steady calls a minute in \"ECI calls by action\"). Goals: ≤ 0.05 calls a pod a cycle, ≤ 10 % of each read quota.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| pods | status cycle | listing every | DescribeContainerGroupStatus /min (quota) | DescribeContainerGroups /min (quota) | DescribeRegions /min | other calls | calls a pod a cycle |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, h := range hours {
		r := h.Result
		if r == nil {
			fmt.Fprintf(w, "| %d | did not finish: %s |%s\n", h.Pods, strings.ReplaceAll(h.Error, "|", "/"), strings.Repeat(" – |", 6))
			continue
		}
		other := 0
		for a, n := range r.Calls {
			switch a {
			case "DescribeContainerGroupStatus", "DescribeContainerGroups", "DescribeRegions":
			default:
				other += n
			}
		}
		read := func(a string) string {
			return fmt.Sprintf("%s (%s %%)", num(r.PerMinute(a), 1), num(100*r.QuotaShare(a), 2))
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %d | %s |\n", h.Pods, r.StatusCycle, r.ListingInterval.Round(time.Second),
			read("DescribeContainerGroupStatus"), read("DescribeContainerGroups"), num(r.PerMinute("DescribeRegions"), 1), other, num(r.PerPodCycle(""), 4))
	}
	for _, h := range hours {
		if h.Result != nil && h.Error != "" {
			fmt.Fprintf(w, "\n%d pods: %s\n", h.Pods, h.Error)
		}
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
