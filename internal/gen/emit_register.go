package gen

import (
	"go/ast"
	"go/token"
	"go/types"

	"github.com/dave/jennifer/jen"
)

// unit is a checked directive on its way to generated code: a task or a
// view.
type unit interface {
	declOf() *decl
	kind() string
	// recvNamed is the receiver's type for a method, nil for a function.
	recvNamed() *types.Named
	// packageNames and methodNames are what the unit declares, for
	// collision checks.
	packageNames() []string
	methodNames() []string
}

// registration is a generated Register… function and the list it walks:
// one for the package's function tasks (RegisterTasks), one for its
// function views (RegisterViews), and one of each per receiver type for
// methods (RegisterMailerTasks, RegisterShopViews).
type registration struct {
	kind     string       // "task" or "view"
	recv     *types.Named // nil for functions
	funcName string
	listName string
	at       token.Pos // the first unit's directive, for errors
	units    []unit
}

// registrationNames returns the function and list names of a registration.
// typeName is "" for functions.
func registrationNames(kind, typeName string) (funcName, listName string) {
	plural := map[string]string{"task": "Tasks", "view": "Views"}[kind]
	if typeName == "" {
		return "Register" + plural, "futures" + plural
	}
	if ast.IsExported(typeName) {
		return "Register" + typeName + plural, "futures" + plural + "_" + typeName
	}
	return "register" + upperFirst(typeName) + plural, "futures" + plural + "_" + typeName
}

// registrations groups units by the function that registers them, in the
// order of their first unit.
func registrations(units []unit) []*registration {
	type key struct {
		kind string
		recv *types.Named
	}
	var regs []*registration
	byKey := map[key]*registration{}
	for _, u := range units {
		k := key{u.kind(), u.recvNamed()}
		r := byKey[k]
		if r == nil {
			typeName := ""
			if k.recv != nil {
				typeName = k.recv.Obj().Name()
			}
			r = &registration{kind: k.kind, recv: k.recv, at: u.declOf().at(u.declOf().dir.kindOff)}
			r.funcName, r.listName = registrationNames(k.kind, typeName)
			byKey[k] = r
			regs = append(regs, r)
		}
		r.units = append(r.units, u)
	}
	return regs
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
				e.add(at, "%s would generate %s, which the %s at %s also generates", what, name, u.kind(), fset.Position(prev))
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
				e.add(at, "%s needs to generate %s, but the package already declares %s at %s", what, name, name, fset.Position(obj.Pos()))
			}
		}
		for _, name := range u.methodNames() {
			if !claim(recv.Obj().Name()+"."+name, name) {
				continue
			}
			if obj, _, _ := types.LookupFieldOrMethod(types.NewPointer(recv), true, pkg, name); declared(obj) {
				e.add(at, "%s needs a method %s, but %s already has a field or method %s at %s", what, name, recv.Obj().Name(), name, fset.Position(obj.Pos()))
			}
		}
	}
	for _, r := range regs {
		for _, name := range []string{r.funcName, r.listName} {
			if obj := pkg.Scope().Lookup(name); declared(obj) {
				e.add(r.at, "the generated %s would clash with %s declared at %s", name, name, fset.Position(obj.Pos()))
			}
		}
	}
}

// emitRegistration writes a Register… function and its list, which holds
// the units of this file; units in other files join the list from their
// own init (emitAppends).
func emitRegistration(f *jen.File, n *names, r *registration) {
	s := n.scope()
	var recv string
	if r.recv != nil {
		recv = s.name("recv")
	}
	items := make([]jen.Code, len(r.units))
	for i, u := range r.units {
		items[i] = listItem(n, r, u, recv, true)
	}
	owner := "this package"
	if r.recv != nil {
		owner = r.recv.Obj().Name()
	}
	docComment(f, "%s lists the %s %ss of %s for %s.", r.listName, map[bool]string{true: "method", false: "function"}[r.recv != nil], r.kind, owner, r.funcName)
	f.Var().Id(r.listName).Op("=").Index().Add(listElem(r)).Add(multiline(items))
	f.Line()
	switch r.kind {
	case "task":
		emitRegisterTasks(f, s, r, recv)
	case "view":
		emitRegisterViews(f, s, r, recv)
	}
	f.Line()
}

