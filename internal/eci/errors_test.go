package eci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
)

func serverError(status int, code, msg string) error {
	body := fmt.Sprintf(`{"RequestId":"REQ-1","HostId":"eci.aliyuncs.com","Code":%q,"Message":%q,"Recommend":"https://example"}`, code, msg)
	return sdkerrors.NewServerError(status, body, "")
}

func TestClassifyServerErrors(t *testing.T) {
	tests := []struct {
		status int
		code   string
		msg    string
		want   Class
	}{
		{400, "Throttling", "Request was denied due to request throttling.", ClassThrottled},
		{400, "Throttling.User", "Request was denied due to user flow control.", ClassThrottled},
		{400, "Throttling.Api", "", ClassThrottled},
		{400, "Rejected.Throttling", "", ClassThrottled},
		{400, "Degrade.Api", "The request was denied due to API flow control.", ClassThrottled},
		{500, "InternalError", "", ClassTransient},
		{503, "ServiceUnavailable", "", ClassTransient},
		{500, "UnknownError", "An unknown error occurred", ClassTransient},
		{502, "", "", ClassTransient},
		{400, "IncorrectStatus", "The current status of the resource does not support this operation, please retry again.", ClassTransient},
		{400, "InvalidParameter", "The specified parameter is invalid.", ClassInvalidInput},
		{400, "MissingParameter", "", ClassInvalidInput},
		{400, "InvalidParameter.Malformed", "", ClassInvalidInput},
		{400, "IdempotentParameterMismatch", "", ClassInvalidInput},
		{400, "UnsupportedOperation", "", ClassInvalidInput},
		{400, "IncorrectStatus.ContainerGroup", "not running", ClassInvalidInput},
		{400, "InvalidRegionId.NotFound", "", ClassInvalidInput},
		{400, "InvalidVSwitchId.NotFound", "", ClassInvalidInput},
		{400, "InvalidSecurityGroupId.NotFound", "", ClassInvalidInput},
		{400, "InvalidZoneId.NotFound", "", ClassInvalidInput},
		{404, "InvalidAction.NotFound", "", ClassInvalidInput},
		{403, "Forbidden.HostPathVolume", "", ClassInvalidInput},
		{403, "IncorrectStatus", "The current status of the resource does not support this operation. eci-1 is Failed; RestartContainerGroup needs Pending or Running.", ClassInvalidInput},
		{400, "InvalidImageCacheId.NotFound", "", ClassNotFound},
		{400, "InvalidResourceId.NotFound", "", ClassNotFound},
		{400, "QuotaExceed.ElasticQuota", "", ClassQuotaExceeded},
		{400, "InvalidTimeStamp.Expired", "", ClassAuth},
		{400, "InvalidAccessKeyId.Inactive", "", ClassAuth},
		{400, "InvalidParameter.NotFound", "", ClassNotFound},
		{404, "InvalidContainerGroupId.NotFound", "", ClassNotFound},
		{404, "ResourceNotFound", "", ClassNotFound},
		{404, "", "", ClassNotFound},
		{400, "InvalidAccessKeyId.NotFound", "", ClassAuth},
		{403, "SignatureDoesNotMatch", "", ClassAuth},
		{403, "Forbidden.RAM", "", ClassAuth},
		{400, "InvalidSecurityToken.Expired", "", ClassAuth},
		{403, "", "", ClassAuth},
		{400, "OperationDenied.NoStock", "", ClassNoStock},
		{400, "RecommendEmpty.InstanceTypeNoStock", "", ClassNoStock},
		{400, "NoStock", "", ClassNoStock},
		{400, "QuotaExceed.Cpu", "", ClassQuotaExceeded},
		{400, "DiskNumber.LimitExceed", "", ClassQuotaExceeded},
		{400, "Account.Arrearage", "", ClassQuotaExceeded},
		{400, "SomethingNew", "", ClassUnknown},
	}
	for _, tt := range tests {
		err := newAPIError("CreateContainerGroup", serverError(tt.status, tt.code, tt.msg))
		if err.Class != tt.want {
			t.Errorf("%d %s: class %s, want %s", tt.status, tt.code, err.Class, tt.want)
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%d %s: errors.Is(err, %s) is false", tt.status, tt.code, tt.want)
		}
		if ClassOf(fmt.Errorf("wrapped: %w", err)) != tt.want {
			t.Errorf("%d %s: ClassOf through wrapping lost the class", tt.status, tt.code)
		}
		if err.RequestID != "REQ-1" || err.HTTPStatus != tt.status || err.Code != tt.code {
			t.Errorf("fields not kept: %+v", err)
		}
	}
}

