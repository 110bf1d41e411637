package gen

import (
	"fmt"
	"go/types"
	"strconv"
	"strings"
	"time"

	"github.com/dave/jennifer/jen"
	"golang.org/x/tools/go/types/typeutil"
)

// Generated validation: the checks of validate tags, written out for each
// view after its request is bound, with no reflection. Each field gets an
// if chain: required, then its rules in order, the first that fails
// reported (as go-playground/validator reports one rule per field), then
// the elements after dive; a struct's fields are checked wherever the
// struct is, as validator does, and a slice's or map's elements only after
// dive. A body's problems are named by a JSON pointer, a parameter's by
// its name, as binding problems are. A type that contains itself is
// checked by a function the registration declares once.

// validator writes the checks of one view.
type validator struct {
	pkg     *types.Package // the generated file's
	s       *localScope
	p       string            // the Problems variable
	pIsPtr  bool              // p is a *view.Problems
	ifs     map[jen.Code]bool // the statements that are ifs, for else if
	ptrVars map[string]bool   // locals that point to the struct they name
	stack   typeutil.Map      // struct types being written out → true
	funcs   typeutil.Map      // struct types that contain themselves → *validateFunc
}

// validateFunc checks a type that contains itself.
type validateFunc struct {
	name string
	t    types.Type
}

// where names a value in a problem: the place (view.Body, view.Query…),
// the name (a parameter's, or a JSON pointer in parts), and, for the
// elements of a parameter, the prefix of the detail ("value 2: ").
type where struct {
	in     string // Path, Query, Header, Cookie, Body
	name   []part
	prefix []part
}

// part is a piece of a string built at run time: a literal or code.
type part struct {
	lit  string
	code func() jen.Code
}

func (w where) child(name string) where {
	w.name = append(append([]part(nil), w.name...), part{lit: "/" + escapePointer(name)})
	return w
}

func (w where) elem(code func() jen.Code, param bool) where {
	if param {
		w.prefix = append(append([]part(nil), w.prefix...), part{lit: "value "}, part{code: code}, part{lit: ": "})
		return w
	}
	w.name = append(append([]part(nil), w.name...), part{lit: "/"}, part{code: code})
	return w
}

// escapePointer escapes a JSON object key for a JSON pointer.
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// concat renders parts as a string expression.
func concat(parts []part, tail string) jen.Code {
	var merged []part
	for _, p := range append(parts, part{lit: tail}) {
		if p.code == nil && len(merged) > 0 && merged[len(merged)-1].code == nil {
			merged[len(merged)-1].lit += p.lit
			continue
		}
		if p.code == nil && p.lit == "" {
			continue
		}
		merged = append(merged, p)
	}
	if len(merged) == 0 {
		return jen.Lit("")
	}
	var c *jen.Statement
	for i, p := range merged {
		piece := jen.Lit(p.lit)
		if p.code != nil {
			piece = jen.Add(p.code())
		}
		if i == 0 {
			c = piece
		} else {
			c = c.Op("+").Add(piece)
		}
	}
	return c
}

// report records a problem.
func (g *validator) report(w where, msg string) jen.Code {
	return jen.Id(g.p).Dot(member(pathView, "Problems", "Add")).Call(
		rt(pathView, w.in), concat(w.name, ""), concat(w.prefix, msg))
}

// needsCheck reports whether a value of t with rules r has anything to
// check: rules, or a struct whose fields do.
func needsCheck(t types.Type, r *rules, visiting *typeutil.Map) bool {
	if r != nil && (r.required || r.omitEmpty || len(r.checks) > 0 || r.dive != nil) {
		return true
	}
	t = derefAll(t)
	st, ok := t.Underlying().(*types.Struct)
	if !ok || kindOf(t) != vkStruct {
		return false
	}
	if visiting.At(t) != nil {
		return false
	}
	visiting.Set(t, true)
	defer visiting.Delete(t)
	for _, f := range jsonFields(st) {
		fr, _ := readRules(validateTag(f.tag), f.typ, nil)
		if needsCheck(f.typ, fr, visiting) {
			return true
		}
	}
	return false
}

