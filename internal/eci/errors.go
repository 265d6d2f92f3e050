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
	"unicode/utf8"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
)

// Class is what a caller needs to decide about a failed call, without
// matching error strings. Each Class is itself an error value, so
//
//	errors.Is(err, eci.ErrNotFound)
//
// works, as does eci.ClassOf(err) == eci.ClassThrottled.
type Class int

// The classes. Unknown is the zero value on purpose: an error we cannot
// place is never mistaken for a benign one.
const (
	ClassUnknown       Class = iota
	ClassNotFound            // the resource does not exist (or no longer)
	ClassThrottled           // API flow control; retried with back-off
	ClassNoStock             // no capacity for the requested spec/zone
	ClassInvalidInput        // the request is wrong; retrying cannot help
	ClassQuotaExceeded       // an account quota or limit is reached, or the account is in arrears
	ClassTransient           // server-side hiccup or network failure; retried
	ClassAuth                // credentials rejected or permission denied
)

// Sentinels for errors.Is. They are constants, not variables.
const (
	ErrUnknown       = ClassUnknown
	ErrNotFound      = ClassNotFound
	ErrThrottled     = ClassThrottled
	ErrNoStock       = ClassNoStock
	ErrInvalidInput  = ClassInvalidInput
	ErrQuotaExceeded = ClassQuotaExceeded
	ErrTransient     = ClassTransient
	ErrAuth          = ClassAuth
)

func (c Class) String() string {
	switch c {
	case ClassNotFound:
		return "NotFound"
	case ClassThrottled:
		return "Throttled"
	case ClassNoStock:
		return "NoStock"
	case ClassInvalidInput:
		return "InvalidInput"
	case ClassQuotaExceeded:
		return "QuotaExceeded"
	case ClassTransient:
		return "Transient"
	case ClassAuth:
		return "Auth"
	}
	return "Unknown"
}

// Error makes a Class usable as an errors.Is target.
func (c Class) Error() string { return "eci: " + c.String() }

// Retryable reports whether the client retries errors of this class.
func (c Class) Retryable() bool { return c == ClassThrottled || c == ClassTransient }

// APIError is a failed ECI call, after retries.
type APIError struct {
	Action     string // e.g. "CreateContainerGroup"
	Code       string // ECI error code, e.g. "InvalidParameter"; "" for transport errors
	Message    string // the server's message (or the transport error text)
	RequestID  string // the server's request ID, for support tickets
	HTTPStatus int    // 0 when no response arrived
	Class      Class
	Attempts   int   // attempts made, including the first
	Err        error // underlying transport/SDK error, if any
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("eci: ")
	b.WriteString(e.Action)
	b.WriteString(": ")
	b.WriteString(e.summary())
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

// summary is the error without the action and attempt count. It is one
// line whatever the message holds (an HTML error page from a proxy, text
// that the SDK formats over several lines), because log lines and pod status
// messages are read one line at a time.
func (e *APIError) summary() string {
	var b strings.Builder
	if e.Code != "" {
		b.WriteString(oneLine(e.Code))
		if e.Message != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(oneLine(e.Message))
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(oneLine(e.RequestID))
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap exposes the underlying transport error (e.g. *url.Error).
func (e *APIError) Unwrap() error { return e.Err }

// Is matches the error's Class, so errors.Is(err, eci.ErrNotFound) works.
func (e *APIError) Is(target error) bool {
	c, ok := target.(Class)
	return ok && c == e.Class
}

// ClassOf returns the Class of err: the class of an *APIError or Class in
// its chain, ClassUnknown otherwise (including context cancellation, which
// callers detect with errors.Is(err, context.Canceled)).
func ClassOf(err error) Class {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class
	}
	var c Class
	if errors.As(err, &c) {
		return c
	}
	return ClassUnknown
}

// IsNotFound is shorthand for errors.Is(err, ErrNotFound).
func IsNotFound(err error) bool { return ClassOf(err) == ClassNotFound }

// oneLine joins the lines of s with "; ", dropping blank ones and the white
// space around each, and caps the result at maxMessage bytes.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		var parts []string
		for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
		s = strings.Join(parts, "; ")
	}
	if len(s) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "… (truncated)"
	}
	return s
}

