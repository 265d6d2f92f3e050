package webhook

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// webhookDurationMetric is kube-apiserver's own histogram of each admission
// webhook call, measured around the HTTP call it makes. Read per phase, it
// separates the time spent in a webhook from the API server's other work,
// which on a 2-core machine under load dominates the end-to-end latency.
const webhookDurationMetric = "apiserver_admission_webhook_admission_duration_seconds"

// webhookCall identifies one webhook as the API server labels it; type is
// "admit" for mutating and "validating" for validating webhooks.
type webhookCall struct{ name, typ string }

// callHistogram is a cumulative histogram summed over operations and outcomes.
type callHistogram struct {
	bounds []float64 // upper bounds in seconds, ascending, without +Inf
	cum    []uint64  // cumulative counts per bound
	count  uint64
	sum    float64 // seconds
}

// scrapeWebhookCalls reads the API server's /metrics and returns its webhook
// call histograms.
func scrapeWebhookCalls(ctx context.Context, kube kubernetes.Interface) (map[webhookCall]callHistogram, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading kube-apiserver /metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing kube-apiserver /metrics: %w", err)
	}
	out := map[webhookCall]callHistogram{}
	fam := families[webhookDurationMetric]
	if fam == nil {
		return out, nil // no webhook has been called yet
	}
	for _, m := range fam.GetMetric() {
		key := webhookCall{label(m, "name"), label(m, "type")}
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
	return out, nil
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
func (h callHistogram) since(before callHistogram) callHistogram {
	d := callHistogram{bounds: h.bounds, cum: make([]uint64, len(h.cum)), count: h.count - before.count, sum: h.sum - before.sum}
	for i := range h.cum {
		d.cum[i] = h.cum[i]
		if i < len(before.cum) {
			d.cum[i] -= before.cum[i]
		}
	}
	return d
}

// shareWithin is the fraction of calls that took at most bound seconds;
// bound must be one of the histogram's bucket bounds.
func (h callHistogram) shareWithin(bound float64) float64 {
	for i, b := range h.bounds {
		if b == bound && h.count > 0 {
			return float64(h.cum[i]) / float64(h.count)
		}
	}
	return math.NaN()
}

// quantileBound is the smallest bucket bound below which at least q of the
// calls fall: the histogram's resolution of the q-quantile ("p99 ≤ 5 ms").
func (h callHistogram) quantileBound(q float64) string {
	for i, b := range h.bounds {
		if float64(h.cum[i]) >= q*float64(h.count) {
			return "≤ " + strconv.FormatFloat(b*1000, 'f', -1, 64) + " ms"
		}
	}
	return "> " + strconv.FormatFloat(h.bounds[len(h.bounds)-1]*1000, 'f', -1, 64) + " ms"
}

// webhookCallsSince lists, in a stable order, the webhooks called between two
// scrapes with their call histograms.
func webhookCallsSince(before, after map[webhookCall]callHistogram) ([]webhookCall, map[webhookCall]callHistogram) {
	var keys []webhookCall
	out := map[webhookCall]callHistogram{}
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

func TestCallHistogramReadsQuantilesOfOnePhase(t *testing.T) {
	bounds := []float64{0.005, 0.025, 0.1}
	before := map[webhookCall]callHistogram{
		{"pods.profile.eci-vnode.io", "admit"}: {bounds: bounds, cum: []uint64{90, 95, 100}, count: 100, sum: 0.5},
	}
	after := map[webhookCall]callHistogram{
		{"pods.profile.eci-vnode.io", "admit"}:    {bounds: bounds, cum: []uint64{1080, 1095, 1100}, count: 1100, sum: 3.5},
		{"pods.guard.eci-vnode.io", "validating"}: {bounds: bounds, cum: []uint64{10, 10, 10}, count: 10, sum: 0.01},
		{"idle.example", "admit"}:                 {bounds: bounds, cum: []uint64{0, 0, 0}},
	}
	keys, phase := webhookCallsSince(before, after)
	if len(keys) != 2 || keys[0].name != "pods.guard.eci-vnode.io" || keys[1].name != "pods.profile.eci-vnode.io" {
		t.Fatalf("webhooks called in the phase: %v", keys)
	}
	mutate := phase[keys[1]]
	if mutate.count != 1000 || mutate.sum != 3 {
		t.Errorf("phase count/sum = %d/%v, want 1000/3", mutate.count, mutate.sum)
	}
	if got := mutate.shareWithin(0.005); got != 0.99 {
		t.Errorf("share within 5 ms = %v, want 0.99", got)
	}
	if got := mutate.quantileBound(0.99); got != "≤ 5 ms" {
		t.Errorf("p99 = %q, want ≤ 5 ms", got)
	}
	if got := mutate.quantileBound(0.999); got != "≤ 25 ms" {
		t.Errorf("p99.9 = %q, want ≤ 25 ms", got)
	}
	slow := callHistogram{bounds: bounds, cum: []uint64{0, 0, 0}, count: 4}
	if got := slow.quantileBound(0.5); got != "> 100 ms" {
		t.Errorf("beyond the last bucket: %q", got)
	}
}
