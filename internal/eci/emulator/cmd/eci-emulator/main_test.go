package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"

	ecic "github.com/eci-vnode/terraform-provider-eci/internal/eci"
)

func TestRunServesUntilCancelled(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "emu.json")
	if err := os.WriteFile(cfgPath, []byte(`{"region":"cn-shanghai","credentials":[{"AccessKeyID":"ak","AccessKeySecret":"sk"}],
		"zones":[{"id":"cn-shanghai-a","vSwitchIds":["vsw-a"]}],"lifecycle":{"scheduling":"1s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", cfgPath}, pw) }()

	var info Info
	if err := json.NewDecoder(pr).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.Region != "cn-shanghai" || len(info.Credentials) != 1 || info.Endpoint == "" {
		t.Fatalf("info: %+v", info)
	}
	c, err := eci.NewClientWithAccessKey(info.Region, "ak", "sk")
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = info.Endpoint
	resp, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest())
	if err != nil || resp.Regions[0].Zones[0] != "cn-shanghai-a" {
		t.Fatalf("describe regions: %v %+v", err, resp)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(cfgPath, []byte(`{"zonez":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-config", cfgPath}, io.Discard); err == nil {
		t.Fatal("unknown config field accepted")
	}
}

// TestResidentNodesFlagRunsTheResidentNodeOfAVNode checks that -resident-nodes hands a
// new VNode to the runner: its kubeconfig names an API server nobody serves, so its
// resident node fails, and the VNode with it, saying why. Without the flag the VNode is
// only a record that waits for its timer.
func TestResidentNodesFlagRunsTheResidentNodeOfAVNode(t *testing.T) {
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n" +
		"users:\n- name: u\n  user:\n    token: not-a-bootstrap-token\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-resident-nodes"}, ecic.VirtualNodeFailed},
		{nil, ecic.VirtualNodePending},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() { done <- run(ctx, tc.args, pw) }()
		var info Info
		if err := json.NewDecoder(pr).Decode(&info); err != nil {
			t.Fatal(err)
		}
		cr := info.Credentials[0]
		client, err := ecic.New(ecic.Config{Region: info.Region, Endpoint: "http://" + info.Endpoint,
			Credentials: &ecic.Credentials{AccessKeyID: cr.AccessKeyID, AccessKeySecret: cr.AccessKeySecret},
			Getenv:      func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		created, err := client.CreateVirtualNode(ctx, &ecic.CreateVirtualNodeRequest{VirtualNodeName: "vnode-x",
			SecurityGroupID: "sg-emulator0001", VSwitchIDs: []string{"vsw-h-1"}, KubeConfig: kubeconfig, ClientToken: "create-x"})
		if err != nil {
			t.Fatal(err)
		}
		var v ecic.VirtualNode
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			resp, err := client.DescribeVirtualNodes(ctx, &ecic.DescribeVirtualNodesRequest{VirtualNodeIDs: []string{created.VirtualNodeID}})
			if err != nil {
				t.Fatal(err)
			}
			if v = resp.VirtualNodes[0]; v.Status == tc.want {
				break
			}
		}
		if v.Status != tc.want {
			t.Errorf("%v: the VNode is %s, want %s; events %+v", tc.args, v.Status, tc.want, v.Events)
		}
		if tc.want == ecic.VirtualNodeFailed && (len(v.Events) != 1 || !strings.Contains(v.Events[0].Message, "https://127.0.0.1:1")) {
			t.Errorf("the Failed VNode's events do not name the API server it could not reach: %+v", v.Events)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
