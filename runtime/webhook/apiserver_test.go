package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
	"github.com/eci-vnode/terraform-provider-eci/internal/sandbox"
)

// The tests in this file run the webhook in-process against the sandbox's real
// kube-apiserver, which calls it in URL mode at 127.0.0.1:<port> for every pod, Service
// and DaemonSet, as it would call the Service in a cluster. One sandbox serves all of
// them: starting a control plane is the expensive part.

const (
	webhookNamespace = "eci-vnode-system"
	vnodeName        = "vnode-1"
	appNS            = "wh-app"
)

// env is one sandbox with the webhook running against it.
type env struct {
	sb       *sandbox.Sandbox
	kube     kubernetes.Interface
	warnKube kubernetes.Interface // its API warnings land in warnings
	warnings *warningCollector
	srv      *Server
	reg      *prometheus.Registry
	addr     string
}

// warningCollector is a rest.WarningHandler that keeps what the API server warned.
type warningCollector struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns the warnings since the last take.
func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func startEnv(t *testing.T, opts Options, workers int) *env {
	t.Helper()
	began := time.Now()
	sb := sandbox.StartForTest(t, sandbox.Options{
		Workers: workers,
		WorkerCapacity: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("30"),
		},
		RestartBackoff: time.Second,
	})
	t.Logf("sandbox up in %s", time.Since(began).Round(time.Second))
	cfg := sb.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	kube := kubernetes.NewForConfigOrDie(cfg)
	warnCfg := sb.RESTConfig()
	w := &warningCollector{}
	warnCfg.WarningHandler = w
	e := &env{sb: sb, kube: kube, warnKube: kubernetes.NewForConfigOrDie(warnCfg), warnings: w}

	ctx, cancel := context.WithCancel(context.Background())
	for _, ns := range []string{webhookNamespace, appNS, "wh-probe", "wh-web", "wh-batch", "wh-burst"} {
		l := map[string]string{}
		switch ns {
		case "wh-web":
			l["team"] = "web"
		case "wh-batch":
			l["team"] = "batch"
		}
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: l}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns, err)
		}
	}
	startFakeVNode(t, ctx, kube, vnodeName)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	if err := os.MkdirAll(filepath.Join(sb.Dir(), "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(sb.Dir(), "logs", "webhook.log"))
	if err != nil {
		t.Fatal(err)
	}
	e.reg = prometheus.NewRegistry()
	opts.Kube, opts.Namespace, opts.Listener, opts.URLHost = kube, webhookNamespace, ln, e.addr
	opts.Registry = e.reg
	opts.Log = slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if e.srv, err = New(opts); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("webhook Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("webhook did not stop within 30s")
		}
		logf.Close()
	})
	select {
	case <-e.srv.Ready():
	case err := <-done:
		t.Fatalf("webhook stopped before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("webhook not ready within 2 minutes")
	}
	// The API server picks up new webhook configurations asynchronously: wait until it
	// calls the webhook.
	e.setProfile(t, `[{"name":"probe","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-probe"}}}]`)
	waitUntil(t, time.Minute, "the API server calls the webhook", func() (bool, error) {
		p, err := e.dryRun(newPod("wh-probe", "probe", nil))
		return err == nil && p.Annotations[profile.SelectorAnnotation] == "probe", nil
	})
	t.Logf("webhook active %s after start", time.Since(began).Round(time.Second))
	return e
}

func TestThroughAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	e := startEnv(t, Options{DeletionCost: ptr.To[int32](-100), CertValidity: 30 * time.Second, ResyncPeriod: time.Minute}, 1)
	t.Run("Policies", e.testPolicies)
	t.Run("NamespaceAndObjectSelectors", e.testSelectors)
	t.Run("HotReload", e.testHotReload)
	t.Run("MalformedProfileKeepsTheLastGood", e.testMalformed)
	t.Run("GuardRefusals", e.testGuards)
	t.Run("NotInterceptedNamespaces", e.testNotIntercepted)
	t.Run("DaemonSet", e.testDaemonSet)
	t.Run("NodePortWarning", e.testNodePort)
	t.Run("BurstAndScaleIn", e.testBurst)
	t.Run("CertificateRotation", e.testRotation)
}

