package resident_test

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
	"github.com/eci-vnode/terraform-provider-eci/runtime/resident"
)

func TestNodeConfigIsTheVNodesWithItsIDAsClusterName(t *testing.T) {
	n := emulator.ResidentNode{VirtualNodeID: "vnd-abc", Name: "vnode-a", VSwitchIDs: []string{"vsw-h-1", "vsw-i-1"},
		SecurityGroupID: "sg-1", ResourceGroupID: "rg-1", IntranetIP: "172.16.0.2", ClusterDNS: []string{"10.96.0.10"},
		ClusterDomain: "corp.local", CustomResources: map[string]int64{"example.com/fpga": 2},
		Tags: map[string]string{"team": "blue"}, ECI: emulator.ResidentECI{Region: "cn-hangzhou"}}
	cfg := resident.NodeConfig(n)
	if cfg.NodeName != "vnode-a" || cfg.ClusterName != "vnd-abc" || cfg.ManagedVNodeID != "vnd-abc" || cfg.Region != "cn-hangzhou" ||
		!slices.Equal(cfg.VSwitchIDs, n.VSwitchIDs) || cfg.SecurityGroupID != "sg-1" || cfg.ResourceGroupID != "rg-1" ||
		cfg.NodeIP != "172.16.0.2" || !slices.Equal(cfg.ClusterDNS, n.ClusterDNS) || cfg.ClusterDomain != "corp.local" {
		t.Errorf("config %+v", cfg)
	}
	// No zone named: the vSwitches may span zones, so no zone is pinned. No kubelet
	// API, no kube-proxy, and the VNode's tags stay off the instances.
	if cfg.ZoneIDs != nil || cfg.DaemonPort != 0 || cfg.ClusterIPAccess || len(cfg.Tags) != 0 {
		t.Errorf("zones %v, daemon port %d, ClusterIP access %v, tags %v", cfg.ZoneIDs, cfg.DaemonPort, cfg.ClusterIPAccess, cfg.Tags)
	}
	fpga, cpu := cfg.Capacity["example.com/fpga"], cfg.Capacity[corev1.ResourceCPU]
	if fpga.Value() != 2 || cpu.IsZero() {
		t.Errorf("capacity %v: want the custom resource on top of the defaults", cfg.Capacity)
	}
	if cfg.Taints != nil {
		t.Errorf("no taints given: want nil (the VNode taint, node.DefaultTaints), got %v", cfg.Taints)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("the configuration does not validate: %v", err)
	}

	n.ZoneID = "cn-hangzhou-h"
	n.Taints = []emulator.Taint{{Key: "dedicated", Effect: "NoExecute"}}
	cfg = resident.NodeConfig(n)
	want := []corev1.Taint{{Key: "dedicated", Effect: corev1.TaintEffectNoExecute}}
	if !slices.Equal(cfg.ZoneIDs, []string{"cn-hangzhou-h"}) || !slices.EqualFunc(cfg.Taints, want, func(a, b corev1.Taint) bool { return a.MatchTaint(&b) && a.Value == b.Value }) {
		t.Errorf("zones %v, taints %v", cfg.ZoneIDs, cfg.Taints)
	}
}
