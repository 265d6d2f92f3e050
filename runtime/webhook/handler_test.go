package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fixture is a handler over in-memory caches.
type fixture struct {
	h          *handler
	namespaces cache.Indexer
	nodes      cache.Indexer
	pods       cache.Indexer
}

func newFixture(t testing.TB, selectors string) *fixture {
	t.Helper()
	m := NewMetrics(nil)
	store := newProfileStore(m, discardLog(), nil)
	if selectors != "" {
		store.update(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "1"}, Data: map[string]string{profile.SelectorsKey: selectors}})
		if store.current().resourceVersion != "1" {
			t.Fatalf("test profile is invalid: %s", selectors)
		}
	}
	f := &fixture{
		namespaces: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		nodes:      cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		pods: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{
			cache.NamespaceIndex: cache.MetaNamespaceIndexFunc, podsByNode: indexPodsByNode,
		}),
	}
	f.h = &handler{
		profiles:   store,
		namespaces: corelisters.NewNamespaceLister(f.namespaces),
		nodes:      corelisters.NewNodeLister(f.nodes),
		pods:       f.pods,
		getNamespace: func(_ context.Context, name string) (*corev1.Namespace, error) {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
		},
		metrics: m,
		log:     discardLog(),
	}
	f.addNamespace("default", nil)
	f.addNode("worker-1", false)
	f.addNode("vnode-1", true)
	return f
}

func (f *fixture) addNamespace(name string, labels map[string]string) {
	l := map[string]string{profile.NamespaceNameLabel: name}
	for k, v := range labels {
		l[k] = v
	}
	_ = f.namespaces.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}})
}

func (f *fixture) addNode(name string, vnode bool) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	if vnode {
		n.Labels[profile.VNodeLabelKey] = profile.VNodeLabelValue
		n.Labels["type"] = "virtual-kubelet"
		n.Spec.Taints = []corev1.Taint{{Key: profile.VNodeTaintKey, Value: profile.VNodeTaintValue, Effect: corev1.TaintEffectNoSchedule}}
	}
	_ = f.nodes.Add(n)
}

// setTaints replaces the taints of a node of the fixture.
func (f *fixture) setTaints(name string, taints ...corev1.Taint) {
	obj, ok, _ := f.nodes.GetByKey(name)
	if !ok {
		panic("no node " + name)
	}
	n := obj.(*corev1.Node).DeepCopy()
	n.Spec.Taints = taints
	_ = f.nodes.Update(n)
}

// call sends obj in an AdmissionReview through the HTTP handler of fn, as the API
// server would, and returns the response.
func call(t *testing.T, h *handler, fn reviewFunc, op admissionv1.Operation, obj any) *admissionv1.AdmissionResponse {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	ns := ""
	kind := ""
	switch o := obj.(type) {
	case *corev1.Pod:
		ns, kind = o.Namespace, "Pod"
	case *corev1.Service:
		ns, kind = o.Namespace, "Service"
	case *appsv1.DaemonSet:
		ns, kind = o.Namespace, "DaemonSet"
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("uid-1"), Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind},
			Namespace: ns, Operation: op, Object: runtimeRaw(raw),
		},
	}
	body, _ := json.Marshal(review)
	rec := httptest.NewRecorder()
	h.serve(kind, "test", fn).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		t.Fatalf("bad response review: %s", rec.Body.String())
	}
	if out.Response.UID != "uid-1" {
		t.Fatalf("response UID %q, want the request's", out.Response.UID)
	}
	return out.Response
}

// mutate runs the mutating webhook on pod and returns the pod with the patch applied.
func mutate(t *testing.T, f *fixture, pod *corev1.Pod) (*corev1.Pod, *admissionv1.AdmissionResponse) {
	t.Helper()
	resp := call(t, f.h, f.h.mutatePod, admissionv1.Create, pod)
	if !resp.Allowed {
		t.Fatalf("mutation refused the pod: %+v", resp.Result)
	}
	if len(resp.Patch) == 0 {
		return pod, resp
	}
	if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("patch type %v, want JSONPatch", resp.PatchType)
	}
	patch, err := jsonpatch.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatalf("decode patch %s: %v", resp.Patch, err)
	}
	orig, _ := json.Marshal(pod)
	patched, err := patch.Apply(orig)
	if err != nil {
		t.Fatalf("apply patch %s: %v", resp.Patch, err)
	}
	out := &corev1.Pod{}
	if err := json.Unmarshal(patched, out); err != nil {
		t.Fatal(err)
	}
	return out, resp
}

