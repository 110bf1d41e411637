package gen

import (
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The plan step. A package's plan is made from the syntax alone, right
// after the find step: the names its directives will generate, which the
// type check tolerates as undefined and the cache keys cover. Once the
// check step has turned its directives into units (checked tasks and
// views), place decides the files they are generated in and the
// registrations that list them; emit renders those files.

// plan is one package's directives on their way to files.
type plan struct {
	*loaded
	decls  []*decl
	units  []unit // checked tasks and views, in source order
	files  []*outFile
	cached map[string][]byte // the generated files, when the cache had them
	clean  bool              // checked without errors: its output may be cached
}

// generated lists what the candidates will generate, from their syntax
// alone, so that type errors about those names can be told from others.
type generated struct {
	funcs   map[string]map[string]bool // package path → package-level names
	methods map[string]map[string]bool // "path.Type" → method names
}

func (g *generated) addFunc(pkgPath, name string) {
	if g.funcs[pkgPath] == nil {
		g.funcs[pkgPath] = map[string]bool{}
	}
	g.funcs[pkgPath][name] = true
}

func (g *generated) addMethod(pkgPath, typeName, name string) {
	key := pkgPath + "." + typeName
	if g.methods[key] == nil {
		g.methods[key] = map[string]bool{}
	}
	g.methods[key][name] = true
}

// reserveNames records what this package will generate, known from the
// syntax alone, so that type errors about those names can be tolerated.
func (p *plan) reserveNames(gen *generated) {
	for _, d := range p.decls {
		typeName := ""
		if d.fn.Recv != nil {
			typeName = recvTypeName(d.fn)
		}
		if d.kind == "task" {
			for _, suffix := range []string{"Async", "Later"} {
				if typeName != "" {
					gen.addMethod(p.path, typeName, d.fn.Name.Name+suffix)
				} else {
					gen.addFunc(p.path, d.fn.Name.Name+suffix)
				}
			}
		}
		register, _ := registrationNames(d.kind, typeName)
		gen.addFunc(p.path, register)
	}
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

// upperFirst capitalizes the first letter of s, which may take several
// bytes.
func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

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

// outFile is one generated file: the package's main file, or the file for
// the tasks of one source file with build constraints.
type outFile struct {
	name       string // base name
	constraint string // //go:build expression, "" for the main file
	units      []unit
	regs       []*registration // declared here, each with the units of this file
	appends    []*registration // declared in another file, with units of this file
}

// place decides the files of a checked package: which generated file
// holds each unit and each registration (placeFiles), and that none of
// them would overwrite a file that futuresgen did not write.
func (p *plan) place(e *errs, output string) {
	if len(p.units) == 0 {
		return
	}
	p.placeFiles(e, output)
	for _, f := range p.files {
		if slices.ContainsFunc(p.pkg.GoFiles, func(src string) bool {
			return filepath.Base(src) == f.name && !slices.Contains(p.generated, src)
		}) {
			e.add(p.units[0].declOf().line.Slash, "%s would overwrite %s, which futuresgen did not generate; rename it or choose another name with -o", p.path, f.name)
		}
	}
}

// placeFiles decides which generated file holds each task and each
// registration. Tasks declared in a file with build constraints go to a
// generated file with the same constraints; a registration lives with the
// declaration of its receiver type (the main file for function tasks), and
// tasks placed elsewhere join its list from their own file's init.
func (p *plan) placeFiles(e *errs, output string) {
	main := &outFile{name: output}
	p.files = []*outFile{main}
	syntax := map[string]*ast.File{}
	for _, f := range p.pkg.Syntax {
		syntax[sourceName(p.pkg.Fset, f)] = f
	}
	bySource := map[string]*outFile{}
	fileFor := func(src string) *outFile {
		if of, ok := bySource[src]; ok {
			return of
		}
		of := main
		c, err := fileConstraint(syntax[src], src)
		if err != nil {
			e.add(syntax[src].Package, "reading the build constraint of %s: %v", filepath.Base(src), err)
		} else if c != "" {
			of = &outFile{name: strings.TrimSuffix(filepath.Base(src), ".go") + "_" + output, constraint: c}
			p.files = append(p.files, of)
		}
		bySource[src] = of
		return of
	}
	placed := map[unit]*outFile{}
	for _, u := range p.units {
		of := fileFor(u.declOf().filename)
		of.units = append(of.units, u)
		placed[u] = of
	}
	for _, r := range registrations(p.units) {
		home := main
		if r.recv != nil {
			home = fileFor(p.pkg.Fset.Position(r.recv.Obj().Pos()).Filename)
		}
		parts := map[*outFile]*registration{}
		var order []*outFile
		for _, u := range r.units {
			of := placed[u]
			if parts[of] == nil {
				part := *r
				part.units = nil
				parts[of] = &part
				order = append(order, of)
			}
			parts[of].units = append(parts[of].units, u)
		}
		homePart := parts[home]
		if homePart == nil {
			homePart = &registration{kind: r.kind, recv: r.recv, funcName: r.funcName, listName: r.listName, at: r.at}
		}
		home.regs = append(home.regs, homePart)
		for _, of := range order {
			if of != home {
				of.appends = append(of.appends, parts[of])
			}
		}
	}
}
