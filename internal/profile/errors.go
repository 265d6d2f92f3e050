package profile

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field of the profile.
type FieldError struct {
	// Selector is the index of the selector in Profile.Selectors (document order), or
	// -1 when the problem is not about one selector (or a lone selector was checked).
	Selector int
	// Path names the field, e.g. selectors[2].objectSelector.matchExpressions[0].operator.
	Path string
	// Message says what is wrong and, where it helps, what would be right.
	Message string
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Problems is every problem found, in document order. Parse and Validate return it (as
// error, possibly wrapped): users fix a hand-edited ConfigMap in one pass instead of
// one error per kubectl edit. Use errors.As to get at the list.
type Problems []*FieldError

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each problem to errors.Is and errors.As.
func (ps Problems) Unwrap() []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

// collector gathers problems while decoding or validating.
type collector struct {
	problems Problems
}

func (c *collector) addf(sel int, path, format string, args ...any) {
	c.problems = append(c.problems, &FieldError{Selector: sel, Path: path, Message: fmt.Sprintf(format, args...)})
}

// err returns the problems as an error, or a true nil when there are none.
func (c *collector) err() error {
	if len(c.problems) == 0 {
		return nil
	}
	return c.problems
}

// field appends a member name to a path; the empty path is the root.
func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// index appends a list index or a map key to a path, Kubernetes style: a[0], m[key].
func index(path string, i any) string {
	return fmt.Sprintf("%s[%v]", path, i)
}
