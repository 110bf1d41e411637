package gen

import (
	"cmp"
	"fmt"
	"go/types"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/tools/go/types/typeutil"
)

// Schemas: the JSON Schema of a Go type as encoding/json writes and reads
// its values. Named types become components (#/components/schemas/Name)
// with their doc comments as descriptions; everything else is described
// where it is used.
//
// One schema describes a type in both directions when it travels both
// ways, so it says what both directions guarantee:
//   - a property is required when its rules refuse the zero value that
//     leaving it out decodes to (rules.mustBeSet: required, and oneof,
//     min=1, email… without omitempty), or when the type only ever goes
//     out (responses) and encoding/json always writes it (no omitempty,
//     omitzero or nil embedded pointer on the way);
//   - a pointer, slice, map or interface is nullable unless its rules
//     refuse nil, or unless the type only goes out and omitempty or
//     omitzero leave nil out;
//   - an object refuses unknown properties (additionalProperties: false)
//     when it is decoded strictly, as request bodies are unless
//     body:"json,allowunknown"; a type decoded both ways has a second
//     component for the bodies that allow unknown properties (Name_loose),
//     and so do the types it reaches there.
//
// A type that marshals itself with MarshalJSON, other than the standard
// library's known ones, has no schema the generator could know: it is
// described as any value ({}), with a warning at its declaration.

// schemaSet builds the schemas of one OpenAPI document.
type schemaSet struct {
	pkg    *types.Package // the views' package: its types keep bare names
	v30    bool
	docs   *docIndex
	e      *errs
	comps  typeutil.Map // *types.Named → *[2]*component: strict, loose
	list   []*component
	warned map[*types.TypeName]bool
	// problem is the component of the runtime's problem responses.
	problem *component
}

// component is a named type's entry in #/components/schemas.
type component struct {
	t      *types.Named // nil for the problem schema
	loose  bool         // the variant for bodies that allow unknown fields
	name   string
	use    use
	marked bool
	// home and base decide the name: base is the sanitized type name, home
	// the package that declares it.
	home     *types.Package
	base     string
	homePath string
}

// use says how a type travels: in a request body (decoded), strictly or
// allowing unknown fields; otherwise only in responses (encoded).
type use struct {
	request bool
	strict  bool // decoded refusing unknown fields
	loose   bool // decoded accepting them
}

func (u use) covers(v use) bool {
	return (u.request || !v.request) && (u.strict || !v.strict) && (u.loose || !v.loose)
}

func (u use) union(v use) use {
	return use{request: u.request || v.request, strict: u.strict || v.strict, loose: u.loose || v.loose}
}

func newSchemaSet(pkg *types.Package, v30 bool, docs *docIndex, e *errs) *schemaSet {
	s := &schemaSet{pkg: pkg, v30: v30, docs: docs, e: e, warned: map[*types.TypeName]bool{}}
	s.problem = &component{base: "Problem", homePath: pathView}
	s.list = append(s.list, s.problem)
	return s
}

