// Package webhookbench measures what the eci-profile webhook adds to pod creation, side
// by side with a no-op webhook in the same run: pods are created through a real
// kube-apiserver at fixed rates (open loop, dryRun=All: admission runs in full, nothing
// is stored) with no webhook, with a no-op webhook (decodes the review, allows it) and
// with the eci-vnode webhook (a profile of 20 selectors; every pod matches one and is
// patched, then guarded). Both webhooks are called by the API server over TLS at a
// loopback URL, so it speaks HTTP/2 to both, and both run in this process.
//
// The figure that counts is the API server's own timing of each webhook call
// (DurationMetric): the eci-vnode webhook's call time as a ratio of the no-op's, per
// rate, per call type (mutating "admit", "validating"). Client-side latency is reported
// next to it. On a shared machine only ratios measured in one run mean anything; the
// phases alternate (none, no-op, eci-vnode, no-op, eci-vnode, …) so drift shows.
//
// The API server's time of a mutating call includes applying the patch the webhook
// returns (encoding the pod to JSON, applying the patch, decoding and defaulting it
// again), and a pod a webhook changed goes through the in-tree mutating admission
// plugins a second time. A no-op never pays for that. With Options.PatchingNoop a third
// webhook alternates with the two: the no-op that returns, unread, the very patch the
// eci-vnode webhook returns for the bench pods, which separates the API server's cost of
// applying that patch from the eci-vnode webhook's own. Each webhook's own time per
// request (read to written, in this process) is reported too.
//
// The cluster's API server must reach 127.0.0.1 (the local sandbox of
// internal/sandbox). Run writes kube-system/eci-profile for the run and puts back what
// was there; it creates its namespaces and leaves them.
package webhookbench

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/runtime/webhook"
)

// Options configures Run. Config is required.
type Options struct {
	// Config reaches the cluster as an administrator (it creates namespaces, webhook
	// configurations and the eci-profile, and reads the API server's /metrics). Its
	// rate limit is raised for the run; the caller's copy is not changed.
	Config *rest.Config
	// Rates are the request rates, in pod creations per second; default 100, 250, 500.
	Rates []int
	// Phase is how long each phase sends pods (default 10s), after a warm-up of
	// Warmup (default 1s) that is not counted.
	Phase, Warmup time.Duration
	// Rounds is how many times the no-op and the eci-vnode phases alternate per rate
	// (default 2).
	Rounds int
	// PatchingNoop adds a phase per round with the no-op webhook returning the eci-vnode
	// webhook's patch (see the package doc).
	PatchingNoop bool
	// Namespace is where the pods are created (dry run); default "webhook-bench".
	// WebhookNamespace is where the eci-vnode webhook keeps its TLS Secret; default
	// "eci-vnode-webhook-bench".
	Namespace, WebhookNamespace string
	// Progress receives a line per phase; nil: none.
	Progress io.Writer
}

// Result is one run.
type Result struct {
	// KubernetesVersion is the API server's version.
	KubernetesVersion string
	// Phase is the length of each phase.
	Phase time.Duration
	Rates []Rate
	// OtherWebhooks are admission webhook configurations the cluster had besides the
	// run's own; the API server called them in every phase alike.
	OtherWebhooks []string
}

// Rate is what was measured at one request rate.
type Rate struct {
	Rate   int
	Phases []Phase // in the order they ran
	// Admit and Validating compare the eci-vnode webhook's calls with the no-op's, of
	// each type, over all rounds: pods.profile.eci-vnode.io with the no-op's mutating
	// webhook, pods.guard.eci-vnode.io with its validating one.
	Admit, Validating Comparison
	// AdmitRoundRatios are the mean-time ratios of the mutating calls round by round
	// (eci-vnode #k / no-op #k, phases next to each other), and AdmitMedianRoundRatio
	// their median: less swayed than the pooled ratio by a round the machine was busy.
	AdmitRoundRatios      []float64
	AdmitMedianRoundRatio float64
	// AdmitVsPatchingNoop and ValidatingVsPatchingNoop compare the eci-vnode webhook's
	// calls with those of the no-op returning its patch (Options.PatchingNoop; zero
	// without).
	AdmitVsPatchingNoop, ValidatingVsPatchingNoop Comparison
	// Handler is each webhook's own time per mutating request, as it timed it (read to
	// written), by phase webhook ("no-op", "no-op+patch", "eci-vnode"), over all rounds.
	Handler map[string]time.Duration
	// Client compares the client-side latency of pod creation, the phases of each
	// webhook pooled.
	Client Comparison
}

