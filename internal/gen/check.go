package gen

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"strings"
)

// The check step: a package's directives against the functions they
// annotate, once the package is type-checked. check runs the checks of each
// kind (check_task.go, check_view.go) and those of the package as a whole;
// this file also holds what the kinds share: receivers, callability,
// options, and whether a type can travel as JSON. Every problem goes to
// errs with its position; nothing here renders code.

// check validates every directive of the package against the function it
// annotates (checkTask, checkView) and keeps those that pass as units;
// then it checks what the units would generate against the package: no
// predeclared name it needs is hidden, and no generated name is taken.
func (p *plan) check(e *errs) {
	mux := newPatternSet() // catches bad and conflicting view patterns
	for _, d := range p.decls {
		d.obj, _ = p.pkg.TypesInfo.Defs[d.fn.Name].(*types.Func)
		switch d.kind {
		case "task":
			if t := checkTask(p.pkg.Types, d, e); t != nil {
				p.units = append(p.units, t)
			}
		case "view":
			if v := checkView(p.pkg.Types, d, e, mux); v != nil && v.readRules(p, e) {
				p.units = append(p.units, v)
			}
		case "socket":
			if v := checkSocket(p.pkg.Types, d, e, mux); v != nil && v.readRules(p, e) {
				p.units = append(p.units, v)
			}
		}
	}
	for _, d := range p.pkgDecls {
		if d.kind == "api" {
			p.api = checkAPI(p, d, e)
		}
	}
	if p.client != nil && !checkClient(p, p.client, e) {
		p.client = nil
	}
	if len(p.units) == 0 && p.api == nil && p.client == nil && (len(p.decls) > 0 || len(p.sites) == 0) {
		return // nothing to generate, or errors reported already
	}
	parsed := map[*token.File]bool{}
	for _, f := range p.pkg.Syntax {
		parsed[p.pkg.Fset.File(f.Package)] = true
	}
	checkShadowing(p.pkg.Types, parsed, p.pkg.Fset, e)
	checkCollisions(p.pkg.Types, p.pkg.Fset, p.pkg.Syntax, p.units, p.registrations(), e)
	if p.api != nil {
		p.api.checkNames(p, e)
		p.api.build(p, e)
	}
}

// checkShadowing reports package-level declarations that shadow a
// predeclared identifier generated code needs: in the package's generated
// file, the name would mean the package's declaration instead.
func checkShadowing(pkg *types.Package, files map[*token.File]bool, fset *token.FileSet, e *errs) {
	for _, name := range predeclared {
		obj := pkg.Scope().Lookup(name)
		if obj == nil || !files[fset.File(obj.Pos())] {
			continue
		}
		e.add(obj.Pos(), "the package declares %s, which hides Go's predeclared %s that the generated code needs: rename it", name, name)
	}
}

// predeclared are the predeclared identifiers that generated code names.
var predeclared = []string{
	"error", "nil", "true", "false", "len", "make", "append", "any", "comparable",
	"bool", "byte", "rune", "string", "int", "int8", "int16", "int32", "int64",
	"uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
	"float32", "float64", "complex64", "complex128",
}

