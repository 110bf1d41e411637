package gen

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The plan step, from the syntax alone, right after the find step: the
// names each package's directives will generate, which the type check
// tolerates as undefined and the cache keys cover; and what the later steps
// fill in: the units (checked tasks and views) that the check step keeps,
// the registrations that list them, and the files that place puts them in.

// plan is one package's directives on their way to files.
type plan struct {
	*loaded
	decls    []*decl
	pkgDecls []*decl   // package directives (//futures:api), one per kind
	sites    []regSite // what decides the registrations (regSites)
	units    []unit    // checked tasks and views, in source order
	api      *api      // the checked //futures:api, if any
	client   *client   // //futures:client, if any: resolved after find, checked by check
	files    []*outFile
	cached   map[string][]byte // the generated files, when the cache had them
	clean    bool              // checked without errors: its output may be cached
	docs     *docIndex         // built when first needed, by docIndex

	lockOut  []byte      // the lock file to write, nil for none (checkLock)
	lockFile *token.File // the old lock, in the file set, for positions in it
}

// docIndex returns the doc comments and field syntax of the package's
// types, once it is type-checked.
func (p *plan) docIndex() *docIndex {
	if p.docs == nil {
		p.docs = newDocIndex(p.pkg.Syntax, p.pkg.TypesInfo)
	}
	return p.docs
}

// newPlan finds the directives of a loaded package: those of its functions,
// which decide its registrations with those of its excluded files, and
// those of its package doc comments.
func newPlan(l *loaded, e *errs) *plan {
	decls := findDecls(l, e)
	return &plan{loaded: l, decls: decls, sites: regSites(l, decls), pkgDecls: findPackageDecls(l, e)}
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
		register, _ := registrationNames(regKind(d.kind), typeName)
		gen.addFunc(p.path, register)
	}
	for _, s := range p.sites {
		register, _ := registrationNames(s.kind, s.typeName)
		gen.addFunc(p.path, register)
	}
	for _, d := range p.pkgDecls {
		if d.kind == "api" {
			gen.addFunc(p.path, apiNames[0])
		}
	}
	if p.client != nil {
		p.client.reserveNames(p, gen)
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

// regSite is a directive as the registrations see it: its kind and, for
// a method, its receiver type's name, from the syntax alone.
type regSite struct {
	kind     string
	typeName string // "" for a function
	at       token.Pos
}

// regSites lists the directives that decide the package's registrations:
// those of its compiled files (decls) and of the files the build
// constraints exclude, in file name and position order, so that the
// registrations, and the unconstrained file that declares most of them,
// are the same whatever the platform and tags of the run.
func regSites(l *loaded, decls []*decl) []regSite {
	var sites []regSite
	for _, d := range decls {
		sites = append(sites, regSite{kind: regKind(d.kind), typeName: recvTypeName(d.fn), at: d.at(d.dir.kindOff)})
	}
	sites = append(sites, excludedSites(l)...)
	fset := l.pkg.Fset
	slices.SortStableFunc(sites, func(a, b regSite) int {
		pa, pb := fset.Position(a.at), fset.Position(b.at)
		return cmp.Or(strings.Compare(filepath.Base(pa.Filename), filepath.Base(pb.Filename)), cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Column, pb.Column))
	})
	return sites
}

// registrations returns the package's registrations, in the order of
// their first directive (regSites), each with its checked units. A
// registration is there even when none of its units is in the build: its
// function and list are declared whatever the build constraints, and the
// units of constrained files join the list from their own file. A method
// registration whose receiver type is not in the build is left out: the
// generated file that would declare it is out of scope.
func (p *plan) registrations() []*registration {
	type key struct {
		kind string
		recv *types.Named
	}
	var regs []*registration
	byKey := map[key]*registration{}
	add := func(k key, at token.Pos) *registration {
		if r := byKey[k]; r != nil {
			return r
		}
		typeName := ""
		if k.recv != nil {
			typeName = k.recv.Obj().Name()
		}
		r := &registration{kind: k.kind, recv: k.recv, at: at}
		r.funcName, r.listName = registrationNames(k.kind, typeName)
		byKey[k] = r
		regs = append(regs, r)
		return r
	}
	for _, s := range p.sites {
		k := key{kind: s.kind}
		if s.typeName != "" {
			k.recv = p.localType(s.typeName)
			if k.recv == nil {
				continue
			}
		}
		add(k, s.at)
	}
	for _, u := range p.units {
		r := add(key{u.kind(), u.recvNamed()}, u.declOf().at(u.declOf().dir.kindOff))
		r.units = append(r.units, u)
	}
	return regs
}

// localType is the named type that name declares in the package's
// compiled files, or nil.
func (p *plan) localType(name string) *types.Named {
	if p.pkg.Types == nil {
		return nil
	}
	tn, ok := p.pkg.Types.Scope().Lookup(name).(*types.TypeName)
	if !ok || !p.declaredHere(tn) {
		return nil
	}
	named, _ := types.Unalias(tn.Type()).(*types.Named)
	if named == nil || named.Obj().Pkg() != p.pkg.Types || named.TypeParams().Len() > 0 {
		return nil
	}
	return named
}

// declaredHere reports whether obj is declared in one of the package's
// parsed files: export data read for a dependency can add old generated
// names to the package's scope.
func (p *plan) declaredHere(obj types.Object) bool {
	f := p.pkg.Fset.File(obj.Pos())
	return f != nil && slices.ContainsFunc(p.pkg.Syntax, func(s *ast.File) bool { return p.pkg.Fset.File(s.Package) == f })
}

// outFile is one generated file: the package's main file, or the file for
// the tasks of one source file with build constraints.
type outFile struct {
	name       string // base name
	constraint string // //go:build expression, "" for the main file
	units      []unit
	regs       []*registration // declared here, each with the units of this file
	appends    []*registration // declared in another file, with units of this file
	api        *api            // the main file only: the OpenAPI document's Go side
	client     *client         // the main file only: the typed client of //futures:client
}
