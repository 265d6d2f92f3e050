package sandbox

// GoreleaserVersion is the goreleaser that `make release-check` runs against .goreleaser.yml.
const GoreleaserVersion = "v2.15.1"

// goreleaserTool is built only for the release tooling (ToolOptions.Release), so the
// sandbox's first build does not wait for it.
var goreleaserTool = goTool{
	name: "goreleaser", pkg: "github.com/goreleaser/goreleaser/v2", version: GoreleaserVersion,
	estimate: "about 4 min on 2 cores",
}
