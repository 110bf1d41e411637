package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/tools/go/types/typeutil"
)

// Validation: struct tags validate:"…" with the rule names of
// go-playground/validator, which Go developers already write, checked by
// generated code after binding (emit_validate.go) and shown in the OpenAPI
// schema (schema.go). This file reads a tag into rules and checks each rule
// against the type of its field; a rule that is unknown, misplaced or
// malformed is an error at its own column.

// rules is a field's validate tag, or the part of it after a dive, which
// applies to the elements of a slice or array or the values of a map.
type rules struct {
	omitEmpty bool
	required  bool
	checks    []*check
	dive      *rules
	diveOff   int // where "dive" is in the tag, for errors
}

// check is one rule with a parameter or none: min=3, email, oneof=a b.
type check struct {
	name  string
	param string
	off   int // byte offset of the rule in the tag's value
	// The parameter, read for the field's kind.
	num    string   // a number as Go and JSON write it: min, max, len, gt, gte, lt, lte
	length bool     // num counts characters, items or entries
	dur    int64    // for a time.Duration: nanoseconds
	values []string // oneof
}

// ruleNames are the rules futuresgen knows, for messages.
var ruleNames = []string{
	"required", "omitempty", "min", "max", "len", "gt", "gte", "lt", "lte", "oneof",
	"email", "url", "uuid", "alpha", "alphanum", "numeric", "hostname", "ip", "datetime", "dive",
}

// stringRules are the rules that apply to strings only, and the runtime
// function that checks each (emit_validate.go).
var stringRules = map[string]string{
	"email": "IsEmail", "url": "IsURL", "uuid": "IsUUID", "alpha": "IsAlpha", "alphanum": "IsAlphanumeric",
	"numeric": "IsNumeric", "hostname": "IsHostname", "ip": "IsIP", "datetime": "IsTime",
}

// valKind is what a rule sees of a field's type, as go-playground/validator
// sees its reflect.Kind (after a pointer).
type valKind int

const (
	vkOther    valKind = iota // anything the rules cannot look into
	vkString                  // any type whose underlying type is string
	vkInt                     // signed integers
	vkUint                    // unsigned integers
	vkFloat                   // floats
	vkBool                    // bools
	vkDuration                // time.Duration (an int64 that rules read as a duration)
	vkTime                    // time.Time
	vkList                    // slices and arrays
	vkMap                     // maps
	vkStruct                  // structs, validated field by field
	vkIface                   // interfaces
)

func kindOf(t types.Type) valKind {
	switch {
	case isNamed(t, "time", "Duration"):
		return vkDuration
	case isNamed(t, "time", "Time"):
		return vkTime
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		info := u.Info()
		switch {
		case info&types.IsString != 0:
			return vkString
		case info&types.IsBoolean != 0:
			return vkBool
		case info&types.IsUnsigned != 0:
			return vkUint
		case info&types.IsInteger != 0:
			return vkInt
		case info&types.IsFloat != 0:
			return vkFloat
		}
	case *types.Slice, *types.Array:
		return vkList
	case *types.Map:
		return vkMap
	case *types.Struct:
		return vkStruct
	case *types.Interface:
		return vkIface
	}
	return vkOther
}

func (k valKind) String() string {
	return [...]string{"this type", "a string", "an integer", "an unsigned integer", "a float", "a bool",
		"a time.Duration", "a time.Time", "a slice", "a map", "a struct", "an interface"}[k]
}

// ruleError is a problem with a rule, at a byte offset of the tag's value.
type ruleError struct {
	off int
	msg string
}

// readRules reads the validate tag tag of a field of type t. It returns
// the rules, or nil for an empty tag, and every problem found.
func readRules(tag string, t types.Type, q types.Qualifier) (*rules, []ruleError) {
	if strings.TrimSpace(tag) == "" {
		return nil, nil
	}
	var problems []ruleError
	r := readRuleList(tag, 0, t, q, &problems)
	return r, problems
}

