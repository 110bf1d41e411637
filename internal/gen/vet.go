package gen

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Vet: the steps of Run after load, for one package that an analysis
// driver (go vet, golangci-lint) has already parsed and type-checked, with
// what they find as diagnostics instead of errors and files.

// VetPackage is one package as an analysis driver hands it over.
type VetPackage struct {
	Fset *token.FileSet
	// Files are the package's parsed files, generated ones included. Test
	// files are ignored, as the generator ignores them.
	Files []*ast.File
	// Types and Info are the package as the driver type-checked it, with
	// its generated files; Vet reads the packages it imports from them.
	Types *types.Package
	Info  *types.Info
	Sizes types.Sizes
	// ReadFile reads a file of the package; nil means os.ReadFile.
	ReadFile func(filename string) ([]byte, error)
	// Output is the generated file's name, as for Config; "" means
	// DefaultOutput.
	Output string
	// IgnoredFiles are the package's files that the build constraints
	// exclude (analysis.Pass.IgnoredFiles): as in Run, their directives
	// count for the registrations of the unconstrained generated file.
	IgnoredFiles []string
	// ViewSites returns the //futures:view directives of the package at
	// path (ViewSites of its files), which a //futures:client of this
	// package calls, and whether that package was analyzed; nil means
	// none is known. The analyzer passes them as facts.
	ViewSites func(path string) ([]ViewSite, bool)
}

// Diagnostic is a problem Vet found, positioned in VetPackage.Fset: an
// error or warning that Run would report, or a generated file that is
// stale, missing or orphaned.
type Diagnostic struct {
	Pos, End token.Pos // End may be token.NoPos
	Message  string
	// Fix, when not nil, is the obvious correction.
	Fix *Fix
}

// Fix is a correction: edits of the package's files.
type Fix struct {
	Message string
	Edits   []Edit
}

// Edit replaces the text from Pos to End with NewText.
type Edit struct {
	Pos, End token.Pos
	NewText  []byte
}