// Comparison is the eci-vnode webhook next to the no-op webhook: each one's mean,
// median and p99, and the ratios eci-vnode / no-op.
type Comparison struct {
	Noop, ECIVNode Timing
	// MeanRatio, MedianRatio and P99Ratio are ECIVNode / Noop.
	MeanRatio, MedianRatio, P99Ratio float64
}

// Timing is the time of a set of calls or requests.
type Timing struct {
	Count             int
	Mean, Median, P99 time.Duration
	// Within5ms is the share of calls the API server timed at 5 ms or less (its first
	// bucket); zero for client-side timings.
	Within5ms float64
}

// Phase is one period of load with one webhook.
type Phase struct {
	// Webhook is "none", "no-op" or "eci-vnode"; Round counts from 1.
	Webhook string
	Round   int
	// Achieved is the rate the pods were sent at; Errors the creations that failed.
	Achieved float64
	Errors   int
	// Client is the latency of the creations as the client saw them.
	Client Timing
	// Calls are the webhook calls the API server made in the phase, as it timed them.
	Calls []Call
	// APIServerCPUPerPod is the CPU time kube-apiserver used in the phase, per pod
	// created (its process_cpu_seconds_total, so it includes whatever else it did);
	// ProcessCPUPerPod the same of this process, which sends the pods and serves both
	// webhooks.
	APIServerCPUPerPod, ProcessCPUPerPod time.Duration
	// HandlerAdmit is the phase's webhook's own mean time per mutating request (read to
	// written); zero in phase "none".
	HandlerAdmit time.Duration
}

// Call is the API server's timing of one webhook's calls in a phase.
type Call struct {
	Name, Type string // Type: "admit" (mutating) or "validating"
	Timing
}

// Names of the phases' webhooks and of the run's objects.
const (
	WebhookNone      = "none"
	WebhookNoop      = "no-op"
	WebhookNoopPatch = "no-op+patch"
	WebhookECIVNode  = "eci-vnode"

	noopName          = "webhookbench-noop"
	noopWebhook       = "noop.webhookbench.eci-vnode.io"
	configurationName = "eci-vnode-webhookbench"
)

func (o Options) withDefaults() (Options, error) {
	if o.Config == nil {
		return o, errors.New("webhookbench: Options.Config is required")
	}
	if len(o.Rates) == 0 {
		o.Rates = []int{100, 250, 500}
	}
	for _, r := range o.Rates {
		if r <= 0 {
			return o, fmt.Errorf("webhookbench: rate %d is not positive", r)
		}
	}
	o.Phase = cmp.Or(o.Phase, 10*time.Second)
	o.Warmup = cmp.Or(o.Warmup, time.Second)
	o.Rounds = cmp.Or(o.Rounds, 2)
	o.Namespace = cmp.Or(o.Namespace, "webhook-bench")
	o.WebhookNamespace = cmp.Or(o.WebhookNamespace, "eci-vnode-webhook-bench")
	return o, nil
}

