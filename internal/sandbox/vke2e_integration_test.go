package sandbox

import (
	"context"
	"testing"
	"time"

	vke2e "github.com/virtual-kubelet/virtual-kubelet/test/e2e"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// vkE2ESkipped are the tests of virtual-kubelet's own end-to-end suite that cannot pass
// against this runtime, with the reason. Everything else in the suite runs.
var vkE2ESkipped = map[string]string{
	// The suite reads both through the *pod* proxy of a pod named after the node
	// (/api/v1/namespaces/<ns>/pods/https:<node>:10250/proxy/...), as in its own set-up
	// where the mock provider runs as that pod with an unauthenticated kubelet API. Here
	// there is no such pod (run anyway, both fail with "the server could not find the
	// requested resource (get pods https:<node>:10250)"), and there could be no working
	// one: kube-apiserver's pod proxy sends no credentials, and this runtime refuses
	// anonymous callers (401), as a kubelet must. The same endpoints through the node proxy are
	// TestVNodeKubeletAPIThroughTheAPIServerProxy's.
	"TestGetStatsSummary":    "reads /stats/summary anonymously through a pod proxy; the runtime refuses anonymous callers",
	"TestGetMetricsResource": "reads /metrics/resource anonymously through a pod proxy; the runtime refuses anonymous callers",
	// These wait for Events with the reasons of virtual-kubelet's own environment
	// resolution (MandatorySecretNotFound, OptionalConfigMapNotFound, ...). The runtime
	// resolves references itself, with the ECI translation (runtime/translate): a missing
	// mandatory object keeps the pod waiting with the status reason ECIWaitingForObjects,
	// a missing optional one is a Warning Event OptionalReferenceMissing
	// (docs/design.md, "What a user sees"), so the awaited Event never comes and each test
	// would only wait out its 2-minute watch.
	"TestCreatePodWithOptionalInexistentSecrets":    "waits for virtual-kubelet's OptionalSecretNotFound Event; the runtime reports OptionalReferenceMissing",
	"TestCreatePodWithMandatoryInexistentSecrets":   "waits for virtual-kubelet's MandatorySecretNotFound Event; the runtime reports ECIWaitingForObjects",
	"TestCreatePodWithOptionalInexistentConfigMap":  "waits for virtual-kubelet's OptionalConfigMapNotFound Event; the runtime reports OptionalReferenceMissing",
	"TestCreatePodWithMandatoryInexistentConfigMap": "waits for virtual-kubelet's MandatoryConfigMapNotFound Event; the runtime reports ECIWaitingForObjects",
	// It asserts that the pod is gone from /runningpods/ one second after its graceful
	// deletion was requested (the suite's deleteGracePeriodForProvider), which suits a
	// provider that forgets a pod when asked. ECI stops an instance within the pod's grace
	// period (Terminating; 2 s in the sandbox's emulator), and the runtime lists the pod
	// until ECI reports the instance gone, as a kubelet lists a pod until its containers
	// have stopped. It passes up to that assertion: the pod runs, /runningpods/ lists it
	// through the node proxy, the deletion reaches ECI. (TestPodLifecycleForceDelete runs:
	// a forced delete deletes the instance with Force, at once.)
	"TestPodLifecycleGracefulDelete": "expects the pod off /runningpods/ 1 s after a graceful delete; ECI's instance is still Terminating then",
}

// TestVirtualKubeletE2ESuite runs virtual-kubelet's importable end-to-end suite
// (github.com/virtual-kubelet/virtual-kubelet/test/e2e, the version go.mod pins) against a
// VNode of the sandbox: the runtime as installed, the ECI emulator behind it, the suite
// reaching the runtime through kube-apiserver's node proxy (hence ProxyablePodIPs).
func TestVirtualKubeletE2ESuite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox control plane")
	}
	vs := startVNodeSandbox(t, func(o *Options) { o.ProxyablePodIPs = true })
	sb := vs.Sandbox
	if err := sb.ProxyablePodIPs(); err != nil {
		t.Skipf("the suite reads the VNode's pods through the node proxy, which cannot reach it here: %v", err)
	}
	vn := vs.VNode
	const ns = "vk-e2e"
	if _, err := sb.Client().CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	suite := vke2e.NewEndToEndTestSuite(vke2e.EndToEndTestSuiteConfig{
		Kubeconfig:   sb.Kubeconfig(),
		Namespace:    ns,
		NodeName:     vn.Name,
		WatchTimeout: 2 * time.Minute,
		ShouldSkipTest: func(name string) bool {
			reason, skip := vkE2ESkipped[name]
			if skip {
				t.Logf("skipping %s: %s", name, reason)
			}
			return skip
		},
	})
	suite.Run(t)
}
