# Credentials and region can also come from the environment:
# ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET / ALIBABA_CLOUD_REGION_ID,
# or the alicloud provider's ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY / ALICLOUD_REGION.
provider "eci" {
  region = "cn-hangzhou"

  default_tags = {
    team = "platform"
  }

  # The cluster the VNodes join: a kubeconfig file ...
  kubernetes {
    config_path    = "~/.kube/config"
    config_context = "prod"
  }
}

# ... or the API server and its credentials, as the kubernetes and helm
# providers take them.
provider "eci" {
  alias  = "direct"
  region = "cn-hangzhou"

  kubernetes {
    host                   = "https://203.0.113.10:6443"
    cluster_ca_certificate = file("ca.pem")
    token                  = var.kube_token
  }
}

variable "kube_token" {
  type      = string
  sensitive = true
}