// value returns the checks of the value x (a Go expression) of type t.
func (g *validator) value(x string, t types.Type, r *rules, w where, param bool) []jen.Code {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		var inner []jen.Code
		n := g.s.name("v")
		defer g.release(n)
		elemX := "*" + n
		switch p.Elem().Underlying().(type) {
		case *types.Slice, *types.Array:
			elemX = "(*" + n + ")" // indexed
		}
		if _, isStruct := p.Elem().Underlying().(*types.Struct); isStruct {
			elemX = n // selectors go through the pointer
			g.ptrVars[n] = true
		}
		var rest *rules
		if r != nil {
			rest = &rules{checks: r.checks, dive: r.dive}
		}
		inner = g.value(elemX, p.Elem(), rest, w, param)
		mustBeSet := r != nil && (r.required || !r.omitEmpty && (len(r.checks) > 0 || r.dive != nil))
		if len(inner) == 0 && !mustBeSet {
			return nil
		}
		stmt := jen.If(jen.Id(n).Op(":=").Id(x), jen.Id(n).Op("!=").Nil()).Block(inner...)
		if mustBeSet {
			stmt = stmt.Else().Block(g.report(w, "is required"))
		}
		return []jen.Code{g.markIf(stmt)}
	}

	kind := kindOf(t)
	var chain []condition
	if r != nil && r.required {
		chain = append(chain, condition{zero(x, t, kind, true), "is required"})
	}
	if r != nil {
		for _, c := range r.checks {
			chain = append(chain, condition{g.failing(x, t, kind, c), c.message(kind)})
		}
	}
	var after []jen.Code // in the final else: elements, and a struct's fields
	if r != nil && r.dive != nil {
		after = g.elements(x, t, r.dive, w, param)
	}
	if kind == vkStruct {
		after = append(after, g.fields(x, t, w)...)
	}
	var stmt *jen.Statement
	for _, c := range chain {
		if stmt == nil {
			stmt = jen.If(c.fails)
		} else {
			stmt = stmt.Else().If(c.fails)
		}
		stmt = stmt.Block(g.report(w, c.msg))
	}
	var body []jen.Code
	switch {
	case stmt == nil:
		body = after
	case len(after) > 0:
		body = []jen.Code{g.markIf(g.orElse(stmt, after))}
	default:
		body = []jen.Code{g.markIf(stmt)}
	}
	if r != nil && r.omitEmpty && !r.required && len(body) > 0 {
		return []jen.Code{g.markIf(jen.If(zero(x, t, kind, false)).Block(body...))}
	}
	return body
}

// markIf records that stmt is an if statement, and returns it.
func (g *validator) markIf(stmt *jen.Statement) *jen.Statement {
	if g.ifs == nil {
		g.ifs = map[jen.Code]bool{}
	}
	g.ifs[stmt] = true
	return stmt
}

// orElse adds an else to the if stmt: else if, when the statements are
// one if.
func (g *validator) orElse(stmt *jen.Statement, stmts []jen.Code) *jen.Statement {
	if len(stmts) == 1 && g.ifs[stmts[0]] {
		return stmt.Else().Add(stmts[0])
	}
	return stmt.Else().Block(stmts...)
}

// release gives back names declared in the scope of an if or a for that
// is written: the next scope may declare them again.
func (g *validator) release(names ...string) {
	for _, n := range names {
		delete(g.s.local, n)
		delete(g.ptrVars, n)
	}
}

type condition struct {
	fails jen.Code
	msg   string
}

