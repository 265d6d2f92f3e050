# The provider needs no settings yet; resources that manage VNodes, eci-profile
# rules and the runtime installation add their own arguments.
provider "eci" {}
