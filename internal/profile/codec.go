package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The JSON members this package models. Everything else in a selector or an effect is
// kept verbatim. The order is the order of members in a selector written from scratch.
var (
	selectorFields = []string{"name", "namespaceSelector", "objectSelector", "effect", "policy", "priority", "virtualNode"}
	effectFields   = []string{"annotations", "labels"}
)

// Parse reads the data of the eci-profile ConfigMap. A missing or blank selectors key
// means no selectors. Keys other than selectors end up in Settings, untouched. A
// malformed document (bad JSON, a field of the wrong type, a misspelt member of a label
// selector) is an error listing every such problem; Parse does not judge values
// (operators, label syntax, policies): that is Validate's job.
func Parse(data map[string]string) (*Profile, error) {
	p := &Profile{Settings: make(map[string]string, len(data))}
	for k, v := range data {
		if k != SelectorsKey {
			p.Settings[k] = v
		}
	}
	p.orig, p.hadKey = data[SelectorsKey]
	sels, lines, err := parseSelectors(p.orig)
	if err != nil {
		return nil, fmt.Errorf("parse eci-profile: %w", err)
	}
	p.Selectors, p.origLines = sels, lines
	return p, nil
}

func parseSelectors(doc string) ([]Selector, []string, error) {
	if strings.TrimSpace(doc) == "" {
		return nil, nil, nil
	}
	if !utf8.ValidString(doc) {
		// encoding/json would quietly turn the bad bytes into U+FFFD.
		return nil, nil, Problems{{Selector: -1, Path: SelectorsKey, Message: "not valid UTF-8"}}
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(doc), &items); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(doc, syn.Offset)
			return nil, nil, Problems{{Selector: -1, Path: SelectorsKey,
				Message: fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, err)}}
		}
		return nil, nil, Problems{{Selector: -1, Path: SelectorsKey,
			Message: fmt.Sprintf("want a JSON array of selector objects, got %s", kind([]byte(doc)))}}
	}
	var c collector
	sels := make([]Selector, 0, len(items))
	lines := make([]string, 0, len(items))
	for i, item := range items {
		path := index(SelectorsKey, i)
		o := decodeObject(&c, i, path, item, false)
		if o == nil {
			continue
		}
		sels = append(sels, decodeSelector(&c, i, path, o))
		lines = append(lines, string(compact(item)))
	}
	if err := c.err(); err != nil {
		return nil, nil, err
	}
	return sels, lines, nil
}

// Render returns the ConfigMap data for p: Settings unchanged plus the selectors key.
// The key is left out only when it was absent and there are no selectors.
func (p *Profile) Render() (map[string]string, error) {
	out := make(map[string]string, len(p.Settings)+1)
	maps.Copy(out, p.Settings)
	if !p.hadKey && len(p.Selectors) == 0 {
		return out, nil
	}
	s, err := p.RenderSelectors()
	if err != nil {
		return nil, err
	}
	out[SelectorsKey] = s
	return out, nil
}

// RenderSelectors returns the value of the selectors key.
//
// Diffs stay small for people who edit the ConfigMap by hand and for the provider,
// which writes one entry: if every selector encodes to what was parsed, the original
// text comes back byte for byte. Otherwise the array is written one selector per line,
// in document order (new selectors at the end), and each selector that was not changed
// keeps its own member order and values; a changed one keeps its unknown members and
// the members that did not change, and gets new ones appended.
func (p *Profile) RenderSelectors() (string, error) {
	lines := make([]string, len(p.Selectors))
	for i, s := range p.Selectors {
		b, err := encodeSelector(s)
		if err != nil {
			return "", fmt.Errorf("render eci-profile selector %q: %w", s.Name, err)
		}
		lines[i] = string(b)
	}
	if p.hadKey && slices.Equal(lines, p.origLines) {
		return p.orig, nil
	}
	out := "[]"
	if len(lines) > 0 {
		out = "[\n  " + strings.Join(lines, ",\n  ") + "\n]"
	}
	// ACK's documents are YAML literal blocks (selectors: |), which end in a newline.
	if !p.hadKey || strings.HasSuffix(p.orig, "\n") {
		out += "\n"
	}
	return out, nil
}

// ---- decoding -------------------------------------------------------------------

// Decoding is done member by member, case-sensitively, so that the path of every
// problem can be reported, and so that a misspelt member inside a label selector
// ("matchlabels") is an error instead of silently turning into the empty selector,
// which matches every pod.

