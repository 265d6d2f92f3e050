variable "region" {
  description = "Alibaba Cloud region whose ECI API is called."
  type        = string
  default     = "cn-hangzhou"
}

variable "zones" {
  description = "One VNode per entry: a zone of the region and a vSwitch in it."
  type = list(object({
    zone_id    = string
    vswitch_id = string
  }))
}

variable "security_group_id" {
  description = "Security group of every ECI instance."
  type        = string
}

variable "kubeconfig_path" {
  description = "Kubeconfig of the cluster the VNodes join."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "Context of the kubeconfig to use; null for its current-context."
  type        = string
  default     = null
}

variable "cluster_name" {
  description = "Name of the cluster; every ECI instance is tagged with it."
  type        = string
  default     = "quickstart"
}

variable "tags" {
  description = "Tags of every ECI instance (the provider's default_tags), for the cost split by tag."
  type        = map(string)
  default     = { project = "quickstart" }
}

variable "namespace" {
  description = "Namespace whose pods all run on the VNodes."
  type        = string
  default     = "demo"
}

variable "pod_spec" {
  description = "ECI spec of those pods, vCPU-memory (k8s.aliyun.com/eci-use-specs)."
  type        = string
  default     = "1-2Gi"
}

# What a cluster that mounts no volumes and whose API server reaches no
# Service needs (the local sandbox); the defaults are right for a real
# cluster.

variable "endpoint" {
  description = "ECI API endpoint; null for the region's public endpoint."
  type        = string
  default     = null
}

variable "credentials_as" {
  description = "How the VNodes receive the credentials: files (a mounted Secret) or env."
  type        = string
  default     = "files"
}

variable "webhook_direct_url" {
  description = "Have the API server call the webhook's pod by IP instead of its Service."
  type        = bool
  default     = false
}