func newPod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
	}
}

var vnodeToleration = corev1.Toleration{Key: profile.VNodeTaintKey, Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}

func TestMutatePolicies(t *testing.T) {
	f := newFixture(t, `[
	  {"name":"only","objectSelector":{"matchLabels":{"run":"only"}},"policy":"virtualNodeOnly",
	   "effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"},"labels":{"billing":"eci"}}},
	  {"name":"fair","objectSelector":{"matchLabels":{"run":"fair"}},"policy":"fair"},
	  {"name":"burst","objectSelector":{"matchLabels":{"run":"burst"}},"policy":"normalNodePrefer"},
	  {"name":"pinned","objectSelector":{"matchLabels":{"run":"pinned"}},"virtualNode":"vnode-1"},
	  {"name":"ack-default","objectSelector":{"matchLabels":{"run":"default"}}}
	]`)
	preferNormal := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
		Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"true"}}}},
	}}}}
	pinned := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"vnode-1"}}},
	}}}}}
	vnodeSelector := map[string]string{profile.VNodeLabelKey: "true"}
	for _, tc := range []struct {
		run          string
		nodeSelector map[string]string
		affinity     *corev1.Affinity
	}{
		{"only", vnodeSelector, nil},
		{"fair", nil, nil},
		{"burst", nil, preferNormal},
		{"pinned", vnodeSelector, pinned},
		{"default", vnodeSelector, nil}, // no policy: virtualNodeOnly, as ACK
	} {
		t.Run(tc.run, func(t *testing.T) {
			pod, resp := mutate(t, f, newPod("default", "p", map[string]string{"run": tc.run}))
			if len(resp.Warnings) > 0 {
				t.Errorf("warnings %q", resp.Warnings)
			}
			want := map[string]string{"only": "only", "fair": "fair", "burst": "burst", "pinned": "pinned", "default": "ack-default"}[tc.run]
			if got := pod.Annotations[profile.SelectorAnnotation]; got != want {
				t.Errorf("selector annotation %q, want %q", got, want)
			}
			if !reflect.DeepEqual(pod.Spec.Tolerations, []corev1.Toleration{vnodeToleration}) {
				t.Errorf("tolerations %+v", pod.Spec.Tolerations)
			}
			if !reflect.DeepEqual(pod.Spec.NodeSelector, tc.nodeSelector) {
				t.Errorf("nodeSelector %v, want %v", pod.Spec.NodeSelector, tc.nodeSelector)
			}
			if !reflect.DeepEqual(pod.Spec.Affinity, tc.affinity) {
				t.Errorf("affinity %+v, want %+v", pod.Spec.Affinity, tc.affinity)
			}
		})
	}
	t.Run("effects", func(t *testing.T) {
		p := newPod("default", "p", map[string]string{"run": "only", "billing": "mine"})
		p.Annotations = map[string]string{"k8s.aliyun.com/eci-use-specs": "ecs.c6.large"}
		pod, _ := mutate(t, f, p)
		if pod.Labels["billing"] != "mine" || pod.Annotations["k8s.aliyun.com/eci-use-specs"] != "ecs.c6.large" {
			t.Errorf("the pod's own values must win over effects: labels %v annotations %v", pod.Labels, pod.Annotations)
		}
		pod, _ = mutate(t, f, newPod("default", "p", map[string]string{"run": "only"}))
		if pod.Labels["billing"] != "eci" || pod.Annotations["k8s.aliyun.com/eci-use-specs"] != "2-4Gi" {
			t.Errorf("effects missing: labels %v annotations %v", pod.Labels, pod.Annotations)
		}
	})
	t.Run("existing maps and tolerations", func(t *testing.T) {
		p := newPod("default", "p", map[string]string{"run": "only"})
		p.Annotations = map[string]string{"a/b~c": "1"}
		p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
		p.Spec.Tolerations = []corev1.Toleration{{Key: "x", Operator: corev1.TolerationOpExists}}
		pod, _ := mutate(t, f, p)
		if pod.Annotations["a/b~c"] != "1" || pod.Annotations[profile.SelectorAnnotation] != "only" {
			t.Errorf("annotations %v", pod.Annotations)
		}
		if !reflect.DeepEqual(pod.Spec.NodeSelector, map[string]string{"kubernetes.io/os": "linux", profile.VNodeLabelKey: "true"}) {
			t.Errorf("nodeSelector %v", pod.Spec.NodeSelector)
		}
		if len(pod.Spec.Tolerations) != 2 || pod.Spec.Tolerations[1] != vnodeToleration {
			t.Errorf("tolerations %+v", pod.Spec.Tolerations)
		}
	})
	t.Run("no match", func(t *testing.T) {
		resp := call(t, f.h, f.h.mutatePod, admissionv1.Create, newPod("default", "p", map[string]string{"run": "nothing"}))
		if !resp.Allowed || resp.Patch != nil {
			t.Errorf("unmatched pod: %+v", resp)
		}
	})
	t.Run("update is not mutated", func(t *testing.T) {
		resp := call(t, f.h, f.h.mutatePod, admissionv1.Update, newPod("default", "p", map[string]string{"run": "only"}))
		if !resp.Allowed || resp.Patch != nil {
			t.Errorf("update: %+v", resp)
		}
	})
	t.Run("bound pod keeps its placement", func(t *testing.T) {
		p := newPod("default", "p", map[string]string{"run": "only"})
		p.Spec.NodeName = "worker-1"
		pod, _ := mutate(t, f, p)
		if pod.Spec.NodeSelector != nil || pod.Spec.Tolerations != nil || pod.Annotations[profile.SelectorAnnotation] != "only" {
			t.Errorf("bound pod: %+v %+v", pod.Spec, pod.Annotations)
		}
	})
}

