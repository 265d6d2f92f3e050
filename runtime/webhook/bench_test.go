package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// BenchmarkAdmissionLatency measures pod creation latency through the sandbox's real
// kube-apiserver at a sustained rate (open loop: requests are sent on a fixed schedule,
// whatever the answers take), with no webhook, with a no-op webhook, and with this
// webhook (a profile of 20 selectors; every pod matches one and is patched, then
// guarded). Pods are created with dryRun=All: admission runs in full, nothing is stored.
// It ignores b.N and runs each phase once:
//
//	go test -run '^$' -bench AdmissionLatency -benchtime 1x ./runtime/webhook/
//
// WEBHOOK_BENCH_RATES (requests per second, comma-separated, default 100,250,500) and
// WEBHOOK_BENCH_SECONDS (per phase, default 10) change the load. The phases alternate
// (none, no-op, this, no-op, this) so drift on a shared machine shows.
func BenchmarkAdmissionLatency(b *testing.B) {
	rates := envInts("WEBHOOK_BENCH_RATES", []int{100, 250, 500})
	seconds := envInt("WEBHOOK_BENCH_SECONDS", 10)
	maxRate := slices.Max(rates)
	sb := sandbox.StartForTest(b, sandbox.Options{Workers: -1})
	cfg := sb.RESTConfig()
	cfg.QPS, cfg.Burst = float32(4*maxRate), 4*maxRate
	kube := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, ns := range []string{webhookNamespace, "bench"} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var sel []string
	for i := range 20 {
		sel = append(sel, fmt.Sprintf(`{"name":"team-%02d","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"bench"}},`+
			`"objectSelector":{"matchExpressions":[{"key":"team","operator":"In","values":["t%02d","x%02d"]}]},"priority":%d,"policy":"%s",`+
			`"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi","k8s.aliyun.com/eci-spot-strategy":"SpotAsPriceGo"},"labels":{"billing":"eci"}}}`,
			i, i, i, i%3, []string{"virtualNodeOnly", "fair", "normalNodePrefer"}[i%3]))
	}
	if _, err := kube.CoreV1().ConfigMaps(profile.ConfigMapNamespace).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: profile.ConfigMapName, Namespace: profile.ConfigMapNamespace},
		Data:       map[string]string{profile.SelectorsKey: "[" + strings.Join(sel, ",\n") + "]"},
	}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	pod := func(i int) *corev1.Pod {
		p := newPod("bench", fmt.Sprintf("bench-%d", i), map[string]string{"app": "bench", "team": "t07"})
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
		return p
	}

	// The no-op webhook: reads the review and allows it, over TLS like the real one.
	noop, noopCalls := startNoopWebhook(b)
	// This webhook, configured once it runs; between phases its configurations are removed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Kube: kube, Namespace: webhookNamespace, Listener: ln, URLHost: ln.Addr().String(), ResyncPeriod: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-srv.Ready()
	ours := func(on bool) {
		if on {
			if err := applyWebhookConfigs(ctx, kube, &srv.o, srv.certs.caBundle()); err != nil {
				b.Fatal(err)
			}
		} else {
			deleteConfigs(ctx, b, kube, DefaultConfigurationName)
		}
	}
	ours(false)

	// Each phase waits until the API server uses the wanted configuration: a probe pod is
	// mutated (ours), counted (no-op) or neither (none).
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				b.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	probe := func() (*corev1.Pod, error) {
		return kube.CoreV1().Pods("bench").Create(ctx, pod(0), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	}
	mutated := func() bool { p, err := probe(); return err == nil && p.Annotations[profile.SelectorAnnotation] != "" }
	noopCalled := func() bool { before := noopCalls.Load(); _, _ = probe(); return noopCalls.Load() > before }
	quiet := func() bool { return !mutated() && !noopCalled() }

	type result struct {
		name     string
		lat      []time.Duration
		errs     int
		achieved float64
		calls    []webhookCall // the webhooks the API server called in the phase
		timing   map[webhookCall]callHistogram
	}
	scrape := func() map[webhookCall]callHistogram {
		h, err := scrapeWebhookCalls(ctx, kube)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	b.ResetTimer()
	for _, rate := range rates {
		var results []result
		run := func(name string) {
			_, _, _ = measure(ctx, kube, pod, rate, time.Second) // warm-up
			before := scrape()
			lat, errs, achieved := measure(ctx, kube, pod, rate, time.Duration(seconds)*time.Second)
			calls, timing := webhookCallsSince(before, scrape())
			results = append(results, result{name, lat, errs, achieved, calls, timing})
		}
		waitFor("no webhook in use", quiet)
		run("no webhook")
		for round := 1; round <= 2; round++ {
			applyNoopConfigs(ctx, b, kube, noop)
			waitFor("the no-op webhook in use", noopCalled)
			run(fmt.Sprintf("no-op webhook #%d", round))
			deleteConfigs(ctx, b, kube, "bench-noop")
			ours(true)
			waitFor("this webhook in use", func() bool { return mutated() && !noopCalled() })
			run(fmt.Sprintf("eci-vnode webhook #%d", round))
			ours(false)
			waitFor("no webhook in use", quiet)
		}
		// Printed, not logged: a benchmark's log is cut after a few lines.
		fmt.Printf("open loop at %d req/s, %ds per phase, pod CREATE with dryRun=All through kube-apiserver %s; each webhook phase has one mutating and one validating call per pod\n",
			rate, seconds, sandbox.KubernetesVersion)
		fmt.Printf("%-22s %8s %8s %8s %8s %8s %6s %9s\n", "phase", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors", "req/s")
		for _, r := range results {
			p := percentiles(r.lat)
			fmt.Printf("%-22s %8.2f %8.2f %8.2f %8.2f %8.2f %6d %9.1f\n", r.name, p[0], p[1], p[2], p[3], p[4], r.errs, r.achieved)
			key := fmt.Sprintf("%drps-", rate) + strings.NewReplacer(" ", "-", "#", "").Replace(r.name)
			b.ReportMetric(p[0], key+"-p50-ms")
			b.ReportMetric(p[2], key+"-p99-ms")
		}
		// The same phases as the API server times each webhook call: the webhook's
		// share of the latency, without the API server's own queueing on this machine.
		fmt.Printf("kube-apiserver's timing of each webhook call (%s; its buckets bound the quantiles)\n", webhookDurationMetric)
		fmt.Printf("%-22s %-32s %-10s %7s %8s %8s %12s\n", "phase", "webhook", "type", "calls", "mean ms", "<= 5 ms", "p99")
		for _, r := range results {
			for _, c := range r.calls {
				h := r.timing[c]
				fmt.Printf("%-22s %-32s %-10s %7d %8.2f %7.1f%% %12s\n", r.name, c.name, c.typ, h.count,
					1000*h.sum/float64(h.count), 100*h.shareWithin(0.005), h.quantileBound(0.99))
				if strings.HasPrefix(r.name, "eci-vnode") {
					key := fmt.Sprintf("%drps-%s-%s-within-5ms-%%", rate, strings.Split(c.name, ".")[1], c.typ)
					b.ReportMetric(100*h.shareWithin(0.005), key)
				}
			}
		}
	}
	b.StopTimer()

	count, sum := histogramTotals(b, srv.metrics)
	if count > 0 {
		fmt.Printf("this webhook's own handling time (request read to response written), mean over %d requests: %.3f ms\n", count, 1000*sum/float64(count))
		b.ReportMetric(1000*sum/float64(count), "handler-mean-ms")
	}
}

func envInts(name string, def []int) []int {
	var out []int
	for _, f := range strings.Split(os.Getenv(name), ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v > 0 {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return def
	}
	return out
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// measure creates pods (dry run) at rate for d on a fixed schedule and returns the
// latency of each request, the number of errors and the rate achieved.
func measure(ctx context.Context, kube kubernetes.Interface, pod func(int) *corev1.Pod, rate int, d time.Duration) ([]time.Duration, int, float64) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 512)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			p := pod(i)
			t0 := time.Now()
			_, err := kube.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			lat[i] = time.Since(t0)
			if err != nil {
				errs.Add(1)
			}
		})
	}
	wg.Wait()
	return lat, int(errs.Load()), float64(n) / time.Since(start).Seconds()
}

