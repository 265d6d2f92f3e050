package eci

import "strings"

// UpdateType values. RenewUpdate is the documented full update in which list
// parameters (containers, volumes, tags, ...) must be given completely.
const (
	UpdateTypeRenew       = "RenewUpdate"
	UpdateTypeIncremental = "IncrementalUpdate" // lists are merged by name
)

// UpdateContainerGroupRequest is every parameter of UpdateContainerGroup
// except RegionId. Only Pending and Running groups can be updated; the group
// passes through Updating.
//
// It reuses the create model's Container, InitContainer and Volume types so a
// translated pod can be sent either way. The update API accepts fewer fields
// than create (no DiskVolume, no
// file modes, no security-context flags such as Privileged); such fields are
// still sent when set and ECI decides, rather than being dropped here.
type UpdateContainerGroupRequest struct {
	ContainerGroupID string `wire:"ContainerGroupId"` // required
	ClientToken      string `wire:"ClientToken"`
	UpdateType       string `wire:"UpdateType"`

	Containers     []Container     `wire:"Container"`
	InitContainers []InitContainer `wire:"InitContainer"`
	Volumes        []Volume        `wire:"Volume"`
	RestartPolicy  string          `wire:"RestartPolicy"`
	CPU            float64         `wire:"Cpu"`
	Memory         float64         `wire:"Memory"`
	DNSConfig      *DNSConfig      `wire:"DnsConfig"`

	ImageRegistryCredentials []ImageRegistryCredential `wire:"ImageRegistryCredential"`
	ACRRegistryInfos         []ACRRegistryInfo         `wire:"AcrRegistryInfo"`

	ResourceGroupID string `wire:"ResourceGroupId"`
	Tags            []Tag  `wire:"Tag"`

	OwnerID              int64  `wire:"OwnerId"`
	OwnerAccount         string `wire:"OwnerAccount"`
	ResourceOwnerID      int64  `wire:"ResourceOwnerId"`
	ResourceOwnerAccount string `wire:"ResourceOwnerAccount"`
}

// wireParams encodes the update. The update API names the postStart header
// list LifecyclePostStartHandlerHttpGetHttpHeaders (plural) while create and
// preStop use the singular, so the key is renamed here.
func (r *UpdateContainerGroupRequest) wireParams() (wireParams, error) {
	p, err := encodeWire(r)
	if err != nil {
		return nil, err
	}
	const singular = "LifecyclePostStartHandlerHttpGetHttpHeader."
	const plural = "LifecyclePostStartHandlerHttpGetHttpHeaders."
	for k, v := range p {
		if strings.Contains(k, singular) {
			delete(p, k)
			p[strings.Replace(k, singular, plural, 1)] = v
		}
	}
	return p, nil
}
