package node

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The throttle series are created at zero for every action the runtime can
// call; a method added to ECI without its action here would have no series
// until its first throttle.
func TestObservabilityThrottleSeriesCoverEveryECIAction(t *testing.T) {
	ecis := reflect.TypeFor[ECI]()
	for i := range ecis.NumMethod() {
		action := strings.Replace(ecis.Method(i).Name, "DescribeAll", "Describe", 1)
		if !slices.Contains(eciActions, action) {
			t.Errorf("ECI method %s calls %s, which eciActions lacks", ecis.Method(i).Name, action)
		}
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if n := testutil.CollectAndCount(m.throttles); n != len(eciActions) {
		t.Errorf("eci_vnode_eci_throttles_total has %d series before any call; want %d, one per action", n, len(eciActions))
	}
	if n := testutil.CollectAndCount(m.queues); n != len(queueNames) {
		t.Errorf("eci_vnode_queue_depth has %d series without queues; want %d at zero", n, len(queueNames))
	}
}
