package emulator

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

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

// api sends a CommonRequest and decodes the JSON answer into out (if not
// nil). Errors come back as the SDK's *errors.ServerError.
func api(t testing.TB, c *eci.Client, e *Emulator, action string, q map[string]string, out any) error {
	t.Helper()
	resp, err := common(t, c, e, action, q)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(resp.GetHttpContentBytes(), out); err != nil {
			t.Fatalf("%s: decode %s: %v", action, resp.GetHttpContentString(), err)
		}
	}
	return nil
}

// mustAPI is api that fails the test on error.
func mustAPI(t testing.TB, c *eci.Client, e *Emulator, action string, q map[string]string, out any) {
	t.Helper()
	if err := api(t, c, e, action, q, out); err != nil {
		t.Fatalf("%s: %v", action, err)
	}
}

// wantCode asserts err is an API error with code (and status if > 0).
func wantCode(t testing.TB, err error, code string, status int) {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if se.ErrorCode() != code || (status > 0 && se.HttpStatus() != status) {
		t.Fatalf("want %s/%d, got %s/%d: %s", code, status, se.ErrorCode(), se.HttpStatus(), se.Message())
	}
}

// createParams is a minimal valid CreateContainerGroup query plus extra.
func createParams(name string, extra map[string]string) map[string]string {
	q := map[string]string{"ContainerGroupName": name, "Container.1.Name": "app", "Container.1.Image": "nginx:1.25"}
	for k, v := range extra {
		if v == "" {
			delete(q, k)
			continue
		}
		q[k] = v
	}
	return q
}

func createGroup(t testing.TB, c *eci.Client, e *Emulator, name string, extra map[string]string) string {
	t.Helper()
	var out struct{ ContainerGroupId string }
	mustAPI(t, c, e, "CreateContainerGroup", createParams(name, extra), &out)
	if !strings.HasPrefix(out.ContainerGroupId, "eci-") || len(out.ContainerGroupId) != 24 {
		t.Fatalf("bad id %q", out.ContainerGroupId)
	}
	return out.ContainerGroupId
}

// groupView is the part of DescribeContainerGroups tests look at.
type groupView struct {
	ContainerGroupId, ContainerGroupName, Status, ZoneId, VSwitchId, IntranetIp, InstanceType string
	Cpu, Memory                                                                               float64
	Tags                                                                                      []struct{ Key, Value string }
	Events                                                                                    []struct {
		Count                                 int
		Type, Reason, Message, FirstTimestamp string
	}
	Containers []struct {
		Name                        string
		Ready                       bool
		RestartCount                int
		CurrentState, PreviousState struct {
			State, Reason, StartTime, FinishTime string
			ExitCode                             int
		}
	}
	InitContainers []struct {
		Name         string
		CurrentState struct {
			State, Reason string
			ExitCode      int
		}
	}
}

func describeOne(t testing.TB, c *eci.Client, e *Emulator, id string) (groupView, bool) {
	t.Helper()
	var out struct{ ContainerGroups []groupView }
	mustAPI(t, c, e, "DescribeContainerGroups", map[string]string{"ContainerGroupIds": `["` + id + `"]`, "WithEvent": "true"}, &out)
	if len(out.ContainerGroups) == 0 {
		return groupView{}, false
	}
	return out.ContainerGroups[0], true
}

func mustDescribe(t testing.TB, c *eci.Client, e *Emulator, id string) groupView {
	t.Helper()
	g, ok := describeOne(t, c, e, id)
	if !ok {
		t.Fatalf("group %s not found", id)
	}
	return g
}

func hasEvent(g groupView, reason string) bool {
	for _, ev := range g.Events {
		if ev.Reason == reason {
			return true
		}
	}
	return false
}