// readRuleList reads the rules of s, which starts at offset base of the
// tag, for a value of type t.
func readRuleList(s string, base int, t types.Type, q types.Qualifier, problems *[]ruleError) *rules {
	r := &rules{}
	if s == "" {
		return r
	}
	add := func(off int, format string, args ...any) {
		*problems = append(*problems, ruleError{base + off, fmt.Sprintf(format, args...)})
	}
	elem := t
	pointer := false
	if p, ok := t.Underlying().(*types.Pointer); ok {
		elem, pointer = p.Elem(), true
	}
	kind := kindOf(elem)
	str := func(t types.Type) string { return types.TypeString(t, q) }
	off := 0
	for i, word := range strings.Split(s, ",") {
		start := off
		off += len(word) + 1
		name, param, hasParam := strings.Cut(word, "=")
		if strings.Contains(word, "|") {
			add(start, "%q: | (one rule or another) is not supported; write one rule", word)
			continue
		}
		if name == "" {
			add(start, "empty rule in %q", s)
			continue
		}
		switch name {
		case "omitempty", "required":
			switch {
			case name == "omitempty" && i != 0:
				add(start, "omitempty must come first: it skips the rules after it when the value is empty")
			case hasParam:
				add(start, "%s takes no parameter", name)
			case !pointer && !zeroComparable(elem, kind):
				add(start, "%s on %s needs its zero value, which Go cannot compare %s with; make the field a pointer (*%s)", name, str(elem), str(elem), str(elem))
			case name == "omitempty":
				r.omitEmpty = true
			default:
				r.required = true
			}
			continue
		case "dive":
			if hasParam {
				add(start, "dive takes no parameter")
			}
			var et types.Type
			switch u := elem.Underlying().(type) {
			case *types.Slice:
				et = u.Elem()
			case *types.Array:
				et = u.Elem()
			case *types.Map:
				et = u.Elem()
				if !validKeyForPointer(u.Key()) {
					add(start, "dive into a map with %s keys is not supported: a problem names a value by its key, which must be a string or an integer", str(u.Key()))
					return r
				}
			default:
				add(start, "dive applies to slices, arrays and maps, not to %s (%s)", kind, str(t))
				return r
			}
			rest := s[min(off, len(s)):]
			r.diveOff = base + start
			r.dive = readRuleList(rest, base+off, et, q, problems)
			return r
		}
		c := &check{name: name, param: param, off: base + start}
		msg := c.read(elem, kind, hasParam)
		if msg != "" {
			add(start, "%s", msg)
			continue
		}
		r.checks = append(r.checks, c)
	}
	return r
}

// zeroComparable reports whether generated code can tell a value of t
// (of kind kind) from its zero value: required means not zero (a struct
// or an array compares with its zero value), omitempty skips the zero
// value.
func zeroComparable(t types.Type, kind valKind) bool {
	switch kind {
	case vkStruct:
		return types.Comparable(t)
	case vkList:
		if _, isArray := t.Underlying().(*types.Array); isArray {
			return types.Comparable(t)
		}
	case vkOther:
		return false
	}
	return true
}

// validKeyForPointer reports whether a map key becomes a JSON pointer
// segment that generated code can write: a string or an integer.
func validKeyForPointer(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&(types.IsString|types.IsInteger) != 0
}

