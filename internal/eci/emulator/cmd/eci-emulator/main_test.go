package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
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
