package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// The OpenAPI document is built as a tree of these values and written by
// writeJSON, so that its keys come in the order a reader expects
// (openapi, info, paths, components; type before properties) rather than
// encoding/json's sorted map keys, and its bytes are the same on every run.

// jsonObject is a JSON object whose keys keep the order they were set in.
type jsonObject struct {
	keys []string
	vals map[string]any
}

func newObject() *jsonObject { return &jsonObject{vals: map[string]any{}} }

// set adds key, or replaces its value in place; a nil value removes
// nothing and adds nothing.
func (o *jsonObject) set(key string, v any) *jsonObject {
	if v == nil {
		return o
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
	return o
}

func (o *jsonObject) get(key string) any { return o.vals[key] }

func (o *jsonObject) len() int { return len(o.keys) }

// jsonNumber is a number written as its literal: a validation rule's
// parameter keeps the form it was written in (1.5, 100).
type jsonNumber string

// writeJSON renders v with two-space indentation and a final newline.
// Values are *jsonObject, []any, []string, string, bool, int, int64,
// uint64, float64 and jsonNumber.
func writeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeValue(&b, v, 0); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func writeValue(b *bytes.Buffer, v any, depth int) error {
	indent := func(d int) {
		b.WriteByte('\n')
		for range d {
			b.WriteString("  ")
		}
	}
	switch v := v.(type) {
	case *jsonObject:
		if v.len() == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			writeString(b, k)
			b.WriteString(": ")
			if err := writeValue(b, v.vals[k], depth+1); err != nil {
				return err
			}
		}
		indent(depth)
		b.WriteByte('}')
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return nil
		}
		// Short lists of scalars stay on one line, as people write them.
		if scalars(v) {
			b.WriteByte('[')
			for i, x := range v {
				if i > 0 {
					b.WriteString(", ")
				}
				if err := writeValue(b, x, depth+1); err != nil {
					return err
				}
			}
			b.WriteByte(']')
			return nil
		}
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			indent(depth + 1)
			if err := writeValue(b, x, depth+1); err != nil {
				return err
			}
		}
		indent(depth)
		b.WriteByte(']')
	case []string:
		items := make([]any, len(v))
		for i, s := range v {
			items[i] = s
		}
		return writeValue(b, items, depth)
	case string:
		writeString(b, v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case jsonNumber:
		b.WriteString(string(v))
	default:
		return fmt.Errorf("futuresgen: cannot write %T in a JSON document (please report this)", v)
	}
	return nil
}

func scalars(v []any) bool {
	if len(v) > 8 {
		return false
	}
	for _, x := range v {
		switch x.(type) {
		case *jsonObject, []any, []string:
			return false
		}
	}
	return true
}

// writeString writes s as a JSON string without encoding/json's escaping
// of <, > and &, which would make patterns and descriptions hard to read.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	b.Truncate(b.Len() - 1)
}
