package translate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reason is a stable, machine-readable class of translation problem. The
// runtime puts it in pod Events and conditions; tests and users can match on
// it. Values never change once released.
type Reason string

// The reasons a pod cannot be translated.
const (
	// ReasonUnsupported: the pod uses a Kubernetes feature ECI cannot provide.
	ReasonUnsupported Reason = "Unsupported"
	// ReasonInvalidAnnotation: an ECI annotation has a value ECI would reject
	// or that contradicts another annotation.
	ReasonInvalidAnnotation Reason = "InvalidAnnotation"
	// ReasonTooManyTags: owned + VNode + eci-custom-tags exceed ECI's 20.
	ReasonTooManyTags Reason = "TooManyTags"
	// ReasonMissingReference: a ConfigMap, Secret, key, PVC or PV the pod
	// needs does not exist (yet), or a PVC is not bound yet. Retryable: the
	// kubelet also waits for these.
	ReasonMissingReference Reason = "MissingReference"
	// ReasonLookupFailed: reading a referenced object failed for another
	// reason (API error, token request refused). Retryable.
	ReasonLookupFailed Reason = "LookupFailed"
	// ReasonInvalidSpec: the pod spec is inconsistent in a way Kubernetes
	// validation does not catch but ECI needs (unknown named port, GPU
	// without a GPU instance type, ...).
	ReasonInvalidSpec Reason = "InvalidSpec"
	// ReasonTooLarge: a value exceeds an ECI size limit (env value length,
	// config file size, number of volumes, instance size, ...).
	ReasonTooLarge Reason = "TooLarge"
	// ReasonInvalidNodeConfig: the VNode's own settings are unusable (a
	// reserved tag key, too many vSwitches). The operator must fix the VNode.
	ReasonInvalidNodeConfig Reason = "InvalidNodeConfig"
)

// Error is one problem that keeps a pod from becoming an ECI instance.
type Error struct {
	// Field is a JSON-path-like location in the pod (or the VNode):
	// spec.volumes[2].hostPath,
	// metadata.annotations["k8s.aliyun.com/eci-spot-price-limit"].
	Field string
	// Reason is the stable class of the problem.
	Reason Reason
	// Message says what is wrong and what to do instead.
	Message string
	// Err is the underlying cause, when there is one (a failed lookup).
	Err error
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same pod may translate later without being
// changed: a referenced object may appear, a claim may become bound, an API
// call may succeed next time.
func (e *Error) Retryable() bool {
	return e.Reason == ReasonMissingReference || e.Reason == ReasonLookupFailed
}

// Errors is every problem found in one pod, in a stable order (the order of
// the pod spec). Pod returns all of them at once so a user fixes the manifest
// in one round trip.
type Errors []*Error

func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "no problems"
	case 1:
		return es[0].Error()
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(es)))
	b.WriteString(" problems: ")
	for i, e := range es {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(") ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes each problem to errors.Is / errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Retryable reports whether every problem is retryable. One permanent
// problem means the pod must change, so retrying is pointless.
func (es Errors) Retryable() bool {
	for _, e := range es {
		if !e.Retryable() {
			return false
		}
	}
	return len(es) > 0
}

// Problems returns the translation problems inside err (which may be wrapped
// by the caller), or nil when err carries none.
func Problems(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

// IsRetryable reports whether err (from Pod, possibly wrapped) is worth
// retrying without a change to the pod.
func IsRetryable(err error) bool {
	if es := Problems(err); es != nil {
		return es.Retryable()
	}
	return false
}

// WarningReason classifies a Warning.
type WarningReason string

// The kinds of warning.
const (
	// WarnApproximated: the field is translated, but not exactly (a
	// startupProbe folded into the liveness probe, a readiness success
	// threshold lowered to 1, ...). The message says how.
	WarnApproximated WarningReason = "Approximated"
	// WarnIgnored: the field has no ECI equivalent and is left out; the pod
	// still runs as the message describes.
	WarnIgnored WarningReason = "Ignored"
	// WarnNoEffect: an ECI annotation that ECI's API has no parameter for
	// and this runtime does not implement.
	WarnNoEffect WarningReason = "NoEffect"
	// WarnOptionalMissing: an optional ConfigMap/Secret (or key) does not
	// exist and was skipped, as the kubelet does.
	WarnOptionalMissing WarningReason = "OptionalReferenceMissing"
	// WarnDefaulted: a value the pod left open was chosen (the default
	// 2 vCPU / 4 GiB size, extra ephemeral storage from requests, ...).
	WarnDefaulted WarningReason = "Defaulted"
	// WarnTokenExpires: a projected service account token expires soon
	// after the pod starts, and ECI never refreshes it. The message says
	// when and what to do instead.
	WarnTokenExpires WarningReason = "TokenExpires"
	// WarnKubeProxyDisabled: the pod opted out of the VNode's kube-proxy,
	// so its dnsPolicy ClusterFirst falls back to Default (ECI's DNS).
	WarnKubeProxyDisabled WarningReason = "KubeProxyDisabled"
)

// Warning is something translated approximately or left out. The runtime
// turns each into a Warning Event on the pod.
type Warning struct {
	Field   string
	Reason  WarningReason
	Message string
}

func (w Warning) String() string { return w.Field + ": " + w.Message }

// collector gathers problems and warnings for one pod.
type collector struct {
	errs  Errors
	warns []Warning
}

func (c *collector) fail(field string, reason Reason, format string, args ...any) {
	c.errs = append(c.errs, &Error{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (c *collector) failCause(field string, reason Reason, cause error, format string, args ...any) {
	c.errs = append(c.errs, &Error{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...), Err: cause})
}

func (c *collector) warn(field string, reason WarningReason, format string, args ...any) {
	c.warns = append(c.warns, Warning{Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

// annotationField is the Field of a problem with one annotation.
func annotationField(key string) string {
	return `metadata.annotations["` + key + `"]`
}

// index formats "<base>[i]" without fmt, for the field paths built on every
// pod.
func index(base string, i int) string {
	return base + "[" + strconv.Itoa(i) + "]"
}

// errorf is fmt.Errorf, named for the few plain errors this package makes.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
