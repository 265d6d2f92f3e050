package bench

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/eci-vnode/terraform-provider-eci/internal/bench/baseline"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/runtime/translate"
)

// propagation measures status propagation: the instances of a sample of
// the Running pods are restarted through ECI's RestartContainerGroup (their
// containers are killed and the instance is Restarting at once, as when ECI
// or an operator restarts it), and for each pod the harness times from the
// call until the pod's status in the API server first changes. The ceiling
// has no instances and is skipped. The harness's own calls (one
// DescribeContainerGroups to find each instance by its pod-UID tag, one
// RestartContainerGroup) fall outside every measured phase.
func (h *harness) propagation(ctx context.Context, sc scenario, w *podWatch, r *RunResult) error {
	tagKey := map[string]string{Ours: translate.TagPodUID, Stock: baseline.TagPodUID}[sc.Provider]
	if tagKey == "" || h.opts.PropagationSample <= 0 {
		return nil
	}
	uids := w.runningPods()
	n := min(len(uids), h.opts.PropagationSample)
	type target struct {
		uid types.UID
		at  time.Time
	}
	var targets []target
	for i := 0; i < n; i++ {
		uid := uids[i*len(uids)/n] // spread over the pods
		resp, err := h.client.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{
			Tags: []eci.Tag{{Key: tagKey, Value: translate.TagValue(string(uid))}},
		})
		if err != nil {
			return fmt.Errorf("find the instance of pod %s: %w", uid, err)
		}
		if len(resp.ContainerGroups) != 1 {
			return fmt.Errorf("pod %s has %d instances tagged %s; want 1", uid, len(resp.ContainerGroups), tagKey)
		}
		began := time.Now()
		if err := h.client.RestartContainerGroup(ctx, &eci.RestartContainerGroupRequest{ContainerGroupID: resp.ContainerGroups[0].ContainerGroupID}); err != nil {
			return fmt.Errorf("restart instance %s: %w", resp.ContainerGroups[0].ContainerGroupID, err)
		}
		targets = append(targets, target{uid, began})
	}
	deadline := time.Now().Add(propagationDeadline(sc.Pods))
	var lat []float64
	for len(lat) < len(targets) && time.Now().Before(deadline) && ctx.Err() == nil {
		lat = lat[:0]
		for _, t := range targets {
			if at, ok := w.changedSince(t.uid, t.at); ok {
				lat = append(lat, at.Sub(t.at).Seconds())
			}
		}
		if len(lat) < len(targets) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	r.PropagationSample, r.PropagationSeen = len(targets), len(lat)
	sortFloats(lat)
	r.PropagationP50, _, r.PropagationP99 = percentiles(lat)
	// Let the restarted instances settle, so their catching up is not
	// counted as the scale-down's: no status change for 3 s, at most 30 s.
	w.quiet(ctx, 3*time.Second, 30*time.Second)
	if len(lat) < len(targets) {
		return fmt.Errorf("%d of %d restarted pods showed no status change within %s", len(targets)-len(lat), len(targets), propagationDeadline(sc.Pods))
	}
	return nil
}

func propagationDeadline(n int) time.Duration {
	return time.Minute + time.Duration(n)*100*time.Millisecond
}
