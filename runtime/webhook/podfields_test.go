package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

// The pod routes read a pod as podFields, in the same pass as the review. These tests
// hold that reading to the one it replaced, a full decode into corev1.Pod: whatever
// the full decode reads, the handlers answer the same from podFields.

// fullDecode is the reading the webhook had before podFields.
func fullDecode(raw []byte, namespace string) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := json.Unmarshal(raw, pod); err != nil {
		return nil, err
	}
	if pod.Namespace == "" {
		pod.Namespace = namespace
	}
	return pod, nil
}

// project keeps of a fully decoded pod the fields podFields reads.
func project(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels, Annotations: p.Annotations, OwnerReferences: p.OwnerReferences},
		Spec: corev1.PodSpec{NodeName: p.Spec.NodeName, NodeSelector: p.Spec.NodeSelector, Tolerations: p.Spec.Tolerations, Affinity: p.Spec.Affinity,
			HostNetwork: p.Spec.HostNetwork, HostPID: p.Spec.HostPID, HostIPC: p.Spec.HostIPC},
	}
	if p.Spec.Volumes != nil {
		out.Spec.Volumes = []corev1.Volume{}
		for _, v := range p.Spec.Volumes {
			out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{HostPath: v.HostPath}})
		}
	}
	return out
}

// podReview wraps a pod's JSON in a CREATE review as the API server sends it.
func podReview(raw []byte, namespace string) []byte {
	return fmt.Appendf(nil, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},`+
		`"resource":{"group":"","version":"v1","resource":"pods"},"namespace":%q,"operation":"CREATE","userInfo":{"username":"admin","groups":["system:masters"]},`+
		`"object":%s,"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}`, namespace, raw)
}

// podCorpus is pods of every shape the handlers treat differently: labels matching each
// selector or none, own annotations, labels, nodeSelector, tolerations and affinity
// (ours already present or not), bound and DaemonSet pods, what a VNode cannot run, and
// a pod as the API server sends it, with its defaults and managedFields.
func podCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	add := func(name string, p *corev1.Pod) {
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = raw
	}
	dsOwner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "1", Controller: ptr.To(true)}}
	required := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
		{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}},
		{},
	}}}}
	vnodeOnly := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
		{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpIn, Values: []string{"true"}}}},
	}}}}
	preferNormal := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
		Weight: 100, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: profile.VNodeLabelKey, Operator: corev1.NodeSelectorOpNotIn, Values: []string{"true"}}}},
	}}}, PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
		Weight: 10, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}}}}
	runs := []string{"only", "fair", "burst", "pinned", "default", "nothing"}
	for _, run := range runs {
		lbl := func() map[string]string { return map[string]string{"run": run, "app": "web"} }
		add(run+"/plain", newPod("default", "p", lbl()))
		add(run+"/no labels", newPod("default", "p", nil))
		p := newPod("default", "p", lbl())
		p.Labels["billing"] = "mine"
		p.Annotations = map[string]string{"k8s.aliyun.com/eci-use-specs": "ecs.c6.large", "a/b~c": "1", profile.SelectorAnnotation: run}
		add(run+"/own effects", p)
		p = newPod("default", "p", lbl())
		p.Annotations = map[string]string{}
		p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
		p.Spec.Tolerations = []corev1.Toleration{{Key: "x", Operator: corev1.TolerationOpExists}}
		add(run+"/own maps", p)
		p = newPod("default", "p", lbl())
		p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
		p.Spec.Tolerations = []corev1.Toleration{vnodeToleration}
		add(run+"/already placed", p)
		p = newPod("default", "p", lbl())
		p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		p.Spec.Affinity = required.DeepCopy()
		add(run+"/blanket toleration, required affinity", p)
		p = newPod("default", "p", lbl())
		p.Spec.Affinity = preferNormal.DeepCopy()
		add(run+"/preferred affinity", p)
		p = newPod("default", "p", lbl())
		p.Spec.Affinity = vnodeOnly.DeepCopy()
		p.Spec.HostPID = true
		add(run+"/vnode affinity, hostPID", p)
		p = newPod("default", "p", lbl())
		p.Spec.NodeName = "vnode-1"
		p.Spec.HostIPC = true
		add(run+"/bound to a VNode", p)
		p = newPod("default", "p", lbl())
		p.Spec.NodeName = "worker-1"
		add(run+"/bound to a node", p)
		p = newPod("default", "p", lbl())
		p.OwnerReferences = dsOwner
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
			{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"vnode-1"}}}},
		}}}}
		add(run+"/DaemonSet pod", p)
		p = newPod("default", "p", lbl())
		p.Spec.HostNetwork = true
		p.Spec.Volumes = []corev1.Volume{hostPath("logs"), {Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, hostPath("data")}
		add(run+"/hostNetwork and hostPath", p)
		p = newPod("default", "p", lbl())
		p.Spec.NodeSelector = map[string]string{profile.VNodeLabelKey: "true"}
		p.Annotations = map[string]string{"k8s.aliyun.com/eci-spot-strategy": "Cheap", "k8s.aliyun.com/eci-use-specs": "2-4Gi"}
		add(run+"/bad ECI annotation", p)
		p = newPod("web", "p", lbl())
		add(run+"/labelled namespace", p)
		p = newPod("", "p", lbl())
		add(run+"/namespace from the request", p)
	}
	for _, run := range runs {
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(apiServerReview(t, "default", map[string]string{"run": run, "app": "web"}), &review); err != nil {
			t.Fatal(err)
		}
		out[run+"/as the API server sends it"] = review.Request.Object.Raw
	}
	return out
}