// Run measures pod creation at each rate with no webhook, the no-op webhook and the
// eci-vnode webhook, and compares the webhooks. It takes about
// len(Rates) × (1 + 2·Rounds) × (Warmup + Phase), plus a few seconds per switch of
// webhook.
func Run(ctx context.Context, o Options) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, err
	}
	cfg := rest.CopyConfig(o.Config)
	maxRate := slices.Max(o.Rates)
	cfg.QPS, cfg.Burst = float32(4*maxRate), 4*maxRate
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Result{}, fmt.Errorf("webhookbench: client: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := Result{Phase: o.Phase}
	if v, err := kube.Discovery().ServerVersion(); err == nil {
		res.KubernetesVersion = v.GitVersion
	}
	if res.OtherWebhooks, err = otherWebhooks(ctx, kube); err != nil {
		return res, err
	}
	for _, ns := range []string{o.Namespace, o.WebhookNamespace} {
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return res, fmt.Errorf("webhookbench: create namespace %s: %w", ns, err)
		}
	}
	restore, err := setProfile(ctx, kube, benchProfile(o.Namespace))
	if err != nil {
		return res, err
	}
	defer restore()

	noop, err := startNoop()
	if err != nil {
		return res, err
	}
	defer noop.close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("webhookbench: listen for the eci-vnode webhook: %w", err)
	}
	reg := prometheus.NewRegistry()
	srv, err := webhook.New(webhook.Options{Kube: kube, Namespace: o.WebhookNamespace, Listener: ln, URLHost: ln.Addr().String(),
		ConfigurationName: configurationName, ResyncPeriod: time.Hour, Registry: reg})
	if err != nil {
		return res, fmt.Errorf("webhookbench: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-srv.Ready():
	case err := <-done:
		return res, fmt.Errorf("webhookbench: the eci-vnode webhook stopped: %v", err)
	case <-ctx.Done():
		return res, ctx.Err()
	}
	b := &bench{o: o, kube: kube, srv: srv, reg: reg, noop: noop}
	defer b.use(context.WithoutCancel(ctx), WebhookNone) //nolint:errcheck // best effort: leave no configuration behind
	if o.PatchingNoop {
		if err := b.use(ctx, WebhookNone); err != nil {
			return res, err
		}
		patch, err := benchPatch(ctx, kube, o.Namespace)
		if err != nil {
			return res, err
		}
		noop.patch.Store(&patch)
	}
	for _, rate := range o.Rates {
		r, err := b.rate(ctx, rate)
		if err != nil {
			return res, err
		}
		res.Rates = append(res.Rates, r)
	}
	return res, nil
}

type bench struct {
	o    Options
	kube kubernetes.Interface
	srv  *webhook.Server
	reg  *prometheus.Registry // the eci-vnode webhook's metrics
	noop *noopServer
	// registered is the no-op webhook's registration: "", WebhookNoop or WebhookNoopPatch.
	registered string
	// mutated is the first bench pod the eci-vnode and no-op+patch webhooks mutated.
	mutated map[string]*corev1.Pod
}

