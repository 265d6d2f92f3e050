# What a 2 vCPU / 4 GiB instance costs per hour in one zone, pay-as-you-go
# and spot, and what a VNode's resident node costs.
data "eci_price" "web" {
  cpu     = 2
  memory  = 4
  zone_id = "cn-hangzhou-h"
}

data "eci_price" "web_spot" {
  cpu     = 2
  memory  = 4
  zone_id = "cn-hangzhou-h"
  spot    = true
}

# An ECS instance type is priced as a whole (no unit prices).
data "eci_price" "gpu" {
  instance_type = "ecs.gn6i-c4g1.xlarge"
  zone_id       = "cn-hangzhou-h"
}

output "hourly" {
  value = {
    web       = "${data.eci_price.web.hourly_price} ${data.eci_price.web.currency}"
    web_spot  = data.eci_price.web_spot.spot_price_applied ? data.eci_price.web_spot.hourly_price : null
    gpu       = data.eci_price.gpu.hourly_price
    per_vnode = data.eci_price.web.vnode_hourly_price
  }
}

# Ten replicas for a month of 730 hours. A VNode made with ECI's VirtualNode
# API would add 730 * vnode_hourly_price each; the bundled runtime's VNodes
# run in the cluster and add nothing.
output "monthly_estimate" {
  value = 730 * 10 * data.eci_price.web.hourly_price
}
