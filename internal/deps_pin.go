//go:build tools

// Package internal pins modules the project has chosen (docs/design.md,
// "Parts" and "Test ground") but whose first importers are still to come —
// terraform-plugin-testing for the provider's acceptance tests — so that go
// mod tidy keeps the pinned versions. The build tag keeps this file out of
// every build.
package internal

import (
	_ "github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	_ "github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	_ "github.com/gorilla/websocket"
	_ "github.com/hashicorp/terraform-plugin-framework/provider"
	_ "github.com/hashicorp/terraform-plugin-framework/providerserver"
	_ "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	_ "github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	_ "golang.org/x/time/rate"
	_ "k8s.io/client-go/kubernetes"
)
