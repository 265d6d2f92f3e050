package cost_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eci-vnode/terraform-provider-eci/internal/cost"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci"
	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

const priceAction = "DescribeContainerGroupPrice"

// startPriced starts an emulator whose prices differ from its defaults,
// so a test passes only if the estimate comes from the API's answer.
func startPriced(t *testing.T) (*emulator.Emulator, *eci.Client) {
	t.Helper()
	e := emulator.StartForTest(t, emulator.Config{Prices: emulator.PriceConfig{
		Currency:           "USD",
		VCPUPerSecond:      0.0000077,
		MemoryGiBPerSecond: 0.00000096,
		InstanceTypes:      map[string]float64{"ecs.c6.large": 0.00011},
		SpotDiscount:       0.35,
	}})
	cr := e.Credentials()[0]
	c, err := eci.New(eci.Config{
		Region:      e.Region(),
		Endpoint:    "http://" + e.Endpoint(),
		Credentials: &eci.Credentials{AccessKeyID: cr.AccessKeyID, AccessKeySecret: cr.AccessKeySecret},
		Timeout:     5 * time.Second,
		UserAgent:   "cost-test",
	})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return e, c
}

// listPerSecond is what the emulator's configuration says a vCPU/GiB spec
// ECI sells as is costs per second.
func listPerSecond(p emulator.PriceConfig, cpu, mem float64) float64 {
	return cpu*p.VCPUPerSecond + mem*p.MemoryGiBPerSecond
}

// quoted rounds a per-second price to the 8 decimals the API quotes.
func quoted(perSecond float64) float64 { return math.Round(perSecond*1e8) / 1e8 }

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-7 {
		t.Errorf("%s = %.10f, want %.10f", what, got, want)
	}
}

func calls(e *emulator.Emulator) int { return e.Calls()[priceAction].Count }

func TestHourlyOfAVCPUMemorySpecIsTheQuotedPriceTimes3600(t *testing.T) {
	e, c := startPriced(t)
	p := e.Config().Prices
	zone := e.Zones()[0].ID
	got, err := cost.NewEstimator(c).Hourly(context.Background(), cost.Spec{CPU: 2, MemoryGiB: 4, ZoneID: zone})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "PerHour", got.PerHour, listPerSecond(p, 2, 4)*3600)
	near(t, "CPUUnitPerHour", got.CPUUnitPerHour, p.VCPUPerSecond*3600)
	near(t, "MemoryGiBUnitPerHour", got.MemoryGiBUnitPerHour, p.MemoryGiBPerSecond*3600)
	if !got.PerResource || got.SpotApplied || got.Currency != p.Currency {
		t.Errorf("got PerResource %v SpotApplied %v Currency %q, want true false %q", got.PerResource, got.SpotApplied, got.Currency, p.Currency)
	}
}

func TestHourlyOfAnInstanceTypeHasNoUnitPrices(t *testing.T) {
	e, c := startPriced(t)
	p := e.Config().Prices
	got, err := cost.NewEstimator(c).Hourly(context.Background(), cost.Spec{InstanceType: "ecs.c6.large"})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "PerHour", got.PerHour, p.InstanceTypes["ecs.c6.large"]*3600)
	if got.PerResource || got.CPUUnitPerHour != 0 || got.MemoryGiBUnitPerHour != 0 {
		t.Errorf("an instance type priced as a whole got unit prices: %+v", got)
	}
}

func TestHourlyOfASpotSpecIsTheZonesSpotPrice(t *testing.T) {
	e, c := startPriced(t)
	p := e.Config().Prices
	zone := e.Zones()[1].ID
	got, err := cost.NewEstimator(c).Hourly(context.Background(), cost.Spec{CPU: 1, MemoryGiB: 2, ZoneID: zone, Spot: true})
	if err != nil {
		t.Fatal(err)
	}
	if !got.SpotApplied {
		t.Fatalf("the emulator quotes spot prices, yet SpotApplied is false: %+v", got)
	}
	near(t, "PerHour", got.PerHour, quoted(listPerSecond(p, 1, 2)*p.SpotDiscount)*3600)
	// The unit prices stay list prices.
	near(t, "CPUUnitPerHour", got.CPUUnitPerHour, p.VCPUPerSecond*3600)
}

func TestVNodeResidentHourlyFollowsTheVNodeFormula(t *testing.T) {
	e, c := startPriced(t)
	p := e.Config().Prices
	got, err := cost.NewEstimator(c).VNodeResidentHourly(context.Background(), e.Zones()[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "VNodeResidentHourly", got, (2*p.VCPUPerSecond+8*p.MemoryGiBPerSecond)*3600)
}

func TestPricesAreCachedAndConcurrentAsksShareOneCall(t *testing.T) {
	e, c := startPriced(t)
	est := cost.NewEstimator(c)
	zone := e.Zones()[0].ID
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := est.Hourly(context.Background(), cost.Spec{CPU: 4, MemoryGiB: 8, ZoneID: " " + zone}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One call for the spec, one for the unit prices of its zone.
	if n := calls(e); n != 2 {
		t.Fatalf("20 concurrent asks made %d DescribeContainerGroupPrice calls, want 2", n)
	}
	if _, err := est.VNodeResidentHourly(context.Background(), zone); err != nil {
		t.Fatal(err)
	}
	if n := calls(e); n != 2 {
		t.Errorf("the resident node's price was not served from the cache: %d calls", n)
	}
}

func TestFailuresAreReportedAndNotCached(t *testing.T) {
	e, c := startPriced(t)
	est := cost.NewEstimator(c)
	spec := cost.Spec{CPU: 2, MemoryGiB: 4, ZoneID: e.Region() + "-nowhere"}
	for i := 1; i <= 2; i++ {
		_, err := est.Hourly(context.Background(), spec)
		if err == nil || !strings.Contains(err.Error(), "price 2 vCPU / 4 GiB in "+spec.ZoneID) || !strings.Contains(err.Error(), "InvalidZoneId") {
			t.Fatalf("ask %d: got %v, want the API's InvalidZoneId error naming the spec", i, err)
		}
		if n := calls(e); n != i {
			t.Fatalf("ask %d: %d calls; a failure must not be cached", i, n)
		}
	}
	if _, err := est.Hourly(context.Background(), cost.Spec{CPU: 0, MemoryGiB: 4}); err == nil {
		t.Error("0 vCPU was priced")
	}
	if n := calls(e); n != 2 {
		t.Errorf("an invalid spec reached the API: %d calls", n)
	}
}
