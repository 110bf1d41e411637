// Package gen is futuresgen as a library: it finds //futures: directives in
// Go packages, checks them against the functions they annotate, and writes
// (or, in check mode, compares) the generated wrappers.
//
// The work runs in phases, one file each: load (load.go) lists the packages
// and type-checks those that mention a directive, with their old generated
// files blanked; find (find.go, directive.go) reads the directives from raw
// doc comments; check (task.go) validates options and signatures; emit
// (emit.go) renders files with jennifer; write (write.go) writes them
// atomically or compares them. Every source problem is collected with its
// position and reported at once (errors.go), and nothing is written then.
package gen

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config is one run of the generator.
type Config struct {
	// Dir is the directory the patterns are relative to; "" means the
	// current directory.
	Dir string
	// Patterns are go list package patterns; none means ".".
	Patterns []string
	// Output is the generated file's name; "" means futures_gen.go. Tasks in
	// a file with build constraints go to <file>_<Output> with the same
	// constraints.
	Output string
	// Tags are build tags, as for go build -tags.
	Tags []string
	// Check writes nothing and reports stale, missing and orphaned files.
	Check bool
	// Env is the environment of the go command; nil means os.Environ().
	Env []string
	// Log, when not nil, receives a line per package: what was done and how
	// long it took (the CLI's --verbose).
	Log io.Writer
	// CacheDir, when not "", keeps each package's generated files under a
	// key of everything they depend on, so that a package whose sources,
	// dependencies and flags have not changed is neither type-checked nor
	// generated again. The CLI uses the user's cache directory.
	CacheDir string
}

// DefaultOutput is the generated file's default name.
const DefaultOutput = "futures_gen.go"

// Result says what a run did or, in check mode, would do.
type Result struct {
	// Changes are the files written or removed, or in check mode the files
	// that are stale, missing or orphaned, with their unified diffs.
	Changes []Change
	// Warnings are problems that did not stop the run, with positions.
	Warnings ErrorList
}

// Change is one generated file that was, or would be, written or removed.
type Change struct {
	Path    string // absolute
	Removed bool
	Diff    string // in check mode: unified diff from the file on disk to the generated one
}

// ErrStale is Run's error in check mode when some generated file is not
// what the sources would generate.
var ErrStale = errors.New("generated files are stale")

// Run generates (or checks) the packages of cfg. Source problems come back
// as an ErrorList, which lists every problem with its position; nothing is
// written then. In check mode, Run returns ErrStale (with the diffs in the
// Result) when anything would change.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Patterns) == 0 {
		cfg.Patterns = []string{"."}
	}
	if cfg.Output == "" {
		cfg.Output = DefaultOutput
	}
	if filepath.Base(cfg.Output) != cfg.Output || !strings.HasSuffix(cfg.Output, ".go") || strings.HasSuffix(cfg.Output, "_test.go") {
		return nil, fmt.Errorf("output %q: want a file name ending in .go (not _test.go), without a directory", cfg.Output)
	}
	started := time.Now()
	fset := token.NewFileSet()
	roots, err := listPackages(ctx, &cfg, fset)
	if err != nil {
		return nil, err
	}
	pkgs, err := findCandidates(roots, fset)
	if err != nil {
		return nil, err
	}
	logf(cfg.Log, "listed %d package(s), %d with directives or generated files, in %v", len(roots), len(pkgs), time.Since(started).Round(time.Millisecond))

	// Directives come from the syntax alone: what every package will
	// generate is known before anything is type-checked, so that type
	// errors about those names can be told from others, and so that a
	// package whose inputs have not changed can come from the cache.
	e := &errs{fset: fset}
	plans := make([]*plan, len(pkgs))
	gen := &generated{funcs: map[string]map[string]bool{}, methods: map[string]map[string]bool{}}
	for i, l := range pkgs {
		plans[i] = &plan{loaded: l, decls: findDecls(l, e)}
		plans[i].reserveNames(gen)
	}
	cache := openCache(cfg.CacheDir)
	keys := cache.keys(plans, &cfg, gen)
	imp := newImporter(fset, pkgs, cfg.Env)
	for _, p := range plans {
		if files, ok := cache.get(keys[p.path]); ok {
			p.cached = files
			continue
		}
		imp.typeCheck(p.loaded)
		before := len(e.list)
		e.list = append(e.list, loadErrors(p.loaded, gen)...)
		p.check(e, cfg.Output)
		p.clean = len(e.list) == before
	}
	res := &Result{Warnings: e.warnings.sorted()}
	if len(e.list) > 0 {
		return res, e.list.sorted()
	}

	emitted, err := emitAll(plans)
	if err != nil {
		return res, err
	}
	for i, p := range plans {
		pstart := time.Now()
		files := p.cached
		if files == nil {
			files = emitted[i].files
			if p.clean {
				cache.put(keys[p.path], files)
			}
		}
		changes, err := apply(p, files, cfg.Check)
		if err != nil {
			return res, err
		}
		res.Changes = append(res.Changes, changes...)
		logf(cfg.Log, "%s: %s in %v", p.path, describe(p, changes, cfg.Check), (emitted[i].took + time.Since(pstart)).Round(time.Millisecond))
	}
	if cfg.Check && len(res.Changes) > 0 {
		return res, ErrStale
	}
	return res, nil
}

