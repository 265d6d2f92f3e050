package provider

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/eci-vnode/terraform-provider-eci/internal/eci/emulator"
)

// eci_price reads what the emulator's configured prices imply: the
// figures are computed here from its configuration, which differs from the
// emulator's defaults so that nothing but the API's answer can match.
func TestAccPriceDataSource_basic(t *testing.T) {
	t.Parallel()
	e := emulator.StartForTest(t, emulator.Config{Prices: emulator.PriceConfig{
		Currency:           "USD",
		VCPUPerSecond:      0.0000077,
		MemoryGiBPerSecond: 0.00000096,
		InstanceTypes:      map[string]float64{"ecs.c6.large": 0.000123},
		SpotDiscount:       0.3,
	}})
	p := e.Config().Prices
	cr := e.Credentials()[0]
	zone := e.Zones()[0].ID
	prov := fmt.Sprintf(`
provider "eci" {
  region     = %[1]q
  endpoint   = "http://%[2]s"
  access_key = %[3]q
  secret_key = %[4]q
}
`, e.Region(), e.Endpoint(), cr.AccessKeyID, cr.AccessKeySecret)

	// The API quotes 8 decimals per second.
	quoted := func(perSecond float64) float64 { return math.Round(perSecond*1e8) / 1e8 }
	spec := quoted(2*p.VCPUPerSecond) + quoted(4*p.MemoryGiBPerSecond)
	cpuUnit := p.VCPUPerSecond * 3600
	memUnit := p.MemoryGiBPerSecond * 3600
	vnode := (2*p.VCPUPerSecond + 8*p.MemoryGiBPerSecond) * 3600

	resource.UnitTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories(map[string]string{}),
		Steps: []resource.TestStep{
			{
				Config: prov + fmt.Sprintf(`
data "eci_price" "spec" {
  cpu     = 2
  memory  = 4
  zone_id = %[1]q
}

data "eci_price" "type" {
  instance_type = "ecs.c6.large"
}

data "eci_price" "spot" {
  cpu     = 2
  memory  = 4
  zone_id = %[1]q
  spot    = true
}
`, zone),
				Check: resource.ComposeAggregateTestCheckFunc(
					testAccCheckFloat("data.eci_price.spec", "hourly_price", spec*3600),
					testAccCheckFloat("data.eci_price.spec", "cpu_unit_price_hourly", cpuUnit),
					testAccCheckFloat("data.eci_price.spec", "memory_unit_price_hourly", memUnit),
					testAccCheckFloat("data.eci_price.spec", "vnode_hourly_price", vnode),
					resource.TestCheckResourceAttr("data.eci_price.spec", "currency", p.Currency),
					resource.TestCheckResourceAttr("data.eci_price.spec", "spot_price_applied", "false"),
					resource.TestCheckResourceAttr("data.eci_price.spec", "id", "2 vCPU / 4 GiB in "+zone),

					testAccCheckFloat("data.eci_price.type", "hourly_price", p.InstanceTypes["ecs.c6.large"]*3600),
					resource.TestCheckNoResourceAttr("data.eci_price.type", "cpu_unit_price_hourly"),
					resource.TestCheckNoResourceAttr("data.eci_price.type", "memory_unit_price_hourly"),
					testAccCheckFloat("data.eci_price.type", "vnode_hourly_price", vnode),

					testAccCheckFloat("data.eci_price.spot", "hourly_price", quoted(spec*p.SpotDiscount)*3600),
					resource.TestCheckResourceAttr("data.eci_price.spot", "spot_price_applied", "true"),
					testAccCheckFloat("data.eci_price.spot", "cpu_unit_price_hourly", cpuUnit),
				),
			},
			{
				Config: prov + `
data "eci_price" "x" {
  cpu           = 2
  memory        = 4
  instance_type = "ecs.c6.large"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Conflicting spec.*either cpu and memory, or instance_type`),
			},
			{
				Config: prov + `
data "eci_price" "x" {
  cpu = 2
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Missing memory.*cpu and memory go together`),
			},
			{
				Config: prov + `
data "eci_price" "x" {
  cpu     = -1
  memory  = 4
  zone_id = "Hangzhou H"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)(Invalid cpu.*must be a positive number.*Invalid zone_id.*"Hangzhou H" is not a zone ID|Invalid zone_id.*Invalid cpu)`),
			},
			// A zone the API does not know fails the read with its answer.
			{
				Config: prov + fmt.Sprintf(`
data "eci_price" "x" {
  cpu     = 2
  memory  = 4
  zone_id = %q
}
`, e.Region()+"-z"),
				ExpectError: regexp.MustCompile(`(?s)Cannot price the spec.*InvalidZoneId`),
			},
		},
	})
}

// testAccCheckFloat checks that a number attribute is want, to the 1e-7 the
// prices are quoted in.
func testAccCheckFloat(addr, attr string, want float64) resource.TestCheckFunc {
	return resource.TestCheckResourceAttrWith(addr, attr, func(v string) error {
		got, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		if math.Abs(got-want) > 1e-7 {
			return fmt.Errorf("%s.%s = %s, want %.10f", addr, attr, v, want)
		}
		return nil
	})
}
