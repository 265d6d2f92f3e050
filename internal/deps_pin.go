//go:build tools

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
