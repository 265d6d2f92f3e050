# A VNode as the cluster sees it: readiness, room, pods and their ECI
# instances.
data "eci_vnode" "burst" {
  name = eci_vnode.this.name
}

output "vnode" {
  value = {
    status       = data.eci_vnode.burst.status
    zone         = data.eci_vnode.burst.zone_id
    cpu          = data.eci_vnode.burst.allocatable["cpu"]
    pods         = data.eci_vnode.burst.pod_count
    instance_ids = data.eci_vnode.burst.instance_ids
  }
}
