locals {
  # The module's own tag wins, so every instance says which cluster it
  # serves, whatever the caller passes.
  tags = merge(var.tags, { cluster = var.cluster_name })
}

# The cluster-wide part of the runtime: namespace, credentials Secret,
# eci-profile webhook.
resource "eci_runtime" "this" {
  namespace          = var.runtime_namespace
  cluster_name       = var.cluster_name
  credentials_as     = var.credentials_as
  webhook_direct_url = var.webhook_direct_url
}

# One VNode per zone, so that an instance lands in the zone of the VNode the
# scheduler picked and a zone out of stock takes only its own VNode's pods.
resource "eci_vnode" "this" {
  for_each = var.zones

  runtime           = eci_runtime.this.id
  name              = "${var.cluster_name}-${each.key}"
  zone_ids          = [each.key]
  vswitch_ids       = each.value
  security_group_id = var.security_group_id

  cpu    = var.vnode_capacity.cpu
  memory = var.vnode_capacity.memory
  pods   = var.vnode_capacity.pods

  labels = { "eci-burst/cluster" = var.cluster_name }
  tags   = local.tags

  lifecycle {
    precondition {
      condition     = length("${var.cluster_name}-${each.key}") <= 63
      error_message = "The VNode name ${var.cluster_name}-${each.key} is longer than 63 characters; shorten cluster_name."
    }
  }
}

# Pods of the burst namespaces prefer normal nodes and tolerate the VNodes,
# so only what the cluster cannot place runs on ECI. The selector depends on
# the VNodes: it is written once they are Ready and removed before they go.
resource "eci_profile_selector" "burst" {
  name = var.selector_name
  namespace_selector = {
    match_expressions = [{
      key      = "kubernetes.io/metadata.name"
      operator = "In"
      values   = var.namespaces
    }]
  }
  policy   = "normalNodePrefer"
  priority = var.selector_priority
  effect   = length(var.pod_annotations) > 0 ? { annotations = var.pod_annotations, labels = null } : null

  depends_on = [eci_vnode.this]
}
