terraform {
  required_version = ">= 1.3"

  required_providers {
    eci = {
      source = "eci-vnode/eci"
    }
  }
}