// percentiles returns p50, p90, p99, p99.9 and max in milliseconds.
func percentiles(lat []time.Duration) [5]float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		i = max(0, min(i, len(s)-1))
		return float64(s[i]) / float64(time.Millisecond)
	}
	return [5]float64{at(0.50), at(0.90), at(0.99), at(0.999), at(1)}
}

func histogramTotals(b *testing.B, m *Metrics) (uint64, float64) {
	var count uint64
	var sum float64
	for _, hook := range []string{"mutating", "validating"} {
		h, err := m.latency.GetMetricWithLabelValues("Pod", hook)
		if err != nil {
			b.Fatal(err)
		}
		var d dto.Metric
		if err := h.(prometheus.Metric).Write(&d); err != nil {
			b.Fatal(err)
		}
		count += d.GetHistogram().GetSampleCount()
		sum += d.GetHistogram().GetSampleSum()
	}
	return count, sum
}

// startNoopWebhook serves a webhook that decodes each review and allows it unchanged.
func startNoopWebhook(b *testing.B) (caBundleAndURL [2]string, calls *atomic.Int64) {
	b.Helper()
	now := time.Now()
	ca, caKey, err := newCA(now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	certPEM, keyPEM, _, err := issueServing(ca, caKey, []string{"127.0.0.1"}, now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	calls = &atomic.Int64{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			body, _ := io.ReadAll(r.Body)
			var review admissionv1.AdmissionReview
			if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
				http.Error(w, "bad review", http.StatusBadRequest)
				return
			}
			out, _ := json.Marshal(admissionv1.AdmissionReview{
				TypeMeta: review.TypeMeta,
				Response: &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true},
			})
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(out)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	b.Cleanup(func() { _ = srv.Close() })
	return [2]string{string(pemBlock("CERTIFICATE", ca.Raw)), "https://" + ln.Addr().String()}, calls
}

// applyNoopConfigs registers the no-op webhook like ours: one mutating and one validating
// webhook on pod CREATE.
func applyNoopConfigs(ctx context.Context, b *testing.B, kube kubernetes.Interface, noop [2]string) {
	b.Helper()
	client := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptr.To(noop[1] + path), CABundle: []byte(noop[0])}
	}
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	none := admissionregistrationv1.SideEffectClassNone
	ignore := admissionregistrationv1.Ignore
	if _, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-noop"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "noop.bench.eci-vnode.io", ClientConfig: client("/mutate"), Rules: rules,
			SideEffects: &none, FailurePolicy: &ignore, TimeoutSeconds: ptr.To[int32](5), AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-noop"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "noop.bench.eci-vnode.io", ClientConfig: client("/validate"), Rules: rules,
			SideEffects: &none, FailurePolicy: &ignore, TimeoutSeconds: ptr.To[int32](5), AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
}

func deleteConfigs(ctx context.Context, b *testing.B, kube kubernetes.Interface, name string) {
	b.Helper()
	if err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHandlers measures the webhook's own work per request, without the API
// server: decode the review, match a 20-selector profile, patch or judge, encode.
func BenchmarkHandlers(b *testing.B) {
	var sel []string
	for i := range 20 {
		sel = append(sel, fmt.Sprintf(`{"name":"team-%02d","objectSelector":{"matchExpressions":[{"key":"team","operator":"In","values":["t%02d"]}]},`+
			`"priority":%d,"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"},"labels":{"billing":"eci"}}}`, i, i, i%3))
	}
	f := newFixture(b, "["+strings.Join(sel, ",")+"]")
	p := newPod("default", "bench", map[string]string{"app": "bench", "team": "t07"})
	p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
	raw, _ := json.Marshal(p)
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Namespace: "default", Operation: admissionv1.Create, Object: runtimeRaw(raw)},
	})
	for name, fn := range map[string]reviewFunc{"mutate": f.h.mutatePod, "validate": f.h.validatePod} {
		h := f.h.serve("Pod", name, fn)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
