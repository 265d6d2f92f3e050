package eci

import (
	"errors"
	"strings"
	"testing"
)

func validRequest() *CreateContainerGroupRequest {
	return &CreateContainerGroupRequest{
		ContainerGroupName: "web", ClientToken: "uid-1",
		InitContainers: []InitContainer{{Name: "init", Image: "busybox", VolumeMounts: []VolumeMount{{Name: "data", MountPath: "/d"}}}},
		Containers:     []Container{{Name: "web", Image: "nginx", VolumeMounts: []VolumeMount{{Name: "data", MountPath: "/d"}, {Name: "cfg", MountPath: "/c"}}}},
		Volumes: []Volume{
			{Name: "data", Type: VolumeTypeEmptyDir},
			{Name: "cfg", Type: VolumeTypeConfigFile, ConfigFile: &ConfigFileVolume{Files: []ConfigFile{{Path: "a", Content: "YQ=="}}}},
		},
	}
}

func TestCreateValidate(t *testing.T) {
	if err := validRequest().Validate(); err != nil {
		t.Fatalf("valid request rejected: %v", err)
	}
	tests := []struct {
		name   string
		change func(r *CreateContainerGroupRequest)
		want   string
	}{
		{"no token", func(r *CreateContainerGroupRequest) { r.ClientToken = "" }, "ClientToken is required"},
		{"long token", func(r *CreateContainerGroupRequest) { r.ClientToken = strings.Repeat("x", 65) }, "at most 64"},
		{"non-ascii token", func(r *CreateContainerGroupRequest) { r.ClientToken = "uid-é" }, "printable ASCII"},
		{"no name", func(r *CreateContainerGroupRequest) { r.ContainerGroupName = "" }, "ContainerGroupName is required"},
		{"no containers", func(r *CreateContainerGroupRequest) { r.Containers = nil }, "at least one container"},
		{"no image", func(r *CreateContainerGroupRequest) { r.Containers[0].Image = "" }, "container 1: Name and Image are required"},
		{"duplicate names", func(r *CreateContainerGroupRequest) { r.InitContainers[0].Name = "web" }, `"web" is used twice`},
		{"undeclared volume", func(r *CreateContainerGroupRequest) { r.Containers[0].VolumeMounts[1].Name = "nope" }, `mounts volume "nope", which is not declared`},
		{"mount without path", func(r *CreateContainerGroupRequest) { r.InitContainers[0].VolumeMounts[0].MountPath = "" }, "has no MountPath"},
		{"volume type mismatch", func(r *CreateContainerGroupRequest) { r.Volumes[1].Type = VolumeTypeNFS }, "Type is NFSVolume but the ConfigFileVolume source is set"},
		{"volume source missing", func(r *CreateContainerGroupRequest) { r.Volumes[1].ConfigFile = nil }, "its source is not set"},
		{"unknown volume type", func(r *CreateContainerGroupRequest) { r.Volumes[0].Type = "Secret" }, `Type "Secret" is not one of`},
		{"duplicate volume", func(r *CreateContainerGroupRequest) { r.Volumes[1].Name = "data" }, `volume name "data" is used twice`},
		{"too many tags", func(r *CreateContainerGroupRequest) { r.Tags = make([]Tag, 21) }, "21 tags"},
		{"empty tag key", func(r *CreateContainerGroupRequest) { r.Tags = []Tag{{Value: "v"}} }, "empty key"},
		{"too many containers", func(r *CreateContainerGroupRequest) {
			for i := 0; i < 20; i++ {
				r.Containers = append(r.Containers, Container{Name: "c" + string(rune('a'+i)), Image: "x"})
			}
		}, "21 containers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRequest()
			tt.change(r)
			err := r.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
			if !errors.Is(err, ErrInvalidInput) || !strings.HasPrefix(err.Error(), "eci: CreateContainerGroup: ") {
				t.Errorf("error should be InvalidInput and name the action: %v", err)
			}
		})
	}
}
