// Command terraform-provider-eci serves the eci Terraform provider over plugin protocol 6.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/eci-vnode/terraform-provider-eci/internal/install"
	"github.com/eci-vnode/terraform-provider-eci/internal/provider"
)

// version is set at build time (goreleaser or the GNUmakefile) with -ldflags "-X main.version=...".
var version = "dev"

// imageDigest is the digest of the runtime image released with version, set by the release
// build (-X main.imageDigest=sha256:...; docs/design.md, "Releases"). Empty, the default
// image is not pinned.
var imageDigest = ""

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve (prints TF_REATTACH_PROVIDERS)")
	flag.Parse()
	if imageDigest != "" && !install.ValidDigest(imageDigest) {
		log.Fatalf("this build of the eci provider is broken: its runtime image digest %q is not sha256:<64 hex digits>", imageDigest)
	}

	err := providerserver.Serve(context.Background(), provider.New(version, imageDigest), providerserver.ServeOpts{
		Address: provider.RegistryAddress,
		Debug:   debug,
	})
	if err != nil {
		log.Fatalf("serve eci provider: %v", err)
	}
}
