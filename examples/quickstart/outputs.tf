output "runtime_namespace" {
  description = "Namespace of the runtime."
  value       = eci_runtime.this.id
}

output "vnodes" {
  description = "Zone to the VNode's Node name."
  value       = { for i, v in eci_vnode.zone : var.zones[i].zone_id => v.node_name }
}

output "vnode_tags" {
  description = "Zone to the tags every instance of that VNode carries."
  value       = { for i, v in eci_vnode.zone : var.zones[i].zone_id => v.tags_all }
}

output "selector" {
  description = "Name of the eci-profile selector."
  value       = eci_profile_selector.burst.name
}

output "namespace" {
  description = "Namespace whose pods run on the VNodes."
  value       = var.namespace
}
