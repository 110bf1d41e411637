//go:build fuzzfast

package gen

// FuzzGenerateFast is FuzzGenerate (fuzz_gen_test.go) without the go
// command: it lists the fuzzed package's dependencies once, then runs the
// generator's phases (find, type-check, check, emit) in-process on each
// input, as Run does after its go list, and type-checks the output. Each
// input costs tens of milliseconds instead of a go list, at the price of
// reaching into Run's internals, which is why it builds only with the
// fuzzfast tag, out of the way of refactoring:
//
//	go test -tags fuzzfast -run '^$' -fuzz '^FuzzGenerateFast$' -fuzztime 2m ./internal/gen
//
// What go list itself reports (package-level problems) only FuzzGenerate
// sees.

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/packages"
)

type fastHarness struct {
	dir     string
	env     []string
	tmpl    *packages.Package // package p as go list saw it once
	fset    *token.FileSet    // for type-checking the output
	imp     types.Importer
	exports map[string]string
	mu      sync.Mutex
}

func newFastHarness(tb testing.TB) *fastHarness {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("the go command is not on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		tb.Fatal(err)
	}
	mod := tb.TempDir()
	gomod := "module example.com/fuzz\n\ngo 1.26.8\n\nrequire github.com/gofutures/futures v0.0.0\n\nreplace github.com/gofutures/futures => " + filepath.ToSlash(root) + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		tb.Fatal(err)
	}
	deps := `package fuzzdeps

import (
	_ "errors"
	_ "html/template"
	_ "strconv"

	_ "github.com/gofutures/futures/runtime/taskloop"
	_ "github.com/gofutures/futures/runtime/view"
)
`
	h := &fastHarness{
		dir:     filepath.Join(mod, "p"),
		env:     append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off"),
		fset:    token.NewFileSet(),
		exports: map[string]string{},
	}
	for name, data := range map[string]string{
		"go.mod":               gomod,
		"go.sum":               string(sum),
		"p/p.go":               FuzzedFiles("//futures:task", 1, 0, 0)["p.go"],
		"fuzzdeps/fuzzdeps.go": deps,
	} {
		path := filepath.Join(mod, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
			packages.NeedImports | packages.NeedDeps | packages.NeedExportFile | packages.NeedModule,
		Dir: mod,
		Env: h.env,
	}
	pkgs, err := packages.Load(cfg, "./p", "./fuzzdeps")
	if err != nil {
		tb.Fatal(err)
	}
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		if p.ExportFile != "" {
			h.exports[p.PkgPath] = p.ExportFile
		}
	})
	for _, p := range pkgs {
		if p.PkgPath == "example.com/fuzz/p" {
			h.tmpl = p
		}
	}
	if h.tmpl == nil || len(h.tmpl.Errors) > 0 {
		tb.Fatalf("loading the template package: %+v", pkgs)
	}
	h.imp = importer.ForCompiler(h.fset, "gc", func(path string) (io.ReadCloser, error) {
		if f := h.exports[path]; f != "" {
			return os.Open(f)
		}
		return nil, fmt.Errorf("no export data for %s", path)
	})
	return h
}

// run generates files as package p in-process and returns the broken
// promises.
func (h *fastHarness) run(t *testing.T, files map[string]string) []string {
	entries, _ := os.ReadDir(h.dir)
	for _, e := range entries {
		os.Remove(filepath.Join(h.dir, e.Name()))
	}
	var goFiles []string
	sources := map[string][]byte{}
	pkgName := "p"
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		path := filepath.Join(h.dir, name)
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
		sources[path] = []byte(files[name])
		if ok, _ := build.Default.MatchFile(h.dir, name); ok {
			goFiles = append(goFiles, path)
		}
		if f, _ := parser.ParseFile(token.NewFileSet(), "", files[name], parser.PackageClauseOnly); f != nil && f.Name != nil {
			pkgName = f.Name.Name
		}
	}
	root := &packages.Package{
		ID:              h.tmpl.ID,
		Name:            pkgName,
		PkgPath:         h.tmpl.PkgPath,
		GoFiles:         goFiles,
		CompiledGoFiles: goFiles,
		Imports:         h.tmpl.Imports,
		Module:          h.tmpl.Module,
	}

	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	out, list, err := runPhases(root, h.env)
	if p, ok := err.(fastPanic); ok {
		bad("the generator panicked: %v\n%s", p.value, p.stack)
		return problems
	}
	if err != nil {
		bad("the generator failed with %T, not an ErrorList, so with no position: %v", err, err)
		return problems
	}
	if len(list) > 0 {
		for _, e := range list {
			if msg := fastBadPosition(e, sources); msg != "" {
				bad("error %q: %s", e.Error(), msg)
			}
		}
		return problems
	}
	if len(out) == 0 {
		return problems
	}
	// The package as Run would leave it: sources, minus stale generated
	// files, plus the output.
	final := map[string][]byte{}
	for path, src := range sources {
		if !isGenerated(src) {
			final[path] = src
		}
	}
	var names []string
	for name, src := range out {
		path := filepath.Join(h.dir, name)
		final[path] = src
		names = append(names, name)
		if !bytes.HasPrefix(src, []byte(Header+"\n")) {
			bad("%s does not start with the header", name)
		}
		if f, err := format.Source(src); err != nil || !bytes.Equal(f, src) {
			bad("%s is not gofmt-clean: %v\n%s", name, err, src)
		}
	}
	if msg := h.typeCheck(final); msg != "" {
		slices.Sort(names)
		var dump strings.Builder
		for _, n := range names {
			fmt.Fprintf(&dump, "--- %s\n%s\n", n, out[n])
		}
		bad("the generated package %s\n%s", msg, dump.String())
	}
	return problems
}

