variable "cluster_name" {
  description = "Name of the cluster. The runtime tags every ECI instance eci-vnode/cluster=<cluster_name>, this module adds the tag cluster=<cluster_name>, and it prefixes the VNode names. A lowercase DNS label of at most 30 characters, so that <cluster_name>-<zone ID> stays a valid node name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must be a lowercase DNS label (a-z, 0-9, '-', starting and ending with a letter or digit) of at most 30 characters."
  }
}

variable "zones" {
  description = "The zones to run ECI instances in, zone ID to the vSwitch IDs of that zone (in order of preference, 1 to 10). One VNode is created per zone, named <cluster_name>-<zone ID>."
  type        = map(list(string))

  validation {
    condition     = length(var.zones) > 0
    error_message = "zones must name at least one zone."
  }
  validation {
    condition     = alltrue([for z in keys(var.zones) : can(regex("^[a-z]{2}-[a-z0-9-]+$", z))])
    error_message = "Every key of zones must be a zone ID such as cn-hangzhou-h."
  }
  validation {
    condition     = alltrue([for v in values(var.zones) : length(v) >= 1 && length(v) <= 10])
    error_message = "Every zone must list 1 to 10 vSwitch IDs."
  }
  validation {
    condition     = alltrue(flatten([for v in values(var.zones) : [for id in v : can(regex("^vsw-[a-z0-9-]+$", id))]]))
    error_message = "Every vSwitch ID must look like vsw-xxxxxxxx."
  }
}

variable "security_group_id" {
  description = "Security group (sg-...) of every ECI instance; it must be in the VPC of the vSwitches."
  type        = string

  validation {
    condition     = can(regex("^sg-[a-z0-9-]+$", var.security_group_id))
    error_message = "security_group_id must look like sg-xxxxxxxx."
  }
}

variable "namespaces" {
  description = "Namespaces whose pods overflow to ECI: a pod of one of them prefers the cluster's own nodes (policy normalNodePrefer) and runs on a VNode only when no normal node fits it."
  type        = list(string)

  validation {
    condition     = length(var.namespaces) > 0
    error_message = "namespaces must name at least one namespace."
  }
  validation {
    condition     = alltrue([for ns in var.namespaces : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", ns))])
    error_message = "Every namespace must be a lowercase DNS label of at most 63 characters."
  }
}

variable "tags" {
  description = "Tags of every ECI instance of the cluster's VNodes, on top of the provider's default_tags. The module adds cluster = <cluster_name>, which wins over a cluster key given here."
  type        = map(string)
  default     = {}
}

variable "vnode_capacity" {
  description = "What each VNode advertises to the scheduler, as Kubernetes quantities (cpu = \"1000\", memory = \"4Ti\", pods = \"500\"). An attribute left out takes the runtime's default."
  type = object({
    cpu    = optional(string)
    memory = optional(string)
    pods   = optional(string)
  })
  default  = {}
  nullable = false
}

variable "selector_name" {
  description = "Name of the eci-profile selector that sends the namespaces' overflow to ECI, a DNS label unique in the cluster's kube-system/eci-profile ConfigMap."
  type        = string
  default     = "eci-burst"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.selector_name))
    error_message = "selector_name must be a lowercase DNS label of at most 63 characters."
  }
}

variable "selector_priority" {
  description = "Priority of the selector among the cluster's eci-profile selectors; the highest that matches a pod applies."
  type        = number
  default     = 0
}

variable "pod_annotations" {
  description = "ECI annotations the selector adds to the pods it matches, unless a pod sets them itself, such as { \"k8s.aliyun.com/eci-use-specs\" = \"2-4Gi\" }."
  type        = map(string)
  default     = {}
}

# The knobs below default to what a real cluster wants; the local sandbox
# (make demo, the provider's tests) sets the other value.

variable "runtime_namespace" {
  description = "Namespace the runtime is installed in (created, and deleted on destroy)."
  type        = string
  default     = "eci-vnode-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.runtime_namespace))
    error_message = "runtime_namespace must be a lowercase DNS label of at most 63 characters."
  }
}

variable "credentials_as" {
  description = "How the VNodes receive the credentials: files (a mounted Secret, rotated keys are picked up) or env (environment variables, for hosts that mount no volumes, such as the local sandbox)."
  type        = string
  default     = "files"

  validation {
    condition     = contains(["files", "env"], var.credentials_as)
    error_message = "credentials_as must be files or env."
  }
}

variable "webhook_direct_url" {
  description = "Have the API server call the eci-profile webhook at its pod's IP instead of through its Service, for API servers that cannot reach Services (the local sandbox)."
  type        = bool
  default     = false
}
