package gen

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// The type-check step: each candidate that the cache did not supply is
// checked from its parsed files, its dependencies read from the export data
// that go list built. Type errors about the names the plan says will be
// generated are tolerated (loadErrors): user code calls the wrappers
// before they exist.

// typeCheck checks a candidate from its parsed files, once, with its
// dependencies from export data (candidates among them checked from
// source first, by the importer), and fills in its package as go/packages
// would with NeedTypes and NeedTypesInfo.
//
// go/packages could do this itself with an overlay that blanks the
// generated files, but any overlay makes it distrust export data and
// type-check every dependency from source, several times slower.
func (imp *exportImporter) typeCheck(l *loaded) {
	if l.checked {
		return
	}
	l.checked = true
	p := l.pkg
	p.TypesInfo = &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Implicits:  map[ast.Node]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Scopes:     map[ast.Node]*types.Scope{},
		Instances:  map[*ast.Ident]types.Instance{},
	}
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) { return imp.importFor(p, path) }),
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				l.typeErrors = append(l.typeErrors, te)
			}
		},
		Sizes: imp.sizes,
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + p.Module.GoVersion
	}
	p.Types, _ = conf.Check(p.PkgPath, imp.fset, p.Syntax, p.TypesInfo)
	imp.byPath[p.PkgPath] = p.Types
	imp.checked[p.PkgPath] = true
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// exportImporter reads packages from the export data that go list -export
// built, sharing one map of packages so that every package has one
// identity, and checks candidates from source when they are imported.
type exportImporter struct {
	fset       *token.FileSet
	sizes      types.Sizes
	byPath     map[string]*types.Package
	checked    map[string]bool    // packages checked from source
	candidates map[string]*loaded // by path
}

func newImporter(fset *token.FileSet, cands []*loaded, env []string) *exportImporter {
	// Sizes matter to unsafe.Sizeof and constant arithmetic only; asking
	// go list for them would cost one more go command.
	goarch := runtime.GOARCH
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOARCH="); ok && v != "" {
			goarch = v
		}
	}
	sizes := types.SizesFor("gc", goarch)
	if sizes == nil {
		sizes = types.SizesFor("gc", "amd64")
	}
	imp := &exportImporter{fset: fset, sizes: sizes, byPath: map[string]*types.Package{}, checked: map[string]bool{}, candidates: map[string]*loaded{}}
	for _, l := range cands {
		imp.candidates[l.path] = l
	}
	return imp
}

func (imp *exportImporter) importFor(from *packages.Package, path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	dep := from.Imports[path]
	if dep == nil {
		return nil, fmt.Errorf("%s is not among the imports go list found for %s", path, from.PkgPath)
	}
	return imp.load(dep)
}

// load returns dep's types: checked from source for a candidate (already
// done: candidates are checked dependencies first), from export data when
// go list built it, and from source when it could not, which happens to a
// package that calls a candidate's wrappers before they exist. Like
// go/packages, it loads a package's dependencies before the package, so
// that export data never meets a package that is not complete yet.
func (imp *exportImporter) load(dep *packages.Package) (*types.Package, error) {
	if dep.PkgPath == "unsafe" {
		return types.Unsafe, nil
	}
	if t := imp.byPath[dep.PkgPath]; imp.checked[dep.PkgPath] || t != nil && t.Complete() {
		return t, nil
	}
	if l := imp.candidates[dep.PkgPath]; l != nil && l.pkg == dep {
		imp.typeCheck(l)
		return l.pkg.Types, nil
	}
	for _, d := range dep.Imports {
		imp.load(d) // errors surface where the import is used
	}
	if dep.ExportFile == "" {
		if len(dep.CompiledGoFiles) == 0 && len(dep.Errors) > 0 {
			// A package go list could not find: its message ("package
			// fmtx is not in std") says more than the type checker's
			// "invalid package name" for an empty package would.
			return nil, errors.New(dep.Errors[0].Msg)
		}
		return imp.checkSource(dep)
	}
	f, err := os.Open(dep.ExportFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := exportData(f)
	if err != nil {
		return nil, fmt.Errorf("reading export data of %s: %w", dep.PkgPath, err)
	}
	t, err := gcexportdata.Read(r, imp.fset, imp.byPath, dep.PkgPath)
	if err != nil {
		return nil, fmt.Errorf("reading export data of %s: %w", dep.PkgPath, err)
	}
	return t, nil
}

// checkSource type-checks a dependency that has no export data, ignoring
// its errors: only its declarations matter to the candidates.
func (imp *exportImporter) checkSource(dep *packages.Package) (*types.Package, error) {
	var files []*ast.File
	for _, name := range dep.CompiledGoFiles {
		if f, _ := parser.ParseFile(imp.fset, name, nil, parser.SkipObjectResolution); f != nil {
			files = append(files, f)
		}
	}
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) { return imp.importFor(dep, path) }),
		Error:    func(error) {},
		Sizes:    imp.sizes,
	}
	if dep.Module != nil && dep.Module.GoVersion != "" {
		conf.GoVersion = "go" + dep.Module.GoVersion
	}
	t, _ := conf.Check(dep.PkgPath, imp.fset, files, nil)
	imp.byPath[dep.PkgPath] = t
	imp.checked[dep.PkgPath] = true
	return t, nil
}