type fastPanic struct {
	value any
	stack []byte
}

func (p fastPanic) Error() string { return fmt.Sprint("panic: ", p.value) }

// findCandidates keeps the packages whose files mention a directive or hold
// a generated file, and parses them as parseCandidate does: the fast fuzz
// target's stand-in for listPackages, scanPackages and loadCandidates,
// which ask the go command.
func findCandidates(roots []*packages.Package, fset *token.FileSet) ([]*loaded, error) {
	var out []*loaded
	for _, p := range roots {
		sources := map[string][]byte{}
		keep := false
		for _, f := range p.GoFiles {
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			sources[f] = src
			keep = keep || isGenerated(src) || mentions(src)
		}
		if !keep {
			continue
		}
		l, err := parseCandidate(p, fset, sources)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *loaded) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

// runPhases is Run from findCandidates to emit, for one listed package.
func runPhases(root *packages.Package, env []string) (out map[string][]byte, list ErrorList, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fastPanic{r, debug.Stack()}
		}
	}()
	fset := token.NewFileSet()
	pkgs, err := findCandidates([]*packages.Package{root}, fset)
	if err != nil || len(pkgs) == 0 {
		return nil, nil, err
	}
	e := &errs{fset: fset}
	gen := &generated{funcs: map[string]map[string]bool{}, methods: map[string]map[string]bool{}}
	plans := make([]*plan, len(pkgs))
	for i, l := range pkgs {
		decls := findDecls(l, e)
		plans[i] = &plan{loaded: l, decls: decls, sites: regSites(l, decls)}
		plans[i].reserveNames(gen)
	}
	imp := newImporter(fset, pkgs, env)
	for _, p := range plans {
		imp.typeCheck(p.loaded)
		e.list = append(e.list, loadErrors(p.loaded, gen)...)
		p.check(e)
		p.place(e, DefaultOutput)
	}
	if len(e.list) > 0 {
		return nil, e.list.sorted(), nil
	}
	out = map[string][]byte{}
	for _, p := range plans {
		files, err := p.emit()
		if err != nil {
			return nil, nil, err
		}
		for name, src := range files {
			out[name] = src
		}
	}
	return out, nil, nil
}

func fastBadPosition(e *Error, sources map[string][]byte) string {
	src, ok := sources[e.Pos.Filename]
	if !ok {
		return fmt.Sprintf("position %q is not in one of the package's files", e.Pos)
	}
	lines := bytes.Split(src, []byte("\n"))
	if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
		return fmt.Sprintf("line %d is not in a file of %d lines", e.Pos.Line, len(lines))
	}
	if n := len(lines[e.Pos.Line-1]); e.Pos.Column < 0 || e.Pos.Column > n+2 {
		return fmt.Sprintf("column %d is not in line %d, which has %d bytes", e.Pos.Column, e.Pos.Line, n)
	}
	if e.Msg == "" {
		return "no message"
	}
	return ""
}

func (h *fastHarness) typeCheck(files map[string][]byte) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var syntax []*ast.File
	var errs []string
	ctxt := build.Default
	ctxt.OpenFile = func(path string) (io.ReadCloser, error) {
		if src, ok := files[path]; ok {
			return io.NopCloser(bytes.NewReader(src)), nil
		}
		return nil, os.ErrNotExist
	}
	for path, src := range files {
		if ok, _ := ctxt.MatchFile(h.dir, filepath.Base(path)); !ok {
			continue
		}
		f, err := parser.ParseFile(h.fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		syntax = append(syntax, f)
	}
	conf := types.Config{Importer: h.imp, GoVersion: "go1.26", Error: func(err error) { errs = append(errs, err.Error()) }}
	info := FuzzedTypesInfo()
	pkg, _ := conf.Check(h.tmpl.PkgPath, h.fset, syntax, info)
	slices.Sort(errs)
	if len(errs) > 0 {
		return "does not type-check: " + strings.Join(errs, "\n")
	}
	if reports := FuzzedVet(h.fset, syntax, pkg, info, func(name string) bool { return isGenerated(files[name]) }); len(reports) > 0 {
		return "fails go vet: " + strings.Join(reports, "\n")
	}
	return ""
}

// fastKnownBugs are fuzz_gen_test.go's knownBugs, for FUTURES_FUZZ_KNOWN=skip.
var fastKnownBugs = []*regexp.Regexp{
	// A durable task's parameter whose name does not start with an
	// upper-casable letter (_id) becomes an unexported field of the
	// arguments struct: encoding/json drops it from the job.
	regexp.MustCompile(`struct field \S+ has json tag but is not exported`),
}

func FuzzGenerateFast(f *testing.F) {
	for _, c := range FuzzedCurated {
		f.Add(c.Directive, c.Shape, c.Place, c.Flags)
	}
	h := newFastHarness(f)
	f.Fuzz(func(t *testing.T, directive string, shape, place, flags uint8) {
		files := FuzzedFiles(directive, shape, place, flags)
		problems := h.run(t, files)
		if len(problems) == 0 {
			return
		}
		if os.Getenv("FUTURES_FUZZ_KNOWN") == "skip" && !slices.ContainsFunc(problems, func(p string) bool {
			return !slices.ContainsFunc(fastKnownBugs, func(re *regexp.Regexp) bool { return re.MatchString(p) })
		}) {
			t.Skip("known generator bug")
		}
		t.Fatalf("%s\ninput: directive %q, shape %d, place %d, flags %#x\n%s", strings.Join(problems, "\n"), directive, shape, place, flags, files["p.go"]+files["f_linux.go"])
	})
}
