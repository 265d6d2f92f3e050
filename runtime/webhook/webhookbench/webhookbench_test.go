package webhookbench

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/eci-vnode/terraform-provider-eci/internal/profile"
)

func TestTheBenchPatchAddsTheMatchedSelectorsEffectsToTheDefaultedPod(t *testing.T) {
	pod := benchPod("webhook-bench", 0)
	// As DefaultTolerationSeconds leaves it: the VNode toleration is appended.
	pod.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}}
	patch, err := patchOf(pod, map[string]string{profile.NamespaceNameLabel: "webhook-bench"}, benchProfile("webhook-bench"))
	if err != nil {
		t.Fatal(err)
	}
	var ops []map[string]any
	if err := json.Unmarshal(patch, &ops); err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	for _, want := range []string{`"team-07"`, profile.SelectorAnnotation, `/metadata/labels/billing`, "2-4Gi", `"/spec/tolerations/-"`} {
		if !strings.Contains(string(patch), want) {
			t.Errorf("patch %s lacks %s", patch, want)
		}
	}
}

func TestAResultWithoutPatchingNoopIsWrittenAsJSONAndRendered(t *testing.T) {
	var empty histogram
	r := Result{Phase: time.Second, Rates: []Rate{{Rate: 100, Admit: compare(timing(empty), timing(empty)), AdmitVsPatchingNoop: compare(timing(empty), timing(empty))}}}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("a rate without calls cannot be written as JSON: %v", err)
	}
	if md := r.Markdown(); strings.Contains(md, "no-op+patch") || strings.Contains(md, "NaN") {
		t.Fatalf("markdown:\n%s", md)
	}
}
