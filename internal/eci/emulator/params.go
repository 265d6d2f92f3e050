package emulator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Limits that keep the parser's work bounded whatever a client sends. Real
// requests are far below them (the deepest SDK key has six segments,
// Container.1.LivenessProbe.HttpGet.Path; the largest list index is 20).
const (
	maxParamCount = 4096
	maxParamDepth = 12
	maxListIndex  = 1000
	maxKeyLength  = 512
)

// v1JunkValue is what alibaba-cloud-sdk-go v1 sends for probe Exec.Command
// because the field lacks type:"Repeated": reflect.Value.String() of a
// slice. The real service ignores the key (the defined parameter is
// Exec.Command.N), so the tree treats it as absent.
const v1JunkValue = "<[]string Value>"

// node is one position in the parameter tree built from flattened keys
// such as Container.1.VolumeMount.2.MountPath. A node may carry a scalar
// value, named children, and 1-based list items at the same time, because
// the flat encoding cannot rule that out.
type node struct {
	value    string
	hasValue bool
	fields   map[string]*node
	items    map[int]*node
}

// Params is the parsed request: the flat map (for signing) and the tree
// (for handlers).
type Params struct {
	flat map[string]string
	root *node
}

// ParseParams builds the parameter tree from flat key/value pairs. It
// rejects only keys it cannot place (empty segments, absurd depth or list
// index) so that an unknown but well-formed parameter is ignored, as the
// real service ignores it.
func ParseParams(flat map[string]string) (*Params, error) {
	if len(flat) > maxParamCount {
		return nil, fmt.Errorf("too many parameters: %d > %d", len(flat), maxParamCount)
	}
	p := &Params{flat: flat, root: &node{}}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error reporting
	for _, k := range keys {
		if err := p.root.insert(k, flat[k]); err != nil {
			return nil, fmt.Errorf("parameter %q: %w", truncate(k, 64), err)
		}
	}
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (n *node) insert(key, value string) error {
	if key == "" {
		return fmt.Errorf("empty name")
	}
	if len(key) > maxKeyLength {
		return fmt.Errorf("name longer than %d characters", maxKeyLength)
	}
	if value == v1JunkValue {
		// Not even the path is recorded, so the parent does not look sent.
		return nil
	}
	segs := strings.Split(key, ".")
	if len(segs) > maxParamDepth {
		return fmt.Errorf("name nested deeper than %d levels", maxParamDepth)
	}
	cur := n
	for i, s := range segs {
		if s == "" {
			return fmt.Errorf("empty segment in name")
		}
		var next *node
		if isIndex(s) {
			if i == 0 {
				return fmt.Errorf("name starts with a list index")
			}
			idx, err := strconv.Atoi(s)
			if err != nil || idx < 1 || idx > maxListIndex {
				return fmt.Errorf("list index %q out of range 1..%d", s, maxListIndex)
			}
			if cur.items == nil {
				cur.items = map[int]*node{}
			}
			next = cur.items[idx]
			if next == nil {
				next = &node{}
				cur.items[idx] = next
			}
		} else {
			if cur.fields == nil {
				cur.fields = map[string]*node{}
			}
			next = cur.fields[s]
			if next == nil {
				next = &node{}
				cur.fields[s] = next
			}
		}
		cur = next
	}
	cur.value, cur.hasValue = value, true
	return nil
}

// isIndex reports whether a segment is a list position: all digits.
func isIndex(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Flat returns the raw value of a top-level or dotted key.
func (p *Params) Flat(key string) (string, bool) {
	v, ok := p.flat[key]
	return v, ok
}

// Root returns the tree's root as a navigable view.
func (p *Params) Root() Value { return Value{n: p.root} }

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// Value is a read-only view of one tree position; the zero Value is an
// absent parameter, so lookups chain without nil checks.
type Value struct {
	n    *node
	path string // dotted name, for error messages
}

// Path returns the dotted parameter name of this position.
func (v Value) Path() string { return v.path }

// Get returns a named child.
func (v Value) Get(name string) Value {
	p := joinPath(v.path, name)
	if v.n == nil || v.n.fields == nil {
		return Value{path: p}
	}
	return Value{n: v.n.fields[name], path: p}
}

// Exists reports whether anything was sent at or below this position.
func (v Value) Exists() bool {
	return v.n != nil && (v.n.hasValue || len(v.n.fields) > 0 || len(v.n.items) > 0)
}

// String returns the scalar value ("" if absent).
func (v Value) String() string {
	if v.n == nil {
		return ""
	}
	return v.n.value
}

// HasValue reports whether a scalar value was sent here.
func (v Value) HasValue() bool { return v.n != nil && v.n.hasValue }

// Items returns the list items in index order. Gaps are closed up: the
// service treats Tag.1 and Tag.3 as a two-element list.
func (v Value) Items() []Value {
	if v.n == nil || len(v.n.items) == 0 {
		return nil
	}
	idx := make([]int, 0, len(v.n.items))
	for i := range v.n.items {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]Value, len(idx))
	for i, k := range idx {
		out[i] = Value{n: v.n.items[k], path: joinPath(v.path, strconv.Itoa(i+1))}
	}
	return out
}

// Strings returns the scalar values of the list items (Name.1, Name.2, ...).
func (v Value) Strings() []string {
	items := v.Items()
	if len(items) == 0 {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.String())
	}
	return out
}

// FieldNames returns the names of the named children, sorted.
func (v Value) FieldNames() []string {
	if v.n == nil {
		return nil
	}
	out := make([]string, 0, len(v.n.fields))
	for k := range v.n.fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
