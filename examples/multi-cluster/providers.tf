# One ECI account and region, two clusters: one provider configuration per
# cluster, told apart by alias. Credentials come from the environment
# (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET), so they
# are in no file.
#
# Keep a cluster's provider block until its module's resources are
# destroyed: Terraform needs it to delete them.

provider "eci" {
  alias    = "east"
  region   = var.region
  endpoint = var.endpoint

  default_tags = var.tags

  kubernetes {
    config_path = var.east_kubeconfig
  }
}

provider "eci" {
  alias    = "west"
  region   = var.region
  endpoint = var.endpoint

  default_tags = var.tags

  kubernetes {
    config_path = var.west_kubeconfig
  }
}
