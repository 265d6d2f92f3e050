package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// DecodeJSON decodes JSON into v (a pointer to Config, Fault or another
// emulator type), accepting Go duration strings ("30s", "1h") wherever
// the field is a time.Duration, and rejecting unknown fields so that a
// typo in a config file is an error rather than a silent default.
func DecodeJSON(data []byte, v any) error {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return fmt.Errorf("parse JSON: %w", err)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer {
		return fmt.Errorf("decode target must be a pointer, got %T", v)
	}
	fixed, err := fixDurations(tree, rv.Type().Elem(), "")
	if err != nil {
		return err
	}
	out, err := json.Marshal(fixed)
	if err != nil {
		return fmt.Errorf("re-encode JSON: %w", err)
	}
	dec = json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode into %T: %w", v, err)
	}
	return nil
}

func fixDurations(node any, t reflect.Type, path string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Duration]() {
		if s, ok := node.(string); ok {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", strings.TrimPrefix(path, "."), err)
			}
			return int64(d), nil
		}
		return node, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := node.(map[string]any)
		if !ok {
			return node, nil
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			for k, val := range m {
				if strings.EqualFold(k, name) {
					fixed, err := fixDurations(val, f.Type, path+"."+k)
					if err != nil {
						return nil, err
					}
					m[k] = fixed
				}
			}
		}
		return m, nil
	case reflect.Map:
		if m, ok := node.(map[string]any); ok {
			for k, val := range m {
				fixed, err := fixDurations(val, t.Elem(), path+"."+k)
				if err != nil {
					return nil, err
				}
				m[k] = fixed
			}
		}
	case reflect.Slice:
		if l, ok := node.([]any); ok {
			for i, val := range l {
				fixed, err := fixDurations(val, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				l[i] = fixed
			}
		}
	}
	return node, nil
}
