package eci

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// This file flattens request structs into the RPC query parameters the ECI
// OpenAPI expects: lists become Name.N (1-based), nested structs become
// Parent.Field, empty strings are not sent. The RPC request style is
// https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism;
// the parameter names are those of each action's reference page (e.g.
// https://www.alibabacloud.com/help/en/eci/developer-reference/api-eci-2018-08-08-createcontainergroup),
// and docs/design.md, "ECI API facts", "Wire format and signing", sums up
// what this encoder relies on.
//
// Every exported field of a request type carries a `wire:"..."` tag naming its
// wire key. A field without a tag is a programming error and makes encoding
// fail, so a field added to the model can never be dropped silently.
//
// Tag options (after the name, comma separated):
//
//	flat   children of this struct are appended to its key without a dot
//	       (the API spells container lifecycle hooks as
//	       LifecyclePostStartHandlerHttpGetPort, not ...Handler.HttpGet.Port)
//	json   a []string sent as one JSON array string, e.g. ContainerGroupIds
//	comma  a []string sent as one comma-separated string, e.g. VSwitchId
//
// Zero handling: plain scalars are sent only when non-zero (false, 0 and ""
// mean "unset"); pointer scalars are sent whenever non-nil, so a caller can
// send an explicit false or 0 where the API distinguishes it from "unset".

// wireParams is the flattened form of one request: wire key -> value.
type wireParams map[string]string

// sortedKeys returns the keys in byte order, for deterministic output.
func (p wireParams) sortedKeys() []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// String renders the parameters deterministically (key=value per line) for
// golden tests. It is not used for logging: values may hold secrets.
func (p wireParams) String() string {
	var b strings.Builder
	for _, k := range p.sortedKeys() {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(p[k])
		b.WriteByte('\n')
	}
	return b.String()
}

// encodeWire flattens a request struct (or pointer to one) into wire params.
func encodeWire(req any) (wireParams, error) {
	v := reflect.ValueOf(req)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return wireParams{}, nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("encode request: %s is not a struct", v.Type())
	}
	out := wireParams{}
	if err := encodeStruct(out, v, "", "."); err != nil {
		return nil, fmt.Errorf("encode %s: %w", v.Type().Name(), err)
	}
	return out, nil
}

type wireTag struct {
	name              string
	flat, json, comma bool
}

func parseWireTag(f reflect.StructField) (wireTag, bool) {
	raw, ok := f.Tag.Lookup("wire")
	if !ok {
		return wireTag{}, false
	}
	parts := strings.Split(raw, ",")
	t := wireTag{name: parts[0]}
	for _, opt := range parts[1:] {
		switch opt {
		case "flat":
			t.flat = true
		case "json":
			t.json = true
		case "comma":
			t.comma = true
		}
	}
	return t, true
}

// joinKey builds a child key: prefix + sep + name, or just name at the top.
func joinKey(prefix, sep, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + sep + name
}

func encodeStruct(out wireParams, v reflect.Value, prefix, sep string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, ok := parseWireTag(f)
		if !ok {
			return fmt.Errorf("field %s.%s has no wire tag", t.Name(), f.Name)
		}
		if tag.name == "-" {
			continue
		}
		key := joinKey(prefix, sep, tag.name)
		if err := encodeValue(out, v.Field(i), key, tag); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

func encodeValue(out wireParams, v reflect.Value, key string, tag wireTag) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		e := v.Elem()
		if e.Kind() == reflect.Struct {
			return encodeValue(out, e, key, tag)
		}
		// A non-nil pointer scalar is always sent, even when zero.
		s, err := formatScalar(e)
		if err != nil {
			return err
		}
		out[key] = s
		return nil
	case reflect.Struct:
		childSep := "."
		if tag.flat {
			childSep = ""
		}
		return encodeStruct(out, v, key, childSep)
	case reflect.Slice:
		return encodeSlice(out, v, key, tag)
	default:
		if v.IsZero() {
			return nil
		}
		s, err := formatScalar(v)
		if err != nil {
			return err
		}
		out[key] = s
		return nil
	}
}

func encodeSlice(out wireParams, v reflect.Value, key string, tag wireTag) error {
	if v.Len() == 0 {
		return nil
	}
	elem := v.Type().Elem()
	if elem.Kind() == reflect.String {
		items := make([]string, v.Len())
		for i := range items {
			items[i] = v.Index(i).String()
		}
		switch {
		case tag.json:
			b, err := json.Marshal(items)
			if err != nil {
				return err
			}
			out[key] = string(b)
		case tag.comma:
			out[key] = strings.Join(items, ",")
		default:
			// Positions are kept (Name.N is the N-th element) and empty
			// elements are skipped like every other empty string.
			for i, s := range items {
				if s != "" {
					out[key+"."+strconv.Itoa(i+1)] = s
				}
			}
		}
		return nil
	}
	for i := 0; i < v.Len(); i++ {
		item := v.Index(i)
		itemKey := key + "." + strconv.Itoa(i+1)
		if err := encodeValue(out, item, itemKey, wireTag{name: tag.name}); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}

func formatScalar(v reflect.Value) (string, error) {
	switch v.Kind() {
	case reflect.String:
		return v.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		// Shortest exact form: 0.5, 0.025, 2 (the API parses any decimal).
		return strconv.FormatFloat(v.Float(), 'f', -1, 64), nil
	default:
		return "", fmt.Errorf("unsupported kind %s", v.Kind())
	}
}