// zero is the condition that x, of type t and kind kind, is its type's
// zero value (or nil), when is; that it is not, when !is.
func zero(x string, t types.Type, kind valKind, is bool) jen.Code {
	eq, not := "==", "!"
	if !is {
		eq, not = "!=", ""
	}
	switch kind {
	case vkString:
		return jen.Id(x).Op(eq).Lit("")
	case vkInt, vkUint, vkFloat, vkDuration:
		return jen.Id(x).Op(eq).Lit(0)
	case vkBool:
		if is {
			return jen.Op("!").Id(x)
		}
		return jen.Id(x)
	case vkTime:
		return jen.Op(not).Id(x).Dot("IsZero").Call()
	case vkStruct:
		return jen.Id(x).Op(eq).Parens(jen.Add(typeCode(t)).Values())
	}
	if _, isArray := t.Underlying().(*types.Array); isArray {
		return jen.Id(x).Op(eq).Parens(jen.Add(typeCode(t)).Values())
	}
	return jen.Id(x).Op(eq).Nil()
}

// elements checks the elements of a slice or array, or the values of a
// map, against the rules after dive.
func (g *validator) elements(x string, t types.Type, r *rules, w where, param bool) []jen.Code {
	var et types.Type
	isMap := false
	switch u := t.Underlying().(type) {
	case *types.Slice:
		et = u.Elem()
	case *types.Array:
		et = u.Elem()
	case *types.Map:
		et, isMap = u.Elem(), true
	}
	if !needsCheck(et, r, &typeutil.Map{}) {
		return nil
	}
	if isMap {
		k, v := g.s.name("k"), g.s.name("e")
		defer g.release(k, v)
		key := t.Underlying().(*types.Map).Key()
		keyCode := func() jen.Code { return rt(pathView, "PointerKey").Call(jen.String().Call(jen.Id(k))) }
		if b, _ := key.Underlying().(*types.Basic); b != nil && b.Info()&types.IsInteger != 0 {
			keyCode = func() jen.Code { return jen.Qual(pathFmt, "Sprint").Call(jen.Id(k)) }
		}
		inner := g.value(v, et, r, w.elem(keyCode, param), param)
		if len(inner) == 0 {
			return nil
		}
		return []jen.Code{jen.For(jen.List(jen.Id(k), jen.Id(v)).Op(":=").Range().Id(x)).Block(inner...)}
	}
	i := g.s.name("i")
	defer g.release(i)
	index := func() jen.Code { return jen.Qual(pathStrconv, "Itoa").Call(jen.Id(i)) }
	if param {
		index = func() jen.Code { return jen.Qual(pathStrconv, "Itoa").Call(jen.Id(i).Op("+").Lit(1)) }
	}
	inner := g.value(x+"["+i+"]", et, r, w.elem(index, param), param)
	if len(inner) == 0 {
		return nil
	}
	return []jen.Code{jen.For(jen.Id(i).Op(":=").Range().Id(x)).Block(inner...)}
}

// fields checks the fields of the struct x of type t; a struct type inside
// its own fields is checked by a function.
func (g *validator) fields(x string, t types.Type, w where) []jen.Code {
	if g.stack.At(t) != nil {
		f, _ := g.funcs.At(t).(*validateFunc)
		if f == nil {
			f = &validateFunc{name: g.s.name("validate" + sanitizeIdent(typeName(t))), t: t}
			g.funcs.Set(t, f)
		}
		arg := "&" + x
		if g.ptrVars[x] {
			arg = x
		}
		problems := jen.Op("&").Id(g.p)
		if g.pIsPtr {
			problems = jen.Id(g.p)
		}
		return []jen.Code{jen.Id(f.name).Call(problems, concat(w.name, ""), jen.Id(arg))}
	}
	g.stack.Set(t, true)
	defer g.stack.Delete(t)
	st := t.Underlying().(*types.Struct)
	var out []jen.Code
	for _, f := range jsonFields(st) {
		fr, _ := readRules(validateTag(f.tag), f.typ, nil)
		if !needsCheck(f.typ, fr, &typeutil.Map{}) {
			continue
		}
		// The field's selector, and a nil check for every embedded pointer
		// on its way.
		sel := x
		cur := t
		var guards []string
		nameable := true
		for depth, idx := range f.index {
			fv := cur.Underlying().(*types.Struct).Field(idx)
			if !fv.Exported() && fv.Pkg() != g.pkg {
				// An unexported embedded struct of another package: its
				// promoted fields cannot be reached through a name, nor
				// the embedded pointer checked for nil.
				nameable = false
				break
			}
			sel += "." + fv.Name()
			if depth < len(f.index)-1 {
				cur = fv.Type()
				if p, ok := cur.Underlying().(*types.Pointer); ok {
					guards = append(guards, sel)
					cur = p.Elem()
				}
			}
		}
		if !nameable {
			continue
		}
		stmts := g.value(sel, f.typ, fr, w.child(f.name), false)
		for j := len(guards) - 1; j >= 0; j-- {
			stmts = []jen.Code{jen.If(jen.Id(guards[j]).Op("!=").Nil()).Block(stmts...)}
		}
		out = append(out, stmts...)
	}
	return out
}

