# A VNode in two zones, on the runtime eci_runtime.this installed. Its pods
# run as ECI instances; schedule them with the node selector
# type=virtual-kubelet and a toleration of k8s.aliyun.com/vnode=true:NoSchedule.
resource "eci_vnode" "this" {
  runtime           = eci_runtime.this.id
  name              = "vnode-hangzhou"
  zone_ids          = ["cn-hangzhou-h", "cn-hangzhou-i"]
  vswitch_ids       = ["vsw-bp1a2b3c4d5e6f7g8h9i0", "vsw-bp1j2k3l4m5n6o7p8q9r0"]
  security_group_id = "sg-bp1a2b3c4d5e6f7g8h9i"

  cpu    = "1000"
  memory = "4Ti"
  pods   = "500"

  labels = { pool = "burst" }
  tags   = { team = "data" }

  # The VNode taint, and one more: only the data team's pods come here.
  taints = [
    { key = "k8s.aliyun.com/vnode", value = "true", effect = "NoSchedule" },
    { key = "team", value = "data", effect = "NoSchedule" },
  ]

  # Spot instances at the market price unless a pod asks otherwise, started
  # from a matching image cache where there is one.
  spot_strategy          = "SpotAsPriceGo"
  auto_match_image_cache = true

  timeouts {
    create = "10m"
  }

  # Two runtimes, one active: the Node stays served while one restarts.
  replicas = 2
}

# A managed VNode: ECI's CreateVirtualNode makes it and Alibaba Cloud runs its
# resident node (billed like a 2 vCPU / 8 GiB instance, see hourly_price). It
# needs no eci_runtime; the provider's region and credentials create it, and
# it joins the cluster as system:node:vnode-managed by TLS bootstrap. Its VPC
# must reach the API server at api_server.
resource "eci_vnode" "managed" {
  mode              = "managed"
  name              = "vnode-managed"
  zone_ids          = ["cn-hangzhou-h"]
  vswitch_ids       = ["vsw-bp1a2b3c4d5e6f7g8h9i0"]
  security_group_id = "sg-bp1a2b3c4d5e6f7g8h9i"
  api_server        = "https://192.168.0.10:6443"

  # Tags of the VNode itself, to split its charge from the instances' on the
  # bill; changed in place.
  tags = { team = "data", cost-center = "cc-42" }
}

output "managed_vnode_hourly_price" {
  value = eci_vnode.managed.hourly_price
}