// loadErrors returns the package's problems except the type errors about
// names that the generator is about to create: user code calls the
// wrappers (SendLater, m.DeliverAsync, mail.RegisterTasks) before they
// exist.
func loadErrors(l *loaded, gen *generated) ErrorList {
	var list ErrorList
	p := l.pkg
	for _, e := range p.Errors {
		if e.Kind == packages.ListError && strings.HasPrefix(e.Msg, "# "+p.PkgPath+"\n") {
			// The compiler's report from building export data for a
			// package that is type-checked from source anyway.
			continue
		}
		pos := parsePos(e.Pos)
		if !pos.IsValid() {
			pos = l.positionFor(e.Msg)
		}
		if pos.Filename != "" && !filepath.IsAbs(pos.Filename) {
			// go list reports positions relative to the directory it ran
			// in; the parser's are absolute. One form lets duplicates go.
			pos.Filename = filepath.Join(l.dir, filepath.Base(pos.Filename))
		}
		list = append(list, &Error{Pos: pos, Msg: e.Msg})
	}
	for _, te := range l.typeErrors {
		if !tolerated(l, te, gen) {
			msg := te.Msg
			if hint := undirectedHint(l, te); hint != "" {
				msg += ": " + hint
			}
			list = append(list, &Error{Pos: te.Fset.Position(te.Pos), Msg: msg})
		}
	}
	return list
}

// positionFor finds a place in the package for an error go list reported
// without one: the import of a package that the message names (an import
// cycle), or else the first file's package clause.
func (l *loaded) positionFor(msg string) token.Position {
	fset := l.pkg.Fset
	for _, f := range l.pkg.Syntax {
		for _, spec := range f.Imports {
			if path, err := strconv.Unquote(spec.Path.Value); err == nil && slices.Contains(strings.FieldsFunc(msg, isPathDelimiter), path) {
				return fset.Position(spec.Path.Pos())
			}
		}
	}
	if len(l.pkg.Syntax) > 0 {
		return fset.Position(l.pkg.Syntax[0].Package)
	}
	return token.Position{}
}

func isPathDelimiter(r rune) bool { return strings.ContainsRune(" \t\n[]\"':,()", r) }

// tolerated reports whether te is about a name the generator will create:
// an undefined identifier of this package, an undefined qualified name of
// a candidate package, or a missing method of a type that gets it.
func tolerated(l *loaded, te types.Error, gen *generated) bool {
	bare, sel := errorNode(l, te)
	info := l.pkg.TypesInfo
	switch {
	case bare != nil:
		return strings.HasPrefix(te.Msg, "undefined: ") && gen.funcs[l.path][bare.Name]
	case sel == nil:
		return false
	}
	if id, ok := sel.X.(*ast.Ident); ok {
		if pn, ok := info.Uses[id].(*types.PkgName); ok {
			return gen.funcs[pn.Imported().Path()][sel.Sel.Name]
		}
	}
	named := namedOf(info.TypeOf(sel.X))
	if named == nil || named.Obj().Pkg() == nil {
		return false
	}
	return gen.methods[named.Obj().Pkg().Path()+"."+named.Obj().Name()][sel.Sel.Name]
}

// errorNode finds what a type error is about: a bare identifier, or the
// selector whose Sel it is at.
func errorNode(l *loaded, te types.Error) (bare *ast.Ident, sel *ast.SelectorExpr) {
	for _, f := range l.pkg.Syntax {
		if te.Pos < f.FileStart || te.Pos > f.FileEnd {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel != nil || bare != nil || n == nil || te.Pos < n.Pos() || te.Pos >= n.End() {
				return false
			}
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if n.Sel.Pos() == te.Pos {
					sel = n
					return false
				}
			case *ast.Ident:
				if n.Pos() == te.Pos {
					bare = n
				}
			}
			return true
		})
	}
	return bare, sel
}

// namedOf is the named type of t or of what t points to, or nil.
func namedOf(t types.Type) *types.Named {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	named, _ := types.Unalias(t).(*types.Named)
	return named
}

// wrapperBase returns F for FAsync and FLater, the names a task F would
// generate, or "".
func wrapperBase(name string) string {
	for _, suffix := range []string{"Async", "Later"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && base != "" {
			return base
		}
	}
	return ""
}

// undirectedHint says how to get the name that te finds undefined, when
// it is what a task would generate (FAsync, FLater) and F exists without
// a directive: "add //futures:task to F".
func undirectedHint(l *loaded, te types.Error) string {
	bare, sel := errorNode(l, te)
	info := l.pkg.TypesInfo
	var fn *types.Func
	var label string
	switch {
	case bare != nil && strings.HasPrefix(te.Msg, "undefined: "):
		base := wrapperBase(bare.Name)
		if base == "" || l.pkg.Types == nil {
			return ""
		}
		fn, _ = l.pkg.Types.Scope().Lookup(base).(*types.Func)
		label = base
	case sel != nil:
		base := wrapperBase(sel.Sel.Name)
		if base == "" {
			return ""
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			if pn, ok := info.Uses[id].(*types.PkgName); ok {
				fn, _ = pn.Imported().Scope().Lookup(base).(*types.Func)
				label = id.Name + "." + base
				break
			}
		}
		t := info.TypeOf(sel.X)
		if t == nil {
			return ""
		}
		obj, _, _ := types.LookupFieldOrMethod(t, true, l.pkg.Types, base)
		fn, _ = obj.(*types.Func)
		if named := namedOf(t); named != nil {
			label = named.Obj().Name() + "." + base
		}
	}
	if fn == nil || label == "" {
		return ""
	}
	return fmt.Sprintf("add //futures:task to %s (%s) to generate it", label, positionString(l.pkg.Fset.Position(fn.Pos())))
}