func TestMutateSelectors(t *testing.T) {
	f := newFixture(t, `[
	  {"name":"ns-web","namespaceSelector":{"matchLabels":{"team":"web"}},"policy":"fair","effect":{"labels":{"from":"ns-web"}}},
	  {"name":"both","namespaceSelector":{"matchLabels":{"team":"batch"}},"objectSelector":{"matchLabels":{"eci":"true"}},"effect":{"labels":{"from":"both"}}},
	  {"name":"expr","objectSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":["frontend","edge"]},{"key":"canary","operator":"DoesNotExist"}]},"effect":{"labels":{"from":"expr"}}},
	  {"name":"by-name","namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["named"]}]},"effect":{"labels":{"from":"by-name"}}},
	  {"name":"low","objectSelector":{"matchLabels":{"prio":"x"}},"priority":1,"effect":{"labels":{"from":"low"}}},
	  {"name":"high","objectSelector":{"matchLabels":{"prio":"x"}},"priority":5,"effect":{"labels":{"from":"high"}}},
	  {"name":"tie-b","objectSelector":{"matchLabels":{"tie":"x"}},"effect":{"labels":{"from":"tie-b"}}},
	  {"name":"tie-a","objectSelector":{"matchLabels":{"tie":"x"}},"effect":{"labels":{"from":"tie-a"}}}
	]`)
	f.addNamespace("web", map[string]string{"team": "web"})
	f.addNamespace("batch", map[string]string{"team": "batch"})
	f.addNamespace("named", nil)
	for _, tc := range []struct {
		name, ns string
		labels   map[string]string
		want     string // selector, "" for none
	}{
		{"namespace selector", "web", nil, "ns-web"},
		{"namespace selector, other namespace", "default", nil, ""},
		{"both parts match", "batch", map[string]string{"eci": "true"}, "both"},
		{"only the namespace part", "batch", nil, ""},
		{"only the object part", "default", map[string]string{"eci": "true"}, ""},
		{"matchExpressions In", "default", map[string]string{"tier": "edge"}, "expr"},
		{"matchExpressions NotIn value", "default", map[string]string{"tier": "backend"}, ""},
		{"matchExpressions DoesNotExist", "default", map[string]string{"tier": "frontend", "canary": "1"}, ""},
		{"namespace by name", "named", nil, "by-name"},
		{"namespace unknown to the cache matches by name", "unlisted", nil, ""},
		{"priority wins", "default", map[string]string{"prio": "x"}, "high"},
		{"ties go to the name that sorts first", "default", map[string]string{"tie": "x"}, "tie-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod, _ := mutate(t, f, newPod(tc.ns, "p", tc.labels))
			if got := pod.Annotations[profile.SelectorAnnotation]; got != tc.want {
				t.Errorf("matched %q, want %q", got, tc.want)
			}
			if tc.want != "" && pod.Labels["from"] != tc.want {
				t.Errorf("effect label from=%q, want %q", pod.Labels["from"], tc.want)
			}
		})
	}
}