func decodeSelector(c *collector, sel int, path string, o *object) Selector {
	s := Selector{raw: o}
	if r, ok := o.vals["name"]; ok {
		s.Name = decodeString(c, sel, field(path, "name"), r)
	}
	if r, ok := o.vals["namespaceSelector"]; ok {
		s.NamespaceSelector = decodeLabelSelector(c, sel, field(path, "namespaceSelector"), r)
	}
	if r, ok := o.vals["objectSelector"]; ok {
		s.ObjectSelector = decodeLabelSelector(c, sel, field(path, "objectSelector"), r)
	}
	if r, ok := o.vals["effect"]; ok {
		s.Effect = decodeEffect(c, sel, field(path, "effect"), r)
	}
	if r, ok := o.vals["policy"]; ok {
		s.Policy = Policy(decodeString(c, sel, field(path, "policy"), r))
	}
	if r, ok := o.vals["priority"]; ok {
		s.Priority = decodeInt32(c, sel, field(path, "priority"), r)
	}
	if r, ok := o.vals["virtualNode"]; ok {
		s.VirtualNode = decodeString(c, sel, field(path, "virtualNode"), r)
	}
	return s
}

func decodeEffect(c *collector, sel int, path string, raw json.RawMessage) Effect {
	if isNull(raw) {
		return Effect{}
	}
	o := decodeObject(c, sel, path, raw, false)
	if o == nil {
		return Effect{}
	}
	e := Effect{raw: o}
	if r, ok := o.vals["annotations"]; ok {
		e.Annotations = decodeStringMap(c, sel, field(path, "annotations"), r)
	}
	if r, ok := o.vals["labels"]; ok {
		e.Labels = decodeStringMap(c, sel, field(path, "labels"), r)
	}
	return e
}

// decodeLabelSelector decodes a metav1.LabelSelector strictly: null is "not set" (nil),
// {} is the empty selector (matches everything), and any member other than
// matchLabels and matchExpressions is an error.
func decodeLabelSelector(c *collector, sel int, path string, raw json.RawMessage) *metav1.LabelSelector {
	if isNull(raw) {
		return nil
	}
	o := decodeObject(c, sel, path, raw, false)
	if o == nil {
		return nil
	}
	ls := &metav1.LabelSelector{}
	for _, k := range o.keys {
		r := o.vals[k]
		switch k {
		case "matchLabels":
			ls.MatchLabels = decodeStringMap(c, sel, field(path, k), r)
		case "matchExpressions":
			ls.MatchExpressions = decodeExpressions(c, sel, field(path, k), r)
		default:
			c.addf(sel, field(path, k), "unknown field; a label selector has only matchLabels and matchExpressions")
		}
	}
	return ls
}

func decodeExpressions(c *collector, sel int, path string, raw json.RawMessage) []metav1.LabelSelectorRequirement {
	items := decodeArray(c, sel, path, raw)
	if items == nil {
		return nil
	}
	reqs := make([]metav1.LabelSelectorRequirement, 0, len(items))
	for i, item := range items {
		p := index(path, i)
		o := decodeObject(c, sel, p, item, false)
		if o == nil {
			continue
		}
		var req metav1.LabelSelectorRequirement
		for _, k := range o.keys {
			r := o.vals[k]
			switch k {
			case "key":
				req.Key = decodeString(c, sel, field(p, k), r)
			case "operator":
				req.Operator = metav1.LabelSelectorOperator(decodeString(c, sel, field(p, k), r))
			case "values":
				for j, v := range decodeArray(c, sel, field(p, k), r) {
					req.Values = append(req.Values, decodeString(c, sel, index(field(p, k), j), v))
				}
			default:
				c.addf(sel, field(p, k), "unknown field; an expression has only key, operator and values")
			}
		}
		reqs = append(reqs, req)
	}
	return reqs
}

// decodeStringMap decodes an object of strings; null is nil, {} an empty map.
func decodeStringMap(c *collector, sel int, path string, raw json.RawMessage) map[string]string {
	if isNull(raw) {
		return nil
	}
	o := decodeObject(c, sel, path, raw, true)
	if o == nil {
		return nil
	}
	m := make(map[string]string, len(o.keys))
	for _, k := range o.keys {
		m[k] = decodeString(c, sel, index(path, k), o.vals[k])
	}
	return m
}

func decodeString(c *collector, sel int, path string, raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var s string
	if kind(raw) != "string" || json.Unmarshal(raw, &s) != nil {
		c.addf(sel, path, "want a string, got %s", describe(raw))
	}
	return s
}

func decodeInt32(c *collector, sel int, path string, raw json.RawMessage) int32 {
	if isNull(raw) {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 32)
	if kind(raw) != "number" || err != nil {
		c.addf(sel, path, "want a whole number from -2147483648 to 2147483647, got %s", describe(raw))
		return 0
	}
	return int32(n)
}