// setProfile writes the eci-profile's selectors and waits until the webhook has read
// that version (used or rejected).
func (e *env) setProfile(t *testing.T, selectors string) string {
	t.Helper()
	ctx := context.Background()
	cms := e.kube.CoreV1().ConfigMaps(profile.ConfigMapNamespace)
	cm, err := cms.Get(ctx, profile.ConfigMapName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cm, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: profile.ConfigMapName, Namespace: profile.ConfigMapNamespace},
			Data:       map[string]string{profile.SelectorsKey: selectors, "vpcId": "vpc-sandbox"},
		}, metav1.CreateOptions{})
	case err == nil:
		cm.Data[profile.SelectorsKey] = selectors
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("write the eci-profile: %v", err)
	}
	waitUntil(t, 30*time.Second, "the webhook reads the profile", func() (bool, error) {
		return e.srv.handler.profiles.seen(cm.ResourceVersion), nil
	})
	return cm.ResourceVersion
}

func (s *profileStore) seen(rv string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Load().resourceVersion == rv || s.rejectedRV == rv
}

// dryRun creates pod with dryRun=All: admission runs, nothing is stored.
func (e *env) dryRun(pod *corev1.Pod) (*corev1.Pod, error) {
	return e.kube.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
}

func mustDryRun(t *testing.T, e *env, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	out, err := e.dryRun(pod)
	if err != nil {
		t.Fatalf("create pod %s/%s (dry run): %v", pod.Namespace, pod.Name, err)
	}
	return out
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) testPolicies(t *testing.T) {
	e.setProfile(t, `[
	  {"name":"only","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-app"}},"objectSelector":{"matchLabels":{"run":"only"}},
	   "effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"},"labels":{"billing":"eci"}},"policy":"virtualNodeOnly"},
	  {"name":"fair","objectSelector":{"matchLabels":{"run":"fair"}},"policy":"fair"},
	  {"name":"burst","objectSelector":{"matchLabels":{"run":"burst"}},"policy":"normalNodePrefer"},
	  {"name":"pinned","objectSelector":{"matchLabels":{"run":"pinned"}},"policy":"virtualNodeOnly","virtualNode":"vnode-1"}
	]`)
	vnodeSel := map[string]string{profile.VNodeLabelKey: "true"}
	for _, tc := range []struct {
		run          string
		nodeSelector map[string]string
		preferNormal bool
		pinned       bool
	}{
		{"only", vnodeSel, false, false},
		{"fair", nil, false, false},
		{"burst", nil, true, false},
		{"pinned", vnodeSel, false, true},
	} {
		t.Run(tc.run, func(t *testing.T) {
			p := mustDryRun(t, e, newPod(appNS, "p-"+tc.run, map[string]string{"run": tc.run}))
			if p.Annotations[profile.SelectorAnnotation] != tc.run {
				t.Errorf("selector annotation %q", p.Annotations[profile.SelectorAnnotation])
			}
			if !hasToleration(p.Spec.Tolerations, vnodeToleration) {
				t.Errorf("tolerations %+v lack the VNode toleration", p.Spec.Tolerations)
			}
			if fmt.Sprint(p.Spec.NodeSelector) != fmt.Sprint(tc.nodeSelector) {
				t.Errorf("nodeSelector %v, want %v", p.Spec.NodeSelector, tc.nodeSelector)
			}
			na := p.Spec.Affinity != nil && p.Spec.Affinity.NodeAffinity != nil
			gotPrefer := na && len(p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 1 &&
				p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight == 100
			gotPinned := na && p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil &&
				p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields[0].Values[0] == vnodeName
			if gotPrefer != tc.preferNormal || gotPinned != tc.pinned {
				t.Errorf("affinity %+v", p.Spec.Affinity)
			}
			if tc.run == "only" && (p.Labels["billing"] != "eci" || p.Annotations["k8s.aliyun.com/eci-use-specs"] != "2-4Gi") {
				t.Errorf("effects missing: %v %v", p.Labels, p.Annotations)
			}
		})
	}
	// The selector only matches in wh-app: the same pod elsewhere is left alone.
	if p := mustDryRun(t, e, newPod("wh-web", "p", map[string]string{"run": "only"})); p.Annotations[profile.SelectorAnnotation] != "" {
		t.Errorf("pod outside the namespace selector was mutated by %q", p.Annotations[profile.SelectorAnnotation])
	}
	// Real pods: virtualNodeOnly and pinned pods are scheduled onto the VNode.
	ctx := context.Background()
	for _, run := range []string{"only", "pinned"} {
		pod := newPod(appNS, "real-"+run, map[string]string{"run": run})
		if _, err := e.kube.CoreV1().Pods(appNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, time.Minute, run+" pod runs on the VNode", func() (bool, error) {
			p, err := e.kube.CoreV1().Pods(appNS).Get(ctx, pod.Name, metav1.GetOptions{})
			return err == nil && p.Spec.NodeName == vnodeName && p.Status.Phase == corev1.PodRunning, err
		})
		_ = e.kube.CoreV1().Pods(appNS).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	}
}

func hasToleration(ts []corev1.Toleration, want corev1.Toleration) bool {
	for _, t := range ts {
		if t.Key == want.Key && t.Operator == want.Operator && t.Value == want.Value && t.Effect == want.Effect {
			return true
		}
	}
	return false
}

func (e *env) testSelectors(t *testing.T) {
	e.setProfile(t, `[
	  {"name":"ns-web","namespaceSelector":{"matchLabels":{"team":"web"}},"policy":"fair","effect":{"labels":{"from":"ns-web"}}},
	  {"name":"both","namespaceSelector":{"matchLabels":{"team":"batch"}},"objectSelector":{"matchLabels":{"eci":"true"}},"effect":{"labels":{"from":"both"}}},
	  {"name":"expr","namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["wh-app"]}]},
	   "objectSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":["frontend","edge"]},{"key":"canary","operator":"DoesNotExist"}]},"effect":{"labels":{"from":"expr"}}},
	  {"name":"low","objectSelector":{"matchLabels":{"prio":"x"}},"priority":1,"effect":{"labels":{"from":"low"}}},
	  {"name":"high","objectSelector":{"matchLabels":{"prio":"x"}},"priority":5,"effect":{"labels":{"from":"high"}}},
	  {"name":"tie-b","objectSelector":{"matchLabels":{"tie":"x"}},"effect":{"labels":{"from":"tie-b"}}},
	  {"name":"tie-a","objectSelector":{"matchLabels":{"tie":"x"}},"effect":{"labels":{"from":"tie-a"}}}
	]`)
	for _, tc := range []struct {
		name, ns string
		labels   map[string]string
		want     string
	}{
		{"namespace selector", "wh-web", nil, "ns-web"},
		{"namespace selector, other namespace", appNS, nil, ""},
		{"namespace and object selector", "wh-batch", map[string]string{"eci": "true"}, "both"},
		{"namespace part alone is not enough", "wh-batch", nil, ""},
		{"object part alone is not enough", appNS, map[string]string{"eci": "true"}, ""},
		{"matchExpressions In", appNS, map[string]string{"tier": "frontend"}, "expr"},
		{"matchExpressions, value not in the set", appNS, map[string]string{"tier": "backend"}, ""},
		{"matchExpressions DoesNotExist", appNS, map[string]string{"tier": "edge", "canary": "yes"}, ""},
		{"matchExpressions, other namespace", "wh-web", map[string]string{"tier": "frontend"}, "ns-web"},
		{"higher priority wins", appNS, map[string]string{"prio": "x"}, "high"},
		{"equal priority: the name that sorts first", appNS, map[string]string{"tie": "x"}, "tie-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustDryRun(t, e, newPod(tc.ns, "p", tc.labels))
			if got := p.Annotations[profile.SelectorAnnotation]; got != tc.want {
				t.Errorf("selector %q, want %q", got, tc.want)
			}
			if tc.want != "" && p.Labels["from"] != tc.want {
				t.Errorf("effect label from=%q, want %q", p.Labels["from"], tc.want)
			}
		})
	}
	// Precedence of the pod's own values over effects.
	p := mustDryRun(t, e, newPod("wh-web", "p", map[string]string{"from": "me"}))
	if p.Labels["from"] != "me" || p.Annotations[profile.SelectorAnnotation] != "ns-web" {
		t.Errorf("the pod's own label must win: %v", p.Labels)
	}
}