// read checks the rule against a value of kind kind (t is its type) and
// reads its parameter; it returns what is wrong, or "".
func (c *check) read(t types.Type, kind valKind, hasParam bool) string {
	if _, known := stringRules[c.name]; known {
		if kind != vkString {
			return fmt.Sprintf("%s applies to strings, not to %s (%s)", c.name, kind, types.TypeString(t, nil))
		}
		if c.name == "datetime" {
			if !hasParam || c.param == "" {
				return "datetime needs a Go time layout, as in datetime=2006-01-02"
			}
			// A layout parses its own reference rendering unless it is
			// not a layout at all.
			if _, err := time.Parse(c.param, time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC).Format(c.param)); err != nil {
				return fmt.Sprintf("datetime=%s: not a Go time layout: %v", c.param, err)
			}
			return ""
		}
		if hasParam {
			return fmt.Sprintf("%s takes no parameter", c.name)
		}
		return ""
	}
	switch c.name {
	case "min", "max", "len", "gt", "gte", "lt", "lte":
	case "oneof":
		return c.readOneOf(kind)
	default:
		msg := fmt.Sprintf("unknown validation rule %q", c.name)
		if near := nearest(c.name, ruleNames); near != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", near)
		}
		return msg + "; futuresgen knows " + strings.Join(ruleNames, ", ")
	}
	if !hasParam || c.param == "" {
		return fmt.Sprintf("%s needs a parameter, as in %s=3", c.name, c.name)
	}
	switch kind {
	case vkString, vkList, vkMap:
		n, err := strconv.ParseInt(c.param, 10, 32)
		if err != nil || n < 0 {
			return fmt.Sprintf("%s=%s: on %s, %s counts %s: it wants an integer ≥ 0", c.name, c.param, kind, c.name, map[valKind]string{vkString: "characters", vkList: "items", vkMap: "entries"}[kind])
		}
		c.num, c.length = strconv.FormatInt(n, 10), true
	case vkInt:
		n, err := strconv.ParseInt(c.param, 10, 64)
		if err != nil {
			return fmt.Sprintf("%s=%s: %s wants an integer", c.name, c.param, c.name)
		}
		c.num = strconv.FormatInt(n, 10)
	case vkUint:
		n, err := strconv.ParseUint(c.param, 10, 64)
		if err != nil {
			return fmt.Sprintf("%s=%s: %s on an unsigned integer wants an integer ≥ 0", c.name, c.param, c.name)
		}
		c.num = strconv.FormatUint(n, 10)
	case vkFloat:
		f, err := strconv.ParseFloat(c.param, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(c.param, "xXpP_") {
			return fmt.Sprintf("%s=%s: %s wants a decimal number", c.name, c.param, c.name)
		}
		c.num = strconv.FormatFloat(f, 'g', -1, 64)
	case vkDuration:
		d, err := time.ParseDuration(c.param)
		if err != nil {
			n, ierr := strconv.ParseInt(c.param, 10, 64)
			if ierr != nil {
				return fmt.Sprintf("%s=%s: on a time.Duration, %s wants a duration such as 1m30s", c.name, c.param, c.name)
			}
			d = time.Duration(n)
		}
		c.dur = int64(d)
		c.num = strconv.FormatInt(c.dur, 10)
	default:
		return fmt.Sprintf("%s applies to strings, numbers, durations, slices and maps, not to %s (%s)", c.name, kind, types.TypeString(t, nil))
	}
	return ""
}

// readOneOf reads oneof's values: separated by spaces, each in single
// quotes when it has a space, as go-playground/validator reads them.
func (c *check) readOneOf(kind valKind) string {
	if c.param == "" {
		return "oneof needs values, as in oneof=red green blue"
	}
	s := c.param
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		var v string
		if s[0] == '\'' {
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return "oneof: unterminated quoted value"
			}
			v, s = s[1:1+end], s[2+end:]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			v, s = s[:end], s[end:]
		}
		if slices.Contains(c.values, v) {
			return fmt.Sprintf("oneof lists %q twice", v)
		}
		c.values = append(c.values, v)
	}
	switch kind {
	case vkString:
	case vkInt, vkUint:
		for _, v := range c.values {
			n, err := strconv.ParseInt(v, 10, 64)
			ok := err == nil && strconv.FormatInt(n, 10) == v && (kind == vkInt || n >= 0)
			if kind == vkUint && !ok {
				u, err := strconv.ParseUint(v, 10, 64)
				ok = err == nil && strconv.FormatUint(u, 10) == v
			}
			if !ok {
				return fmt.Sprintf("oneof on %s wants integers written as Go prints them, not %q", kind, v)
			}
		}
	default:
		return fmt.Sprintf("oneof applies to strings and integers, not to %s", kind)
	}
	return ""
}