// Vet finds, checks, plans and emits the directives of one type-checked
// package, as Run does, and compares the result with the package's
// generated files. It reports the problems Run would report, with Run's
// messages, with a fix where one is obvious, and, when there are none,
// each generated file that differs from what Run would write, that Run
// would write but the package lacks, or that Run would remove. Its error
// is for what keeps it from judging: a file it cannot read, or output it
// cannot render.
//
// The package is type-checked again, without its generated files and from
// the packages that the driver's check imported, so that the generated
// code depends on exactly what it depends on in Run.
func Vet(vp VetPackage) ([]Diagnostic, error) {
	output := vp.Output
	if output == "" {
		output = DefaultOutput
	}
	readFile := vp.ReadFile
	if readFile == nil {
		readFile = os.ReadFile
	}

	// Load, as findCandidates does: the package without its generated
	// files, and without its tests, which go vet includes.
	l := &loaded{path: vp.Types.Path(), name: vp.Types.Name()}
	pkg := &packages.Package{PkgPath: l.path, Name: l.name, Fset: vp.Fset}
	l.pkg = pkg
	generatedSyntax := map[string]*ast.File{}
	e := &errs{fset: vp.Fset}
	for _, f := range vp.Files {
		name := sourceName(vp.Fset, f)
		if strings.HasSuffix(name, "_test.go") {
			warnTestDirectives(f, e)
			continue
		}
		if l.dir == "" {
			l.dir = filepath.Dir(name)
		}
		pkg.GoFiles = append(pkg.GoFiles, name)
		if hasHeader(f) {
			l.generated = append(l.generated, name)
			generatedSyntax[name] = f
			continue
		}
		pkg.Syntax = append(pkg.Syntax, f)
	}

	excluded := map[string][]byte{}
	for _, name := range vp.IgnoredFiles {
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := readFile(name)
		if err != nil {
			return nil, err
		}
		l.excluded = append(l.excluded, name)
		if !isGenerated(src) && packageClause(src) == l.name {
			excluded[name] = src
		}
	}
	l.sources = map[string][]byte{}
	l.addExcluded(vp.Fset, excluded)

	// The lock, from the file system: analysis drivers let ReadFile read
	// only the package's own files, which a JSON file is not.
	data, lockPath, err := readLockFile(l.dir)
	if err != nil {
		return nil, err
	}
	l.lockData = data

	// Find, and with no directive, no generated file and no lock, stop
	// there.
	p := newPlan(l, e)
	if len(p.sites) == 0 && len(p.pkgDecls) == 0 && len(l.generated) == 0 && l.lockData == nil {
		return diagnostics(vp, e), nil
	}
	// The OpenAPI documents futuresgen wrote, and the other JSON files,
	// which are no file of the package for the driver: read from disk.
	if err := l.scanDocs(); err != nil {
		return nil, err
	}

	// The sources, which give the build constraints of generated files.
	for _, f := range pkg.Syntax {
		name := sourceName(vp.Fset, f)
		src, err := readFile(name)
		if err != nil {
			return nil, err
		}
		l.sources[name] = src
	}

	// A client's views: their sites from the views package's analysis,
	// their types from the imports of the driver's check, which include
	// the views package once the client's generated file exists.
	if d := p.pkgDecl("client"); d != nil && len(d.dir.args) > 0 {
		c := &client{decl: d, target: d.dir.args[0].text}
		c.types = importedPackage(vp.Types, c.target)
		if vp.ViewSites != nil {
			c.sites, c.found = vp.ViewSites(c.target)
		}
		if c.types == nil || !c.found {
			e.add(d.at(d.dir.kindOff), "the client of %s cannot be checked: this package does not import it (does its generated file, which does, exist?); run futuresgen on this package", c.target)
			return diagnostics(vp, e), nil
		}
		p.client = c
	} else if d != nil {
		p.client = &client{decl: d}
	}

	// Type-check, check and place.
	recheck(vp, pkg)
	p.check(e)
	if len(e.list) == 0 {
		names, _ := syntaxDurableNames(l, p.decls)
		owner := map[string]string{}
		for _, name := range names {
			owner[name] = l.path
		}
		p.checkLock(&lockCtx{accept: map[string]bool{}, owner: owner}, e)
	}
	p.place(e, output)
	if len(e.list) > 0 {
		return diagnostics(vp, e), nil
	}

	// Emit, and compare with the files in the package.
	files, err := p.emit()
	if err != nil {
		return nil, err
	}
	diags := diagnostics(vp, e)
	// The command that brings the files up to date.
	fix := "run futuresgen on this package"
	if slices.ContainsFunc(slices.Collect(maps.Values(l.sources)), func(src []byte) bool { return runsFuturesgen.Match(src) }) {
		fix = "run go generate"
	}
	for _, name := range l.generated {
		if _, wanted := files[filepath.Base(name)]; !wanted && filepath.Base(name) != LockFile {
			// At the package clause of a file that is not generated, when
			// there is one: linters hide what they find in generated files.
			var at token.Pos
			if f := generatedSyntax[name]; f != nil {
				at = f.Package
			}
			if len(pkg.Syntax) > 0 {
				at = pkg.Syntax[0].Package
			}
			diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf(
				"%s is orphaned: no directive of this package generates it any more; %s, which removes it", filepath.Base(name), fix)})
		}
	}
	// The lock, at the first durable task's directive (or the package
	// clause of the first file when none is left).
	if want, have := files[LockFile], l.lockData; !bytes.Equal(want, have) {
		at := token.NoPos
		if len(pkg.Syntax) > 0 {
			at = pkg.Syntax[0].Package
		}
		for _, u := range p.units {
			if t, ok := u.(*task); ok && t.durable {
				at = t.decl.line.Slash
				break
			}
		}
		switch {
		case want == nil:
			diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf("%s is orphaned: this package has no durable task any more; %s, which removes it", LockFile, fix)})
		case lockPath == "":
			diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf("%s is missing: it locks the arguments of this package's durable tasks; %s", LockFile, fix)})
		default:
			diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf("%s is stale: from line %d on, it is not what the durable tasks of this package lock; %s", LockFile, firstDifference(have, want), fix)})
		}
	}
	for _, of := range p.files {
		want, ok := files[of.name]
		if !ok {
			continue
		}
		at := firstDirective(of)
		i := slices.IndexFunc(l.generated, func(name string) bool { return filepath.Base(name) == of.name })
		if i < 0 {
			diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf(
				"%s is missing: the directives of this package generate it; %s", of.name, fix)})
			continue
		}
		have, err := readFile(l.generated[i])
		if err != nil {
			return nil, err
		}
		if bytes.Equal(have, want) {
			continue
		}
		// No fix: drivers do not apply fixes to generated files, and go
		// generate is the remedy anyway.
		diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf(
			"%s is stale: from line %d on, it is not what the directives of this package generate; %s",
			of.name, firstDifference(have, want), fix)})
	}
	if a := p.api; a != nil {
		at := a.decl.line.Slash
		have, err := os.ReadFile(filepath.Join(l.dir, a.out))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf(
				"%s is missing: the //futures:api of this package generates it; run go generate", a.out)})
		case err != nil:
			return nil, err
		case !bytes.Equal(have, a.doc):
			diags = append(diags, Diagnostic{Pos: at, Message: fmt.Sprintf(
				"%s is stale: from line %d on, it is not the OpenAPI document of this package's views; run go generate",
				a.out, firstDifference(have, a.doc))})
		}
	}
	return diags, nil
}

