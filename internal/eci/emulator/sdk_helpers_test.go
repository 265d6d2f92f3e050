package emulator

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/eci"
)

// newClient returns an unmodified v1 SDK client pointed at e.
func newClient(t testing.TB, e *Emulator) *eci.Client {
	t.Helper()
	cr := e.Credentials()[0]
	c, err := eci.NewClientWithAccessKey(e.Region(), cr.AccessKeyID, cr.AccessKeySecret)
	if err != nil {
		t.Fatalf("new sdk client: %v", err)
	}
	c.Domain = e.Endpoint()
	return c
}

// common sends a CommonRequest for actions the v1 SDK lacks.
func common(t testing.TB, c *eci.Client, e *Emulator, action string, q map[string]string) (*responses.CommonResponse, error) {
	t.Helper()
	req := requests.NewCommonRequest()
	req.Method = "POST"
	req.Product = "Eci"
	req.Version = "2018-08-08"
	req.ApiName = action
	req.Domain = e.Endpoint()
	req.Scheme = "http"
	for k, v := range q {
		req.QueryParams[k] = v
	}
	return c.ProcessCommonRequest(req)
}
