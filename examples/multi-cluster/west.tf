# The west cluster: the same module, its own provider configuration, so
# its own runtime, VNodes and selector. The shape may differ per cluster
# (here: the zones and the VNodes' capacity).
module "west" {
  source    = "../modules/eci-burst"
  providers = { eci = eci.west }

  cluster_name      = var.west.cluster_name
  zones             = var.west.zones
  security_group_id = var.west.security_group_id
  namespaces        = var.burst_namespaces
  tags              = { env = "prod" }
  vnode_capacity    = { cpu = "200", pods = "200" }

  credentials_as     = var.credentials_as
  webhook_direct_url = var.webhook_direct_url
}

output "west" {
  description = "What the module installed in the west cluster."
  value = {
    runtime_id     = module.west.runtime_id
    vnode_names    = module.west.vnode_names
    selector_names = module.west.selector_names
  }
}