// importedPackage finds the package at path among those that pkg imports,
// directly or not, or returns nil.
func importedPackage(pkg *types.Package, path string) *types.Package {
	seen := map[*types.Package]bool{}
	var find func(p *types.Package) *types.Package
	find = func(p *types.Package) *types.Package {
		for _, imp := range p.Imports() {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			if imp.Path() == path {
				return imp
			}
			if found := find(imp); found != nil {
				return found
			}
		}
		return nil
	}
	return find(pkg)
}

// hasHeader reports whether f starts with the generated-file header, as
// isGenerated does for its bytes.
func hasHeader(f *ast.File) bool {
	return len(f.Comments) > 0 && f.Comments[0].Pos() == f.FileStart && f.Comments[0].List[0].Text == Header
}

// recheck type-checks the package's sources again into pkg, resolving
// their imports to the packages of the driver's check. Errors are
// ignored: the driver's check of the whole package passed, so those left
// are about the names that the generated files declare.
func recheck(vp VetPackage, pkg *packages.Package) {
	imports := map[string]*types.Package{}
	for _, f := range pkg.Syntax {
		for _, spec := range f.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if pn := vp.Info.PkgNameOf(spec); pn != nil && err == nil {
				imports[path] = pn.Imported()
			}
		}
	}
	for _, imp := range vp.Types.Imports() {
		if imports[imp.Path()] == nil {
			imports[imp.Path()] = imp
		}
	}
	pkg.TypesInfo = &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Implicits:  map[ast.Node]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
		Scopes:     map[ast.Node]*types.Scope{},
		Instances:  map[*ast.Ident]types.Instance{},
	}
	conf := types.Config{
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if path == "unsafe" {
				return types.Unsafe, nil
			}
			if t := imports[path]; t != nil {
				return t, nil
			}
			return nil, fmt.Errorf("%s is not among the imports of %s", path, pkg.PkgPath)
		}),
		Error:       func(error) {},
		Sizes:       vp.Sizes,
		GoVersion:   vp.Types.GoVersion(),
		FakeImportC: true,
	}
	pkg.Types, _ = conf.Check(pkg.PkgPath, vp.Fset, pkg.Syntax, pkg.TypesInfo)
}

// diagnostics turns the errors and warnings of e into diagnostics. One
// positioned outside the package's files (a field of a request struct
// declared in another package) is moved to the first file's package
// clause, with its own position in the message.
func diagnostics(vp VetPackage, e *errs) []Diagnostic {
	inPackage := func(pos token.Pos) bool {
		return slices.ContainsFunc(vp.Files, func(f *ast.File) bool { return f.FileStart <= pos && pos <= f.FileEnd })
	}
	var out []Diagnostic
	for _, err := range append(e.warnings.sorted(), e.list.sorted()...) {
		d := Diagnostic{Pos: err.at, Message: err.Msg}
		if !inPackage(d.Pos) && len(vp.Files) > 0 {
			d.Pos, d.Message = vp.Files[0].Package, err.Error()
		}
		if fx := err.fix; fx != nil && inPackage(fx.pos) {
			d.End = fx.end
			verb := "Replace with " + fx.text
			if fx.text == "" {
				verb = "Remove the space after //"
			}
			d.Fix = &Fix{Message: verb, Edits: []Edit{{Pos: fx.pos, End: fx.end, NewText: []byte(fx.text)}}}
		}
		out = append(out, d)
	}
	return out
}

// firstDirective is where the generated file of's first unit or
// registration is asked for.
func firstDirective(of *outFile) token.Pos {
	switch {
	case len(of.units) > 0:
		return of.units[0].declOf().line.Slash
	case len(of.regs) > 0:
		return of.regs[0].at
	case len(of.appends) > 0:
		return of.appends[0].at
	case of.client != nil:
		return of.client.decl.line.Slash
	case of.api != nil:
		return of.api.decl.line.Slash
	}
	return token.NoPos
}

// firstDifference is the first line, counted from 1, where a and b differ.
func firstDifference(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '\n' {
			line++
		}
	}
	return line
}