func TestMutateWithholdsTolerationFromPodsAVNodeCannotRun(t *testing.T) {
	f := newFixture(t, `[
	  {"name":"fair","objectSelector":{"matchLabels":{"run":"fair"}},"policy":"fair","effect":{"labels":{"billing":"eci"}}},
	  {"name":"burst","objectSelector":{"matchLabels":{"run":"burst"}},"policy":"normalNodePrefer"}
	]`)
	for _, run := range []string{"fair", "burst"} {
		p := newPod("default", "p", map[string]string{"run": run})
		p.Spec.HostNetwork = true
		p.Spec.Volumes = []corev1.Volume{{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}}}
		pod, resp := mutate(t, f, p)
		if pod.Spec.Tolerations != nil || pod.Spec.Affinity != nil {
			t.Errorf("%s: a pod a VNode cannot run got placement: %+v %+v", run, pod.Spec.Tolerations, pod.Spec.Affinity)
		}
		if pod.Annotations[profile.SelectorAnnotation] != run {
			t.Errorf("%s: the selector annotation is still recorded, got %v", run, pod.Annotations)
		}
		policy := map[string]string{"fair": "fair", "burst": "normalNodePrefer"}[run]
		want := `eci-profile selector "` + run + `" (policy ` + policy + `) matched, but a VNode cannot run this pod (hostNetwork, hostPath volume "logs"): it gets no VNode toleration and runs on normal nodes only`
		if len(resp.Warnings) != 1 || resp.Warnings[0] != want {
			t.Errorf("%s: warnings %q\nwant %q", run, resp.Warnings, want)
		}
	}
}

func TestMutateUnreadableObjectIsAllowed(t *testing.T) {
	f := newFixture(t, `[{"name":"all","objectSelector":{}}]`)
	review := admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{
		UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Operation: admissionv1.Create,
		Object: runtimeRaw([]byte(`{"spec":{"containers":"not a list"}}`)),
	}}
	body, _ := json.Marshal(review)
	rec := httptest.NewRecorder()
	f.h.serve("Pod", "mutating", f.h.mutatePod).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || !out.Response.Allowed || out.Response.Patch != nil {
		t.Fatalf("unreadable pod must pass unchanged: %s", rec.Body.String())
	}
}