func reloadProfile(gen string) string {
	return `[{"name":"reload","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-app"}},"objectSelector":{"matchLabels":{"run":"reload"}},` +
		`"policy":"fair","effect":{"labels":{"gen":"` + gen + `"}}}]`
}

func (e *env) testHotReload(t *testing.T) {
	e.setProfile(t, reloadProfile("1"))
	if p := mustDryRun(t, e, newPod(appNS, "r", map[string]string{"run": "reload"})); p.Labels["gen"] != "1" {
		t.Fatalf("gen=%q", p.Labels["gen"])
	}
	began := time.Now()
	e.setProfile(t, reloadProfile("2"))
	loaded := time.Since(began)
	if p := mustDryRun(t, e, newPod(appNS, "r", map[string]string{"run": "reload"})); p.Labels["gen"] != "2" {
		t.Fatalf("after the update: gen=%q", p.Labels["gen"])
	}
	t.Logf("profile update to webhook in use: %s", loaded)
}

func (e *env) testMalformed(t *testing.T) {
	ctx := context.Background()
	good := e.setProfile(t, reloadProfile("3"))
	errorsBefore := counterValue(t, e.srv.metrics.configErrors)
	bad := e.setProfile(t, `[{"name":"Bad_Name","objectSelector":{"matchLabels":{"run":"reload"}},"policy":"sometimes","effect":{"labels":{"gen":"4"}}}]`)
	if p := mustDryRun(t, e, newPod(appNS, "r", map[string]string{"run": "reload"})); p.Labels["gen"] != "3" {
		t.Errorf("a malformed profile replaced the last good one: gen=%q", p.Labels["gen"])
	}
	if v := gaugeValue(t, e.srv.metrics.configValid); v != 0 {
		t.Errorf("eci_vnode_profile_config_valid = %v", v)
	}
	if v := counterValue(t, e.srv.metrics.configErrors); v != errorsBefore+1 {
		t.Errorf("eci_vnode_profile_config_errors_total = %v, want %v", v, errorsBefore+1)
	}
	var event *corev1.Event
	waitUntil(t, 30*time.Second, "a Warning Event on the ConfigMap", func() (bool, error) {
		evs, err := e.kube.CoreV1().Events(profile.ConfigMapNamespace).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "ConfigMap", "involvedObject.name": profile.ConfigMapName, "reason": ReasonInvalidProfile,
		}.String()})
		if err != nil {
			return false, err
		}
		for i := range evs.Items {
			if strings.Contains(evs.Items[i].Message, "resourceVersion "+good) {
				event = &evs.Items[i]
				return true, nil
			}
		}
		return false, nil
	})
	if event.Type != corev1.EventTypeWarning || event.Source.Component != EventComponent {
		t.Errorf("event %+v", event)
	}
	for _, want := range []string{"eci-profile is invalid and not used", "selectors[0].name", "selectors[0].policy", "sometimes"} {
		if !strings.Contains(event.Message, want) {
			t.Errorf("event message %q lacks %q", event.Message, want)
		}
	}
	t.Logf("event for resourceVersion %s: %s", bad, event.Message)
	// Broken JSON is no different; then a fix is taken up again.
	e.setProfile(t, `[{"name":"reload",`)
	if p := mustDryRun(t, e, newPod(appNS, "r", map[string]string{"run": "reload"})); p.Labels["gen"] != "3" {
		t.Errorf("broken JSON replaced the last good profile: gen=%q", p.Labels["gen"])
	}
	e.setProfile(t, reloadProfile("5"))
	if p := mustDryRun(t, e, newPod(appNS, "r", map[string]string{"run": "reload"})); p.Labels["gen"] != "5" {
		t.Errorf("fixed profile not used: gen=%q", p.Labels["gen"])
	}
	if v := gaugeValue(t, e.srv.metrics.configValid); v != 1 {
		t.Errorf("eci_vnode_profile_config_valid after the fix = %v", v)
	}
}