// rate runs the phases of one rate and compares them.
func (b *bench) rate(ctx context.Context, rate int) (Rate, error) {
	r := Rate{Rate: rate}
	order := []string{WebhookNone}
	for range b.o.Rounds {
		order = append(order, WebhookNoop, WebhookECIVNode)
		if b.o.PatchingNoop {
			order = append(order, WebhookNoopPatch)
		}
	}
	rounds := map[string]int{}
	calls := map[string]map[string]histogram{} // webhook → call type → calls of all its phases
	client := map[string][]time.Duration{}
	handler := map[string]handlerTime{}
	roundMeans := map[string][]time.Duration{} // webhook → mean time of its mutating calls, per round
	for _, hook := range order {
		if err := b.use(ctx, hook); err != nil {
			return r, err
		}
		rounds[hook]++
		_, _, _ = b.measure(ctx, rate, b.o.Warmup)
		before, apiCPU0, err := scrape(ctx, b.kube)
		if err != nil {
			return r, fmt.Errorf("webhookbench: %w", err)
		}
		ownCPU0, h0 := processCPU(), b.handlerTime(hook)
		lat, errs, achieved := b.measure(ctx, rate, b.o.Phase)
		ownCPU1, h1 := processCPU(), b.handlerTime(hook)
		after, apiCPU1, err := scrape(ctx, b.kube)
		if err != nil {
			return r, fmt.Errorf("webhookbench: %w", err)
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		p := Phase{Webhook: hook, Round: rounds[hook], Achieved: achieved, Errors: errs, Client: durations(lat)}
		if n := len(lat); n > 0 {
			p.APIServerCPUPerPod = (apiCPU1 - apiCPU0) / time.Duration(n)
			p.ProcessCPUPerPod = (ownCPU1 - ownCPU0) / time.Duration(n)
		}
		ht := h1.since(h0)
		p.HandlerAdmit = ht.mean()
		handler[hook] = handler[hook].add(ht)
		keys, hs := callsSince(before, after)
		for _, k := range keys {
			h := hs[k]
			p.Calls = append(p.Calls, Call{Name: k.name, Type: k.typ, Timing: timing(h)})
			ours := k.name == webhook.WebhookMutatePods || k.name == webhook.WebhookValidatePods
			if (hook == WebhookECIVNode && ours) || ((hook == WebhookNoop || hook == WebhookNoopPatch) && k.name == noopWebhook) {
				if calls[hook] == nil {
					calls[hook] = map[string]histogram{}
				}
				calls[hook][k.typ] = calls[hook][k.typ].add(h)
				if k.typ == "admit" {
					roundMeans[hook] = append(roundMeans[hook], h.mean())
				}
			}
		}
		client[hook] = append(client[hook], lat...)
		r.Phases = append(r.Phases, p)
		if b.o.Progress != nil {
			fmt.Fprintf(b.o.Progress, "webhookbench: %d req/s, %s #%d: client p50 %v, %d errors, %.1f req/s achieved\n",
				rate, hook, p.Round, p.Client.Median.Round(10*time.Microsecond), errs, achieved)
		}
	}
	r.Admit = compare(timing(calls[WebhookNoop]["admit"]), timing(calls[WebhookECIVNode]["admit"]))
	r.Validating = compare(timing(calls[WebhookNoop]["validating"]), timing(calls[WebhookECIVNode]["validating"]))
	r.Client = compare(durations(client[WebhookNoop]), durations(client[WebhookECIVNode]))
	for i := range min(len(roundMeans[WebhookNoop]), len(roundMeans[WebhookECIVNode])) {
		r.AdmitRoundRatios = append(r.AdmitRoundRatios, ratio(roundMeans[WebhookECIVNode][i], roundMeans[WebhookNoop][i]))
	}
	r.AdmitMedianRoundRatio = median(r.AdmitRoundRatios)
	if b.o.PatchingNoop {
		r.AdmitVsPatchingNoop = compare(timing(calls[WebhookNoopPatch]["admit"]), timing(calls[WebhookECIVNode]["admit"]))
		r.ValidatingVsPatchingNoop = compare(timing(calls[WebhookNoopPatch]["validating"]), timing(calls[WebhookECIVNode]["validating"]))
	}
	r.Handler = map[string]time.Duration{}
	for hook, h := range handler {
		if hook != WebhookNone {
			r.Handler[hook] = h.mean()
		}
	}
	return r, nil
}

// median of v; 0 when empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// handlerTime is a webhook's own time answering mutating requests: how many, and their
// total.
type handlerTime struct {
	count uint64
	sum   time.Duration
}

func (h handlerTime) since(before handlerTime) handlerTime {
	return handlerTime{count: h.count - before.count, sum: h.sum - before.sum}
}

func (h handlerTime) add(o handlerTime) handlerTime {
	return handlerTime{count: h.count + o.count, sum: h.sum + o.sum}
}

func (h handlerTime) mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return h.sum / time.Duration(h.count)
}

// handlerTime reads the running total of hook's own time on mutating requests: the
// no-op counts its own; the eci-vnode webhook's is its
// eci_vnode_admission_duration_seconds of pods, mutating.
func (b *bench) handlerTime(hook string) handlerTime {
	switch hook {
	case WebhookNoop, WebhookNoopPatch:
		return handlerTime{count: uint64(b.noop.admitCount.Load()), sum: time.Duration(b.noop.admitNanos.Load())}
	case WebhookECIVNode:
		families, err := b.reg.Gather()
		if err != nil {
			return handlerTime{}
		}
		for _, f := range families {
			if f.GetName() != "eci_vnode_admission_duration_seconds" {
				continue
			}
			for _, m := range f.GetMetric() {
				if label(m, "kind") == "Pod" && label(m, "webhook") == "mutating" {
					return handlerTime{count: m.GetHistogram().GetSampleCount(), sum: seconds(m.GetHistogram().GetSampleSum())}
				}
			}
		}
	}
	return handlerTime{}
}

