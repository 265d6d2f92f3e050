output "runtime_id" {
  description = "The runtime's namespace (eci_runtime id)."
  value       = eci_runtime.this.id
}

output "vnode_names" {
  description = "Node names of the VNodes, zone ID to node name."
  value       = { for zone, v in eci_vnode.this : zone => v.node_name }
}

output "selector_names" {
  description = "Names of the eci-profile selectors this module wrote to kube-system/eci-profile."
  value       = [eci_profile_selector.burst.name]
}

output "tags" {
  description = "The tags every ECI instance of the cluster's VNodes gets from this module (the provider's default_tags come on top)."
  value       = local.tags
}
