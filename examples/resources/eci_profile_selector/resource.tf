# Burst: pods of the namespace "shop" prefer the cluster's own nodes and
# overflow to VNodes (ECI) when none has room, as 2 vCPU / 4 GiB spot
# instances.
resource "eci_profile_selector" "burst" {
  name               = "shop-burst"
  namespace_selector = { match_labels = { "kubernetes.io/metadata.name" = "shop" } }
  policy             = "normalNodePrefer"
  effect = {
    annotations = {
      "k8s.aliyun.com/eci-use-specs"     = "2-4Gi"
      "k8s.aliyun.com/eci-spot-strategy" = "SpotAsPriceGo"
    }
  }
}

# Batch jobs labelled for ECI run on one VNode only, and win over the
# selector above when both match.
resource "eci_profile_selector" "batch" {
  name = "batch-on-eci"
  object_selector = {
    match_labels      = { "alibabacloud.com/eci" = "true" }
    match_expressions = [{ key = "workload", operator = "In", values = ["batch", "etl"] }]
  }
  priority = 10
  vnode    = eci_vnode.this.node_name
  effect = {
    labels = { billing = "eci" }
  }
}
