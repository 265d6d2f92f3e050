package sandbox

import (
	"fmt"
	"strings"
)

// RuntimeImageRepository is the bundled runtime's image; containers with this image (any
// tag or digest) run the locally built eci-vnode binary.
const RuntimeImageRepository = "ghcr.io/eci-vnode/eci-vnode"

// isRuntimeImage reports whether image names the runtime image, with or without a tag and/or
// digest.
func isRuntimeImage(image string) bool {
	return imageRepository(image) == RuntimeImageRepository
}

// imageRepository strips the digest and the tag from an image reference.
func imageRepository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	// A tag follows the last colon after the last slash (a colon before it is a registry port).
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// isRuntimeCommand reports whether a pod spec's command names the binary inside the image.
func isRuntimeCommand(name string) bool {
	switch name {
	case "eci-vnode", "/eci-vnode", "/usr/local/bin/eci-vnode":
		return true
	}
	return false
}

// runtimeArgv maps a container's command and args (already expanded) to the arguments of the
// local binary. An empty command means the image's entrypoint, which is eci-vnode.
func runtimeArgv(command, args []string) ([]string, error) {
	if len(command) == 0 {
		return append([]string(nil), args...), nil
	}
	if !isRuntimeCommand(command[0]) {
		return nil, fmt.Errorf("the sandbox runs only eci-vnode from image %s, not command %q", RuntimeImageRepository, command[0])
	}
	return append(append([]string(nil), command[1:]...), args...), nil
}
