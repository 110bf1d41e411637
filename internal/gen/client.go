package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"strings"

	"golang.org/x/tools/go/packages"
)

// //futures:client IMPORTPATH, in a package doc comment, asks for a typed
// client of the views of another package: a Client type with one method
// per exported view, over runtime/httpclient, in the client package's
// generated file (emit_client.go).
//
// The views come from the views package's syntax (its //futures:view
// lines, read as the find step reads them: ViewSites) and its types
// (from export data, or from source when it is a candidate of the run
// too). Each is checked with checkView, as the views package's own run
// checks it, but its problems are the views package's: a view that does
// not check, or that the client cannot call, is left out with a warning
// at the client directive.

// clientNames are the package-level names that //futures:client
// generates.
var clientNames = []string{"Client", "NewClient"}

// ViewSite is a //futures:view directive as a client needs it, from the
// syntax alone: which function it annotates, and its text. The analyzer
// passes them from the views package to its clients as a fact.
type ViewSite struct {
	Recv      string // the receiver type's name, "" for a function
	Func      string
	Directive string // the //futures:view line, raw
	Doc       string // the function's doc comment, without directives
	Pos       string // file:line:col of the directive, for messages
}

// ViewSites returns the //futures:view directives of files, in order,
// skipping generated and test files.
func ViewSites(fset *token.FileSet, files []*ast.File) []ViewSite {
	var out []ViewSite
	for _, f := range files {
		name := sourceName(fset, f)
		if hasHeader(f) || strings.HasSuffix(name, "_test.go") {
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Doc == nil {
				continue
			}
			for _, c := range fn.Doc.List {
				if !strings.HasPrefix(c.Text, directivePrefix) {
					continue
				}
				if dir, err := parseDirective(c.Text); err == nil && dir.kind == "view" {
					out = append(out, ViewSite{
						Recv: recvTypeName(fn), Func: fn.Name.Name, Directive: c.Text,
						Doc: fn.Doc.Text(), Pos: positionString(fset.Position(c.Slash)),
					})
				}
				break // a function takes one directive; the first counts
			}
		}
	}
	return out
}

// methodName is the name of the client method that calls the view of s:
// its function's name, or Type_Method for a method (as its OpenAPI
// operationId), with the type's first letter made upper case so that a
// method of an unexported type has an exported client method. "" means
// the view is not exported: its function or method is unexported.
func (s ViewSite) methodName() string {
	if !ast.IsExported(s.Func) {
		return ""
	}
	if s.Recv != "" {
		return upperFirst(s.Recv) + "_" + s.Func
	}
	return s.Func
}

// client is a //futures:client directive, once resolved: the package it
// names, that package's view sites, and, once checked, the methods.
type client struct {
	decl   *decl
	target string            // the views package's import path
	listed *packages.Package // as go list listed it; nil in Vet
	sites  []ViewSite
	found  bool           // the sites were read: the package exists
	types  *types.Package // the views package's types, before check
	// methods are the checked views, in the order of sites.
	methods []*clientMethod
}

// clientMethod is a Client method: its name and the view it calls.
type clientMethod struct {
	name string
	v    *view
	doc  string
}

// resolveClients reads, for each plan with //futures:client, the view
// sites of the package it names: from that package's syntax when it is a
// candidate of the run, else by parsing its files. Its problems (a
// missing path, a package that cannot be listed) are left to check.
func resolveClients(plans []*plan, listed map[string]*packages.Package, fset *token.FileSet, e *errs) {
	byPath := map[string]*plan{}
	for _, p := range plans {
		byPath[p.path] = p
	}
	for _, p := range plans {
		d := p.pkgDecl("client")
		if d == nil {
			continue
		}
		c := &client{decl: d}
		p.client = c
		if len(d.dir.args) == 0 {
			continue
		}
		c.target = d.dir.args[0].text
		if t := byPath[c.target]; t != nil {
			c.listed = t.pkg
			c.sites, c.found = ViewSites(fset, t.pkg.Syntax), true
			continue
		}
		lp := listed[c.target]
		c.listed = lp
		if lp == nil || len(lp.GoFiles) == 0 {
			continue // check reports go list's error
		}
		var files []*ast.File
		for _, name := range lp.GoFiles {
			src, err := os.ReadFile(name)
			if err != nil || isGenerated(src) {
				continue
			}
			// The views package's syntax errors are its own run's to report.
			if f, _ := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution); f != nil {
				files = append(files, f)
			}
		}
		c.sites, c.found = ViewSites(fset, files), true
	}
}

// pkgDecl returns the package directive of kind, or nil.
func (p *plan) pkgDecl(kind string) *decl {
	for _, d := range p.pkgDecls {
		if d.kind == kind {
			return d
		}
	}
	return nil
}

// reserveClient records the names the client will generate, so that the
// package's own code may use them before they exist.
func (c *client) reserveNames(p *plan, gen *generated) {
	for _, name := range clientNames {
		gen.addFunc(p.path, name)
	}
	for _, s := range c.sites {
		if name := s.methodName(); name != "" {
			gen.addMethod(p.path, clientNames[0], name)
		}
	}
}

