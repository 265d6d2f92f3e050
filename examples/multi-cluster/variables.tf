variable "region" {
  description = "ECI region of both clusters' instances."
  type        = string
  default     = "cn-hangzhou"
}

variable "endpoint" {
  description = "ECI API endpoint; null for the region's public endpoint. The local sandbox's emulator is reached this way."
  type        = string
  default     = null
}

variable "east_kubeconfig" {
  description = "Path of the kubeconfig file of the east cluster."
  type        = string
}

variable "west_kubeconfig" {
  description = "Path of the kubeconfig file of the west cluster."
  type        = string
}

variable "east" {
  description = "The east cluster: its name, zone ID to vSwitch IDs, and the security group of its instances."
  type = object({
    cluster_name      = string
    zones             = map(list(string))
    security_group_id = string
  })
}

variable "west" {
  description = "The west cluster: its name, zone ID to vSwitch IDs, and the security group of its instances."
  type = object({
    cluster_name      = string
    zones             = map(list(string))
    security_group_id = string
  })
}

variable "burst_namespaces" {
  description = "Namespaces whose overflow goes to ECI, in both clusters."
  type        = list(string)
  default     = ["batch"]
}

variable "tags" {
  description = "Tags of every instance in both clusters (the providers' default_tags)."
  type        = map(string)
  default     = { team = "platform" }
}

variable "credentials_as" {
  description = "files on a real cluster; env for the local sandbox, whose hosts mount no volumes."
  type        = string
  default     = "files"
}

variable "webhook_direct_url" {
  description = "false on a real cluster; true for the local sandbox, whose API server reaches no Service."
  type        = bool
  default     = false
}