// use makes the API server call hook's webhooks, and only those, and waits until it
// does: a probe pod is mutated (eci-vnode), counted by the no-op webhook, or neither.
func (b *bench) use(ctx context.Context, hook string) error {
	reg := b.kube.AdmissionregistrationV1()
	if b.registered != hook {
		if err := b.noop.unregister(ctx, b.kube); err != nil {
			return err
		}
		b.registered = ""
	}
	if hook != WebhookECIVNode {
		for _, del := range []func() error{
			func() error {
				return reg.MutatingWebhookConfigurations().Delete(ctx, configurationName, metav1.DeleteOptions{})
			},
			func() error {
				return reg.ValidatingWebhookConfigurations().Delete(ctx, configurationName, metav1.DeleteOptions{})
			},
		} {
			if err := del(); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("webhookbench: remove the eci-vnode webhook's configurations: %w", err)
			}
		}
	}
	switch hook {
	case WebhookNoop, WebhookNoopPatch:
		if err := b.noop.register(ctx, b.kube, hook == WebhookNoopPatch); err != nil {
			return err
		}
		b.registered = hook
	case WebhookECIVNode:
		if err := b.srv.ApplyConfigurations(ctx); err != nil {
			return fmt.Errorf("webhookbench: apply the eci-vnode webhook's configurations: %w", err)
		}
	}
	var pod *corev1.Pod
	probe := func() (mutated, noopCalled bool) {
		before := b.noop.calls.Load()
		p, err := b.kube.CoreV1().Pods(b.o.Namespace).Create(ctx, benchPod(b.o.Namespace, 0), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		pod = p
		return err == nil && p.Annotations[profile.SelectorAnnotation] != "", b.noop.calls.Load() > before
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mutated, noopCalled := probe()
		if mutated == (hook == WebhookECIVNode || hook == WebhookNoopPatch) && noopCalled == (hook == WebhookNoop || hook == WebhookNoopPatch) {
			return b.sameMutation(hook, pod)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webhookbench: the API server did not switch to webhook %q within 30s (mutated %v, no-op called %v)", hook, mutated, noopCalled)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sameMutation checks that the no-op+patch phases mutate the bench pods as the
// eci-vnode webhook does: it keeps the first pod each of the two mutated and compares
// what the patch touches (labels, annotations, tolerations, affinity).
func (b *bench) sameMutation(hook string, pod *corev1.Pod) error {
	if hook != WebhookECIVNode && hook != WebhookNoopPatch {
		return nil
	}
	if b.mutated == nil {
		b.mutated = map[string]*corev1.Pod{}
	}
	if b.mutated[hook] == nil {
		b.mutated[hook] = pod
	}
	ours, theirs := b.mutated[WebhookECIVNode], b.mutated[WebhookNoopPatch]
	if ours == nil || theirs == nil {
		return nil
	}
	if !equality.Semantic.DeepEqual(ours.Labels, theirs.Labels) || !equality.Semantic.DeepEqual(ours.Annotations, theirs.Annotations) ||
		!equality.Semantic.DeepEqual(ours.Spec.Tolerations, theirs.Spec.Tolerations) || !equality.Semantic.DeepEqual(ours.Spec.Affinity, theirs.Spec.Affinity) {
		return fmt.Errorf("webhookbench: the no-op+patch webhook does not mutate the bench pod as the eci-vnode webhook does: "+
			"labels %v / %v, annotations %v / %v, tolerations %v / %v", ours.Labels, theirs.Labels, ours.Annotations, theirs.Annotations,
			ours.Spec.Tolerations, theirs.Spec.Tolerations)
	}
	return nil
}

// measure creates pods (dry run) at rate for d on a fixed schedule, whatever the
// answers take, and returns the latency of each request, the errors and the rate
// achieved.
func (b *bench) measure(ctx context.Context, rate int, d time.Duration) ([]time.Duration, int, float64) {
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
			p := benchPod(b.o.Namespace, i)
			t0 := time.Now()
			_, err := b.kube.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			lat[i] = time.Since(t0)
			if err != nil {
				errs.Add(1)
			}
		})
	}
	wg.Wait()
	return lat, int(errs.Load()), float64(n) / time.Since(start).Seconds()
}

func benchPod(ns string, i int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("bench-%d", i), Labels: map[string]string{"app": "bench", "team": "t07"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}}}},
	}
}

// benchProfile is 20 selectors of the three policies; the bench pods (team t07) match
// one of them, in namespace ns.
func benchProfile(ns string) string {
	var sel []string
	for i := range 20 {
		sel = append(sel, fmt.Sprintf(`{"name":"team-%02d","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":%q}},`+
			`"objectSelector":{"matchExpressions":[{"key":"team","operator":"In","values":["t%02d","x%02d"]}]},"priority":%d,"policy":"%s",`+
			`"effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi","k8s.aliyun.com/eci-spot-strategy":"SpotAsPriceGo"},"labels":{"billing":"eci"}}}`,
			i, ns, i, i, i%3, []string{"virtualNodeOnly", "fair", "normalNodePrefer"}[i%3]))
	}
	return "[" + strings.Join(sel, ",\n") + "]"
}

