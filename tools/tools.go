//go:build tools

// Package tools pins the documentation generator in its own module so its
// dependencies never enter the provider's module graph.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