// TestPodFieldsAnswersAsTheFullDecode sends every pod of the corpus through the pod
// routes and compares each answer with the one the handler gives the fully decoded
// pod: the same patch byte for byte (or none), warnings, refusal and result.
func TestPodFieldsAnswersAsTheFullDecode(t *testing.T) {
	f := newFixture(t, `[
	  {"name":"only","objectSelector":{"matchLabels":{"run":"only"}},"policy":"virtualNodeOnly",
	   "effect":{"annotations":{"k8s.aliyun.com/eci-use-specs":"2-4Gi"},"labels":{"billing":"eci"}}},
	  {"name":"fair","objectSelector":{"matchLabels":{"run":"fair"}},"policy":"fair","effect":{"labels":{"billing":"eci"}}},
	  {"name":"burst","objectSelector":{"matchLabels":{"run":"burst"}},"policy":"normalNodePrefer"},
	  {"name":"pinned","objectSelector":{"matchLabels":{"run":"pinned"}},"virtualNode":"vnode-1","priority":3},
	  {"name":"ack-default","objectSelector":{"matchLabels":{"run":"default"}}},
	  {"name":"web-ns","namespaceSelector":{"matchLabels":{"team":"web"}},"objectSelector":{"matchExpressions":[{"key":"run","operator":"NotIn","values":["nothing"]}]},"priority":9,"policy":"fair"}
	]`)
	f.addNamespace("web", map[string]string{"team": "web"})
	routes := map[string]reviewFunc{"mutating": f.h.mutatePod, "validating": f.h.validatePod}
	patched, unchanged, denied := 0, 0, 0
	for name, raw := range podCorpus(t) {
		ns := "default"
		if strings.Contains(name, "labelled namespace") {
			ns = "web"
		}
		full, err := fullDecode(raw, ns)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for route, fn := range routes {
			req, err := decodeReview(podReview(raw, ns), true)
			if err != nil || req.pod == nil {
				t.Fatalf("%s: the review does not read: %v %v", name, err, req)
			}
			if !reflect.DeepEqual(req.pod, project(full)) {
				t.Errorf("%s: podFields read\n%+v\nthe full decode\n%+v", name, req.pod, project(full))
			}
			got := fn(context.Background(), req)
			want := fn(context.Background(), &request{requestHead: req.requestHead, pod: full})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %s: answer\n%+v\npatch %s\nwant\n%+v\npatch %s", name, route, got, got.Patch, want, want.Patch)
			}
			switch {
			case !got.Allowed:
				denied++
			case len(got.Patch) > 0:
				patched++
			default:
				unchanged++
			}
		}
	}
	// The corpus must exercise every kind of answer, or the comparison proves little.
	if patched < 20 || unchanged < 20 || denied < 3 {
		t.Errorf("corpus answers: %d patched, %d unchanged, %d denied", patched, unchanged, denied)
	}
}