// emitAppends adds this file's units to registration lists declared in
// other generated files, from init: package variables are initialized
// before any init function runs.
func emitAppends(f *jen.File, n *names, regs []*registration) {
	var stmts []jen.Code
	for _, r := range regs {
		recv := ""
		if r.recv != nil {
			recv = n.scope().name("recv")
		}
		items := []jen.Code{jen.Id(r.listName)}
		for _, u := range r.units {
			items = append(items, listItem(n, r, u, recv, false))
		}
		stmts = append(stmts, jen.Id(r.listName).Op("=").Append(items...))
	}
	f.Func().Id("init").Params().Block(stmts...)
	f.Line()
}

// listElem is the element type of a registration's list.
func listElem(r *registration) jen.Code {
	var recv []jen.Code
	if r.recv != nil {
		recv = []jen.Code{jen.Op("*").Id(r.recv.Obj().Name())}
	}
	switch r.kind {
	case "task":
		def := jen.Qual(pathTaskloop, "Definition")
		if r.recv == nil {
			return def
		}
		return jen.Func().Params(recv...).Add(def)
	default:
		params := append([]jen.Code{jen.Op("*").Qual(pathHTTP, "ServeMux"), jen.Op("*").Qual(pathView, "Config")}, recv...)
		return jen.Func().Params(params...).Error()
	}
}

// listItem is one unit's element of a registration's list; inLiteral
// leaves out the type that a composite literal's elements may omit.
func listItem(n *names, r *registration, u unit, recv string, inLiteral bool) jen.Code {
	switch u := u.(type) {
	case *task:
		def := jen.Qual(pathTaskloop, "Definition")
		if r.recv == nil {
			if inLiteral {
				return definitionCode(n, u, "")
			}
			return jen.Add(def).Add(definitionCode(n, u, ""))
		}
		return jen.Func().Params(jen.Id(recv).Op("*").Id(r.recv.Obj().Name())).Add(def).Block(
			jen.Return(jen.Add(def).Add(definitionCode(n, u, recv))))
	case *view:
		return jen.Id(u.registerName)
	}
	panic("futuresgen: unknown unit")
}

func emitRegisterTasks(f *jen.File, s *localScope, r *registration, recv string) {
	reg := s.name("r")
	if r.recv == nil {
		docComment(f, "%s registers every function task of this package with r, a task loop or a durable backend: it names each task for workers and starts the periodic ones.", r.funcName)
		f.Func().Id(r.funcName).Params(jen.Id(reg).Qual(pathTaskloop, "Registrar")).Error().Block(
			jen.Return(jen.Id(reg).Dot("Register").Call(jen.Id(r.listName).Op("..."))),
		)
		return
	}
	docComment(f, "%s registers every method task of %s with r, a task loop or a durable backend, to run on %s: it names each task for workers and starts the periodic ones.", r.funcName, r.recv.Obj().Name(), recv)
	f.Func().Id(r.funcName).Params(jen.Id(reg).Qual(pathTaskloop, "Registrar"), jen.Id(recv).Op("*").Id(r.recv.Obj().Name())).Error().Block(
		jen.Return(jen.Qual(pathTaskloop, "RegisterOn").Call(jen.Id(reg), jen.Id(recv), jen.Id(r.listName))),
	)
}

func emitRegisterViews(f *jen.File, s *localScope, r *registration, recv string) {
	mux, opts := s.name("mux"), s.name("opts")
	params := []jen.Code{jen.Id(mux).Op("*").Qual(pathHTTP, "ServeMux")}
	call := jen.Qual(pathView, "Register").Call(jen.Id(mux), jen.Id(r.listName), jen.Id(opts).Op("..."))
	if r.recv == nil {
		docComment(f, "%s registers every function view of this package on mux, each at its pattern. Options give the templates and the logger; it fails if a template cannot be parsed.", r.funcName)
	} else {
		docComment(f, "%s registers every method view of %s on mux, each at its pattern, to run on %s. Options give the templates and the logger; it fails if a template cannot be parsed.", r.funcName, r.recv.Obj().Name(), recv)
		params = append(params, jen.Id(recv).Op("*").Id(r.recv.Obj().Name()))
		call = jen.Qual(pathView, "RegisterOn").Call(jen.Id(mux), jen.Id(recv), jen.Id(r.listName), jen.Id(opts).Op("..."))
	}
	params = append(params, jen.Id(opts).Op("...").Qual(pathView, "Option"))
	f.Func().Id(r.funcName).Params(params...).Error().Block(jen.Return(call))
}