// mark records that t travels as u, and with it every named type it
// reaches, before any schema is built: a component's schema depends on
// every use of its type.
func (s *schemaSet) mark(t types.Type, u use) {
	t = types.Unalias(t)
	if s.special(t) != nil {
		return
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil {
		c := s.component(n, u.loose)
		if c.use.covers(u) && c.marked {
			return
		}
		c.use = c.use.union(u)
		c.marked = true
		if textMarshals(n) {
			return
		}
		s.markInside(n.Underlying(), c.use)
		return
	}
	s.markInside(t, u)
}

func (s *schemaSet) markInside(t types.Type, u use) {
	switch t := t.Underlying().(type) {
	case *types.Pointer:
		s.mark(t.Elem(), u)
	case *types.Slice:
		s.mark(t.Elem(), u)
	case *types.Array:
		s.mark(t.Elem(), u)
	case *types.Map:
		s.mark(t.Elem(), u)
	case *types.Struct:
		for _, f := range jsonFields(t) {
			s.mark(f.typ, u)
		}
	}
}

// component returns the component of n, or of its variant for bodies that
// allow unknown fields when loose.
func (s *schemaSet) component(n *types.Named, loose bool) *component {
	variants, _ := s.comps.At(n).(*[2]*component)
	if variants == nil {
		variants = new([2]*component)
		s.comps.Set(n, variants)
	}
	i := 0
	if loose {
		i = 1
	}
	if c := variants[i]; c != nil {
		return c
	}
	c := &component{t: n, loose: loose, home: n.Obj().Pkg(), base: baseName(n), homePath: n.Obj().Pkg().Path()}
	variants[i] = c
	s.list = append(s.list, c)
	return c
}

// assignNames names every component: its type's name (with its type
// arguments for an instance of a generic type), qualified by its package's
// name when types of several packages have that name, the views' own
// package keeping the bare one; a number tells apart what is still equal.
func (s *schemaSet) assignNames() {
	byBase := map[string][]*component{}
	for _, c := range s.list {
		if c.loose {
			if variants := s.comps.At(c.t).(*[2]*component); variants[0] != nil {
				c.base += "_loose"
			}
		}
		byBase[c.base] = append(byBase[c.base], c)
	}
	taken := map[string]bool{}
	for _, base := range slices.Sorted(maps.Keys(byBase)) {
		cs := byBase[base]
		own := func(c *component) bool { return c.home == s.pkg && c.t != nil }
		slices.SortStableFunc(cs, func(a, b *component) int {
			if own(a) != own(b) {
				if own(a) {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(a.homePath, b.homePath), strings.Compare(a.typeString(), b.typeString()))
		})
		for _, c := range cs {
			name := base
			if len(cs) > 1 && !own(c) {
				name = sanitize(packageName(c)) + "." + base
			}
			for i := 2; taken[name]; i++ {
				name = fmt.Sprintf("%s_%d", strings.TrimSuffix(name, fmt.Sprintf("_%d", i-1)), i)
			}
			taken[name] = true
			c.name = name
		}
	}
}

func packageName(c *component) string {
	if c.t == nil {
		return "view"
	}
	return c.home.Name()
}

func (c *component) typeString() string {
	if c.t == nil {
		return ""
	}
	return types.TypeString(c.t, nil)
}

// baseName is a named type's name for a component, with its type
// arguments: Page[Signup] is Page_Signup, Pair[int, []string] is
// Pair_int_stringList.
func baseName(n *types.Named) string {
	name := n.Obj().Name()
	for t := range n.TypeArgs().Types() {
		name += "_" + argName(t)
	}
	return sanitize(name)
}

func argName(t types.Type) string {
	switch t := types.Unalias(t).(type) {
	case *types.Named:
		if t.Obj().Pkg() == nil {
			return t.Obj().Name()
		}
		return baseName(t)
	case *types.Basic:
		return t.Name()
	case *types.Pointer:
		return argName(t.Elem()) + "Ptr"
	case *types.Slice:
		return argName(t.Elem()) + "List"
	case *types.Array:
		return argName(t.Elem()) + "Array" + strconv.FormatInt(t.Len(), 10)
	case *types.Map:
		return "Map_" + argName(t.Key()) + "_" + argName(t.Elem())
	case *types.Struct:
		return "Struct"
	case *types.Interface:
		return "Any"
	}
	return "Type"
}

// sanitize keeps the characters a component's name may have: letters,
// digits, '.', '-' and '_'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// ref is a reference to a component.
func ref(c *component) *jsonObject {
	return newObject().set("$ref", "#/components/schemas/"+c.name)
}

func isRef(sch *jsonObject) bool { _, ok := sch.get("$ref").(string); return ok }

// special returns the schema of the types encoding/json, or the type
// itself, writes in a form of their own, or nil for the others.
func (s *schemaSet) special(t types.Type) *jsonObject {
	switch {
	case isNamed(t, "time", "Time"):
		return newObject().set("type", "string").set("format", "date-time")
	case isNamed(t, "time", "Duration"):
		return newObject().set("type", "integer").set("format", "int64").set("description", "a duration in nanoseconds")
	case isNamed(t, "encoding/json", "RawMessage"):
		return newObject()
	case isNamed(t, "encoding/json", "Number"):
		return newObject().set("type", "number")
	case isNamed(t, "math/big", "Int"):
		return newObject().set("type", "integer")
	}
	n, ok := types.Unalias(t).(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return nil
	}
	if _, isIface := n.Underlying().(*types.Interface); isIface {
		return nil
	}
	if implementsEither(n, jsonMarshaler) || implementsEither(n, jsonUnmarshaler) {
		if !s.warned[n.Obj()] {
			s.warned[n.Obj()] = true
			s.e.warn(n.Obj().Pos(), "%s marshals itself (MarshalJSON or UnmarshalJSON), so its JSON form is its own: the OpenAPI document describes it as any value ({})",
				types.TypeString(n, types.RelativeTo(s.pkg)))
		}
		return newObject()
	}
	return nil
}

var jsonUnmarshaler = types.NewInterfaceType([]*types.Func{
	types.NewFunc(0, nil, "UnmarshalJSON", types.NewSignatureType(nil, nil, nil,
		types.NewTuple(types.NewVar(0, nil, "", types.NewSlice(types.Typ[types.Byte]))),
		types.NewTuple(types.NewVar(0, nil, "", types.Universe.Lookup("error").Type())), false)),
}, nil).Complete()

func implementsEither(t types.Type, iface *types.Interface) bool {
	return types.Implements(t, iface) || types.Implements(types.NewPointer(t), iface)
}

// textMarshals reports whether encoding/json writes values of n as strings
// through MarshalText.
func textMarshals(n *types.Named) bool {
	if _, isIface := n.Underlying().(*types.Interface); isIface {
		return false
	}
	return implementsEither(n, textMarshaler)
}

// buildComponents returns #/components/schemas: every marked component
// described, by name.
func (s *schemaSet) buildComponents() *jsonObject {
	out := newObject()
	sorted := slices.Clone(s.list)
	slices.SortFunc(sorted, func(a, b *component) int { return strings.Compare(a.name, b.name) })
	for _, c := range sorted {
		if c.t == nil {
			out.set(c.name, problemSchema())
			continue
		}
		var sch *jsonObject
		if textMarshals(c.t) {
			sch = newObject().set("type", "string")
		} else {
			sch = s.structural(c.t.Underlying(), c.use, nil)
		}
		doc := s.docs.typeDoc(c.t.Obj())
		if c.loose && strings.HasSuffix(c.name, "_loose") {
			doc = strings.TrimSpace(doc + "\n\nThis form accepts unknown properties, as the bodies that allow them do.")
		}
		if doc != "" {
			sch = setFirst(sch, "description", doc)
		}
		out.set(c.name, sch)
	}
	return out
}

// setFirst returns sch with key set, keeping sch's order otherwise.
func setFirst(sch *jsonObject, key string, v any) *jsonObject {
	if _, has := sch.vals[key]; has {
		sch.vals[key] = v
		return sch
	}
	out := newObject().set(key, v)
	for _, k := range sch.keys {
		out.set(k, sch.vals[k])
	}
	return out
}

// schemaOf is the schema of a value of t, which is not a pointer: a
// reference for a named type, the shape of the others.
func (s *schemaSet) schemaOf(t types.Type, u use) *jsonObject {
	t = types.Unalias(t)
	if sp := s.special(t); sp != nil {
		return sp
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil {
		return ref(s.component(n, u.loose && !u.strict))
	}
	return s.structural(t.Underlying(), u, nil)
}

// structural describes an unnamed type, or a named one's underlying type;
// dive, when not nil, are the rules of its elements.
func (s *schemaSet) structural(t types.Type, u use, dive *rules) *jsonObject {
	switch t := t.(type) {
	case *types.Basic:
		return basicSchema(t)
	case *types.Pointer:
		return s.valueSchema(t.Elem(), dive, u, false, "")
	case *types.Slice:
		if isBytes(t) && !implementsEither(t.Elem(), jsonMarshaler) && !implementsEither(t.Elem(), textMarshaler) {
			if s.v30 {
				return newObject().set("type", "string").set("format", "byte")
			}
			return newObject().set("type", "string").set("contentEncoding", "base64")
		}
		return newObject().set("type", "array").set("items", s.element(t.Elem(), dive, u))
	case *types.Array:
		return newObject().set("type", "array").set("items", s.element(t.Elem(), dive, u)).
			set("minItems", t.Len()).set("maxItems", t.Len())
	case *types.Map:
		m := newObject().set("type", "object")
		if !s.v30 {
			if b, ok := t.Key().Underlying().(*types.Basic); ok && b.Info()&types.IsInteger != 0 {
				pattern := "^-?[0-9]+$"
				if b.Info()&types.IsUnsigned != 0 {
					pattern = "^[0-9]+$"
				}
				m.set("propertyNames", newObject().set("pattern", pattern))
			}
		}
		return m.set("additionalProperties", s.element(t.Elem(), dive, u))
	case *types.Struct:
		return s.object(t, u)
	}
	// Interfaces hold any value; what cannot be JSON (channels, functions)
	// was refused by the check step.
	return newObject()
}

// element is the schema of an item of an array or a value of a map: null
// when its type can be nil, unless its rules require it.
func (s *schemaSet) element(t types.Type, r *rules, u use) *jsonObject {
	return s.valueSchema(t, r, u, canBeNil(t) && !r.mustBeSet(t), "")
}

// object describes a struct's JSON object.
func (s *schemaSet) object(st *types.Struct, u use) *jsonObject {
	obj := newObject().set("type", "object")
	props := newObject()
	var required []string
	for _, f := range jsonFields(st) {
		r, _ := readRules(validateTag(f.tag), f.typ, nil)
		set := r.mustBeSet(f.typ)
		req := set || !u.request && !f.mayBeAbsent()
		nullable := canBeNil(f.typ) && !set && (u.request || !f.omitEmpty && !f.omitZero)
		var sch *jsonObject
		if f.quoted {
			// The rules are about the number inside the string, which a
			// schema of the string cannot bound.
			sch = s.decorate(quotedSchema(f.typ, nullable), nil, false, s.docs.fieldDoc(f.v))
		} else {
			sch = s.valueSchema(f.typ, r, u, nullable, s.docs.fieldDoc(f.v))
		}
		props.set(f.name, sch)
		if req {
			required = append(required, f.name)
		}
	}
	if props.len() > 0 {
		obj.set("properties", props)
	}
	if len(required) > 0 {
		obj.set("required", required)
	}
	if u.strict && !u.loose {
		obj.set("additionalProperties", false)
	}
	return obj
}

func derefAll(t types.Type) types.Type {
	for {
		p, ok := t.Underlying().(*types.Pointer)
		if !ok {
			return t
		}
		t = p.Elem()
	}
}

// valueSchema is the schema of a value of t (a field, an element, a body)
// with its rules (nil for none): null allowed when nullable, and desc as
// its description.
func (s *schemaSet) valueSchema(t types.Type, r *rules, u use, nullable bool, desc string) *jsonObject {
	elem := derefAll(t)
	var dive *rules
	if r != nil {
		dive = r.dive
	}
	sch := s.schemaOf(elem, u)
	kw := s.ruleKeywords(elem, r, false)
	if isRef(sch) || s.special(elem) != nil {
		if dive != nil {
			// The rules of the elements go beside the reference.
			switch et := elem.Underlying().(type) {
			case *types.Slice:
				kw.set("items", s.element(et.Elem(), dive, u))
			case *types.Array:
				kw.set("items", s.element(et.Elem(), dive, u))
			case *types.Map:
				kw.set("additionalProperties", s.element(et.Elem(), dive, u))
			}
		}
	} else if dive != nil {
		sch = s.structural(elem.Underlying(), u, dive)
	}
	return s.decorate(sch, kw, nullable, desc)
}

// decorate returns sch with the keywords of kw, null allowed when
// nullable, and a description. A reference in OpenAPI 3.0 takes no
// keywords beside it: it moves into allOf.
func (s *schemaSet) decorate(sch, kw *jsonObject, nullable bool, desc string) *jsonObject {
	if kw == nil {
		kw = newObject()
	}
	// A rule that no keyword states is said in words, after the field's
	// own description.
	if note, ok := kw.get("description").(string); ok {
		desc = strings.TrimSpace(desc + "\n\n" + strings.ToUpper(note[:1]) + note[1:] + ".")
		delete(kw.vals, "description")
		kw.keys = slices.DeleteFunc(kw.keys, func(k string) bool { return k == "description" })
	}
	if isRef(sch) {
		if kw.len() == 0 && !nullable && (desc == "" || s.v30) {
			return sch
		}
		out := newObject()
		if desc != "" {
			out.set("description", desc)
		}
		switch {
		case s.v30:
			out.set("allOf", []any{sch})
			if nullable {
				out.set("nullable", true)
			}
		case nullable:
			out.set("anyOf", []any{sch, newObject().set("type", "null")})
		default:
			out.set("$ref", sch.get("$ref"))
		}
		for _, k := range kw.keys {
			out.set(k, kw.vals[k])
		}
		return out
	}
	out := newObject()
	if desc != "" {
		out.set("description", desc)
	}
	for _, k := range sch.keys {
		if k == "description" && desc != "" {
			continue
		}
		out.set(k, sch.vals[k])
	}
	for _, k := range kw.keys {
		mergeKeyword(out, k, kw.vals[k])
	}
	if nullable {
		s.allowNull(out)
	}
	return out
}

// mergeKeyword sets a keyword of a rule, keeping the tighter of two bounds
// (an int8's range and a rule's min, say).
func mergeKeyword(o *jsonObject, k string, v any) {
	old, has := o.get(k).(jsonNumber)
	nv, isNum := v.(jsonNumber)
	if !has || !isNum {
		o.set(k, v)
		return
	}
	a, _ := strconv.ParseFloat(string(old), 64)
	b, _ := strconv.ParseFloat(string(nv), 64)
	switch k {
	case "minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties":
		if b > a {
			o.set(k, v)
		}
	default:
		if b < a {
			o.set(k, v)
		}
	}
}

// allowNull makes an inline schema accept null too.
func (s *schemaSet) allowNull(o *jsonObject) {
	typ, has := o.get("type").(string)
	if !has {
		return // no type: null is allowed already
	}
	if s.v30 {
		o.set("nullable", true)
	} else {
		o.set("type", []any{typ, "null"})
	}
	if enum, ok := o.get("enum").([]any); ok {
		o.set("enum", append(enum, nil))
	}
}

// basicSchema describes a boolean, number or string type.
func basicSchema(b *types.Basic) *jsonObject {
	o := newObject()
	switch b.Kind() {
	case types.Bool:
		return o.set("type", "boolean")
	case types.Int, types.Int64:
		return o.set("type", "integer").set("format", "int64")
	case types.Int32:
		return o.set("type", "integer").set("format", "int32")
	case types.Int8:
		return o.set("type", "integer").set("format", "int32").set("minimum", jsonNumber("-128")).set("maximum", jsonNumber("127"))
	case types.Int16:
		return o.set("type", "integer").set("format", "int32").set("minimum", jsonNumber("-32768")).set("maximum", jsonNumber("32767"))
	case types.Uint8:
		return o.set("type", "integer").set("format", "int32").set("minimum", jsonNumber("0")).set("maximum", jsonNumber("255"))
	case types.Uint16:
		return o.set("type", "integer").set("format", "int32").set("minimum", jsonNumber("0")).set("maximum", jsonNumber("65535"))
	case types.Uint32:
		return o.set("type", "integer").set("format", "int64").set("minimum", jsonNumber("0")).set("maximum", jsonNumber("4294967295"))
	case types.Uint, types.Uint64, types.Uintptr:
		return o.set("type", "integer").set("minimum", jsonNumber("0"))
	case types.Float32:
		return o.set("type", "number").set("format", "float")
	case types.Float64:
		return o.set("type", "number").set("format", "double")
	case types.String:
		return o.set("type", "string")
	}
	return o
}

// quotedSchema describes a field with the ,string option: its bool,
// number or string written inside a JSON string.
func quotedSchema(t types.Type, nullable bool) *jsonObject {
	b, _ := derefAll(t).Underlying().(*types.Basic)
	o := newObject().set("type", "string")
	switch {
	case b == nil:
	case b.Info()&types.IsBoolean != 0:
		o.set("enum", []any{"true", "false"})
	case b.Info()&types.IsUnsigned != 0:
		o.set("pattern", "^[0-9]+$")
	case b.Info()&types.IsInteger != 0:
		o.set("pattern", "^-?[0-9]+$")
	}
	if nullable {
		o.set("type", []any{"string", "null"})
		if e, ok := o.get("enum").([]any); ok {
			o.set("enum", append(e, nil))
		}
	}
	return o
}

// Patterns of the string rules that a regular expression describes: the
// ones go-playground/validator uses, which the runtime's checks follow.
var rulePatterns = map[string]string{
	"alpha":    "^[a-zA-Z]+$",
	"alphanum": "^[a-zA-Z0-9]+$",
	"numeric":  `^[-+]?[0-9]+(\.[0-9]+)?$`,
	"uuid":     "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
	"hostname": `^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`,
}

// durationPattern matches what time.ParseDuration accepts.
const durationPattern = `^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// ruleKeywords are the schema keywords of r's rules for a value of t (not
// a pointer): bounds, lengths, enum, format, pattern. inParam says the
// value is a parameter, where a time.Duration is a string; required adds
// what required means beyond presence (a non-empty string, a true bool).
func (s *schemaSet) ruleKeywords(t types.Type, r *rules, inParam bool) *jsonObject {
	kw := newObject()
	if r == nil {
		return kw
	}
	kind := kindOf(t)
	if r.required && !r.omitEmpty {
		switch kind {
		case vkString:
			kw.set("minLength", jsonNumber("1"))
		case vkBool:
			kw.set("enum", []any{true})
		}
	}
	var patterns []string
	var notes []string
	for _, c := range r.checks {
		if p, ok := rulePatterns[c.name]; ok {
			patterns = append(patterns, p)
		}
		switch c.name {
		case "email":
			kw.set("format", "email")
		case "url":
			kw.set("format", "uri")
		case "uuid":
			kw.set("format", "uuid")
		case "ip":
			kw.set("format", "ip")
		case "datetime":
			switch c.param {
			case time.RFC3339, time.RFC3339Nano:
				kw.set("format", "date-time")
			case time.DateOnly:
				kw.set("format", "date")
			default:
				if p := layoutPattern(c.param); p != "" {
					patterns = append(patterns, p)
				}
				notes = append(notes, "a time in the Go layout "+c.param)
			}
		case "oneof":
			var enum []any
			for _, v := range c.values {
				if kind == vkString {
					enum = append(enum, v)
				} else {
					enum = append(enum, jsonNumber(v))
				}
			}
			kw.set("enum", enum)
		case "min", "max", "len", "gt", "gte", "lt", "lte":
			if kind == vkDuration && inParam {
				notes = append(notes, durationNote(c))
				continue
			}
			s.boundKeywords(kw, kind, c)
		}
	}
	switch len(patterns) {
	case 0:
	case 1:
		kw.set("pattern", patterns[0])
	default:
		var all []any
		for _, p := range patterns {
			all = append(all, newObject().set("pattern", p))
		}
		kw.set("allOf", all)
	}
	if len(notes) > 0 {
		kw.set("description", strings.Join(notes, "; "))
	}
	return kw
}

// boundKeywords sets the keywords of min, max, len, gt, gte, lt and lte.
func (s *schemaSet) boundKeywords(kw *jsonObject, kind valKind, c *check) {
	n := jsonNumber(c.num)
	if c.length {
		lo, hi := "minLength", "maxLength"
		switch kind {
		case vkList:
			lo, hi = "minItems", "maxItems"
		case vkMap:
			lo, hi = "minProperties", "maxProperties"
		}
		v, _ := strconv.ParseInt(c.num, 10, 64)
		switch c.name {
		case "min", "gte":
			mergeKeyword(kw, lo, n)
		case "max", "lte":
			mergeKeyword(kw, hi, n)
		case "len":
			mergeKeyword(kw, lo, n)
			mergeKeyword(kw, hi, n)
		case "gt":
			mergeKeyword(kw, lo, jsonNumber(strconv.FormatInt(v+1, 10)))
		case "lt":
			mergeKeyword(kw, hi, jsonNumber(strconv.FormatInt(max(v-1, 0), 10)))
		}
		return
	}
	switch c.name {
	case "min", "gte":
		mergeKeyword(kw, "minimum", n)
	case "max", "lte":
		mergeKeyword(kw, "maximum", n)
	case "len":
		mergeKeyword(kw, "minimum", n)
		mergeKeyword(kw, "maximum", n)
	case "gt", "lt":
		key := map[string]string{"gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}[c.name]
		if s.v30 {
			// 3.0: a boolean beside minimum or maximum.
			bound := map[string]string{"gt": "minimum", "lt": "maximum"}[c.name]
			kw.set(bound, n)
			kw.set(key, true)
			return
		}
		mergeKeyword(kw, key, n)
	}
}

// durationNote says in words what a duration rule of a parameter, whose
// schema is a string, requires.
func durationNote(c *check) string {
	d := c.param
	if _, err := time.ParseDuration(d); err != nil {
		d = time.Duration(c.dur).String()
	}
	return map[string]string{
		"min": "at least ", "gte": "at least ", "max": "at most ", "lte": "at most ",
		"gt": "more than ", "lt": "less than ", "len": "exactly ",
	}[c.name] + d
}

// layoutPattern turns a Go time layout into a regular expression that
// every string time.Parse accepts matches, or "" when the layout has an
// element it does not know.
func layoutPattern(layout string) string {
	elems := []struct{ elem, re string }{
		{"January", "[A-Za-z]+"}, {"Monday", "[A-Za-z]+"}, {"2006", "[0-9]{4}"}, {"-07:00:00", "[+-][0-9]{2}:[0-9]{2}:[0-9]{2}"},
		{"Z07:00:00", "(Z|[+-][0-9]{2}:[0-9]{2}:[0-9]{2})"}, {"Z07:00", "(Z|[+-][0-9]{2}:[0-9]{2})"}, {"-07:00", "[+-][0-9]{2}:[0-9]{2}"},
		{"Z0700", "(Z|[+-][0-9]{4})"}, {"-0700", "[+-][0-9]{4}"}, {"Z07", "(Z|[+-][0-9]{2})"}, {"-07", "[+-][0-9]{2}"},
		{"Jan", "[A-Za-z]{3}"}, {"Mon", "[A-Za-z]{3}"}, {"MST", "[A-Za-z0-9+-]+"}, {"002", "[0-9]{3}"}, {"__2", "[ 0-9]{2}[0-9]"},
		{"01", "[0-9]{2}"}, {"02", "[0-9]{2}"}, {"03", "[0-9]{2}"}, {"04", "[0-9]{2}"}, {"05", "[0-9]{2}"}, {"06", "[0-9]{2}"},
		{"15", "[0-9]{1,2}"}, {"_2", "[ 0-9][0-9]"}, {"PM", "(AM|PM)"}, {"pm", "(am|pm)"},
		{"1", "[0-9]{1,2}"}, {"2", "[0-9]{1,2}"}, {"3", "[0-9]{1,2}"}, {"4", "[0-9]{1,2}"}, {"5", "[0-9]{1,2}"},
	}
	var b strings.Builder
	b.WriteByte('^')
	for i := 0; i < len(layout); {
		matched := false
		for _, e := range elems {
			if strings.HasPrefix(layout[i:], e.elem) {
				b.WriteString(e.re)
				i += len(e.elem)
				matched = true
				if e.elem == "05" || e.elem == "5" {
					// time.Parse takes a fraction after the seconds even when
					// the layout has none.
					b.WriteString(`([.,][0-9]+)?`)
				}
				break
			}
		}
		if matched {
			continue
		}
		c := layout[i]
		switch {
		case (c == '.' || c == ',') && i+1 < len(layout) && (layout[i+1] == '0' || layout[i+1] == '9'):
			j := i + 1
			for j < len(layout) && layout[j] == layout[i+1] {
				j++
			}
			if j < len(layout) && layout[j] >= '0' && layout[j] <= '9' {
				return ""
			}
			if layout[i+1] == '0' {
				fmt.Fprintf(&b, "[.,][0-9]{%d}", j-i-1)
			} else {
				b.WriteString("([.,][0-9]+)?")
			}
			i = j
		case c >= '0' && c <= '9':
			return "" // a number that is not an element: a layout futuresgen cannot read
		case strings.ContainsRune(`\.+*?()|[]{}^$`, rune(c)):
			b.WriteByte('\\')
			b.WriteByte(c)
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	b.WriteByte('$')
	return b.String()
}

// problemSchema describes the problem responses of runtime/view: RFC 9457
// problem details with the request's bad values in errors.
func problemSchema() *jsonObject {
	str := func(desc string) *jsonObject {
		return newObject().set("type", "string").set("description", desc)
	}
	fieldError := newObject().set("type", "object").
		set("properties", newObject().
			set("in", newObject().set("type", "string").set("enum", []any{"path", "query", "header", "cookie", "body"}).
				set("description", "where the value comes from")).
			set("name", str("the parameter's name; for the body, a JSON pointer to the value (\"\" for the whole body)")).
			set("detail", str("what is wrong with the value"))).
		set("required", []string{"in", "name", "detail"})
	return newObject().
		set("description", "An RFC 9457 problem: the response to a request that failed. Its detail is written for the client; a server error's details stay in the server's log, under request_id.").
		set("type", "object").
		set("properties", newObject().
			set("type", str("a URI reference that identifies the problem type: about:blank")).
			set("title", str("the status's standard text")).
			set("status", newObject().set("type", "integer").set("format", "int32").set("minimum", jsonNumber("400")).set("maximum", jsonNumber("599"))).
			set("detail", str("what went wrong, for the client")).
			set("request_id", str("the request's ID in the server's log, for server errors")).
			set("errors", newObject().set("type", "array").set("description", "each bad value of a 400, where it comes from and what is wrong").set("items", fieldError))).
		set("required", []string{"type", "title", "status"})
}
