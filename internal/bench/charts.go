package bench

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// chart is one PNG of the report.
type chart struct {
	File, Title string
}

// writeCharts draws the charts of the summaries into dir and returns them
// in report order.
func writeCharts(dir string, res *Results, sums []Summary) ([]chart, error) {
	var out []chart
	for _, q := range res.Settings.Quotas {
		for _, n := range res.Settings.Pods {
			var group []Summary
			for _, s := range sums {
				if s.Quotas == q && s.Pods == n {
					group = append(group, s)
				}
			}
			if len(group) == 0 {
				continue
			}
			tag := fmt.Sprintf("quotas-%s-%d", onOff(q), n)
			where := fmt.Sprintf("%d pods, quotas %s", n, onOff(q))
			for _, c := range []struct {
				file, title string
				draw        func(string, string, []Summary) error
			}{
				{"running-" + tag + ".png", "Pods Running over time, " + where, drawRunning},
				{"latency-" + tag + ".png", "Create-to-Running latency, " + where, drawLatency},
				{"calls-" + tag + ".png", "ECI calls per pod, " + where, drawCalls},
			} {
				if err := c.draw(filepath.Join(dir, c.file), c.title, group); err != nil {
					return nil, fmt.Errorf("chart %s: %w", c.file, err)
				}
				out = append(out, chart{File: c.file, Title: c.title})
			}
		}
		var group []Summary
		for _, s := range sums {
			if s.Quotas == q {
				group = append(group, s)
			}
		}
		file := fmt.Sprintf("resources-quotas-%s.png", onOff(q))
		title := fmt.Sprintf("Provider process peak RSS, quotas %s", onOff(q))
		if err := drawResources(filepath.Join(dir, file), title, res.Settings, group); err != nil {
			return nil, fmt.Errorf("chart %s: %w", file, err)
		}
		out = append(out, chart{File: file, Title: title})
	}
	return out, nil
}

func save(p *plot.Plot, path string) error {
	return p.Save(18*vg.Centimeter, 11*vg.Centimeter, path)
}

// drawRunning: the number of Running pods against seconds since the
// Deployment's creation, one line per provider (its median repetition).
func drawRunning(path, title string, group []Summary) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since the Deployment was created"
	p.Y.Label.Text = "pods Running"
	p.Legend.Top, p.Legend.Left = false, false
	for i, s := range group {
		pts := make(plotter.XYs, 0, len(s.RunningAt)+1)
		pts = append(pts, plotter.XY{X: 0, Y: 0})
		for j, t := range s.RunningAt {
			pts = append(pts, plotter.XY{X: t, Y: float64(j + 1)})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.StepStyle = plotter.PostStep // the count changes when a pod is seen Running
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l)
		p.Legend.Add(s.Provider, l)
	}
	p.Add(plotter.NewGrid())
	return save(p, path)
}

// bars draws grouped bars: one group per label, one bar per series.
func bars(path, title, ylabel string, labels []string, series []string, values [][]float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	w := vg.Points(float64(90 / max(len(series), 1)))
	for i, name := range series {
		b, err := plotter.NewBarChart(plotter.Values(values[i]), w)
		if err != nil {
			return err
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		b.Offset = vg.Length(float64(i)-float64(len(series)-1)/2) * w
		p.Add(b)
		p.Legend.Add(name, b)
	}
	p.NominalX(labels...)
	// Room on both sides for the outer bars of the first and last groups.
	p.X.Min, p.X.Max = -0.6, float64(len(labels))-0.4
	// Headroom above the tallest bar for the legend.
	top := 0.0
	for _, v := range values {
		for _, x := range v {
			top = max(top, x)
		}
	}
	p.Y.Min, p.Y.Max = 0, max(top*1.25, 1)
	p.Add(plotter.NewGrid())
	return save(p, path)
}

func drawLatency(path, title string, group []Summary) error {
	names := make([]string, len(group))
	vals := make([][]float64, len(group))
	for i, s := range group {
		names[i] = s.Provider
		vals[i] = []float64{nz(s.P50), nz(s.P95), nz(s.P99)}
	}
	return bars(path, title, "seconds", []string{"p50", "p95", "p99"}, names, vals)
}

func drawCalls(path, title string, group []Summary) error {
	names := make([]string, len(group))
	vals := make([][]float64, len(group))
	for i, s := range group {
		names[i] = s.Provider
		vals[i] = []float64{nz(s.CallsPerPodUp), nz(s.CallsPerPodDown)}
	}
	return bars(path, title, "ECI calls per pod", []string{"scale-up", "scale-down"}, names, vals)
}

func drawResources(path, title string, set Settings, group []Summary) error {
	labels := make([]string, len(set.Pods))
	for i, n := range set.Pods {
		labels[i] = fmt.Sprintf("%d pods", n)
	}
	vals := make([][]float64, len(set.Providers))
	for i, prov := range set.Providers {
		vals[i] = make([]float64, len(set.Pods))
		for j, n := range set.Pods {
			for _, s := range group {
				if s.Provider == prov && s.Pods == n {
					vals[i][j] = nz(s.PeakRSSMiB)
				}
			}
		}
	}
	return bars(path, title, "MiB", labels, set.Providers, vals)
}

// nz maps NaN (no finished repetition) to 0 for drawing.
func nz(v float64) float64 {
	if v != v {
		return 0
	}
	return v
}