// maxMessage bounds a message kept from the server: a gateway can answer
// with a whole HTML page, which helps nobody in a log line or pod status.
const maxMessage = 1024

// classifyCode maps an ECI / POP gateway error code (and HTTP status) to a
// Class. The codes are those of the ECI API reference pages (each action's
// error code table, e.g.
// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-createcontainergroup)
// and the gateway's common codes for signing and flow control, summarised in
// docs/design.md, "ECI API facts" ("Wire format and signing", "Quotas");
// anything unlisted falls back on the HTTP status.
func classifyCode(code string, status int, message string) Class {
	lc := strings.ToLower(code)
	switch {
	// Credentials first: InvalidAccessKeyId.NotFound is an auth failure, not
	// a missing resource.
	case strings.HasPrefix(lc, "invalidaccesskeyid"),
		strings.HasPrefix(lc, "invalidsecuritytoken"),
		strings.HasPrefix(lc, "signaturedoesnotmatch"),
		strings.HasPrefix(lc, "incompletesignature"),
		lc == "forbidden",
		strings.HasPrefix(lc, "forbidden.ram"),
		strings.HasPrefix(lc, "forbidden.risk"),
		strings.HasPrefix(lc, "forbidden.user"),
		strings.HasPrefix(lc, "forbidden.subuser"),
		strings.HasPrefix(lc, "forbidden.access"),
		strings.HasPrefix(lc, "forbidden.account"),
		strings.HasPrefix(lc, "nopermission"),
		strings.HasPrefix(lc, "invalidtimestamp"),
		lc == "accessdenied",
		strings.HasPrefix(lc, "createservicelinkedrole.denied"):
		return ClassAuth

	// Flow control: Throttling, Throttling.User, Throttling.Api,
	// Rejected.Throttling, and ECI's Degrade.Api.
	case strings.HasPrefix(lc, "throttling"),
		strings.Contains(lc, ".throttling"),
		strings.HasPrefix(lc, "degrade."),
		lc == "servicebusy",
		lc == "flowcontrol":
		return ClassThrottled

	// A wrong region, zone, network or action is a configuration error, not
	// a missing resource: a caller that drops state on NotFound must not do
	// so for these. Other Forbidden.* codes refuse a feature (e.g.
	// Forbidden.HostPathVolume), which is the request's fault.
	case strings.HasPrefix(lc, "invalidregionid"),
		strings.HasPrefix(lc, "invalidzoneid"),
		strings.HasPrefix(lc, "invalidvswitchid"),
		strings.HasPrefix(lc, "invalidsecuritygroupid"),
		strings.HasPrefix(lc, "invalidaction"),
		strings.HasPrefix(lc, "forbidden."):
		return ClassInvalidInput

	case strings.Contains(lc, "nostock"),
		strings.Contains(lc, "stockexhaust"),
		strings.Contains(lc, "stockclose"),
		strings.Contains(lc, "insufficientstock"),
		strings.Contains(lc, "outofstock"),
		strings.HasPrefix(lc, "recommendempty"):
		return ClassNoStock

	case strings.Contains(lc, "quota"),
		strings.Contains(lc, "limitexceed"),
		strings.HasPrefix(lc, "account.arrearage"),
		strings.Contains(lc, "insufficientbalance"):
		return ClassQuotaExceeded

	case strings.HasSuffix(lc, ".notfound"),
		strings.HasSuffix(lc, "notfound"),
		lc == "notfound",
		strings.Contains(lc, "notexist"):
		return ClassNotFound

	case lc == "internalerror",
		lc == "serviceunavailable",
		lc == "unknownerror",
		strings.HasPrefix(lc, "internalerror."),
		lc == "servicetimeout",
		lc == "signaturenonceused", // our retries re-sign with a new nonce
		strings.Contains(lc, "timeout"),
		strings.Contains(strings.ToLower(message), "please retry"):
		return ClassTransient

	case strings.HasPrefix(lc, "invalid"),
		strings.HasPrefix(lc, "missing"),
		strings.HasPrefix(lc, "unsupported"),
		strings.HasPrefix(lc, "incorrect"),
		strings.HasSuffix(lc, ".malformed"),
		strings.HasPrefix(lc, "operationdenied"),
		strings.HasPrefix(lc, "dependencyviolation"),
		strings.HasPrefix(lc, "idempotentparameter"),
		strings.HasPrefix(lc, "featurebasedconstraintconflict"),
		strings.HasPrefix(lc, "nosuchversion"),
		strings.HasPrefix(lc, "dryrun"):
		return ClassInvalidInput
	}
	switch {
	case status == 401 || status == 403:
		return ClassAuth
	case status == 404:
		return ClassNotFound
	case status == 429:
		return ClassThrottled
	case status >= 500:
		return ClassTransient
	}
	return ClassUnknown
}

