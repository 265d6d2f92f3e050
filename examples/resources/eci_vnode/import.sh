# A VNode is imported by its node name; the runtime's namespace is found from
# the labels of its Deployment.
terraform import eci_vnode.this vnode-hangzhou
