# An installed runtime is imported by its namespace.
terraform import eci_runtime.this eci-vnode-system
