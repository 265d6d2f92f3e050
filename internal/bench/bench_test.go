package bench

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/bench/baseline"
)

// TestMain lets the test binary stand in for eci-bench when the harness
// starts a baseline provider ("provider ceiling|stock ...").
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "provider" {
		os.Exit(baseline.Main(os.Args[2:], os.Stderr))
	}
	os.Exit(m.Run())
}

// TestBenchSmokeWritesEveryTableAndChart runs the harness small (20 pods,
// all three providers, quotas off) and checks that it produces its report:
// every section with its table, every chart as a PNG, results.json with a
// finished run per provider. It checks no figure: timings on a shared
// machine are not something a test can hold.
func TestBenchSmokeWritesEveryTableAndChart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	out := t.TempDir()
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{
		OutDir: out, Pods: []int{20}, Quotas: []bool{false}, Repeat: 1,
		Steady: 2 * time.Second, PropagationSample: 5, ProviderCommand: []string{os.Args[0]}, Log: &log,
		SteadyHour: true,
	})
	if err != nil {
		t.Fatalf("bench run: %v\n%s", err, log.String())
	}
	for _, r := range res.Runs {
		if !r.ok() {
			b, _ := os.ReadFile(filepath.Join(out, "logs", r.name()+".log"))
			t.Errorf("%s did not finish: %s\n---- its log (tail) ----\n%s", r.scenario, r.Outcome, tail(string(b), 3000))
		}
	}
	if len(res.Runs) != 3 {
		t.Fatalf("%d runs; want one for each of ours, ceiling and stock", len(res.Runs))
	}

	report, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	text := string(report)
	for i, h := range ReportSections {
		start := strings.Index(text, "\n"+h+"\n")
		if start < 0 {
			t.Errorf("report.md has no section %q", h)
			continue
		}
		body := text[start+len(h)+2:]
		if end := strings.Index(body, "\n## "); end >= 0 {
			body = body[:end]
		}
		want := "|---"
		if h == "## Charts" {
			want = "](" // an image link
		}
		if !strings.Contains(body, want) {
			t.Errorf("section %d %q has no table (or images):\n%s", i, h, body)
		}
		for _, p := range []string{Ours, Ceiling, Stock} {
			if h != "## Charts" && h != "## Ratios" && !strings.Contains(body, "| "+p+" |") {
				t.Errorf("section %q has no row of %s", h, p)
			}
		}
	}
	if len(res.SteadyHours) != 1 || res.SteadyHours[0].Result == nil {
		t.Errorf("quiet hour: %+v; want the hour of 20 pods", res.SteadyHours)
	} else if !strings.Contains(text, "\n| 20 | 1s |") {
		t.Errorf("report.md has no quiet-hour row of 20 pods:\n%s", text)
	}
	charts := res.Charts()
	if len(charts) != 4 {
		t.Errorf("charts %v; want running, latency and calls for 20 pods and one of resources", charts)
	}
	for _, c := range charts {
		if !strings.Contains(text, "]("+c+")") {
			t.Errorf("report.md does not show %s", c)
		}
		f, err := os.Open(filepath.Join(out, c))
		if err != nil {
			t.Error(err)
			continue
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width < 100 || cfg.Height < 100 {
			t.Errorf("%s is not a chart-sized PNG: %v (%dx%d)", c, err, cfg.Width, cfg.Height)
		}
	}
	if _, err := os.Stat(filepath.Join(out, ResultsFile)); err != nil {
		t.Error(err)
	}
	// eci-bench report renders the same report from results.json.
	if _, err := Rewrite(out); err != nil {
		t.Fatalf("rewrite the report from %s: %v", ResultsFile, err)
	}
	if again, _ := os.ReadFile(filepath.Join(out, ReportFile)); !bytes.Equal(again, report) {
		t.Errorf("the report rendered again from %s differs from the run's", ResultsFile)
	}
	var summary bytes.Buffer
	res.WriteSummary(&summary)
	t.Logf("bench smoke run:\n%s", summary.String())
}