func decodeArray(c *collector, sel int, path string, raw json.RawMessage) []json.RawMessage {
	if isNull(raw) {
		return nil
	}
	var items []json.RawMessage
	if kind(raw) != "array" || json.Unmarshal(raw, &items) != nil {
		c.addf(sel, path, "want an array, got %s", describe(raw))
		return nil
	}
	return items
}

// ---- raw JSON objects --------------------------------------------------------------

// object is a JSON object's members in document order, each value kept as written.
type object struct {
	keys []string
	vals map[string]json.RawMessage
	// names keeps each parsed member name as written ("\u0061" stays so), so that an
	// untouched object encodes to exactly its original text.
	names map[string]json.RawMessage
}

// decodeObject splits raw (valid JSON, as it comes out of a decoded parent) into its
// members; it reports and returns nil if raw is not an object. A repeated member name
// is reported: encoding/json would silently keep the last, other readers the first.
func decodeObject(c *collector, sel int, path string, raw json.RawMessage, isMap bool) *object {
	if kind(raw) != "object" {
		c.addf(sel, path, "want an object, got %s", describe(raw))
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	o := &object{vals: map[string]json.RawMessage{}}
	if _, err := dec.Token(); err != nil { // the opening brace
		c.addf(sel, path, "invalid object: %v", err)
		return nil
	}
	o.names = map[string]json.RawMessage{}
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			c.addf(sel, path, "invalid object: %v", err)
			return nil
		}
		key, _ := tok.(string)
		name := bytes.TrimLeft(raw[start:dec.InputOffset()], ", \t\r\n")
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			c.addf(sel, field(path, key), "invalid value: %v", err)
			return nil
		}
		if _, dup := o.vals[key]; dup {
			member := field(path, key)
			if isMap {
				member = index(path, key)
			}
			c.addf(sel, member, "appears more than once; a member must be unique (readers disagree on which one wins)")
			continue
		}
		o.keys = append(o.keys, key)
		o.vals[key] = v
		o.names[key] = name
	}
	return o
}

func (o *object) clone() *object {
	if o == nil {
		return &object{vals: map[string]json.RawMessage{}}
	}
	return &object{keys: slices.Clone(o.keys), vals: maps.Clone(o.vals), names: o.names}
}

// unknown returns the members whose names are not in known, or nil.
func (o *object) unknown(known []string) map[string]json.RawMessage {
	if o == nil {
		return nil
	}
	var out map[string]json.RawMessage
	for _, k := range o.keys {
		if !slices.Contains(known, k) {
			if out == nil {
				out = map[string]json.RawMessage{}
			}
			out[k] = o.vals[k]
		}
	}
	return out
}

// put brings member key up to date with the typed value it holds: a member whose
// current text already means the same (same reports that) is left as written, so
// formatting and spelling (null vs {} vs absent) survive; otherwise the member is
// dropped when the value is zero, or (re)written with the encoding of the value.
func (o *object) put(key string, zero bool, same func(json.RawMessage) bool, value func() (json.RawMessage, error)) error {
	if r, ok := o.vals[key]; ok && same(r) {
		return nil
	}
	if zero {
		if _, ok := o.vals[key]; ok {
			delete(o.vals, key)
			o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == key })
		}
		return nil
	}
	v, err := value()
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
	return nil
}

