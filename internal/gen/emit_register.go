package gen

import (
	"github.com/dave/jennifer/jen"
)

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
		def := rt(pathTaskloop, "Definition")
		if r.recv == nil {
			return def
		}
		return jen.Func().Params(recv...).Add(def)
	default:
		params := append([]jen.Code{jen.Op("*").Qual(pathHTTP, "ServeMux"), jen.Op("*").Add(rt(pathView, "Config"))}, recv...)
		return jen.Func().Params(params...).Error()
	}
}

// listItem is one unit's element of a registration's list; inLiteral
// leaves out the type that a composite literal's elements may omit.
func listItem(n *names, r *registration, u unit, recv string, inLiteral bool) jen.Code {
	switch u := u.(type) {
	case *task:
		def := rt(pathTaskloop, "Definition")
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
		f.Func().Id(r.funcName).Params(jen.Id(reg).Add(rt(pathTaskloop, "Registrar"))).Error().Block(
			jen.Return(jen.Id(reg).Dot(member(pathTaskloop, "Registrar", "Register")).Call(jen.Id(r.listName).Op("..."))),
		)
		return
	}
	docComment(f, "%s registers every method task of %s with r, a task loop or a durable backend, to run on %s: it names each task for workers and starts the periodic ones.", r.funcName, r.recv.Obj().Name(), recv)
	f.Func().Id(r.funcName).Params(jen.Id(reg).Add(rt(pathTaskloop, "Registrar")), jen.Id(recv).Op("*").Id(r.recv.Obj().Name())).Error().Block(
		jen.Return(rt(pathTaskloop, "RegisterOn").Call(jen.Id(reg), jen.Id(recv), jen.Id(r.listName))),
	)
}

func emitRegisterViews(f *jen.File, s *localScope, r *registration, recv string) {
	mux, opts := s.name("mux"), s.name("opts")
	params := []jen.Code{jen.Id(mux).Op("*").Qual(pathHTTP, "ServeMux")}
	call := rt(pathView, "Register").Call(jen.Id(mux), jen.Id(r.listName), jen.Id(opts).Op("..."))
	what := "view"
	for _, u := range r.units {
		if v, ok := u.(*view); ok && v.socket != nil {
			what = "view and socket"
			break
		}
	}
	if r.recv == nil {
		docComment(f, "%s registers every function %s of this package on mux, each at its pattern. Options give the templates and the logger; it fails if a template cannot be parsed.", r.funcName, what)
	} else {
		docComment(f, "%s registers every method %s of %s on mux, each at its pattern, to run on %s. Options give the templates and the logger; it fails if a template cannot be parsed.", r.funcName, what, r.recv.Obj().Name(), recv)
		params = append(params, jen.Id(recv).Op("*").Id(r.recv.Obj().Name()))
		call = rt(pathView, "RegisterOn").Call(jen.Id(mux), jen.Id(recv), jen.Id(r.listName), jen.Id(opts).Op("..."))
	}
	params = append(params, jen.Id(opts).Op("...").Add(rt(pathView, "Option")))
	f.Func().Id(r.funcName).Params(params...).Error().Block(jen.Return(call))
}
