# Quick start: the eci-vnode runtime in a cluster, one VNode per zone, and an
# eci-profile selector that sends every pod of one namespace to ECI.
#
#   export ALIBABA_CLOUD_ACCESS_KEY_ID=... ALIBABA_CLOUD_ACCESS_KEY_SECRET=...
#   terraform init && terraform apply -var-file=my.tfvars
#   kubectl apply -f web.yaml
#
# `make demo` applies this directory to the local sandbox; see README.md here.

terraform {
  required_version = ">= 1.5"
  required_providers {
    eci = {
      source = "eci-vnode/eci"
    }
  }
}

# Credentials come from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID and
# ALIBABA_CLOUD_ACCESS_KEY_SECRET), never from this file.
provider "eci" {
  region       = var.region
  endpoint     = var.endpoint
  default_tags = var.tags

  kubernetes {
    config_path    = var.kubeconfig_path
    config_context = var.kube_context
  }
}

# The runtime: its namespace, the credentials Secret, the eci-profile webhook.
resource "eci_runtime" "this" {
  cluster_name       = var.cluster_name
  credentials_as     = var.credentials_as
  webhook_direct_url = var.webhook_direct_url
}

# One VNode per zone, each placing its instances in that zone's vSwitch. The
# Node's topology.kubernetes.io/zone is the zone, so a Deployment can spread
# over them.
resource "eci_vnode" "zone" {
  count = length(var.zones)

  runtime           = eci_runtime.this.id
  name              = "vnode-${var.zones[count.index].zone_id}"
  zone_ids          = [var.zones[count.index].zone_id]
  vswitch_ids       = [var.zones[count.index].vswitch_id]
  security_group_id = var.security_group_id

  labels = { pool = "burst" }
  # On top of the provider's default_tags: every instance says its zone.
  tags = { zone = var.zones[count.index].zone_id }
}

# Every pod created in var.namespace runs on a VNode, as an ECI instance of
# var.pod_spec. It waits for the VNodes, so that pods admitted from now on
# have somewhere to go.
resource "eci_profile_selector" "burst" {
  name = "${var.namespace}-to-eci"
  namespace_selector = {
    match_labels = { "kubernetes.io/metadata.name" = var.namespace }
  }
  policy = "virtualNodeOnly"
  effect = {
    annotations = { "k8s.aliyun.com/eci-use-specs" = var.pod_spec }
  }

  depends_on = [eci_vnode.zone]
}
