//go:build tools

// Package internal pins modules the project has chosen (docs/design.md,
// "Parts" and "Test ground") so that go mod tidy keeps the pinned versions
// while no package imports them. The build tag keeps this file out of
// every build.
package internal

import (
	_ "github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	_ "github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
	_ "github.com/gorilla/websocket"
	_ "github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	_ "golang.org/x/time/rate"
	_ "k8s.io/client-go/kubernetes"
)