// emission is one plan's generated files and the time they took.
type emission struct {
	files map[string][]byte
	took  time.Duration
}

// emitAll emits the files of every plan that the cache did not supply, on
// up to GOMAXPROCS goroutines: each plan's output depends on its own
// package's checked types only, which go/types allows to be read
// concurrently, and emitting is most of the work of a run without a cache.
// All of it is done before anything is written, so that a failure leaves
// every file as it was. The error is that of the first failing plan, in
// plan order, so that it does not depend on scheduling.
func emitAll(plans []*plan) ([]emission, error) {
	out := make([]emission, len(plans))
	errs := make([]error, len(plans))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, p := range plans {
		if p.cached != nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			start := time.Now()
			out[i].files, errs[i] = p.emit()
			out[i].took = time.Since(start)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func describe(p *plan, changes []Change, check bool) string {
	tasks, views := 0, 0
	for _, d := range p.decls {
		if d.kind == "task" {
			tasks++
		} else {
			views++
		}
	}
	what := fmt.Sprintf("%d task(s), %d view(s)", tasks, views)
	if p.cached != nil {
		what += " (cached)"
	}
	if len(changes) == 0 {
		return what + ", up to date"
	}
	var parts []string
	for _, c := range changes {
		verb := "wrote"
		switch {
		case check && c.Removed:
			verb = "orphaned"
		case check:
			verb = "stale"
		case c.Removed:
			verb = "removed"
		}
		parts = append(parts, verb+" "+filepath.Base(c.Path))
	}
	return what + ", " + strings.Join(parts, ", ")
}

// plan is one package's directives on their way to files.
type plan struct {
	*loaded
	decls  []*decl
	units  []unit // checked tasks and views, in source order
	files  []*outFile
	cached map[string][]byte // the generated files, when the cache had them
	clean  bool              // checked without errors: its output may be cached
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

// check validates every directive of the package and groups the tasks into
// the files they will be generated in.
func (p *plan) check(e *errs, output string) {
	mux := newPatternSet() // catches bad and conflicting view patterns
	for _, d := range p.decls {
		d.obj, _ = p.pkg.TypesInfo.Defs[d.fn.Name].(*types.Func)
		switch d.kind {
		case "task":
			if t := checkTask(p.pkg.Types, d, e); t != nil {
				p.units = append(p.units, t)
			}
		case "view":
			if v := checkView(p.pkg.Types, d, e, mux); v != nil {
				p.units = append(p.units, v)
			}
		}
	}
	if len(p.units) == 0 {
		return
	}
	parsed := map[*token.File]bool{}
	for _, f := range p.pkg.Syntax {
		parsed[p.pkg.Fset.File(f.Package)] = true
	}
	checkShadowing(p.pkg.Types, parsed, p.pkg.Fset, e)
	checkCollisions(p.pkg.Types, p.pkg.Fset, p.pkg.Syntax, p.units, registrations(p.units), e)

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

// emit renders the package's files: base name → bytes.
func (p *plan) emit() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, f := range p.files {
		if len(f.units) == 0 && len(f.regs) == 0 && len(f.appends) == 0 {
			continue // every task is in a file with build constraints
		}
		src, err := emitFile(p.pkg.Types, f)
		if err != nil {
			return nil, err
		}
		out[f.name] = src
	}
	return out, nil
}