func (e *env) testGuards(t *testing.T) {
	e.setProfile(t, `[{"name":"eci","objectSelector":{"matchLabels":{"eci":"true"}}}]`)
	const (
		prefix  = `admission webhook "pods.guard.eci-vnode.io" denied the request: pod cannot run on a VNode, where `
		hostNet = "hostNetwork is not supported on a VNode: expose the pod with a Service of type LoadBalancer instead"
	)
	pinTo := func(node string) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}},
		}}}
	}
	for _, tc := range []struct {
		name  string
		setup func(p *corev1.Pod)
		want  string
	}{
		{"hostPath", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
			p.Spec.Tolerations = []corev1.Toleration{vnodeToleration}
			p.Spec.Volumes = []corev1.Volume{hostPath("data")}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, prefix + `nodeSelector k8s.aliyun.com/vnode: "true" sends it: hostPath volume "data" is not supported on a VNode: use emptyDir, a cloud disk, or NAS (NFS) instead`},
		{"hostNetwork", func(p *corev1.Pod) {
			p.Spec.NodeName = vnodeName
			p.Spec.HostNetwork = true
		}, prefix + `spec.nodeName "vnode-1" (a VNode) sends it: ` + hostNet},
		{"hostPID and hostIPC, routed by the profile", func(p *corev1.Pod) {
			p.Labels = map[string]string{"eci": "true"}
			p.Spec.HostPID, p.Spec.HostIPC = true, true
		}, prefix + `eci-profile selector "eci" (policy virtualNodeOnly) sends it: ` +
			"hostPID is not supported on a VNode: use shareProcessNamespace to share processes between the pod's containers instead; " +
			"hostIPC is not supported on a VNode: the pod's containers already share one IPC namespace, remove hostIPC"},
		{"DaemonSet pod", func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "0b6d4d0e-0000-4000-8000-000000000001", Controller: ptr.To(true)}}
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
			p.Spec.Affinity = pinTo(vnodeName)
		}, prefix + "a required node affinity for VNodes only sends it: DaemonSet pods cannot run on a VNode: run the agent as a sidecar container in the pod instead"},
		{"invalid ECI annotation", func(p *corev1.Pod) {
			p.Labels = map[string]string{"eci": "true"}
			p.Annotations = map[string]string{"k8s.aliyun.com/eci-spot-strategy": "Cheap"}
		}, prefix + `eci-profile selector "eci" (policy virtualNodeOnly) sends it: annotation k8s.aliyun.com/eci-spot-strategy: "Cheap" is not a valid value: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod(appNS, "guarded", nil)
			tc.setup(p)
			_, err := e.dryRun(p)
			if err == nil {
				t.Fatal("the pod was admitted")
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("error is not Forbidden: %v", err)
			}
			if got := err.Error(); got != tc.want && !(strings.HasSuffix(tc.want, ": ") && strings.HasPrefix(got, tc.want)) {
				t.Errorf("refusal\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	t.Run("allowed off VNodes", func(t *testing.T) {
		p := newPod(appNS, "host-ok", nil)
		p.Spec.HostNetwork = true
		p.Spec.Volumes = []corev1.Volume{hostPath("data")}
		mustDryRun(t, e, p)
		q := newPod(appNS, "ds-ok", nil)
		q.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "0b6d4d0e-0000-4000-8000-000000000001"}}
		q.Spec.Affinity = pinTo("worker-1")
		mustDryRun(t, e, q)
	})
}

func (e *env) testNotIntercepted(t *testing.T) {
	e.setProfile(t, `[{"name":"everything","namespaceSelector":{}}]`)
	for _, ns := range []string{"kube-system", webhookNamespace} {
		p := newPod(ns, "system", nil)
		p.Spec.HostNetwork = true
		p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
		out, err := e.dryRun(p)
		if err != nil {
			t.Errorf("%s: refused: %v", ns, err)
			continue
		}
		if out.Annotations[profile.SelectorAnnotation] != "" || hasToleration(out.Spec.Tolerations, vnodeToleration) {
			t.Errorf("%s: pod was mutated: %v %v", ns, out.Annotations, out.Spec.Tolerations)
		}
	}
	if p := mustDryRun(t, e, newPod(appNS, "user", nil)); p.Annotations[profile.SelectorAnnotation] != "everything" {
		t.Errorf("a user namespace was not mutated")
	}
}

func (e *env) testDaemonSet(t *testing.T) {
	ctx := context.Background()
	e.setProfile(t, `[]`)
	ds := func(name string, mod func(*corev1.PodSpec)) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: name}}
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"ds": name}}
		d.Spec.Template.Labels = map[string]string{"ds": name}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "agent", Image: "registry.example/agent:1"}}
		d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		if mod != nil {
			mod(&d.Spec.Template.Spec)
		}
		return d
	}
	const warning = `DaemonSet "agent" tolerates the VNode taint k8s.aliyun.com/vnode=true:NoSchedule, but DaemonSet pods cannot run on a VNode: add node affinity k8s.aliyun.com/vnode NotIn ["true"], or use a sidecar container in the pod`

	e.warnings.take()
	created, err := e.warnKube.AppsV1().DaemonSets(appNS).Create(ctx, ds("agent", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.kube.AppsV1().DaemonSets(appNS).Delete(ctx, "agent", metav1.DeleteOptions{}) }()
	if got := e.warnings.take(); len(got) != 1 || got[0] != warning {
		t.Errorf("create warnings %q\nwant %q", got, warning)
	}
	// A patch is an UPDATE to admission, but unlike a read-modify-write it cannot
	// conflict with the DaemonSet controller's status writes.
	touch := []byte(`{"metadata":{"labels":{"touched":"yes"}}}`)
	if _, err := e.warnKube.AppsV1().DaemonSets(appNS).Patch(ctx, created.Name, types.MergePatchType, touch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.warnings.take(); len(got) != 1 || got[0] != warning {
		t.Errorf("update warnings %q", got)
	}
	// The DaemonSet controller's pod for the VNode is refused with the reason, which it
	// reports as an Event on the DaemonSet; the pod for the worker runs.
	waitUntil(t, time.Minute, "FailedCreate on the DaemonSet names the alternative", func() (bool, error) {
		evs, err := e.kube.CoreV1().Events(appNS).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "DaemonSet", "involvedObject.name": "agent", "reason": "FailedCreate"}.String()})
		if err != nil {
			return false, err
		}
		for _, ev := range evs.Items {
			if strings.Contains(ev.Message, "DaemonSet pods cannot run on a VNode: run the agent as a sidecar container in the pod instead") {
				t.Logf("DaemonSet event: %s", ev.Message)
				return true, nil
			}
		}
		return false, nil
	})
	waitUntil(t, time.Minute, "the DaemonSet pod on the worker", func() (bool, error) {
		pods, err := e.kube.CoreV1().Pods(appNS).List(ctx, metav1.ListOptions{LabelSelector: "ds=agent"})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName == vnodeName {
				return false, fmt.Errorf("a DaemonSet pod was bound to the VNode")
			}
		}
		return len(pods.Items) == 1 && pods.Items[0].Spec.NodeName == "worker-1", nil
	})

	// Kept off VNodes by affinity, or not tolerating the taint: no warning.
	notVNode := func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"true"}}}}},
		}}}
	}
	for name, d := range map[string]*appsv1.DaemonSet{
		"kept-off":      ds("kept-off", notVNode),
		"no-toleration": ds("no-toleration", func(s *corev1.PodSpec) { s.Tolerations = nil }),
	} {
		if _, err := e.warnKube.AppsV1().DaemonSets(appNS).Create(ctx, d, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatal(err)
		}
		if got := e.warnings.take(); len(got) != 0 {
			t.Errorf("%s: warnings %q", name, got)
		}
	}
}

func (e *env) testNodePort(t *testing.T) {
	ctx := context.Background()
	e.setProfile(t, `[{"name":"web","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-app"}},"objectSelector":{"matchLabels":{"app":"web"}}}]`)
	pod := newPod(appNS, "web-0", map[string]string{"app": "web"})
	if _, err := e.kube.CoreV1().Pods(appNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.kube.CoreV1().Pods(appNS).Delete(ctx, pod.Name, metav1.DeleteOptions{}) }()
	waitUntil(t, time.Minute, "the web pod runs on the VNode and the webhook knows it", func() (bool, error) {
		obj, ok, err := e.srv.handler.pods.GetByKey(appNS + "/web-0")
		return ok && obj.(*corev1.Pod).Spec.NodeName == vnodeName, err
	})
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: appNS, Name: "web"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	const want = `NodePort Service "web" selects 1 pod(s) running on VNodes (e.g. web-0 on vnode-1), which a NodePort does not reach: use a Service of type LoadBalancer instead`
	e.warnings.take()
	created, err := e.warnKube.CoreV1().Services(appNS).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.kube.CoreV1().Services(appNS).Delete(ctx, "web", metav1.DeleteOptions{}) }()
	if got := e.warnings.take(); len(got) != 1 || got[0] != want {
		t.Errorf("create warnings %q\nwant %q", got, want)
	}
	created.Labels = map[string]string{"touched": "yes"}
	updated, err := e.warnKube.CoreV1().Services(appNS).Update(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.warnings.take(); len(got) != 1 || got[0] != want {
		t.Errorf("update warnings %q", got)
	}
	// Switching to LoadBalancer, the alternative, ends the warning; so does a selector
	// that reaches no VNode pod.
	updated.Spec.Type = corev1.ServiceTypeLoadBalancer
	if _, err := e.warnKube.CoreV1().Services(appNS).Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := svc.DeepCopy()
	other.Name, other.Spec.Selector = "api", map[string]string{"app": "api"}
	if _, err := e.warnKube.CoreV1().Services(appNS).Create(ctx, other, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if got := e.warnings.take(); len(got) != 0 {
		t.Errorf("warnings without a NodePort to VNode pods: %q", got)
	}
}

// testBurst: a normalNodePrefer selector; the worker is full, so scaling a Deployment up
// overflows onto the VNode; once the worker has room, new replicas go there; scaling down
// removes the VNode pods first, because they carry pod-deletion-cost -100 — although they
// are the older ones and share a node with fewer replicas. A control Deployment whose
// template sets pod-deletion-cost "0" itself (which the webhook leaves alone) shows the
// ReplicaSet's order without our cost: it removes pods of the worker.
func (e *env) testBurst(t *testing.T) {
	e.setProfile(t, `[{"name":"burst","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-burst"}},`+
		`"objectSelector":{"matchExpressions":[{"key":"app","operator":"In","values":["burst","control"]}]},"policy":"normalNodePrefer"}]`)
	t.Run("with deletion cost", func(t *testing.T) {
		before, after := e.burstScenario(t, "burst", "")
		if len(after[vnodeName]) != 0 || fmt.Sprint(after["worker-1"]) != fmt.Sprint(before["worker-1"]) {
			t.Errorf("scale-in did not remove the VNode pods first: before %v, after %v", before, after)
		}
		t.Logf("scaled in to 4: the VNode pods %v were removed first", before[vnodeName])
	})
	t.Run("control without our cost", func(t *testing.T) {
		before, after := e.burstScenario(t, "control", "0")
		if fmt.Sprint(after[vnodeName]) != fmt.Sprint(before[vnodeName]) || len(after["worker-1"]) != 2 {
			t.Errorf("without the cost, expected the ReplicaSet to remove worker pods: before %v, after %v", before, after)
		}
		t.Logf("without the cost the ReplicaSet removed worker pods and kept %v on the VNode", after[vnodeName])
	})
}

// burstScenario fills the worker, scales app to 2 (both overflow to the VNode), frees the
// worker, scales to 6 (4 on the worker) and back to 4. It returns the placement before
// and after the scale-in (node -> sorted pod names). cost, when set, is the template's own
// pod-deletion-cost.
func (e *env) burstScenario(t *testing.T, app, cost string) (before, after map[string][]string) {
	ctx := context.Background()
	const ns = "wh-burst"
	deploy := func(name string, replicas int32, annotations map[string]string) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		d.Spec.Replicas = ptr.To(replicas)
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
		d.Spec.Template.Labels = map[string]string{"app": name}
		d.Spec.Template.Annotations = annotations
		d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0)
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/app:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}}}
		return d
	}
	// placement returns node -> running, ready pods of app; all pods must be bound and running.
	placement := func(app string) (map[string][]string, int, error) {
		pods, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{"app": app}.String()})
		if err != nil {
			return nil, 0, err
		}
		out := map[string][]string{}
		n := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			n++
			if p.Status.Phase == corev1.PodRunning && podReady(&p) {
				out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p.Name)
			}
		}
		for _, names := range out {
			sort.Strings(names)
		}
		return out, n, nil
	}
	waitPlacement := func(app string, worker, vnode int) map[string][]string {
		t.Helper()
		var got map[string][]string
		waitUntil(t, 2*time.Minute, fmt.Sprintf("%s: %d running on worker-1, %d on the VNode", app, worker, vnode), func() (bool, error) {
			var n int
			var err error
			got, n, err = placement(app)
			return err == nil && n == worker+vnode && len(got["worker-1"]) == worker && len(got[vnodeName]) == vnode, err
		})
		return got
	}
	scale := func(name string, replicas int32) {
		t.Helper()
		// The deployment controller writes the status concurrently, so a
		// read-modify-write of the scale can meet a conflict; retry on a fresh read.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			s, err := e.kube.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			s.Spec.Replicas = replicas
			_, err = e.kube.AppsV1().Deployments(ns).UpdateScale(ctx, name, s, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("scaling deployment %s to %d: %v", name, replicas, err)
		}
	}
	var annotations map[string]string
	if cost != "" {
		annotations = map[string]string{DeletionCostAnnotation: cost}
	}

	// The worker (2 CPUs) is filled by pods the profile does not match.
	if _, err := e.kube.AppsV1().Deployments(ns).Create(ctx, deploy("filler", 4, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A failure half-way must not leave the worker full for the next subtest.
	defer func() {
		_ = e.kube.AppsV1().Deployments(ns).Delete(ctx, "filler", metav1.DeleteOptions{})
		waitUntil(t, 2*time.Minute, "the filler pods are gone", func() (bool, error) {
			pods, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=filler"})
			return err == nil && len(pods.Items) == 0, err
		})
	}()
	waitPlacement("filler", 4, 0)
	if _, err := e.kube.AppsV1().Deployments(ns).Create(ctx, deploy(app, 1, annotations), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = e.kube.AppsV1().Deployments(ns).Delete(ctx, app, metav1.DeleteOptions{})
		waitUntil(t, 2*time.Minute, app+" pods are gone", func() (bool, error) {
			pods, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
			return err == nil && len(pods.Items) == 0, err
		})
	}()
	waitPlacement(app, 0, 1)
	scale(app, 2)
	first := waitPlacement(app, 0, 2)
	t.Logf("worker full: %s overflowed onto the VNode: %v", app, first)

	// Pods on the VNode get the deletion cost (unless they have their own); the worker's do not.
	want := "-100"
	if cost != "" {
		want = cost
	}
	waitUntil(t, 30*time.Second, "pod-deletion-cost on the VNode pods", func() (bool, error) {
		for _, name := range first[vnodeName] {
			p, err := e.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || p.Annotations[DeletionCostAnnotation] != want {
				return false, err
			}
		}
		return true, nil
	})
	fillers, _ := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=filler"})
	for _, p := range fillers.Items {
		if _, ok := p.Annotations[DeletionCostAnnotation]; ok {
			t.Errorf("pod %s on the worker has a deletion cost", p.Name)
		}
	}

	// Room on the worker again: new replicas prefer it.
	if err := e.kube.AppsV1().Deployments(ns).Delete(ctx, "filler", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Minute, "the filler pods are gone", func() (bool, error) {
		pods, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=filler"})
		return err == nil && len(pods.Items) == 0, err
	})
	scale(app, 6)
	before = waitPlacement(app, 4, 2)
	t.Logf("after the worker freed up: %v", before)

	scale(app, 4)
	waitUntil(t, 2*time.Minute, app+" scaled in to 4 running pods", func() (bool, error) {
		var n int
		var err error
		after, n, err = placement(app)
		return err == nil && n == 4 && len(after["worker-1"])+len(after[vnodeName]) == 4, err
	})
	return before, after
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// testRotation: the serving certificate (30s lifetime in this suite) is renewed at 80% of
// its lifetime and served at the next handshake, still trusted through the caBundle in
// the webhook configurations, without a restart.
func (e *env) testRotation(t *testing.T) {
	ctx := context.Background()
	serving := func() *x509.Certificate {
		t.Helper()
		conn, err := tls.Dial("tcp", e.addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only to read the certificate
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	first := serving()
	waitUntil(t, 90*time.Second, "a renewed serving certificate", func() (bool, error) {
		return !serving().Equal(first), nil
	})
	renewed := serving()
	mwc, err := e.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, DefaultConfigurationName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(mwc.Webhooks[0].ClientConfig.CABundle) {
		t.Fatal("no caBundle in the MutatingWebhookConfiguration")
	}
	host, _, _ := net.SplitHostPort(e.addr)
	if _, err := renewed.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
		t.Errorf("renewed certificate is not trusted by the configuration's caBundle: %v", err)
	}
	if got := renewed.NotAfter.Sub(renewed.NotBefore); got != 30*time.Second+backdate {
		t.Errorf("lifetime %s", got)
	}
	e.setProfile(t, `[{"name":"probe","namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"wh-probe"}}}]`)
	if p := mustDryRun(t, e, newPod("wh-probe", "after-rotation", nil)); p.Annotations[profile.SelectorAnnotation] != "probe" {
		t.Errorf("not mutated after the rotation")
	}
	t.Logf("serving certificates issued so far: %v", counterValue(t, e.srv.metrics.certRotations.WithLabelValues("serving")))
}
