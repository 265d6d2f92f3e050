package webhookbench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// DurationMetric is kube-apiserver's own histogram of each admission webhook call,
// measured around the call it makes (building the request, the HTTP round trip,
// decoding the answer and applying its patch). Read per phase, it separates the time
// spent on a webhook from the API server's other work, which on a small machine under
// load dominates the end-to-end latency.
const DurationMetric = "apiserver_admission_webhook_admission_duration_seconds"

// call identifies one webhook as the API server labels it; typ is "admit" for mutating
// and "validating" for validating webhooks.
type call struct{ name, typ string }

// histogram is a cumulative histogram summed over operations and outcomes.
type histogram struct {
	bounds []float64 // upper bounds in seconds, ascending, without +Inf
	cum    []uint64  // cumulative counts per bound
	count  uint64
	sum    float64 // seconds
}

// scrape reads the API server's /metrics and returns its webhook call histograms and
// the CPU time it has used (process_cpu_seconds_total).
func scrape(ctx context.Context, kube kubernetes.Interface) (map[call]histogram, time.Duration, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("read kube-apiserver /metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, 0, fmt.Errorf("parse kube-apiserver /metrics: %w", err)
	}
	var cpu time.Duration
	if f := families["process_cpu_seconds_total"]; f != nil && len(f.GetMetric()) > 0 {
		cpu = seconds(f.GetMetric()[0].GetCounter().GetValue())
	}
	out := map[call]histogram{}
	fam := families[DurationMetric]
	if fam == nil {
		return out, cpu, nil // no webhook has been called yet
	}
	for _, m := range fam.GetMetric() {
		key := call{label(m, "name"), label(m, "type")}
		h := m.GetHistogram()
		acc := out[key]
		if acc.bounds == nil {
			for _, b := range h.GetBucket() {
				if !math.IsInf(b.GetUpperBound(), 1) {
					acc.bounds = append(acc.bounds, b.GetUpperBound())
				}
			}
			acc.cum = make([]uint64, len(acc.bounds))
		}
		for i, b := range h.GetBucket() {
			if i < len(acc.cum) {
				acc.cum[i] += b.GetCumulativeCount()
			}
		}
		acc.count += h.GetSampleCount()
		acc.sum += h.GetSampleSum()
		out[key] = acc
	}
	return out, cpu, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// since returns the calls made between two scrapes.
func (h histogram) since(before histogram) histogram {
	d := histogram{bounds: h.bounds, cum: make([]uint64, len(h.cum)), count: h.count - before.count, sum: h.sum - before.sum}
	for i := range h.cum {
		d.cum[i] = h.cum[i]
		if i < len(before.cum) {
			d.cum[i] -= before.cum[i]
		}
	}
	return d
}

// add merges the calls of two phases (same buckets).
func (h histogram) add(o histogram) histogram {
	if h.bounds == nil {
		return histogram{bounds: o.bounds, cum: append([]uint64(nil), o.cum...), count: o.count, sum: o.sum}
	}
	out := histogram{bounds: h.bounds, cum: append([]uint64(nil), h.cum...), count: h.count + o.count, sum: h.sum + o.sum}
	for i := range out.cum {
		if i < len(o.cum) {
			out.cum[i] += o.cum[i]
		}
	}
	return out
}

// mean is sum/count: exact, whatever the buckets.
func (h histogram) mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return seconds(h.sum / float64(h.count))
}

// quantile interpolates the q-quantile linearly inside its bucket, as Prometheus'
// histogram_quantile does (the first bucket starts at 0). kube-apiserver's buckets are
// coarse (5, 25, 100, 500 ms, …), so a median below 5 ms says more about the share of
// calls within 5 ms than about their time; the mean is exact. A quantile beyond the
// last bound is reported as that bound.
func (h histogram) quantile(q float64) time.Duration {
	if h.count == 0 || len(h.bounds) == 0 {
		return 0
	}
	rank := q * float64(h.count)
	lo, below := 0.0, 0.0
	for i, b := range h.bounds {
		c := float64(h.cum[i])
		if c >= rank {
			if c == below {
				return seconds(b)
			}
			return seconds(lo + (b-lo)*(rank-below)/(c-below))
		}
		lo, below = b, c
	}
	return seconds(h.bounds[len(h.bounds)-1])
}

// shareWithin is the fraction of calls that took at most bound seconds; 0 when there
// were no calls or bound is not one of the histogram's bucket bounds (never NaN: a
// Result is written as JSON).
func (h histogram) shareWithin(bound float64) float64 {
	for i, b := range h.bounds {
		if b == bound && h.count > 0 {
			return float64(h.cum[i]) / float64(h.count)
		}
	}
	return 0
}

// callsSince lists, in a stable order, the webhooks called between two scrapes with
// their call histograms.
func callsSince(before, after map[call]histogram) ([]call, map[call]histogram) {
	var keys []call
	out := map[call]histogram{}
	for k, h := range after {
		if d := h.since(before[k]); d.count > 0 {
			keys = append(keys, k)
			out[k] = d
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].name != keys[j].name {
			return keys[i].name < keys[j].name
		}
		return keys[i].typ < keys[j].typ
	})
	return keys, out
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
