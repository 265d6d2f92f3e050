//go:build tools

// Package tools pins the documentation generator and the static checker in
// their own module so their dependencies never enter the provider's module graph.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