// classifyTransport decides whether an error without an HTTP answer is
// worth retrying: refused/reset connections, timeouts and truncated
// responses are; TLS/certificate and malformed-URL errors are not.
func classifyTransport(err error) Class {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded): // the per-attempt timeout
		return ClassTransient
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ClassTransient
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTemporary || dnsErr.IsTimeout {
			return ClassTransient
		}
		return ClassInvalidInput // the endpoint host does not exist
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return ClassTransient
	}
	msg := err.Error()
	if strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "server closed idle connection") {
		return ClassTransient
	}
	return ClassUnknown
}

// newAPIError converts whatever one SDK attempt returned into an *APIError.
func newAPIError(action string, err error) *APIError {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		msg := se.Message()
		// SignatureDoesNotMatch echoes the server's string to sign, which
		// holds every request parameter, SecurityToken included.
		if i := strings.Index(strings.ToLower(msg), "string to sign is:"); i >= 0 {
			if j := strings.LastIndex(strings.ToLower(msg[:i]), "server"); j >= 0 && strings.TrimSpace(msg[j+len("server"):i]) == "" {
				i = j
			}
			msg = strings.TrimRight(msg[:i], " ,;:") + " (string to sign omitted)"
			if strings.HasPrefix(se.Recommend(), "InvalidAccessKeySecret") {
				// The SDK compared both strings to sign: they match, so
				// the only difference is the key.
				msg += "; the request was signed correctly, so the AccessKeySecret is wrong"
			}
		}
		return &APIError{
			Action:     action,
			Code:       se.ErrorCode(),
			Message:    oneLine(msg),
			RequestID:  se.RequestId(),
			HTTPStatus: se.HttpStatus(),
			Class:      classifyCode(se.ErrorCode(), se.HttpStatus(), msg),
		}
	}
	var ce *sdkerrors.ClientError
	if errors.As(err, &ce) {
		class := ClassUnknown
		switch ce.ErrorCode() {
		case sdkerrors.TimeoutErrorCode:
			class = ClassTransient
		case sdkerrors.MissingParamErrorCode, sdkerrors.InvalidParamErrorCode,
			sdkerrors.UnsupportedParamPositionErrorCode, sdkerrors.CanNotResolveEndpointErrorCode:
			class = ClassInvalidInput
		case sdkerrors.UnsupportedCredentialErrorCode:
			class = ClassAuth
		}
		origin := ce.OriginError()
		if origin != nil {
			origin = scrubURL(origin)
			if class == ClassUnknown {
				class = classifyTransport(origin)
			}
		}
		return &APIError{Action: action, Code: ce.ErrorCode(), Message: oneLine(ce.Message()), Class: class, Err: origin}
	}
	err = scrubURL(err)
	return &APIError{Action: action, Message: oneLine(err.Error()), Class: classifyTransport(err), Err: err}
}

// scrubURL removes the query string from a *url.Error. The SDK puts every
// parameter in the query, including AccessKeyId, Signature and, for STS
// credentials, the SecurityToken, and url.Error prints the whole URL.
func scrubURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	clean := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		clean = u.String()
	} else if i := strings.IndexByte(clean, '?'); i >= 0 {
		clean = clean[:i]
	}
	return &url.Error{Op: ue.Op, URL: clean, Err: ue.Err}
}
