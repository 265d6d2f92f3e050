# The runtime, once per cluster. The provider's credentials are copied into
# the Secret eci-vnode-credentials; the state keeps only their SHA-256.
resource "eci_runtime" "this" {
  cluster_name = "prod"
}

# Or keep the key out of Terraform: install into a namespace that already
# holds a Secret with access-key-id and access-key-secret.
resource "eci_runtime" "bring_your_own_secret" {
  namespace              = "eci-vnode"
  create_namespace       = false
  cluster_name           = "prod"
  credentials_secret     = "aliyun"
  webhook_replicas       = 2
  webhook_failure_policy = "Ignore"
  log_level              = "info"
  webhook_resources = {
    requests = { cpu = "50m", memory = "64Mi" }
    limits   = { memory = "128Mi" }
  }
  timeouts {
    create = "10m"
    update = "10m"
  }
}
