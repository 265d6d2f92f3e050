package sandbox

// terraformTool is the Terraform CLI the tests and the quick start drive.
var terraformTool = goTool{
	name: "terraform", pkg: "github.com/hashicorp/terraform", version: TerraformVersion,
	estimate: "about 2 min on 2 cores",
}
