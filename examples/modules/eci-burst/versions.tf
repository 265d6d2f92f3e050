terraform {
  # optional() object attributes with defaults need Terraform 1.3.
  required_version = ">= 1.3"

  required_providers {
    eci = {
      source = "eci-vnode/eci"
    }
  }
}

# No provider block here: the caller configures the eci provider (region,
# credentials, and the cluster's kubernetes connection) and passes it in,
# with `providers = { eci = eci.<alias> }` when it manages several clusters.