// setProfile writes the eci-profile for the run; restore puts back what was there
// (or deletes it).
func setProfile(ctx context.Context, kube kubernetes.Interface, selectors string) (restore func(), err error) {
	cms := kube.CoreV1().ConfigMaps(profile.ConfigMapNamespace)
	old, err := cms.Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: profile.ConfigMapName, Namespace: profile.ConfigMapNamespace},
			Data: map[string]string{profile.SelectorsKey: selectors}}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("webhookbench: create the eci-profile: %w", err)
		}
		return func() { _ = cms.Delete(context.WithoutCancel(ctx), profile.ConfigMapName, metav1.DeleteOptions{}) }, nil
	case err != nil:
		return nil, fmt.Errorf("webhookbench: read the eci-profile: %w", err)
	}
	cm := old.DeepCopy()
	cm.Data = map[string]string{profile.SelectorsKey: selectors}
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("webhookbench: write the eci-profile: %w", err)
	}
	return func() {
		ctx := context.WithoutCancel(ctx)
		if cur, err := cms.Get(ctx, profile.ConfigMapName, metav1.GetOptions{}); err == nil {
			cur.Data = old.Data
			_, _ = cms.Update(ctx, cur, metav1.UpdateOptions{})
		}
	}, nil
}

func otherWebhooks(ctx context.Context, kube kubernetes.Interface) ([]string, error) {
	reg := kube.AdmissionregistrationV1()
	var out []string
	ms, err := reg.MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("webhookbench: list webhook configurations: %w", err)
	}
	for _, c := range ms.Items {
		if c.Name != configurationName && c.Name != noopName {
			out = append(out, "mutating/"+c.Name)
		}
	}
	vs, err := reg.ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("webhookbench: list webhook configurations: %w", err)
	}
	for _, c := range vs.Items {
		if c.Name != configurationName && c.Name != noopName {
			out = append(out, "validating/"+c.Name)
		}
	}
	return out, nil
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func timing(h histogram) Timing {
	return Timing{Count: int(h.count), Mean: h.mean(), Median: h.quantile(0.5), P99: h.quantile(0.99), Within5ms: h.shareWithin(0.005)}
}