// checkClient checks //futures:client and the views it would call, and
// keeps, as methods, those the client can call.
func checkClient(p *plan, c *client, e *errs) bool {
	d := c.decl
	ok := true
	for _, a := range d.dir.args[min(1, len(d.dir.args)):] {
		e.add(d.at(a.off), "unexpected %q: //futures:client takes one import path and no options", a.text)
		ok = false
	}
	for _, o := range d.dir.options {
		e.add(d.at(o.off), "unexpected %s: //futures:client takes one import path and no options", o.key)
		ok = false
	}
	at := d.at(d.dir.kindOff)
	if !ok {
		return false
	}
	if len(d.dir.args) == 0 {
		e.add(at, "//futures:client needs the import path of the package whose views it calls, as in //futures:client example.com/app/api")
		return false
	}
	argAt := d.at(d.dir.args[0].off)
	switch {
	case c.target == p.path:
		e.add(argAt, "//futures:client names this package itself: a client calls the views of another package (one that may import it), so put the client in a package of its own")
		return false
	case !c.found:
		msg := "no package was found"
		if c.listed != nil && len(c.listed.Errors) > 0 {
			msg = c.listed.Errors[0].Msg
		}
		e.add(argAt, "//futures:client %s: %s", c.target, msg)
		return false
	case c.types == nil:
		e.add(argAt, "//futures:client %s: its types could not be loaded", c.target)
		return false
	case c.types.Name() == "main":
		e.add(argAt, "//futures:client %s: it is a command (package main), which no package can import: move its views to a package of their own", c.target)
		return false
	case !canImport(p.path, c.target):
		e.add(argAt, "//futures:client %s: it is internal to another tree, so this package cannot import its request and result types", c.target)
		return false
	}
	for _, name := range clientNames {
		if obj := p.pkg.Types.Scope().Lookup(name); obj != nil && p.declaredHere(obj) {
			e.add(at, "//futures:client generates %s, but the package already declares %s at %s", name, name, positionString(p.pkg.Fset.Position(obj.Pos())))
			ok = false
		}
	}
	seen := map[string]string{} // method name → the view and its place
	mux := newPatternSet()
	for _, s := range c.sites {
		name := s.methodName()
		if name == "" {
			continue // not exported: not part of the API the client offers
		}
		what := s.Func
		if s.Recv != "" {
			what = s.Recv + "." + s.Func
		}
		v, why := clientView(c.types, s, mux, p.pkg.Fset)
		if v == nil {
			e.warn(at, "the client has no method for the view %s of %s (%s): %s", what, c.target, s.Pos, why)
			continue
		}
		if why := cannotCall(v, p.path); why != "" {
			e.warn(at, "the client has no method for the view %s of %s (%s): %s", what, c.target, s.Pos, why)
			continue
		}
		if prev, dup := seen[name]; dup {
			e.add(at, "the client methods of the views %s and %s (%s) would both be named %s: rename one of them", prev, what, s.Pos, name)
			ok = false
			continue
		}
		seen[name] = fmt.Sprintf("%s (%s)", what, s.Pos)
		c.methods = append(c.methods, &clientMethod{name: name, v: v, doc: s.Doc})
	}
	return ok
}

// clientView checks the view of site s against the views package's
// types, as checkView checks it for the views package itself; the
// problems are kept to say why the view is left out.
func clientView(pkg *types.Package, s ViewSite, mux *patternSet, fset *token.FileSet) (*view, string) {
	dir, serr := parseDirective(s.Directive)
	if serr != nil {
		return nil, "its directive does not parse: " + serr.msg
	}
	var obj *types.Func
	if s.Recv == "" {
		obj, _ = pkg.Scope().Lookup(s.Func).(*types.Func)
	} else if tn, ok := pkg.Scope().Lookup(s.Recv).(*types.TypeName); ok {
		if named, ok := types.Unalias(tn.Type()).(*types.Named); ok {
			for m := range named.Methods() {
				if m.Name() == s.Func {
					obj = m
				}
			}
		}
	}
	if obj == nil {
		return nil, "its function is not in the package's types (is its generated code up to date?)"
	}
	sig := obj.Type().(*types.Signature)
	// checkView reads the function's syntax only for positions and the
	// type parameters, which the types have too.
	fn := &ast.FuncDecl{Name: &ast.Ident{NamePos: obj.Pos(), Name: s.Func}, Type: &ast.FuncType{Func: obj.Pos(), Params: &ast.FieldList{}}}
	if sig.TypeParams().Len() > 0 {
		fn.Type.TypeParams = &ast.FieldList{Opening: obj.Pos()}
	}
	if s.Recv != "" {
		fn.Recv = &ast.FieldList{Opening: obj.Pos(), List: []*ast.Field{{Type: ast.NewIdent(s.Recv)}}}
	}
	d := &decl{kind: "view", fn: fn, line: &ast.Comment{Slash: obj.Pos(), Text: s.Directive}, dir: dir, obj: obj}
	sink := &errs{fset: fset}
	v := checkView(pkg, d, sink, mux)
	if v == nil {
		why := "it does not check (futuresgen reports why when it runs on its package)"
		if len(sink.list) > 0 {
			why = "futuresgen refuses it: " + sink.list[0].Msg
		}
		return nil, why
	}
	return v, ""
}