// checkCollisions reports generated names that the package already declares
// outside the generated files (which are blanked while loading), and names
// that two units would both generate.
//
// Objects not declared in the package's parsed files are ignored: export
// data read for a dependency can add the old generated names to the
// package's scope.
func checkCollisions(pkg *types.Package, fset *token.FileSet, files []*ast.File, units []unit, regs []*registration, e *errs) {
	parsed := map[*token.File]bool{}
	for _, f := range files {
		parsed[fset.File(f.Package)] = true
	}
	declared := func(obj types.Object) bool { return obj != nil && parsed[fset.File(obj.Pos())] }
	seen := map[string]token.Pos{}
	for _, u := range units {
		d := u.declOf()
		at := d.at(d.dir.kindOff)
		what := d.fn.Name.Name
		recv := u.recvNamed()
		if recv != nil {
			what = recv.Obj().Name() + "." + what
		}
		claim := func(key, name string) bool {
			if prev, dup := seen[key]; dup {
				e.add(at, "%s would generate %s, which the %s at %s also generates", what, name, u.kind(), positionString(fset.Position(prev)))
				return false
			}
			seen[key] = at
			return true
		}
		for _, name := range u.packageNames() {
			if !claim("."+name, name) {
				continue
			}
			if obj := pkg.Scope().Lookup(name); declared(obj) {
				e.add(at, "%s needs to generate %s, but the package already declares %s at %s", what, name, name, positionString(fset.Position(obj.Pos())))
			}
		}
		for _, name := range u.methodNames() {
			if !claim(recv.Obj().Name()+"."+name, name) {
				continue
			}
			if obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(recv), true, pkg, name); declared(obj) {
				e.add(at, "%s needs a method %s, but %s already has a field or method %s at %s", what, name, recv.Obj().Name(), name, positionString(fset.Position(obj.Pos())))
			}
		}
	}
	for _, r := range regs {
		for _, name := range []string{r.funcName, r.listName} {
			if obj := pkg.Scope().Lookup(name); declared(obj) {
				e.add(r.at, "the generated %s would clash with %s declared at %s", name, name, positionString(fset.Position(obj.Pos())))
			}
		}
	}
}

// receiver is the receiver of a method task.
type receiver struct {
	v       *types.Var
	named   *types.Named
	pointer bool
}

// checkReceiver checks a method's receiver: a named, non-generic type.
func checkReceiver(d *decl, r *types.Var, e *errs) (*receiver, bool) {
	rt := r.Type()
	ptr, isPtr := rt.(*types.Pointer)
	if isPtr {
		rt = ptr.Elem()
	}
	named, _ := types.Unalias(rt).(*types.Named)
	if named == nil {
		e.add(d.fn.Recv.Pos(), "cannot wrap a method of %s", types.TypeString(r.Type(), qualifier(r.Pkg())))
		return nil, false
	}
	if named.TypeParams().Len() > 0 {
		e.add(d.fn.Recv.Pos(), "%s is a method of the generic type %s: a %s needs concrete types", d.fn.Name.Name, named.Obj().Name(), d.kind)
		return &receiver{v: r, named: named, pointer: isPtr}, false
	}
	return &receiver{v: r, named: named, pointer: isPtr}, true
}

// checkCallable reports a function that generated code cannot call: the
// blank identifier and init.
func checkCallable(d *decl, e *errs) bool {
	switch name := d.fn.Name.Name; {
	case name == "_":
		e.add(d.fn.Name.Pos(), "a function named _ cannot be called, so it cannot be a %s: give it a name", d.kind)
		return false
	case name == "init" && d.fn.Recv == nil:
		e.add(d.fn.Name.Pos(), "init cannot be called, so it cannot be a %s: move its body into a function with another name", d.kind)
		return false
	}
	return true
}

// resultsPos is where a function's results are, or would be.
func resultsPos(d *decl) token.Pos {
	if d.fn.Type.Results == nil {
		return d.fn.Type.Params.End()
	}
	return d.fn.Type.Results.Pos()
}

// checkDirectiveOptions checks a directive's options against specs after
// taking its first nargs positional arguments; further bare words must be
// flags. It reports problems at their exact column and returns false if
// there were any.
func checkDirectiveOptions(d *decl, nargs int, specs []optSpec, e *errs) (optionSet, bool) {
	ok := true
	if len(d.dir.args) > nargs {
		for _, a := range d.dir.args[nargs:] {
			if slices.ContainsFunc(specs, func(s optSpec) bool { return s.key == a.text && s.kind == optBool }) {
				d.dir.options = append(d.dir.options, option{key: a.text, off: a.off})
				continue
			}
			err := e.add(d.at(a.off), "unexpected %q: //futures:%s takes key=value options%s", a.text, d.kind, optionHint(a.text, specs))
			if near := nearestOption(a.text, specs); near != nil && near.kind == optBool {
				err.suggest(d.at(a.off), len(a.text), near.key)
			}
			ok = false
		}
		d.dir.args = d.dir.args[:nargs]
	}
	vals, problems := checkOptions(d.dir, specs)
	for _, p := range problems {
		err := e.add(d.at(p.off), "%s", p.msg)
		// A misspelled key has an obvious correction, the key that the
		// message suggests, unless that key needs a value and has none.
		i := slices.IndexFunc(d.dir.options, func(o option) bool { return o.off == p.off })
		if i >= 0 && !slices.ContainsFunc(specs, func(s optSpec) bool { return s.key == d.dir.options[i].key }) {
			o := d.dir.options[i]
			if near := nearestOption(o.key, specs); near != nil && (o.hasValue || near.kind == optBool) {
				err.suggest(d.at(o.off), len(o.key), near.key)
			}
		}
		ok = false
	}
	return vals, ok
}