func TestAPIErrorMessage(t *testing.T) {
	err := newAPIError("CreateContainerGroup", serverError(400, "InvalidParameter", "The specified Cpu is invalid."))
	want := "eci: CreateContainerGroup: InvalidParameter: The specified Cpu is invalid. (request id REQ-1)"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err.Error(), want)
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrThrottled) {
		t.Error("matches a class it does not have")
	}
	err.Attempts = 3
	if !strings.HasSuffix(err.Error(), "(after 3 attempts)") {
		t.Errorf("attempt count missing: %s", err)
	}
}

func TestClassifyTransportErrors(t *testing.T) {
	wrap := func(e error) error { return &url.Error{Op: "Post", URL: "http://127.0.0.1:1/?Action=X", Err: e} }
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"refused", wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), ClassTransient},
		{"reset", wrap(&net.OpError{Op: "read", Err: syscall.ECONNRESET}), ClassTransient},
		{"eof", wrap(io.EOF), ClassTransient},
		{"unexpected eof", wrap(io.ErrUnexpectedEOF), ClassTransient},
		{"attempt timeout", wrap(context.DeadlineExceeded), ClassTransient},
		{"dns not found", wrap(&net.DNSError{Err: "no such host", Name: "eci.nowhere", IsNotFound: true}), ClassInvalidInput},
		{"dns temporary", wrap(&net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}), ClassTransient},
		{"sdk timeout", sdkerrors.NewClientError(sdkerrors.TimeoutErrorCode, "timed out", nil), ClassTransient},
		{"sdk json", sdkerrors.NewClientError(sdkerrors.JsonUnmarshalErrorCode, "bad json", nil), ClassUnknown},
		{"other", errors.New("weird"), ClassUnknown},
	}
	for _, tt := range tests {
		if got := newAPIError("X", tt.err).Class; got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestClassOfPlainErrors(t *testing.T) {
	if ClassOf(nil) != ClassUnknown || ClassOf(context.Canceled) != ClassUnknown {
		t.Error("non-API errors must be Unknown")
	}
	if ClassOf(fmt.Errorf("x: %w", ErrNoStock)) != ClassNoStock {
		t.Error("a wrapped Class sentinel keeps its class")
	}
	if !ClassThrottled.Retryable() || !ClassTransient.Retryable() || ClassInvalidInput.Retryable() || ClassNoStock.Retryable() {
		t.Error("Retryable set is wrong")
	}
}

func TestSignatureMismatchMessageOmitsStringToSign(t *testing.T) {
	err := newAPIError("DescribeRegions", serverError(403, "SignatureDoesNotMatch",
		"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DSTS.x%26SecurityToken%3Dtok"))
	if strings.Contains(err.Error(), "tok") || strings.Contains(err.Error(), "AccessKeyId") {
		t.Errorf("message keeps the string to sign: %v", err)
	}
	if err.Class != ClassAuth || !strings.Contains(err.Message, "Specified signature is not matched with our calculation.") {
		t.Errorf("got %+v", err)
	}
}

func TestServerErrorIsOneLine(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantParts []string
	}{
		{
			name:      "a JSON answer whose message spans lines",
			err:       serverError(400, "InvalidParameter", "The specified Cpu is invalid.\nValid values:\n  0.25, 0.5, 1"),
			wantParts: []string{"InvalidParameter", "The specified Cpu is invalid.; Valid values:; 0.25, 0.5, 1", "request id REQ-1"},
		},
		{
			name:      "a gateway's HTML page instead of JSON",
			err:       sdkerrors.NewServerError(502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\n</body>\n</html>\n", ""),
			wantParts: []string{"502 Bad Gateway"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.err.Error(), "\n") {
				t.Fatalf("the SDK's own text is expected to span lines: %q", tt.err.Error())
			}
			got := newAPIError("CreateContainerGroup", tt.err).Error()
			if strings.ContainsAny(got, "\r\n") {
				t.Fatalf("error spans lines: %q", got)
			}
			for _, p := range tt.wantParts {
				if !strings.Contains(got, p) {
					t.Errorf("error %q lacks %q", got, p)
				}
			}
		})
	}
}

func TestHugeServerMessageIsCut(t *testing.T) {
	page := "<html><body>" + strings.Repeat("x", 10_000) + "</body></html>"
	got := newAPIError("DescribeRegions", sdkerrors.NewServerError(503, page, "")).Error()
	if len(got) > 2*maxMessage || !strings.Contains(got, "(truncated)") {
		t.Fatalf("a %d-byte page gave a %d-byte error: %.200q", len(page), len(got), got)
	}
}