// cannotCall says why the client cannot call the view v, or returns "".
func cannotCall(v *view, from string) string {
	switch {
	case v.request == requestHTTP:
		return "it takes the *http.Request itself, so the client cannot know what it reads: call it with runtime/httpclient"
	case !strings.HasPrefix(v.pattern, "/"):
		return fmt.Sprintf("its pattern %q names a host, which the client's base URL decides", v.pattern)
	case v.isStream():
		return "it streams server-sent events, for which clients have no methods yet"
	case v.result != resultValue && v.result != resultError && v.result != resultFuture:
		return "the client does not know how to receive its result"
	}
	if v.reqType != nil {
		if what := unnameable(v.reqType, from); what != "" {
			return fmt.Sprintf("its request type %s", what)
		}
	}
	if v.value != nil {
		if what := unnameable(v.value, from); what != "" {
			return fmt.Sprintf("its result type %s", what)
		}
	}
	for _, b := range v.fields {
		if b.in != "body" && !b.slice && !b.pointer && !types.Comparable(b.typ) {
			// Param leaves out the zero value, as the binder leaves a field
			// at its zero value when the value is absent.
			return fmt.Sprintf("its %s value %s is of type %s, which cannot be compared with its zero value", b.in, b.key, types.TypeString(b.typ, qualifier(nil)))
		}
		if b.in == "body" || b.binder != "Text" {
			continue
		}
		t := b.typ
		if b.elem != nil {
			t = b.elem
		}
		if !types.Implements(types.NewPointer(t), textMarshaler) {
			return fmt.Sprintf("its %s value %s is of type %s, which has UnmarshalText but no MarshalText to send it with", b.in, b.key, types.TypeString(t, qualifier(nil)))
		}
	}
	return ""
}

// unnameable says why code of the package from cannot write the type t,
// or returns "": it mentions an unexported or local type of another
// package, a package that from cannot import, or a struct or interface
// with unexported members of another package, which no other package can
// spell identically.
func unnameable(t types.Type, from string) string {
	visiting := map[types.Type]bool{}
	var walk func(t types.Type) string
	named := func(obj *types.TypeName, args *types.TypeList) string {
		if obj.Pkg() == nil || obj.Pkg().Path() == from {
			return ""
		}
		switch {
		case !obj.Exported():
			return fmt.Sprintf("is or mentions %s.%s, which is not exported", obj.Pkg().Name(), obj.Name())
		case obj.Parent() != obj.Pkg().Scope():
			return fmt.Sprintf("is or mentions %s, which is declared inside a function", obj.Name())
		case !canImport(from, obj.Pkg().Path()):
			return fmt.Sprintf("is or mentions %s.%s, of %s, which is internal to another tree", obj.Pkg().Name(), obj.Name(), obj.Pkg().Path())
		}
		for i := range args.Len() {
			if why := walk(args.At(i)); why != "" {
				return why
			}
		}
		return ""
	}
	walk = func(t types.Type) string {
		if visiting[t] {
			return ""
		}
		visiting[t] = true
		switch t := t.(type) {
		case *types.Alias:
			return named(t.Obj(), t.TypeArgs())
		case *types.Named:
			return named(t.Obj(), t.TypeArgs())
		case *types.Pointer:
			return walk(t.Elem())
		case *types.Slice:
			return walk(t.Elem())
		case *types.Array:
			return walk(t.Elem())
		case *types.Chan:
			return walk(t.Elem())
		case *types.Map:
			if why := walk(t.Key()); why != "" {
				return why
			}
			return walk(t.Elem())
		case *types.Struct:
			for f := range t.Fields() {
				if !f.Exported() && f.Pkg() != nil && f.Pkg().Path() != from {
					return fmt.Sprintf("is or mentions a struct with the unexported field %s", f.Name())
				}
				if why := walk(f.Type()); why != "" {
					return why
				}
			}
		case *types.Interface:
			for m := range t.Methods() {
				if !m.Exported() && m.Pkg() != nil && m.Pkg().Path() != from {
					return fmt.Sprintf("is or mentions an interface with the unexported method %s", m.Name())
				}
			}
		case *types.Signature:
			for _, tuple := range []*types.Tuple{t.Params(), t.Results()} {
				for v := range tuple.Variables() {
					if why := walk(v.Type()); why != "" {
						return why
					}
				}
			}
		}
		return ""
	}
	return walk(t)
}

// canImport reports whether the package from may import path under the go
// command's rule for internal packages: a path with an element "internal"
// is importable only from the tree rooted at that element's parent.
func canImport(from, path string) bool {
	elems := strings.Split(path, "/")
	for i, el := range elems {
		if el != "internal" {
			continue
		}
		if i == 0 {
			return false // the standard library's own
		}
		parent := strings.Join(elems[:i], "/")
		if from != parent && !strings.HasPrefix(from, parent+"/") {
			return false
		}
	}
	return true
}