func durations(lat []time.Duration) Timing {
	if len(lat) == 0 {
		return Timing{}
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	at := func(q float64) time.Duration { return s[max(0, min(int(q*float64(len(s))+0.5)-1, len(s)-1))] }
	return Timing{Count: len(s), Mean: sum / time.Duration(len(s)), Median: at(0.5), P99: at(0.99)}
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func compare(noop, ours Timing) Comparison {
	return Comparison{Noop: noop, ECIVNode: ours,
		MeanRatio: ratio(ours.Mean, noop.Mean), MedianRatio: ratio(ours.Median, noop.Median), P99Ratio: ratio(ours.P99, noop.P99)}
}

// noopServer is the no-op webhook: it decodes each review and allows it unchanged,
// over TLS like the real one, with a self-signed certificate for 127.0.0.1. At
// pathMutatePatch it allows it with patch, the eci-vnode webhook's patch of the bench
// pods.
type noopServer struct {
	url   string
	caPEM []byte
	srv   *http.Server
	patch atomic.Pointer[[]byte] // set before the patching no-op is registered
	calls atomic.Int64
	// admitCount and admitNanos count the mutating requests and the time spent
	// answering them (read to written).
	admitCount, admitNanos atomic.Int64
	closed                 sync.Once
}

// Paths of the no-op webhook.
const (
	pathMutate      = "/mutate"
	pathMutatePatch = "/mutate-patch"
	pathValidate    = "/validate"
)

func startNoop() (*noopServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("webhookbench: no-op webhook key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "webhookbench no-op"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("webhookbench: no-op webhook certificate: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhookbench: listen for the no-op webhook: %w", err)
	}
	n := &noopServer{url: "https://" + ln.Addr().String(), caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	n.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.calls.Add(1)
			switch start := time.Now(); r.URL.Path {
			case pathMutate:
				NoopAdmit(w, r)
				n.admitNanos.Add(int64(time.Since(start)))
				n.admitCount.Add(1)
			case pathMutatePatch:
				var patch []byte
				if p := n.patch.Load(); p != nil {
					patch = *p
				}
				admitWith(w, r, patch)
				n.admitNanos.Add(int64(time.Since(start)))
				n.admitCount.Add(1)
			default:
				NoopAdmit(w, r)
			}
		}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = n.srv.ServeTLS(ln, "", "") }()
	return n, nil
}

// NoopAdmit allows every review unchanged, decoding it as a minimal webhook would: the
// baseline the eci-vnode webhook is compared with.
func NoopAdmit(w http.ResponseWriter, r *http.Request) { admitWith(w, r, nil) }

// admitWith is NoopAdmit returning patch (if not nil), whatever the object.
func admitWith(w http.ResponseWriter, r *http.Request, patch []byte) {
	body, _ := io.ReadAll(r.Body)
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	if patch != nil {
		resp.Patch, resp.PatchType = patch, ptr.To(admissionv1.PatchTypeJSONPatch)
	}
	out, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// benchPatch is the patch the eci-vnode webhook returns for the bench pods in namespace
// ns: the bench pod as the API server hands it to a webhook (created with dryRun=All
// while no webhook of the run is registered: defaulted, with the tolerations and volumes
// the in-tree admission plugins add) under benchProfile, by the webhook's matcher and
// mutation.
func benchPatch(ctx context.Context, kube kubernetes.Interface, ns string) ([]byte, error) {
	pod, err := kube.CoreV1().Pods(ns).Create(ctx, benchPod(ns, 0), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return nil, fmt.Errorf("webhookbench: create a bench pod to compute its patch: %w", err)
	}
	nsObj, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("webhookbench: read namespace %s: %w", ns, err)
	}
	return patchOf(pod, nsObj.Labels, benchProfile(ns))
}

// patchOf is the eci-profile patch of pod in a namespace labelled nsLabels under the
// profile selectors.
func patchOf(pod *corev1.Pod, nsLabels map[string]string, selectors string) ([]byte, error) {
	p, err := profile.Parse(map[string]string{profile.SelectorsKey: selectors})
	if err != nil {
		return nil, fmt.Errorf("webhookbench: the bench profile: %w", err)
	}
	m, err := profile.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("webhookbench: the bench profile: %w", err)
	}
	sel, ok := m.Match(pod, nsLabels)
	if !ok {
		return nil, errors.New("webhookbench: no selector of the bench profile matches the bench pod")
	}
	patch, err := profile.Mutate(pod, sel).Patch()
	if err != nil || patch == nil {
		return nil, fmt.Errorf("webhookbench: the bench pod's patch: %v (%d bytes)", err, len(patch))
	}
	return patch, nil
}

func (n *noopServer) close() { n.closed.Do(func() { _ = n.srv.Close() }) }

// register configures the no-op webhook like the eci-vnode one: one mutating and one
// validating webhook on pod CREATE; with patch, the mutating one returns the patch.
func (n *noopServer) register(ctx context.Context, kube kubernetes.Interface, patch bool) error {
	client := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptr.To(n.url + path), CABundle: n.caPEM}
	}
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	none := admissionregistrationv1.SideEffectClassNone
	ignore := admissionregistrationv1.Ignore
	reg := kube.AdmissionregistrationV1()
	if _, err := reg.MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: noopName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: noopWebhook, ClientConfig: client(cond(patch, pathMutatePatch, pathMutate)), Rules: rules,
			SideEffects: &none, FailurePolicy: &ignore, TimeoutSeconds: ptr.To[int32](5), AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("webhookbench: register the no-op webhook: %w", err)
	}
	if _, err := reg.ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: noopName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: noopWebhook, ClientConfig: client(pathValidate), Rules: rules,
			SideEffects: &none, FailurePolicy: &ignore, TimeoutSeconds: ptr.To[int32](5), AdmissionReviewVersions: []string{"v1"}}},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("webhookbench: register the no-op webhook: %w", err)
	}
	return nil
}

func (n *noopServer) unregister(ctx context.Context, kube kubernetes.Interface) error {
	reg := kube.AdmissionregistrationV1()
	if err := reg.MutatingWebhookConfigurations().Delete(ctx, noopName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("webhookbench: remove the no-op webhook: %w", err)
	}
	if err := reg.ValidatingWebhookConfigurations().Delete(ctx, noopName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("webhookbench: remove the no-op webhook: %w", err)
	}
	return nil
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
