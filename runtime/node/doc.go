// Package node is the virtual kubelet of one VNode: every pod bound to the
// node runs as one ECI container group.
//
// Run registers the Node through virtual-kubelet's nodeutil, holds its
// Lease, and runs a Provider, which implements virtual-kubelet's
// PodLifecycleHandler:
//
//   - CreatePod queues the pod; create workers translate it
//     (runtime/translate) and call CreateContainerGroup with the pod UID as
//     ClientToken, retrying with back-off for as long as the pod exists.
//     A pod that already has an instance (after a restart) is adopted
//     instead.
//   - One poller per VNode reads ECI by changes (DescribeContainerGroupStatus
//     with SinceSecond, then DescribeContainerGroups by ID) and lists every
//     instance only at the slow interval, within a read budget.
//   - The status writer patches pod statuses against the live pod, so
//     conditions of others, readiness gates and the QoS class are kept.
//   - DeletePod deletes the instance; the pod gets its final status when the
//     instance is gone.
//   - Health reports the ECIAPIReachable node condition and its NoSchedule
//     taint; the node's Ready condition says the runtime runs.
//   - RunInContainer serves `kubectl exec` through ExecContainerCommand and
//     the websocket it returns, with the command's exit code (exec.go);
//     AttachToContainer and PortForward refuse at once, as ECI has no API
//     for either.
//   - GetStatsSummary and GetMetricsResource answer the kubelet's
//     /stats/summary and /metrics/resource from DescribeMultiContainerGroupMetric
//     (20 running instances a call), cached 10 s and shared by concurrent
//     scrapes (stats.go).
//
// A sketch of running one VNode (the eci-vnode command does this from its
// flags):
//
//	cfg := node.Config{NodeName: "vnode-1", ClusterName: "prod", Region: "cn-hangzhou",
//		VSwitchIDs: []string{"vsw-..."}, SecurityGroupID: "sg-..."}
//	err := node.Run(ctx, cfg, node.RunOptions{Kube: kube, ECI: eciClient})
//
// docs/runtime.md is the user guide (settings, pod status reasons,
// metrics); docs/design.md, "The runtime's pod lifecycle", the design.
package node
