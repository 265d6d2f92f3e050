package node

import (
	"strings"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func metaNow(t time.Time) metav1.Time { return metav1.NewTime(t.Truncate(time.Second)) }

func metaTimeOf(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}

// podStatusEqual compares statuses ignoring condition transition times, which
// are restamped on every mapping and would otherwise make every poll a change.
func podStatusEqual(a, b *corev1.PodStatus) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	for _, s := range []*corev1.PodStatus{a, b} {
		for i := range s.Conditions {
			s.Conditions[i].LastTransitionTime = metav1.Time{}
			s.Conditions[i].LastProbeTime = metav1.Time{}
		}
	}
	return equality.Semantic.DeepEqual(a, b)
}

func newLimiter(qps float64, burst int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(qps), burst)
}

// oneLine keeps a log record on one line: errors from the SDK and from
// wrapped libraries can span several lines.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
