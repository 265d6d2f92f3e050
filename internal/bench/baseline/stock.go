package baseline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

// stock is a provider written the way stock virtual-kubelet providers are:
// CreatePod creates the instance before it returns (so the library's few
// workers wait on ECI), and one status loop describes every pod's instance
// by ID, one call per pod, one pod after another, every statusEvery.
type stock struct {
	*pods
	eci  *eci.Client
	opts options

	mu  sync.Mutex
	ids map[string]string // pod key -> instance ID
}

func newStock(client *eci.Client, o options) *stock {
	return &stock{pods: newPods(), eci: client, opts: o, ids: map[string]string{}}
}

// TagPodUID names, on each instance, the pod it runs.
const TagPodUID = "eci-bench/pod-uid"

func (s *stock) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	req := &eci.CreateContainerGroupRequest{
		ContainerGroupName: instanceName(pod.Name),
		ClientToken:        string(pod.UID),
		VSwitchIDs:         []string{s.opts.vswitch},
		SecurityGroupID:    s.opts.securityGroup,
		CPU:                1, Memory: 2,
		RestartPolicy: "Always",
		Tags:          []eci.Tag{{Key: TagPodUID, Value: string(pod.UID)}},
	}
	for _, c := range pod.Spec.Containers {
		req.Containers = append(req.Containers, eci.Container{Name: c.Name, Image: c.Image, Commands: c.Command, Args: c.Args})
	}
	resp, err := s.eci.CreateContainerGroup(ctx, req)
	if err != nil {
		return fmt.Errorf("create the instance of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	s.mu.Lock()
	s.ids[podKey(pod.Namespace, pod.Name)] = resp.ContainerGroupID
	s.mu.Unlock()
	s.publish(withPhase(pod, corev1.PodPending, ""))
	return nil
}

func (s *stock) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	key := podKey(pod.Namespace, pod.Name)
	s.mu.Lock()
	id := s.ids[key]
	s.mu.Unlock()
	if id == "" {
		return errdefs.NotFoundf("pod %s has no instance", key)
	}
	err := s.eci.DeleteContainerGroup(ctx, &eci.DeleteContainerGroupRequest{ContainerGroupID: id})
	if err != nil && !eci.IsNotFound(err) {
		return fmt.Errorf("delete instance %s of pod %s: %w", id, key, err)
	}
	s.mu.Lock()
	delete(s.ids, key)
	s.mu.Unlock()
	s.publish(withPhase(pod, corev1.PodSucceeded, ""))
	s.remove(pod.Namespace, pod.Name)
	return nil
}

// statusLoop describes each tracked pod's instance every statusEvery and
// publishes the pods whose phase changed.
func (s *stock) statusLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.statusEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		keys := make(map[string]string, len(s.ids))
		for k, id := range s.ids {
			keys[k] = id
		}
		s.mu.Unlock()
		for key, id := range keys {
			if ctx.Err() != nil {
				return
			}
			resp, err := s.eci.DescribeContainerGroups(ctx, &eci.DescribeContainerGroupsRequest{ContainerGroupIDs: []string{id}})
			if err != nil || len(resp.ContainerGroups) == 0 {
				continue
			}
			ns, name, _ := strings.Cut(key, "/")
			p := s.get(ns, name)
			if p == nil {
				continue
			}
			cg := resp.ContainerGroups[0]
			phase, ip := corev1.PodPending, ""
			switch cg.Status {
			case eci.StatusRunning:
				phase, ip = corev1.PodRunning, cg.IntranetIP
			case eci.StatusSucceeded:
				phase = corev1.PodSucceeded
			case eci.StatusFailed:
				phase = corev1.PodFailed
			}
			// Like azure-aci, the phase and each container's restart count
			// come from the instance; a change of either is published.
			restarts := map[string]int32{}
			for _, c := range cg.Containers {
				restarts[c.Name] = c.RestartCount
			}
			changed := phase != p.Status.Phase
			for _, cs := range p.Status.ContainerStatuses {
				changed = changed || cs.RestartCount != restarts[cs.Name]
			}
			if changed {
				np := withPhase(p, phase, ip)
				for i := range np.Status.ContainerStatuses {
					np.Status.ContainerStatuses[i].RestartCount = restarts[np.Status.ContainerStatuses[i].Name]
				}
				s.publish(np)
			}
		}
	}
}

// instanceName is a valid ECI instance name (lowercase letters, digits and
// hyphens, at most 128) for a pod name.
func instanceName(pod string) string {
	n := strings.ToLower(pod)
	if len(n) > 128 {
		n = n[:128]
	}
	return strings.Trim(n, "-.")
}
