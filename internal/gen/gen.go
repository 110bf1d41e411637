// Package gen is the generator behind futuresgen: it finds //futures:
// directives in Go packages, checks them against the functions they
// annotate, and writes (or, in check mode, compares) the generated
// wrappers. It is internal: only this module's commands (futuresgen,
// futuresvet) and the analyzer behind futuresvet use it.
//
// Run is the pipeline. Its steps, in the order it calls them, and their
// files:
//
//   - load (load.go): a go list -find of the patterns and a scan of their
//     files; the packages whose files mention a directive or hold a
//     generated file (the candidates) are listed again with their
//     dependencies' export data, and parsed, without their generated
//     files.
//   - find (find.go, directive.go, find_calls.go, api.go, client.go): the
//     directives, read from the raw doc comments of functions and, for
//     package directives (//futures:api, //futures:client), of files'
//     package clauses, and their syntax; in the packages without any,
//     calls of wrappers that no directive generates. A //futures:client
//     reads the view directives of the package it names too, from that
//     package's syntax (which load listed with the candidates).
//   - plan (plan.go): what each package's directives will generate, known
//     from the syntax alone, and the units and registrations that the
//     later steps fill in.
//   - cache (cache.go): a package whose inputs have not changed takes its
//     files from the cache and skips type check, check, place and emit.
//   - type check (typecheck.go): each candidate from source, its
//     dependencies from export data; type errors about the names about to
//     be generated are tolerated.
//   - check (check.go, check_task.go, check_view.go, validate.go, api.go,
//     client.go): options and signatures against the schema of each
//     directive, validate tags against their fields' types, and the
//     package's names against
//     what would be generated; then, for //futures:api, the OpenAPI
//     document (openapi.go, with schema.go and jsonfields.go for the types'
//     JSON schemas, docs.go for doc comments, jsondoc.go for the JSON), so
//     that what it cannot describe is reported with the other problems;
//     and for //futures:client, each view of the package it names,
//     checked against that package's types as checkView checks it.
//   - place (place.go, buildtags.go): which generated file holds each task,
//     view and registration, by the build constraints of their sources.
//   - emit (emit.go, emit_types.go, emit_register.go, emit_task.go,
//     emit_view.go, emit_validate.go, emit_api.go, emit_client.go): every
//     file rendered with jennifer, the runtime names it may use listed in
//     contract.go; the OpenAPI document joins them as one more generated
//     file.
//   - write (write.go, diff.go): each file written atomically when it
//     differs, or in check mode compared, with a unified diff.
//
// Every source problem is collected with its position and reported at once
// (errors.go), and nothing is written then.
//
// Vet (vet.go) runs the same steps from find to emit on one package that an
// analysis driver has loaded, for the futuresvet analyzer: Run's problems
// and messages as diagnostics, and the generated files compared.
package gen

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"io"
	"path/filepath"
	"strings"
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
	// AcceptBreaking names durable tasks whose changes may break the
	// decoding of jobs already queued (see LockFile): their lock entries
	// are rewritten, with a warning, instead of failing the run.
	AcceptBreaking []string
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
	// Warnings are problems that did not stop the run, with positions
	// where they have one.
	Warnings ErrorList
	// Tool says that the go.mod of the packages' module lists futuresgen
	// as a tool, so that go tool futuresgen runs it.
	Tool bool
}

