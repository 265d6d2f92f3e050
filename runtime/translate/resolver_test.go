package translate_test

import (
	"testing"

	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// A lookup that fails for another reason than "not found" is retryable and
// says what failed.
func TestLookupFailuresAreRetryable(t *testing.T) {
	r := webCluster(t)
	r.ServiceLister = nil
	r.ConfigMapLister = nil
	es := problems(t, webPod(), vnode(), r)
	expectProblems(t, es, []string{
		"LookupFailed spec.volumes[0].configMap: reading ConfigMap shop/web-config failed: ConfigMapLister is not configured in translate.Listers",
		"LookupFailed spec.volumes[1].projected.sources[1].configMap: reading ConfigMap shop/kube-root-ca.crt failed: ConfigMapLister is not configured in translate.Listers",
		"LookupFailed spec.enableServiceLinks: listing the Services of namespace shop for the service environment variables failed: ServiceLister is not configured in translate.Listers",
		"LookupFailed spec.enableServiceLinks: listing the Services of namespace default for the service environment variables failed: ServiceLister is not configured in translate.Listers",
	})
	if !es.Retryable() || !translate.IsRetryable(es) {
		t.Error("lookup failures must be retryable")
	}
	if es[0].Unwrap() == nil {
		t.Error("the cause is kept for the runtime's logs")
	}
}