// encode writes the object compactly, members in order.
func (o *object) encode() (json.RawMessage, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, ok := o.names[k]
		if !ok {
			var err error
			if kb, err = marshal(k); err != nil {
				return nil, err
			}
		}
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, o.vals[k]); err != nil {
			return nil, fmt.Errorf("member %q: %w", k, err)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ---- encoding -------------------------------------------------------------------------

func encodeSelector(s Selector) (json.RawMessage, error) {
	o := s.raw.clone()
	// A decode of the member's current text that reports no problem and equals the
	// typed value means the member is unchanged.
	quiet := func() *collector { return &collector{} }
	steps := []struct {
		key   string
		zero  bool
		same  func(json.RawMessage) bool
		value func() (json.RawMessage, error)
	}{
		{"name", s.Name == "",
			func(r json.RawMessage) bool {
				c := quiet()
				v := decodeString(c, 0, "", r)
				return c.err() == nil && v == s.Name
			},
			func() (json.RawMessage, error) { return marshal(s.Name) }},
		{"namespaceSelector", s.NamespaceSelector == nil,
			func(r json.RawMessage) bool {
				c := quiet()
				v := decodeLabelSelector(c, 0, "", r)
				return c.err() == nil && equalLabelSelector(v, s.NamespaceSelector)
			},
			func() (json.RawMessage, error) { return marshal(s.NamespaceSelector) }},
		{"objectSelector", s.ObjectSelector == nil,
			func(r json.RawMessage) bool {
				c := quiet()
				v := decodeLabelSelector(c, 0, "", r)
				return c.err() == nil && equalLabelSelector(v, s.ObjectSelector)
			},
			func() (json.RawMessage, error) { return marshal(s.ObjectSelector) }},
		{"effect", s.Effect.isZero(),
			func(r json.RawMessage) bool {
				c := quiet()
				v := decodeEffect(c, 0, "", r)
				return c.err() == nil && equalEffect(v, s.Effect)
			},
			func() (json.RawMessage, error) { return encodeEffect(s.Effect) }},
		{"policy", s.Policy == "",
			func(r json.RawMessage) bool {
				c := quiet()
				v := decodeString(c, 0, "", r)
				return c.err() == nil && Policy(v) == s.Policy
			},
			func() (json.RawMessage, error) { return marshal(s.Policy) }},
		{"priority", s.Priority == 0,
			func(r json.RawMessage) bool {
				c := quiet()
				v := decodeInt32(c, 0, "", r)
				return c.err() == nil && v == s.Priority
			},
			func() (json.RawMessage, error) { return marshal(s.Priority) }},
		{"virtualNode", s.VirtualNode == "",
			func(r json.RawMessage) bool {
				c := quiet()
				v := decodeString(c, 0, "", r)
				return c.err() == nil && v == s.VirtualNode
			},
			func() (json.RawMessage, error) { return marshal(s.VirtualNode) }},
	}
	for _, st := range steps {
		if err := o.put(st.key, st.zero, st.same, st.value); err != nil {
			return nil, err
		}
	}
	return o.encode()
}

func encodeEffect(e Effect) (json.RawMessage, error) {
	o := e.raw.clone()
	for _, m := range []struct {
		key string
		val map[string]string
	}{{"annotations", e.Annotations}, {"labels", e.Labels}} {
		same := func(r json.RawMessage) bool {
			c := &collector{}
			v := decodeStringMap(c, 0, "", r)
			return c.err() == nil && maps.Equal(v, m.val)
		}
		if err := o.put(m.key, len(m.val) == 0, same, func() (json.RawMessage, error) { return marshal(m.val) }); err != nil {
			return nil, err
		}
	}
	return o.encode()
}

func (e Effect) isZero() bool {
	return len(e.Annotations) == 0 && len(e.Labels) == 0 && len(e.Unknown()) == 0
}

// marshal encodes v without HTML escaping: "&" in an annotation value stays "&", as a
// person would write it, instead of becoming "\u0026".
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// ---- comparison (nil and empty collections are equal; nil and {} selectors are not) ----

func equalLabelSelector(a, b *metav1.LabelSelector) bool {
	if a == nil || b == nil {
		return a == b
	}
	return maps.Equal(a.MatchLabels, b.MatchLabels) &&
		slices.EqualFunc(a.MatchExpressions, b.MatchExpressions, func(x, y metav1.LabelSelectorRequirement) bool {
			return x.Key == y.Key && x.Operator == y.Operator && slices.Equal(x.Values, y.Values)
		})
}

func equalEffect(a, b Effect) bool {
	return maps.Equal(a.Annotations, b.Annotations) && maps.Equal(a.Labels, b.Labels) &&
		maps.EqualFunc(a.Unknown(), b.Unknown(), func(x, y json.RawMessage) bool { return bytes.Equal(compact(x), compact(y)) })
}

// ---- small JSON helpers ------------------------------------------------------------------

func compact(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

func isNull(raw []byte) bool { return kind(raw) == "null" }

// kind names the JSON type of raw (assumed valid JSON) by its first byte.
func kind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// describe shows a wrong value in an error: its kind, and the value itself when short.
func describe(raw []byte) string {
	c := compact(raw)
	if k := kind(c); len(c) <= 40 && k != "object" && k != "array" {
		return fmt.Sprintf("%s %s", k, c)
	}
	return kind(c)
}

// position turns the offset of a json.SyntaxError (bytes read, the bad one included)
// into the 1-based line and column of the bad byte, for error messages.
func position(doc string, offset int64) (line, col int) {
	bad := int(min(max(offset-1, 0), int64(len(doc))))
	before := doc[:bad]
	line = strings.Count(before, "\n") + 1
	col = bad - strings.LastIndex(before, "\n")
	return line, col
}