// Change is one generated file that was, or would be, written or removed.
type Change struct {
	Path    string // absolute
	Removed bool
	Diff    string // in check mode: unified diff from the file on disk to the generated one
	// GoGenerate says that the file's package has a //go:generate line
	// that runs futuresgen, so that go generate brings the file up to date.
	GoGenerate bool
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
	if c := nameConstraint(cfg.Output); c != nil {
		// The unconstrained file would be built on one platform only.
		return nil, fmt.Errorf("output %q: a name ending in _%s constrains the file to %s builds; choose a name without a GOOS or GOARCH suffix", cfg.Output, c[len(c)-1], c[len(c)-1])
	}
	started := time.Now()

	// Load: list the packages' files, find those that mention a directive
	// or hold a generated file, and list those with export data.
	fset := token.NewFileSet()
	e := &errs{fset: fset}
	listed, err := listPackages(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	scans, err := scanPackages(listed, fset, e)
	if err != nil {
		return nil, err
	}
	warnUndirected(scans, fset, e)
	var cands []*scanned
	for _, s := range scans {
		if s.candidate() {
			cands = append(cands, s)
		}
	}
	pkgs, listedPkgs, err := loadCandidates(ctx, &cfg, fset, cands)
	if err != nil {
		return nil, err
	}
	logf(cfg.Log, "listed %d package(s), %d with directives or generated files, in %v", len(listed), len(pkgs), time.Since(started).Round(time.Millisecond))

	// Find, and plan the names: directives come from the syntax alone, so
	// what every package will generate is known before anything is
	// type-checked, so that type errors about those names can be told from
	// others, and so that a package whose inputs have not changed can come
	// from the cache.
	plans := make([]*plan, len(pkgs))
	gen := &generated{funcs: map[string]map[string]bool{}, methods: map[string]map[string]bool{}}
	lc := &lockCtx{accept: map[string]bool{}, owner: map[string]string{}}
	for _, name := range cfg.AcceptBreaking {
		lc.accept[name] = true
	}
	for i, l := range pkgs {
		plans[i] = newPlan(l, e)
	}
	// A client's methods come from the views of the package it names,
	// read from that package's syntax too.
	resolveClients(plans, listedPkgs, fset, e)
	for _, p := range plans {
		p.reserveNames(gen)
		names, _ := syntaxDurableNames(p.loaded, p.decls)
		for _, name := range names {
			lc.owner[name] = p.loaded.path
		}
	}
	cache := openCache(cfg.CacheDir)
	keys := cache.keys(plans, &cfg, gen, lc)

	// Type-check, check and place each package the cache does not have.
	imp := newImporter(fset, pkgs, cfg.Env)
	for _, p := range plans {
		if files, ok := cache.get(keys[p.path]); ok {
			p.cached = files
			continue
		}
		before, warned := len(e.list), len(e.warnings)
		imp.typeCheck(p.loaded)
		if c := p.client; c != nil && c.listed != nil {
			c.types, _ = imp.load(c.listed)
		}
		e.list = append(e.list, loadErrors(p.loaded, gen)...)
		p.check(e)
		if len(e.list) == before {
			// Against the durable tasks as they are, not as far as a
			// check that failed got.
			p.checkLock(lc, e)
		}
		p.place(e, cfg.Output)
		// A cached package skips the check, and would lose its warnings.
		p.clean = len(e.list) == before && len(e.warnings) == warned
	}
	res := &Result{Warnings: e.warnings.sorted()}
	if len(e.list) > 0 {
		return res, e.list.sorted()
	}

	// Emit every file before writing any, so that a failure leaves every
	// file as it was.
	emitted, err := emitAll(plans)
	if err != nil {
		return res, err
	}

	// Write, or in check mode compare, package by package.
	mods := &moduleFacts{env: cfg.Env, byGoMod: map[string]*goModFacts{}}
	for i, p := range plans {
		pstart := time.Now()
		files := p.cached
		if files == nil {
			files = emitted[i].files
			if p.clean {
				cache.put(keys[p.path], files)
			}
		}
		if len(files) > 0 {
			if w := mods.warning(p.module); w != nil {
				res.Warnings = append(res.Warnings, w)
			}
		}
		res.Tool = res.Tool || mods.tool(p.module)
		changes, err := apply(p, files, cfg.Check)
		if err != nil {
			return res, err
		}
		for j := range changes {
			changes[j].GoGenerate = p.goGenerate
		}
		res.Changes = append(res.Changes, changes...)
		logf(cfg.Log, "%s: %s in %v", p.path, describe(p, changes, cfg.Check), (emitted[i].took + time.Since(pstart)).Round(time.Millisecond))
	}
	if cfg.Check && len(res.Changes) > 0 {
		return res, ErrStale
	}
	return res, nil
}