// nearestOption is the option of specs whose key word is likely a typo
// of, as unknownOption and optionHint suggest it, or nil.
func nearestOption(word string, specs []optSpec) *optSpec {
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = s.key
	}
	slices.Sort(keys)
	near := nearest(word, keys)
	if i := slices.IndexFunc(specs, func(s optSpec) bool { return s.key == near }); near != "" && i >= 0 {
		return &specs[i]
	}
	return nil
}

func optionHint(word string, specs []optSpec) string {
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = s.key
	}
	slices.Sort(keys)
	if near := nearest(word, keys); near != "" {
		return fmt.Sprintf(" (did you mean %s=…?)", near)
	}
	return " such as " + strings.Join(keys[:min(3, len(keys))], "=…, ") + "=…"
}

// qualifier spells types in messages as the compiler does: the package's
// own types bare, those of other packages by package name (*model.Feed,
// not *example.com/app/internal/model.Feed).
func qualifier(pkg *types.Package) types.Qualifier {
	return func(other *types.Package) string {
		if other == pkg {
			return ""
		}
		return other.Name()
	}
}

// uselessOption reports the option key of d, which cannot act on the
// function it annotates, and why.
func uselessOption(d *decl, key string, e *errs, why string) {
	for _, o := range d.dir.options {
		if o.key == key {
			text := o.key
			if o.hasValue {
				text += "=" + o.value
			}
			e.add(d.at(o.off), "%s cannot act on %s: %s", text, d.fn.Name.Name, why)
			return
		}
	}
}

// misplacedContext is the message for a context.Context parameter p that
// is not the function's first: generated code passes the task's or
// view's context as the first argument only, so p would never see a
// timeout or a cancellation.
func misplacedContext(d *decl, p *types.Var, second bool) string {
	name := p.Name()
	if name == "" || name == "_" {
		if second {
			return fmt.Sprintf("%s takes a second context.Context, which the %s's timeout and cancellation never reach: remove it", d.fn.Name.Name, d.kind)
		}
		return fmt.Sprintf("%s takes a context.Context that is not its first parameter, so the %s's timeout and cancellation would never reach it: move it to the first parameter", d.fn.Name.Name, d.kind)
	}
	if second {
		return fmt.Sprintf("%s is a second context.Context, which the %s's timeout and cancellation never reach: remove %s", name, d.kind, name)
	}
	return fmt.Sprintf("%s is a context.Context but not the first parameter of %s, so the %s's timeout and cancellation would never reach it: move %s to the first parameter", name, d.fn.Name.Name, d.kind, name)
}

// isContext reports whether t is context.Context.
func isContext(t types.Type) bool {
	return isNamed(t, "context", "Context")
}

// isError reports whether t is the predeclared error type.
func isError(t types.Type) bool {
	return types.Identical(t, types.Universe.Lookup("error").Type())
}

func isNamed(t types.Type, pkgPath, name string) bool {
	t = types.Unalias(t)
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkgPath && n.Obj().Name() == name
}

// jsonProblem explains why values of t, a parameter called name, would not
// survive a JSON round trip (encoding/json), or returns "" when they would.
// Types that marshal themselves are trusted. q qualifies type names.
func jsonProblem(t types.Type, name string, q types.Qualifier) string {
	return jsonCheck(t, map[types.Type]bool{}, name, q, true)
}