func TestServeRejectsBadRequests(t *testing.T) {
	f := newFixture(t, "")
	hf := f.h.serve("Pod", "mutating", f.h.mutatePod)
	rec := httptest.NewRecorder()
	hf.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	for _, body := range []string{"", "{", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`} {
		rec = httptest.NewRecorder()
		hf.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("body %q: %d", body, rec.Code)
		}
	}
}

func hostPath(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/" + name}}}
}

func TestValidatePodGuards(t *testing.T) {
	f := newFixture(t, `[
	  {"name":"eci","objectSelector":{"matchLabels":{"eci":"true"}}},
	  {"name":"fair","objectSelector":{"matchLabels":{"fair":"true"}},"policy":"fair"}
	]`)
	dsOwner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "1"}}
	vnodeAffinity := func(term corev1.NodeSelectorTerm) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{term}}}}
	}
	const (
		hostNetwork = "hostNetwork is not supported on a VNode: expose the pod with a Service of type LoadBalancer instead"
		hostPID     = "hostPID is not supported on a VNode: use shareProcessNamespace to share processes between the pod's containers instead"
		hostIPC     = "hostIPC is not supported on a VNode: the pod's containers already share one IPC namespace, remove hostIPC"
		daemonSet   = "DaemonSet pods cannot run on a VNode: run the agent as a sidecar container in the pod instead"
	)
	for _, tc := range []struct {
		name  string
		setup func(p *corev1.Pod)
		want  string // "" = allowed
	}{
		{"hostPath by nodeSelector", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
			p.Spec.Volumes = []corev1.Volume{hostPath("data"), {Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, hostPath("logs")}
		}, `pod cannot run on a VNode, where nodeSelector k8s.aliyun.com/vnode: "true" sends it: ` +
			`hostPath volume "data" is not supported on a VNode: use emptyDir, a cloud disk, or NAS (NFS) instead; ` +
			`hostPath volume "logs" is not supported on a VNode: use emptyDir, a cloud disk, or NAS (NFS) instead`},
		{"hostNetwork by nodeName", func(p *corev1.Pod) {
			p.Spec.NodeName = "vnode-1"
			p.Spec.HostNetwork = true
		}, `pod cannot run on a VNode, where spec.nodeName "vnode-1" (a VNode) sends it: ` + hostNetwork},
		{"hostPID and hostIPC by the profile", func(p *corev1.Pod) {
			p.Labels = map[string]string{"eci": "true"}
			p.Spec.HostPID, p.Spec.HostIPC = true, true
		}, `pod cannot run on a VNode, where eci-profile selector "eci" (policy virtualNodeOnly) sends it: ` + hostPID + "; " + hostIPC},
		{"profile after the mutation added the nodeSelector", func(p *corev1.Pod) {
			p.Labels = map[string]string{"eci": "true"}
			p.Annotations = map[string]string{profile.SelectorAnnotation: "eci"}
			p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
			p.Spec.Tolerations = []corev1.Toleration{vnodeToleration}
			p.Spec.HostNetwork = true
		}, `pod cannot run on a VNode, where eci-profile selector "eci" (policy virtualNodeOnly) sends it: ` + hostNetwork},
		{"DaemonSet pod pinned to a VNode", func(p *corev1.Pod) {
			p.OwnerReferences = dsOwner
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
			p.Spec.Affinity = vnodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"vnode-1"}}}})
		}, `pod cannot run on a VNode, where a required node affinity for VNodes only sends it: ` + daemonSet},
		{"required affinity on the VNode label", func(p *corev1.Pod) {
			p.Spec.Affinity = vnodeAffinity(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{"true"}}}})
			p.Spec.Volumes = []corev1.Volume{hostPath("sock")}
		}, `pod cannot run on a VNode, where a required node affinity for VNodes only sends it: hostPath volume "sock" is not supported on a VNode: use emptyDir, a cloud disk, or NAS (NFS) instead`},
		{"everything at once", func(p *corev1.Pod) {
			p.Spec.NodeName = "vnode-1"
			p.OwnerReferences = dsOwner
			p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = true, true, true
			p.Spec.Volumes = []corev1.Volume{hostPath("root")}
		}, `pod cannot run on a VNode, where spec.nodeName "vnode-1" (a VNode) sends it: ` + hostNetwork + "; " + hostPID + "; " + hostIPC +
			`; hostPath volume "root" is not supported on a VNode: use emptyDir, a cloud disk, or NAS (NFS) instead; ` + daemonSet},
		{"invalid ECI annotation", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
			p.Annotations = map[string]string{"k8s.aliyun.com/eci-spot-strategy": "Cheap"}
		}, `pod cannot run on a VNode, where nodeSelector k8s.aliyun.com/vnode: "true" sends it: annotation k8s.aliyun.com/eci-spot-strategy: "Cheap" is not a valid value: `},

		{"hostPath on a normal node", func(p *corev1.Pod) { p.Spec.Volumes = []corev1.Volume{hostPath("data")} }, ""},
		{"hostPath bound to a normal node", func(p *corev1.Pod) {
			p.Spec.NodeName = "worker-1"
			p.Spec.Volumes = []corev1.Volume{hostPath("data")}
		}, ""},
		{"VNode pod without problems", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"} }, ""},
		{"fair policy may use a normal node", func(p *corev1.Pod) {
			p.Labels = map[string]string{"fair": "true"}
			p.Spec.HostNetwork = true
		}, ""},
		{"affinity that also admits normal nodes", func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{"true"}}}},
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/os", Operator: corev1.NodeSelectorOpIn, Values: []string{"linux"}}}},
			}}}}
			p.Spec.HostNetwork = true
		}, ""},
		{"DaemonSet pod on a normal node", func(p *corev1.Pod) {
			p.OwnerReferences = dsOwner
			p.Spec.Affinity = vnodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"worker-1"}}}})
			p.Spec.HostNetwork = true
		}, ""},
		{"DaemonSet pod matched by the profile stays where it is", func(p *corev1.Pod) {
			p.Labels = map[string]string{"eci": "true"}
			p.OwnerReferences = dsOwner
			p.Spec.Affinity = vnodeAffinity(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"worker-1"}}}})
		}, ""},
		{"nodeSelector that refuses VNodes", func(p *corev1.Pod) {
			p.Labels = map[string]string{"eci": "true"}
			p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "false"}
			p.Spec.HostNetwork = true
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod("default", "p", nil)
			tc.setup(p)
			resp := call(t, f.h, f.h.validatePod, admissionv1.Create, p)
			if tc.want == "" {
				if !resp.Allowed {
					t.Fatalf("refused: %s", resp.Result.Message)
				}
				return
			}
			if resp.Allowed {
				t.Fatalf("allowed, want refusal %q", tc.want)
			}
			if resp.Result == nil || resp.Result.Code != http.StatusForbidden || resp.Result.Reason != metav1.StatusReasonForbidden {
				t.Errorf("result %+v", resp.Result)
			}
			if got := resp.Result.Message; got != tc.want && !(strings.HasSuffix(tc.want, ": ") && strings.HasPrefix(got, tc.want)) {
				t.Errorf("message\n got %q\nwant %q", got, tc.want)
			}
		})
	}
	t.Run("update is not guarded", func(t *testing.T) {
		p := newPod("default", "p", nil)
		p.Spec.NodeName, p.Spec.HostNetwork = "vnode-1", true
		if resp := call(t, f.h, f.h.validatePod, admissionv1.Update, p); !resp.Allowed {
			t.Errorf("update refused")
		}
	})
}

func TestValidateServiceWarnsAboutNodePortToVNodePods(t *testing.T) {
	f := newFixture(t, "")
	add := func(ns, name, node string, labels map[string]string, phase corev1.PodPhase) {
		p := newPod(ns, name, labels)
		p.Spec.NodeName = node
		p.Status.Phase = phase
		obj, _ := trimPod(p)
		_ = f.pods.Add(obj)
	}
	add("default", "web-b", "vnode-1", map[string]string{"app": "web"}, corev1.PodRunning)
	add("default", "web-a", "vnode-1", map[string]string{"app": "web"}, corev1.PodRunning)
	add("default", "web-c", "worker-1", map[string]string{"app": "web"}, corev1.PodRunning)
	add("default", "web-done", "vnode-1", map[string]string{"app": "web"}, corev1.PodSucceeded)
	add("default", "api", "worker-1", map[string]string{"app": "api"}, corev1.PodRunning)
	add("other", "web-x", "vnode-1", map[string]string{"app": "web"}, corev1.PodRunning)

	svc := func(typ corev1.ServiceType, selector map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: corev1.ServiceSpec{Type: typ, Selector: selector, Ports: []corev1.ServicePort{{Port: 80}}}}
	}
	const want = `NodePort Service "web" selects 2 pod(s) running on VNodes (e.g. web-a on vnode-1), which a NodePort does not reach: use a Service of type LoadBalancer instead`
	for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update} {
		resp := call(t, f.h, f.h.validateService, op, svc(corev1.ServiceTypeNodePort, map[string]string{"app": "web"}))
		if !resp.Allowed || len(resp.Warnings) != 1 || resp.Warnings[0] != want {
			t.Errorf("%s: allowed=%v warnings %q\nwant %q", op, resp.Allowed, resp.Warnings, want)
		}
	}
	for name, s := range map[string]*corev1.Service{
		"ClusterIP":               svc(corev1.ServiceTypeClusterIP, map[string]string{"app": "web"}),
		"LoadBalancer":            svc(corev1.ServiceTypeLoadBalancer, map[string]string{"app": "web"}),
		"NodePort to normal node": svc(corev1.ServiceTypeNodePort, map[string]string{"app": "api"}),
		"NodePort no selector":    svc(corev1.ServiceTypeNodePort, nil),
	} {
		if resp := call(t, f.h, f.h.validateService, admissionv1.Create, s); !resp.Allowed || len(resp.Warnings) != 0 {
			t.Errorf("%s: %+v", name, resp)
		}
	}
}

func TestValidateDaemonSetWarnsWhenItWouldLandOnVNodes(t *testing.T) {
	f := newFixture(t, "")
	ds := func(tol []corev1.Toleration, mod func(*corev1.PodSpec)) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "agent"}}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "a", Image: "agent"}}
		d.Spec.Template.Spec.Tolerations = tol
		if mod != nil {
			mod(&d.Spec.Template.Spec)
		}
		return d
	}
	exists := []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	notVNode := func(s *corev1.PodSpec) {
		s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"true"}}},
		}}}}}
	}
	const want = `DaemonSet "agent" tolerates the VNode taint k8s.aliyun.com/vnode=true:NoSchedule, but DaemonSet pods cannot run on a VNode: add node affinity k8s.aliyun.com/vnode NotIn ["true"], or use a sidecar container in the pod`
	for _, tc := range []struct {
		name string
		ds   *appsv1.DaemonSet
		warn bool
	}{
		{"tolerates everything", ds(exists, nil), true},
		{"tolerates the key", ds([]corev1.Toleration{{Key: profile.VNodeTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, nil), true},
		{"tolerates the taint exactly", ds([]corev1.Toleration{vnodeToleration}, nil), true},
		{"nodeSelector VNodes also match", ds(exists, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"kubernetes.io/os": "linux"} }), false},
		{"no toleration", ds(nil, nil), false},
		{"tolerates only NoExecute", ds([]corev1.Toleration{{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}, nil), false},
		{"tolerates another value", ds([]corev1.Toleration{{Key: profile.VNodeTaintKey, Value: "false", Effect: corev1.TaintEffectNoSchedule}}, nil), false},
		{"affinity keeps it off", ds(exists, notVNode), false},
		{"nodeSelector keeps it off", ds(exists, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{profile.VNodeLabelKey: "false"} }), false},
		{"nodeSelector no VNode has", ds(exists, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"gpu": "a100"} }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, f.h, f.h.validateDaemonSet, admissionv1.Create, tc.ds)
			if !resp.Allowed {
				t.Fatal("a DaemonSet is never refused")
			}
			if tc.warn && (len(resp.Warnings) != 1 || resp.Warnings[0] != want) {
				t.Errorf("warnings %q\nwant %q", resp.Warnings, want)
			}
			if !tc.warn && len(resp.Warnings) != 0 {
				t.Errorf("unexpected warnings %q", resp.Warnings)
			}
		})
	}
	// The nodeSelector case warns again when os=linux is not among the known VNode labels
	// but no VNode exists at all: one may be added later.
	f2 := newFixture(t, "")
	_ = f2.nodes.Delete(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "vnode-1"}})
	if resp := call(t, f2.h, f2.h.validateDaemonSet, admissionv1.Update, ds(exists, func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"gpu": "a100"} })); len(resp.Warnings) != 1 {
		t.Errorf("without VNodes: warnings %q", resp.Warnings)
	}
}

func TestWarningsFitTheAPIServerLimit(t *testing.T) {
	long := strings.Repeat("x", 253)
	f := newFixture(t, "")
	d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: long}}
	d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	resp := call(t, f.h, f.h.validateDaemonSet, admissionv1.Create, d)
	if len(resp.Warnings) != 1 || len(resp.Warnings[0]) > maxWarning {
		t.Errorf("warning of %d bytes", len(resp.Warnings[0]))
	}
}

func TestMetricsCountRequests(t *testing.T) {
	f := newFixture(t, `[{"name":"all","objectSelector":{}}]`)
	mutate(t, f, newPod("default", "p", nil))
	p := newPod("default", "p", nil)
	p.Spec.NodeName, p.Spec.HostNetwork = "vnode-1", true
	call(t, f.h, f.h.validatePod, admissionv1.Create, p)
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"Pod", "test", resultPatched}, 1},
		{[]string{"Pod", "test", resultDenied}, 1},
	} {
		if got := counterValue(t, f.h.metrics.requests.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("requests%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := counterValue(t, f.h.metrics.mutations.WithLabelValues("all", "virtualNodeOnly")); got != 1 {
		t.Errorf("mutations = %v", got)
	}
}

func TestProfileStoreKeepsTheLastGoodProfile(t *testing.T) {
	m := NewMetrics(nil)
	rec := newFakeRecorder()
	s := newProfileStore(m, discardLog(), rec)
	cm := func(rv, selectors string) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: profile.ConfigMapNamespace, Name: profile.ConfigMapName, ResourceVersion: rv},
			Data:       map[string]string{profile.SelectorsKey: selectors, "vpcId": "vpc-1"},
		}
	}
	s.update(cm("1", `[{"name":"a","objectSelector":{"matchLabels":{"x":"1"}}}]`))
	if s.current().resourceVersion != "1" || s.current().matcher.Len() != 1 || gaugeValue(t, m.configValid) != 1 {
		t.Fatalf("valid profile not loaded")
	}
	s.update(cm("2", `[{"name":"Bad Name","objectSelector":{"matchLabels":{"x":"1"}},"policy":"sometimes"}]`))
	if s.current().resourceVersion != "1" {
		t.Errorf("malformed profile replaced the last good one")
	}
	if gaugeValue(t, m.configValid) != 0 || counterValue(t, m.configErrors) != 1 {
		t.Errorf("metrics: valid=%v errors=%v", gaugeValue(t, m.configValid), counterValue(t, m.configErrors))
	}
	s.update(cm("2", `same version again (a resync) is not reported twice`))
	if counterValue(t, m.configErrors) != 1 {
		t.Errorf("a resync was reported again")
	}
	s.update(cm("3", `[{"name":"a",`))
	if counterValue(t, m.configErrors) != 2 {
		t.Errorf("errors = %v", counterValue(t, m.configErrors))
	}
	events := rec.all()
	var warnings []string
	for _, e := range events {
		if strings.HasPrefix(e, "Warning "+ReasonInvalidProfile) {
			warnings = append(warnings, e)
		}
	}
	if len(warnings) != 2 {
		t.Fatalf("events %q", events)
	}
	for _, want := range []string{"the last good version (resourceVersion 1, 1 selectors)", "selectors[0].name", "selectors[0].policy"} {
		if !strings.Contains(warnings[0], want) {
			t.Errorf("event %q does not mention %q", warnings[0], want)
		}
	}
	s.update(cm("4", `[{"name":"b","namespaceSelector":{}}]`))
	if s.current().resourceVersion != "4" || gaugeValue(t, m.configValid) != 1 || gaugeValue(t, m.selectors) != 1 {
		t.Errorf("fixed profile not loaded")
	}
	s.remove()
	if s.current().matcher.Len() != 0 {
		t.Errorf("deleted ConfigMap leaves selectors")
	}
}

func TestTrimPodKeepsWhatTheCachesRead(t *testing.T) {
	p := newPod("ns", "p", map[string]string{"a": "b"})
	p.Annotations = map[string]string{DeletionCostAnnotation: "5", "big": strings.Repeat("x", 1000)}
	p.Spec.NodeName = "n"
	p.Status.Phase = corev1.PodRunning
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "m"}}
	obj, _ := trimPod(p)
	got := obj.(*corev1.Pod)
	if got.Name != "p" || got.Labels["a"] != "b" || got.Spec.NodeName != "n" || got.Status.Phase != corev1.PodRunning ||
		len(got.Annotations) != 1 || got.Annotations[DeletionCostAnnotation] != "5" || got.ManagedFields != nil || got.Spec.Containers != nil {
		t.Errorf("trimmed pod %+v", got)
	}
}
