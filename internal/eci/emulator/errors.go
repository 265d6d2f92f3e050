package emulator

import (
	"fmt"
	"net/http"
)

// apiError is an error the emulator reports to the caller in Alibaba Cloud's
// JSON error envelope. Handlers return it; the wire layer renders it.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

func newErr(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Gateway (POP) level errors, from Alibaba Cloud's common error table.
func errMissing(param string) *apiError {
	return newErr(http.StatusBadRequest, "MissingParameter",
		"The input parameter %q that is mandatory for processing this request is not supplied.", param)
}

func errInvalid(param, format string, args ...any) *apiError {
	msg := fmt.Sprintf("The specified parameter %q is not valid.", param)
	if format != "" {
		msg += " " + fmt.Sprintf(format, args...)
	}
	return &apiError{Status: http.StatusBadRequest, Code: "InvalidParameter", Message: msg}
}

func errInvalidCode(code, format string, args ...any) *apiError {
	return newErr(http.StatusBadRequest, code, format, args...)
}

// errNotFound reports an unknown resource ID (HTTP 404, as ECS reports
// its *.NotFound codes).
func errNotFound(code, format string, args ...any) *apiError {
	return newErr(http.StatusNotFound, code, format, args...)
}

func errIncorrectStatus(id, status, op string) *apiError {
	return newErr(http.StatusForbidden, "IncorrectStatus",
		"The current status of the resource does not support this operation. %s is %s; %s needs Pending or Running.", id, status, op)
}

// errInvalidVersion is the gateway's answer to a Version the product does
// not serve: code InvalidVersion, HTTP 400, with this message (as reported
// from the real gateway in, e.g.,
// https://github.com/aliyun/aliyun-openapi-java-sdk/issues/23 and
// https://developer.aliyun.com/ask/612698, where a Tea client shows
// "code: 400"). Some common error tables list NoSuchVersion instead; the
// reports of real answers show InvalidVersion.
func errInvalidVersion() *apiError {
	return newErr(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid.")
}

func errThrottled() *apiError {
	return newErr(http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
}

func errInternal(format string, args ...any) *apiError {
	return newErr(http.StatusInternalServerError, "InternalError",
		"The request processing has failed due to some unknown error, exception or failure. "+format, args...)
}

// errorBody is the JSON envelope the SDK reads with jmespath
// (RequestId, HostId, Code, Message, Recommend).
type errorBody struct {
	RequestId string `json:"RequestId"`
	HostId    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

func recommendURL(code, requestID string) string {
	return "https://api.aliyun.com/troubleshoot?q=" + code + "&product=Eci&requestId=" + requestID
}

// errQuota reports the regional vCPU quota being exceeded. ECI's own code
// for this is not in its public error code list
// (https://help.aliyun.com/en/eci/developer-reference/api-eci-2018-08-08-errorcodes);
// QuotaExceed.ElasticQuota is the code ECS (on which ECI runs) uses for its
// vCPU quota.
func errQuota(used, requested, maxCPU float64) *apiError {
	return newErr(http.StatusForbidden, "QuotaExceed.ElasticQuota",
		"The vCPU quota of this region is exceeded: %s in use + %s requested > %s.", fmtNum(used), fmtNum(requested), fmtNum(maxCPU))
}
