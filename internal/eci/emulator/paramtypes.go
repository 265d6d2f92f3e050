package emulator

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// reader converts tree values to typed values and keeps the first
// conversion error, so a handler can read all of its parameters and check
// once, the way the service reports the first invalid parameter.
type reader struct{ err *apiError }

func (r *reader) fail(e *apiError) {
	if r.err == nil {
		r.err = e
	}
}

func (r *reader) int(v Value, def int64) int64 {
	if !v.HasValue() || v.String() == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.String()), 10, 64)
	if err != nil {
		r.fail(errInvalid(v.Path(), "It must be an integer."))
		return def
	}
	return n
}

func (r *reader) float(v Value, def float64) float64 {
	if !v.HasValue() || v.String() == "" {
		return def
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.String()), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		r.fail(errInvalid(v.Path(), "It must be a number."))
		return def
	}
	return f
}

func (r *reader) bool(v Value, def bool) bool {
	if !v.HasValue() || v.String() == "" {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v.String())) {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail(errInvalid(v.Path(), "It must be true or false."))
	return def
}

// jsonStrings reads a parameter that carries a JSON array of strings, such
// as ContainerGroupIds or ExecContainerCommand's Command.
func (r *reader) jsonStrings(v Value) []string {
	if !v.HasValue() || strings.TrimSpace(v.String()) == "" {
		return nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v.String()), &out); err != nil {
		r.fail(errInvalid(v.Path(), "It must be a JSON array of strings."))
		return nil
	}
	return out
}

// oneOf checks an enumerated string parameter; "" passes (the caller
// applies the default).
func (r *reader) oneOf(v Value, allowed ...string) string {
	s := v.String()
	if s == "" {
		return s
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	r.fail(errInvalid(v.Path(), "Valid values: %s.", strings.Join(allowed, ", ")))
	return s
}