var (
	jsonMarshaler = types.NewInterfaceType([]*types.Func{
		types.NewFunc(0, nil, "MarshalJSON", types.NewSignatureType(nil, nil, nil, nil,
			types.NewTuple(types.NewVar(0, nil, "", types.NewSlice(types.Typ[types.Byte])), types.NewVar(0, nil, "", types.Universe.Lookup("error").Type())), false)),
	}, nil).Complete()
	textMarshaler = types.NewInterfaceType([]*types.Func{
		types.NewFunc(0, nil, "MarshalText", types.NewSignatureType(nil, nil, nil, nil,
			types.NewTuple(types.NewVar(0, nil, "", types.NewSlice(types.Typ[types.Byte])), types.NewVar(0, nil, "", types.Universe.Lookup("error").Type())), false)),
	}, nil).Complete()
)

func marshalsItself(t types.Type) bool {
	if _, isIface := t.Underlying().(*types.Interface); isIface {
		return false
	}
	for _, m := range []*types.Interface{jsonMarshaler, textMarshaler} {
		if types.Implements(t, m) || types.Implements(types.NewPointer(t), m) {
			return true
		}
	}
	return false
}

// jsonCheck walks t for what encoding/json refuses (channels, functions,
// complex numbers, unsafe pointers, bad map keys) and, when strict, for what
// would not come back the same (interfaces, unexported fields).
func jsonCheck(t types.Type, seen map[types.Type]bool, path string, q types.Qualifier, strict bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	if marshalsItself(t) {
		return ""
	}
	str := func(t types.Type) string { return types.TypeString(t, q) }
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Kind() == types.UnsafePointer:
			return fmt.Sprintf("%s is an unsafe.Pointer, which JSON cannot encode", path)
		case u.Info()&types.IsComplex != 0:
			return fmt.Sprintf("%s is a %s, which JSON cannot encode", path, str(t))
		}
	case *types.Chan:
		return fmt.Sprintf("%s is a channel (%s), which JSON cannot encode", path, str(t))
	case *types.Signature:
		return fmt.Sprintf("%s is a function (%s), which JSON cannot encode", path, str(t))
	case *types.Interface:
		if strict {
			return fmt.Sprintf("%s is an interface (%s), which gives JSON no concrete type to decode into", path, str(t))
		}
	case *types.Pointer:
		return jsonCheck(u.Elem(), seen, path, q, strict)
	case *types.Slice:
		return jsonCheck(u.Elem(), seen, path+"[i]", q, strict)
	case *types.Array:
		return jsonCheck(u.Elem(), seen, path+"[i]", q, strict)
	case *types.Map:
		k := u.Key()
		kb, isBasic := k.Underlying().(*types.Basic)
		okKey := isBasic && (kb.Info()&types.IsString != 0 || kb.Info()&types.IsInteger != 0) || marshalsItself(k)
		if !okKey {
			return fmt.Sprintf("%s is a map with %s keys; JSON keys must be strings, integers or encoding.TextMarshalers", path, str(k))
		}
		return jsonCheck(u.Elem(), seen, path+"[k]", q, strict)
	case *types.Struct:
		for i := range u.NumFields() {
			f := u.Field(i)
			tag, _, _ := strings.Cut(reflect.StructTag(u.Tag(i)).Get("json"), ",")
			if tag == "-" {
				continue
			}
			if !f.Exported() && strict {
				if f.Embedded() {
					if _, isStruct := derefStruct(f.Type()); isStruct {
						// encoding/json promotes the fields of embedded structs.
						if p := jsonCheck(f.Type(), seen, path, q, strict); p != "" {
							return p
						}
						continue
					}
				}
				return fmt.Sprintf("%s.%s is an unexported field of %s and would silently vanish in JSON; export it or tag it `json:\"-\"`",
					path, f.Name(), str(t))
			}
			if p := jsonCheck(f.Type(), seen, path+"."+f.Name(), q, strict); p != "" {
				return p
			}
		}
	}
	return ""
}

func derefStruct(t types.Type) (*types.Struct, bool) {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	s, ok := t.Underlying().(*types.Struct)
	return s, ok
}
