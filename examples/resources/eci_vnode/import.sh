# A bundled VNode is imported by its node name; the runtime's namespace is
# found from the labels of its Deployment.
terraform import eci_vnode.this vnode-hangzhou

# A managed VNode is imported by the ID ECI gave it.
terraform import eci_vnode.managed vnd-2ze960zkdqrldeaw1234
