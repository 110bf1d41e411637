package gen

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Calls to wrappers that nothing generates, in the packages that are not
// type-checked (those without directives or generated files): a call of
// FAsync or FLater where F is a function without a directive. The type
// check finds them in the candidates (undirectedHint); here the syntax
// alone must do, so they are warnings, and only for calls whose target is
// certain: F of the same package, or pkg.F of a listed package.

// warnUndirected warns at each call in a non-candidate package of FAsync or
// FLater that no directive generates, where F is a function of the same
// package or of a listed one.
func warnUndirected(scans []*scanned, fset *token.FileSet, e *errs) {
	byPath := map[string]*scanned{}
	for _, s := range scans {
		byPath[s.ImportPath] = s
	}
	decls := map[string]*pkgDecls{}
	declsOf := func(s *scanned) *pkgDecls {
		if d, ok := decls[s.ImportPath]; ok {
			return d
		}
		d := readDecls(s, fset)
		decls[s.ImportPath] = d
		return d
	}
	for _, s := range scans {
		if s.candidate() || !slices.ContainsFunc(slices.Collect(maps.Values(s.sources)), callsWrapper) {
			continue
		}
		own := declsOf(s)
		for _, f := range own.files {
			imports := map[string]*scanned{} // by the name the file uses
			dot := false
			for _, spec := range f.Imports {
				p, err := strconv.Unquote(spec.Path.Value)
				target := byPath[p]
				switch {
				case err != nil:
				case spec.Name != nil && spec.Name.Name == ".":
					dot = true
				case target == nil || spec.Name != nil && spec.Name.Name == "_":
				case spec.Name != nil:
					imports[spec.Name.Name] = target
				default:
					imports[target.Name] = target
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					base := wrapperBase(fun.Name)
					// Obj is set for names the file declares, locals included.
					if base == "" || dot || fun.Obj != nil || own.names[fun.Name] {
						break
					}
					if at, ok := own.funcs[base]; ok && !own.tasks[base] {
						e.warn(fun.Pos(), "%s is not declared: add //futures:task to %s (%s) to generate it", fun.Name, base, positionString(fset.Position(at)))
					}
				case *ast.SelectorExpr:
					x, ok := fun.X.(*ast.Ident)
					base := wrapperBase(fun.Sel.Name)
					if !ok || base == "" || x.Obj != nil || imports[x.Name] == nil {
						break
					}
					other := declsOf(imports[x.Name])
					if at, ok := other.funcs[base]; ok && !other.tasks[base] && !other.names[fun.Sel.Name] {
						e.warn(fun.Sel.Pos(), "%s.%s is not declared: add //futures:task to %s.%s (%s) to generate it", x.Name, fun.Sel.Name, x.Name, base, positionString(fset.Position(at)))
					}
				}
				return true
			})
		}
	}
}

// callsWrapper reports whether src may call a task's wrapper.
func callsWrapper(src []byte) bool {
	return bytes.Contains(src, []byte("Async(")) || bytes.Contains(src, []byte("Later("))
}

// pkgDecls are the package-level declarations of a listed package, from
// its files but the generated ones.
type pkgDecls struct {
	files []*ast.File
	names map[string]bool      // every package-level name
	funcs map[string]token.Pos // functions, not methods
	tasks map[string]bool      // functions with a //futures:task directive
}

func readDecls(s *scanned, fset *token.FileSet) *pkgDecls {
	d := &pkgDecls{names: map[string]bool{}, funcs: map[string]token.Pos{}, tasks: map[string]bool{}}
	for _, name := range slices.Sorted(maps.Keys(s.sources)) {
		src := s.sources[name]
		if isGenerated(src) {
			continue
		}
		// Object resolution tells the names a file declares, locals
		// included, from those it does not.
		mode := parser.Mode(0)
		if mentions(src) {
			mode |= parser.ParseComments
		}
		f, _ := parser.ParseFile(fset, name, src, mode)
		if f == nil {
			continue
		}
		d.files = append(d.files, f)
		for _, name := range topLevelNames(f) {
			d.names[name] = true
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil {
				continue
			}
			d.funcs[fn.Name.Name] = fn.Name.Pos()
			if fn.Doc != nil && slices.ContainsFunc(fn.Doc.List, func(c *ast.Comment) bool {
				return strings.HasPrefix(c.Text, directivePrefix+"task")
			}) {
				d.tasks[fn.Name.Name] = true
			}
		}
	}
	return d
}
