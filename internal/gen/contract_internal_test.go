package gen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// TestContractExists checks that every name of the contract is declared by
// the runtime: a package-level name exported by its package, a field or
// method of the type it names. A runtime change that removes or renames
// one fails here, without generating anything.
func TestContractExists(t *testing.T) {
	paths := slices.Sorted(maps.Keys(contract))
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes}, paths...)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]*types.Package{}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			t.Fatalf("loading %s: %v", p.PkgPath, p.Errors)
		}
		byPath[p.PkgPath] = p.Types
	}
	for _, path := range paths {
		pkg := byPath[path]
		if pkg == nil {
			t.Fatalf("%s did not load", path)
		}
		for _, name := range slices.Sorted(maps.Keys(contract[path])) {
			typeName, fieldName, isMember := strings.Cut(name, ".")
			obj := pkg.Scope().Lookup(typeName)
			if obj == nil || !obj.Exported() {
				t.Errorf("%s.%s: not declared", path, typeName)
				continue
			}
			if !isMember {
				continue
			}
			if _, ok := obj.(*types.TypeName); !ok {
				t.Errorf("%s.%s: not a type, so it has no %s", path, typeName, fieldName)
				continue
			}
			if m, _, _ := types.LookupFieldOrMethod(obj.Type(), true, pkg, fieldName); m == nil || !m.Exported() {
				t.Errorf("%s.%s: %s has no field or method %s", path, name, typeName, fieldName)
			}
		}
		if path == pathFuture || path == pathCron || path == pathSocket {
			// Generated files assert the version of taskloop, view or
			// httpclient; socket is in the same module as view, and every
			// file that uses socket uses view too; cron is in the same
			// module as taskloop, and every file that uses cron uses
			// taskloop too.
			continue
		}
		if c, ok := pkg.Scope().Lookup(versionAssertion).(*types.Const); !ok || c.Val().String() != "true" {
			t.Errorf("%s.%s: want a constant true, which generated files assert", path, versionAssertion)
		}
	}
}

// TestContractDocumented checks that the "For generated code" sections of
// the taskloop, view and socket package docs list exactly the contract's names, so
// that whoever changes the runtime sees what generated code relies on.
func TestContractDocumented(t *testing.T) {
	documented := map[string]map[string]bool{}
	add := func(path, name string) {
		if documented[path] == nil {
			documented[path] = map[string]bool{}
		}
		documented[path][name] = true
	}
	link := regexp.MustCompile(`\[([A-Za-z][\w.]*)\]`)
	for _, path := range []string{pathTaskloop, pathView, pathSocket, pathHTTPClient} {
		section := generatedCodeSection(t, path)
		for _, m := range link.FindAllStringSubmatch(section, -1) {
			if name, ok := strings.CutPrefix(m[1], "future."); ok {
				add(pathFuture, name)
			} else if name, ok := strings.CutPrefix(m[1], "cron."); ok {
				add(pathCron, name)
			} else {
				add(path, m[1])
			}
		}
	}
	for _, path := range slices.Sorted(maps.Keys(contract)) {
		for _, name := range slices.Sorted(maps.Keys(contract[path])) {
			if !documented[path][name] {
				t.Errorf("%s.%s is in the contract but not in the docs' \"For generated code\" sections", path, name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(documented[path])) {
			if !contract[path][name] {
				t.Errorf("%s.%s is in the docs' \"For generated code\" sections but not in the contract (contract.go)", path, name)
			}
		}
	}
}

// generatedCodeSection returns the "# For generated code" section of the
// package doc of the runtime package path.
func generatedCodeSection(t *testing.T, path string) string {
	t.Helper()
	dir := filepath.Join("..", "..", strings.TrimPrefix(path, "github.com/gofutures/futures/"))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, e := range entries {
		if name := e.Name(); !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil {
			doc += f.Doc.Text()
		}
	}
	_, section, ok := strings.Cut(doc, "\n# For generated code\n")
	if !ok {
		t.Fatalf("the package doc of %s has no \"# For generated code\" section", path)
	}
	if i := strings.Index(section, "\n# "); i >= 0 {
		section = section[:i]
	}
	return section
}

// TestEmitterUsesContract reads the emitter's source: it reaches the
// runtime's packages only through rt, member and fieldOf, and every name
// it spells out there is in the contract. Names computed at run time
// (binders, runtime functions chosen per task) are checked by rt when
// emitting, which every golden, end-to-end and fuzz test does.
func TestEmitterUsesContract(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("emit*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no emit*.go files: %v", err)
	}
	runtimePath := map[string]string{"pathFuture": pathFuture, "pathTaskloop": pathTaskloop, "pathView": pathView, "pathHTTPClient": pathHTTPClient}
	lit := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			id, ok := call.Args[0].(*ast.Ident)
			if !ok {
				return true
			}
			path, isRuntime := runtimePath[id.Name]
			if !isRuntime {
				return true
			}
			var fn string
			switch f := call.Fun.(type) {
			case *ast.Ident:
				fn = f.Name
			case *ast.SelectorExpr:
				fn = f.Sel.Name
			}
			pos := fset.Position(call.Pos())
			switch fn {
			case "rt":
				if name, ok := lit(call.Args[1]); ok {
					checked++
					if !contract[path][name] {
						t.Errorf("%s: rt(%s, %q): not in the contract; add it to contract.go and to the package doc's \"For generated code\" section", pos, id.Name, name)
					}
				}
			case "member", "fieldOf":
				typ, ok1 := lit(call.Args[1])
				name, ok2 := lit(call.Args[2])
				if !ok1 || !ok2 {
					t.Errorf("%s: %s with a computed name; spell it out", pos, fn)
					break
				}
				checked++
				if !contract[path][typ+"."+name] {
					t.Errorf("%s: %s(%s, %q, %q): not in the contract", pos, fn, id.Name, typ, name)
				}
			default:
				t.Errorf("%s: %s(%s, …) reaches the runtime around rt and member, unchecked: use rt or member, with the name in contract.go and in the package doc's \"For generated code\" section", pos, fn, id.Name)
			}
			return true
		})
	}
	if checked < 30 {
		t.Errorf("checked %d names of the emitter; the emitter or this test lost its way", checked)
	}
}

// TestContractBinders: every binder that check_view.go may choose is a
// view name of the contract, as rt will demand when emitting it.
func TestContractBinders(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "check_view.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "binderFor" {
			ast.Inspect(fn, func(n ast.Node) bool {
				if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
					if b, ok := r.Results[0].(*ast.BasicLit); ok && b.Value != `""` {
						names = append(names, strings.Trim(b.Value, `"`))
					}
				}
				return true
			})
		}
	}
	if len(names) < 8 {
		t.Fatalf("found %d binders in binderFor: %v", len(names), names)
	}
	for _, name := range names {
		if !contract[pathView][name] {
			t.Errorf("binderFor may return %q, which is not a view name of the contract", name)
		}
	}
}

// TestRuntimeRefusesOutsideContract: rt and member panic for a name the
// contract lacks, so that an emitter change that uses a new runtime name
// cannot pass the tests that generate until the contract (and the runtime
// docs, by TestContractDocumented) lists it.
func TestRuntimeRefusesOutsideContract(t *testing.T) {
	for _, f := range []func(){
		func() { rt(pathView, "NoSuchBinder") },
		func() { member(pathTaskloop, "Spec", "Weight") },
		func() { rt(pathHTTP, "ServeMux") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic for a name outside the contract")
				}
			}()
			f()
		}()
	}
	rt(pathView, "Problems") // and none for one inside
}
