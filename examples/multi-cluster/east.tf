# The east cluster. To take ECI away from it, delete this file (not the
# provider block) and apply: only this module's resources are destroyed.
module "east" {
  source    = "../modules/eci-burst"
  providers = { eci = eci.east }

  cluster_name      = var.east.cluster_name
  zones             = var.east.zones
  security_group_id = var.east.security_group_id
  namespaces        = var.burst_namespaces
  tags              = { env = "prod" }

  credentials_as     = var.credentials_as
  webhook_direct_url = var.webhook_direct_url
}

output "east" {
  description = "What the module installed in the east cluster."
  value = {
    runtime_id     = module.east.runtime_id
    vnode_names    = module.east.vnode_names
    selector_names = module.east.selector_names
  }
}