// tagPos returns the position of byte off of the value of key in a
// field's tag, when the tag is a raw string literal whose bytes are those
// of the tag; else the position of the field.
func tagPos(field *ast.Field, v *types.Var, key string, off int) token.Pos {
	if field == nil || field.Tag == nil || !strings.HasPrefix(field.Tag.Value, "`") {
		return v.Pos()
	}
	lit := field.Tag.Value
	i := strings.Index(lit, key+`:"`)
	if i < 0 {
		return v.Pos()
	}
	return field.Tag.Pos() + token.Pos(i+len(key)+2+off)
}

// validateTag returns the validate key of a struct tag.
func validateTag(tag string) string { return reflect.StructTag(tag).Get("validate") }

// readRules reads the validate tags of the view's request: those of its
// parameters and body fields, and those of every struct field the body
// reaches, which generated code checks after decoding. Every problem is
// reported at its rule; it returns false if there was any.
func (v *view) readRules(p *plan, e *errs) bool {
	q := types.RelativeTo(p.pkg.Types)
	ok := true
	report := func(field *types.Var, problems []ruleError) {
		for _, pr := range problems {
			// The field's syntax gives the rule's column; it is looked up
			// only for a problem.
			e.add(tagPos(p.docIndex().field(field), field, "validate", pr.off), "validate tag of %s: %s", field.Name(), pr.msg)
			ok = false
		}
	}
	for _, b := range v.fields {
		r, problems := readRules(validateTag(b.tag), b.typ, q)
		report(b.field, problems)
		b.rules = r
		if b.in == "body" {
			walkValidated(b.typ, func(f jsonField) {
				_, problems := readRules(validateTag(f.tag), f.typ, q)
				report(f.v, problems)
			})
		}
	}
	return ok
}

// walkValidated calls fn for every field of every struct that a value of
// t reaches through fields, pointers, slices, arrays and maps, once per
// struct type: the fields whose rules generated code checks.
func walkValidated(t types.Type, fn func(f jsonField)) {
	var seen typeutil.Map
	var walk func(t types.Type)
	walk = func(t types.Type) {
		t = types.Unalias(t)
		if seen.At(t) != nil {
			return
		}
		seen.Set(t, true)
		switch u := t.Underlying().(type) {
		case *types.Pointer:
			walk(u.Elem())
		case *types.Slice:
			walk(u.Elem())
		case *types.Array:
			walk(u.Elem())
		case *types.Map:
			walk(u.Elem())
		case *types.Struct:
			if kindOf(t) != vkStruct {
				return // time.Time
			}
			for _, f := range jsonFields(u) {
				fn(f)
				walk(f.typ)
			}
		}
	}
	walk(t)
}

// mustBeSet reports whether a value of t (the field's type, a pointer
// maybe) with rules r can pass them only when it is set: required, a
// nil pointer with rules and no omitempty (which generated code reports as
// required), or a zero value that a rule refuses without omitempty
// (oneof without "", min=1, email, gte=18…). Such a property is required
// and not nullable in the document, since the JSON that leaves it out, or
// null, decodes to what the checks refuse.
func (r *rules) mustBeSet(t types.Type) bool {
	if r == nil {
		return false
	}
	if r.required {
		return true
	}
	if r.omitEmpty {
		return false
	}
	if _, isPtr := t.Underlying().(*types.Pointer); isPtr {
		return len(r.checks) > 0 || r.dive != nil
	}
	kind := kindOf(t)
	for _, c := range r.checks {
		if c.refusesZero(kind) {
			return true
		}
	}
	return false
}

// refusesZero reports whether c fails on the zero value of its kind: "",
// 0, an empty slice or map.
func (c *check) refusesZero(kind valKind) bool {
	if _, ok := stringRules[c.name]; ok {
		return true // no string check accepts ""; datetime needs its layout's text
	}
	if c.name == "oneof" {
		zero := "0"
		if kind == vkString {
			zero = ""
		}
		return !slices.Contains(c.values, zero)
	}
	n, err := strconv.ParseFloat(c.num, 64)
	if err != nil {
		return false
	}
	switch c.name {
	case "min", "gte":
		return 0 < n
	case "max", "lte":
		return 0 > n
	case "gt":
		return 0 <= n
	case "lt":
		return 0 >= n
	case "len":
		return n != 0
	}
	return false
}