// TestPodThatMatchesNothingGetsNoPatch: a pod no selector matches is allowed as it is,
// with no patch, through the HTTP handler.
func TestPodThatMatchesNothingGetsNoPatch(t *testing.T) {
	f := newFixture(t, `[{"name":"only","objectSelector":{"matchLabels":{"run":"only"}}}]`)
	for _, p := range []*corev1.Pod{newPod("default", "p", map[string]string{"run": "other"}), newPod("default", "p", nil)} {
		resp := call(t, f.h, f.h.mutatePod, admissionv1.Create, p)
		if !resp.Allowed || resp.Patch != nil || resp.PatchType != nil || resp.Warnings != nil || resp.Result != nil {
			t.Errorf("pod %v: %+v", p.Labels, resp)
		}
	}
	if got := counterValue(t, f.h.metrics.requests.WithLabelValues("Pod", "test", resultAllowed)); got != 2 {
		t.Errorf("allowed requests counted: %v, want 2", got)
	}
}

// TestUnreadablePodFields: a pod whose fields the webhook reads have the wrong type,
// or whose object is missing or not an object, is let through unread, as before; a
// review that is not one is refused with 400.
func TestUnreadablePodFields(t *testing.T) {
	f := newFixture(t, `[{"name":"all","objectSelector":{}}]`)
	for _, obj := range []string{`{"metadata":{"labels":"x"}}`, `{"spec":{"tolerations":{}}}`, `{"spec":{"containers":7}}`,
		`{"spec":{"volumes":[{"hostPath":"/x"}]}}`, `"pod"`, `null`} {
		for _, fn := range []reviewFunc{f.h.mutatePod, f.h.validatePod} {
			req, err := decodeReview(podReview([]byte(obj), "default"), true)
			if err != nil {
				t.Fatalf("object %s: the review itself must read: %v", obj, err)
			}
			if req.pod != nil || req.podErr == nil {
				t.Fatalf("object %s: read as %+v", obj, req.pod)
			}
			resp := fn(context.Background(), req)
			if !resp.Allowed || resp.Patch != nil || resp.Result == nil || resp.Result.Reason != metav1.StatusReasonBadRequest {
				t.Errorf("object %s: %+v", obj, resp)
			}
		}
	}
	for _, body := range []string{`{"request":{"uid":5}}`, `{"request":"x"}`, `[]`} {
		if _, err := decodeReview([]byte(body), true); err == nil {
			t.Errorf("review %s read without an error", body)
		}
	}
}

// FuzzPodFields: whatever pod JSON the full decode reads, podFields reads too, to the
// same values. Run: go test ./runtime/webhook -run '^$' -fuzz FuzzPodFields -fuzztime 30s
func FuzzPodFields(f *testing.F) {
	for _, raw := range podCorpus(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"metadata":{"Labels":{"a":"b"},"labels":{"c":"d"}},"spec":{"NodeName":"x","volumes":[null,{"name":"v","hostPath":null}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		full, err := fullDecode(raw, "ns")
		if err != nil || string(bytes.TrimSpace(raw)) == "null" {
			return // unreadable before (a null object was no object): let through unread; podFields may read more, never less
		}
		req, err := decodeReview(podReview(raw, "ns"), true)
		if err != nil {
			return // not one JSON value: the review around it does not parse either
		}
		if req.pod == nil {
			t.Fatalf("the full decode reads the pod, podFields does not: %v", req.podErr)
		}
		if !reflect.DeepEqual(req.pod, project(full)) {
			t.Fatalf("podFields read\n%+v\nthe full decode\n%+v", req.pod, project(full))
		}
	})
}
