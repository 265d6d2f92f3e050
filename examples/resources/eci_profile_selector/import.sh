# A selector is imported by its name in the ConfigMap kube-system/eci-profile.
terraform import eci_profile_selector.burst shop-burst