// declareFuncs returns the declarations of the functions that check types
// containing themselves, each written out once, in the registration.
func (g *validator) declareFuncs() []jen.Code {
	var vars, out []jen.Code
	done := map[*validateFunc]bool{}
	for {
		var next *validateFunc
		g.funcs.Iterate(func(_ types.Type, v any) {
			if f := v.(*validateFunc); !done[f] && (next == nil || f.name < next.name) {
				next = f
			}
		})
		if next == nil {
			break
		}
		done[next] = true
		outer := g.s
		g.s = &localScope{outer: outer.outer, local: map[string]bool{}}
		for name := range outer.local {
			g.s.local[name] = true
		}
		p, ptr, v := g.s.name("p"), g.s.name("ptr"), g.s.name("v")
		saved := g.p
		g.p, g.pIsPtr = p, true
		g.ptrVars[v] = true
		body := g.fields(v, next.t, where{in: "Body", name: []part{{code: func() jen.Code { return jen.Id(ptr) }}}})
		g.p, g.pIsPtr = saved, false
		g.s = outer
		// Every function is declared before any is defined: they may call
		// each other.
		sig := jen.Func().Params(jen.Op("*").Add(rt(pathView, "Problems")), jen.String(), jen.Op("*").Add(typeCode(next.t)))
		vars = append(vars, jen.Var().Id(next.name).Add(sig))
		out = append(out,
			jen.Id(next.name).Op("=").Func().Params(
				jen.Id(p).Op("*").Add(rt(pathView, "Problems")), jen.Id(ptr).String(), jen.Id(v).Op("*").Add(typeCode(next.t)),
			).Block(body...),
		)
	}
	return append(vars, out...)
}

func typeName(t types.Type) string {
	if n, ok := types.Unalias(t).(*types.Named); ok {
		return n.Obj().Name()
	}
	return "Struct"
}

func sanitizeIdent(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, upperFirst(s))
}

// failing is the condition under which x fails check c.
func (g *validator) failing(x string, t types.Type, kind valKind, c *check) jen.Code {
	str := jen.Id(x)
	if !types.Identical(t, types.Typ[types.String]) {
		str = jen.String().Call(jen.Id(x))
	}
	if fn, ok := stringRules[c.name]; ok {
		if c.name == "datetime" {
			return jen.Op("!").Add(rt(pathView, fn)).Call(str, jen.Lit(c.param))
		}
		return jen.Op("!").Add(rt(pathView, fn)).Call(str)
	}
	if c.name == "oneof" {
		var cond *jen.Statement
		for _, v := range c.values {
			var lit jen.Code = jen.Lit(v)
			if kind != vkString {
				lit = jen.Op(v)
			}
			term := jen.Id(x).Op("!=").Add(lit)
			if cond == nil {
				cond = term
			} else {
				cond = cond.Op("&&").Add(term)
			}
		}
		return cond
	}
	op := map[string]string{"min": "<", "gte": "<", "max": ">", "lte": ">", "gt": "<=", "lt": ">=", "len": "!="}[c.name]
	if c.length {
		n, _ := strconv.Atoi(c.num)
		if kind == vkString {
			count := jen.Qual(pathUTF8, "RuneCountInString").Call(str)
			if op == ">" || op == ">=" {
				// Fewer bytes than the bound are fewer runes: count only
				// strings that may be too long.
				return jen.Len(jen.Id(x)).Op(op).Lit(n).Op("&&").Add(count).Op(op).Lit(n)
			}
			return jen.Add(count).Op(op).Lit(n)
		}
		return jen.Len(jen.Id(x)).Op(op).Lit(n)
	}
	if kind == vkDuration {
		return jen.Id(x).Op(op).Add(durationCode(time.Duration(c.dur)))
	}
	lhs := jen.Id(x)
	if conv := widen(t, c.num); conv != "" {
		lhs = jen.Id(conv).Call(jen.Id(x))
	}
	return lhs.Op(op).Op(c.num)
}

