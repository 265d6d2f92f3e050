package emulator

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
)

func TestSmokeDescribeRegions(t *testing.T) {
	e := StartForTest(t, Config{})
	c := newClient(t, e)
	resp, err := c.DescribeRegions(eci.CreateDescribeRegionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Regions) != 1 || resp.Regions[0].RegionId != "cn-hangzhou" || len(resp.Regions[0].Zones) != 3 {
		t.Fatalf("unexpected %+v", resp.Regions)
	}
	if resp.RequestId == "" {
		t.Fatal("no request id")
	}
}