// widen returns the type to convert a number of type t to before comparing
// it with the constant num, when num might not fit t on some platform (an
// int is 32 bits on some): "" when it fits.
func widen(t types.Type, num string) string {
	b, _ := t.Underlying().(*types.Basic)
	if b == nil {
		return ""
	}
	switch b.Kind() {
	case types.Int, types.Uint, types.Uintptr:
	default:
		return "" // readRules refused what does not fit
	}
	if n, err := strconv.ParseInt(num, 10, 32); err == nil && (b.Kind() == types.Int || n >= 0) {
		if b.Kind() != types.Int {
			if _, err := strconv.ParseUint(num, 10, 32); err == nil {
				return ""
			}
		} else {
			return ""
		}
	}
	if b.Kind() == types.Int {
		return "int64"
	}
	return "uint64"
}

// message is what a problem says when c fails on a value of kind kind.
func (c *check) message(kind valKind) string {
	if c.length {
		n, _ := strconv.Atoi(c.num)
		unit := map[valKind][2]string{vkString: {"character", "characters"}, vkList: {"item", "items"}, vkMap: {"entry", "entries"}}[kind]
		u := unit[1]
		if n == 1 {
			u = unit[0]
		}
		if kind == vkString {
			switch c.name {
			case "min", "gte":
				return fmt.Sprintf("must be at least %d %s long", n, u)
			case "max", "lte":
				return fmt.Sprintf("must be at most %d %s long", n, u)
			case "len":
				return fmt.Sprintf("must be exactly %d %s long", n, u)
			case "gt":
				return fmt.Sprintf("must be longer than %d %s", n, u)
			case "lt":
				return fmt.Sprintf("must be shorter than %d %s", n, u)
			}
		}
		switch c.name {
		case "min", "gte":
			return fmt.Sprintf("must have at least %d %s", n, u)
		case "max", "lte":
			return fmt.Sprintf("must have at most %d %s", n, u)
		case "len":
			return fmt.Sprintf("must have exactly %d %s", n, u)
		case "gt":
			return fmt.Sprintf("must have more than %d %s", n, u)
		case "lt":
			return fmt.Sprintf("must have fewer than %d %s", n, u)
		}
	}
	num := c.num
	if kind == vkDuration {
		num = c.param // as written: 1h rather than 1h0m0s
		if _, err := time.ParseDuration(num); err != nil {
			num = time.Duration(c.dur).String()
		}
	}
	switch c.name {
	case "min", "gte":
		return "must be at least " + num
	case "max", "lte":
		return "must be at most " + num
	case "len":
		return "must be " + num
	case "gt":
		return "must be greater than " + num
	case "lt":
		return "must be less than " + num
	case "oneof":
		return "must be one of " + strings.Join(c.values, ", ")
	case "email":
		return "must be an email address"
	case "url":
		return "must be an absolute URL"
	case "uuid":
		return "must be a UUID"
	case "alpha":
		return "must contain only ASCII letters"
	case "alphanum":
		return "must contain only ASCII letters and digits"
	case "numeric":
		return "must be a decimal number"
	case "hostname":
		return "must be a host name"
	case "ip":
		return "must be an IP address"
	case "datetime":
		return "must be a time in the layout " + c.param
	}
	return "is invalid"
}
