package gen_test

// Hostile sources for the whole generator. FuzzGenerate writes a valid
// package with a fuzzed directive line, placed on one of many function
// shapes in one of many places (fuzz_shapes_test.go), runs gen.Run on it
// in-process, and checks the generator's promises:
//
//   - it never panics;
//   - when it fails, the error is a gen.ErrorList whose every entry points
//     into one of the package's files (a line that exists, a column within
//     it), and nothing was written;
//   - when it succeeds, every generated file starts with the header, is
//     gofmt-clean, and the package with its generated files type-checks
//     (in-process, from export data) and passes the go vet checks that
//     need no facts (in-process too); when fuzzing, the first package of
//     each new shape (its tokens, literals aside) is also built and vetted
//     by the go command.
//
//	go test -run '^$' -fuzz '^FuzzGenerate$' -fuzztime 2m ./internal/gen
//
// Every input costs a gen.Run, that is a go list: a few per second.
// FuzzGenerateFast (fuzz_fast_test.go, -tags fuzzfast) runs the same
// inputs ten times faster without the go command. Plain go test runs the
// curated seeds and the crashers under testdata/fuzz/FuzzGenerate.
//
// TestGenerateMutations is the deterministic counterpart for CI: every
// directive of testdata/ok and testdata/errors mutated in a few systematic
// ways, with the same checks.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/gen"
)

// genHarness is a module, kept for the life of a fuzz worker, in which
// every fuzz input is written as package p and generated.
type genHarness struct {
	mod, dir string
	pkgPath  string

	fset    *token.FileSet
	exports map[string]string // import path → export data file
	imp     types.Importer

	mu    sync.Mutex
	built map[[32]byte]bool // shapes already built and vetted
}

// fuzzDeps is a package that imports everything a fuzzed package and its
// generated files may import, so that one go list gives their export data.
const fuzzDeps = `package fuzzdeps

import (
	_ "context"
	_ "encoding/json"
	_ "errors"
	_ "html/template"
	_ "io"
	_ "net/http"
	_ "net/netip"
	_ "net/url"
	_ "strconv"
	_ "time"
	_ "unsafe"

	_ "github.com/gofutures/futures/runtime/future"
	_ "github.com/gofutures/futures/runtime/taskloop"
	_ "github.com/gofutures/futures/runtime/view"
)
`

func newGenHarness(tb testing.TB) *genHarness {
	tb.Helper()
	mod := newModule(tb, "example.com/fuzz")
	h := &genHarness{
		mod:     mod,
		dir:     filepath.Join(mod, "p"),
		pkgPath: "example.com/fuzz/p",
		fset:    token.NewFileSet(),
		exports: map[string]string{},
		built:   map[[32]byte]bool{},
	}
	for _, d := range []string{h.dir, filepath.Join(mod, "fuzzdeps")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mod, "fuzzdeps", "deps.go"), []byte(fuzzDeps), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := h.listExports("./fuzzdeps"); err != nil {
		tb.Fatal(err)
	}
	h.imp = importer.ForCompiler(h.fset, "gc", func(path string) (io.ReadCloser, error) {
		file := h.exports[path]
		if file == "" {
			if err := h.listExports(path); err != nil {
				return nil, err
			}
			if file = h.exports[path]; file == "" {
				return nil, fmt.Errorf("no export data for %s", path)
			}
		}
		return os.Open(file)
	})
	return h
}

// listExports adds the export data files of pattern and its dependencies.
func (h *genHarness) listExports(pattern string) error {
	cmd := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", pattern)
	cmd.Dir = h.mod
	cmd.Env = goEnv()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("go list -export %s: %v\n%s", pattern, err, ee.Stderr)
		}
		return err
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "\t"); ok && file != "" {
			h.exports[path] = file
		}
	}
	return nil
}

// genOutcome is what one run of the generator came to.
type genOutcome int

const (
	outcomeSourceErrors genOutcome = iota // an ErrorList, all positioned
	outcomeGenerated                      // success, output checked
	outcomeNothing                        // success, nothing to generate
)

func (o genOutcome) String() string {
	return [...]string{"errors", "generated", "nothing"}[o]
}

// runPackage writes files as package p, runs the generator and checks what
// it did. It returns the broken promises, if any; t only fails when the
// harness itself cannot work.
func (h *genHarness) runPackage(t *testing.T, files map[string]string) (genOutcome, []string) {
	t.Helper()
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(h.dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(h.dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	res, err := runGen(gen.Config{Dir: h.dir, Env: goEnv()})
	if p, ok := err.(genPanic); ok {
		bad("gen.Run panicked: %v\n%s", p.value, p.stack)
		return outcomeSourceErrors, problems
	}
	after := readDir(t, h.dir)
	before := map[string][]byte{}
	for name, src := range files {
		before[filepath.Join(h.dir, name)] = []byte(src)
	}
	if res != nil {
		for _, w := range res.Warnings {
			if msg := badPosition(w, before); msg != "" {
				bad("warning %q: %s", w, msg)
			}
		}
	}
	if err != nil {
		var list gen.ErrorList
		switch {
		case !errors.As(err, &list):
			bad("gen.Run failed with %T, not a gen.ErrorList, so with no position: %v", err, err)
		case len(list) == 0:
			bad("gen.Run returned an empty ErrorList")
		}
		for _, e := range list {
			if msg := badPosition(e, before); msg != "" {
				bad("error %q: %s", e.Error(), msg)
			}
		}
		if diff := dirDiff(before, after); diff != "" {
			bad("gen.Run failed but changed the package: %s", diff)
		}
		return outcomeSourceErrors, problems
	}

	var generated []string
	for path, src := range after {
		if bytes.Equal(src, before[path]) {
			continue
		}
		generated = append(generated, path)
		if msg := checkGeneratedFile(path, src); msg != "" {
			bad("%s: %s\n%s", filepath.Base(path), msg, src)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok && !bytes.HasPrefix(before[path], []byte(gen.Header)) && !isGeneratedDoc(before[path]) {
			bad("gen.Run removed %s, which it did not generate", filepath.Base(path))
		}
	}
	if len(generated) == 0 {
		return outcomeNothing, problems
	}
	slices.Sort(generated)
	if msg := h.typeCheck(after); msg != "" {
		bad("gen.Run wrote a package that %s\n%s", msg, dumpFiles(after, generated))
		return outcomeGenerated, problems
	}
	if msg := h.buildOnce(t, after, generated); msg != "" {
		bad("%s", msg)
	}
	return outcomeGenerated, problems
}

// knownBugs match the problems of generator bugs already reported (see
// RELIABILITY-soak-fuzz.md). With FUTURES_FUZZ_KNOWN=skip, an input whose
// every problem is a known bug is skipped, so that a fuzzing session can
// look past them for new ones; by default they fail, until they are fixed.
var knownBugs = []*regexp.Regexp{
	// A durable task's parameter whose name does not start with an
	// upper-casable letter (_id) becomes an unexported field of the
	// arguments struct: encoding/json drops it from the job.
	regexp.MustCompile(`struct field \S+ has json tag but is not exported`),
}

func allKnown(problems []string) bool {
	for _, p := range problems {
		if !slices.ContainsFunc(knownBugs, func(re *regexp.Regexp) bool { return re.MatchString(p) }) {
			return false
		}
	}
	return true
}

// report fails t with problems, unless they are all known bugs and
// FUTURES_FUZZ_KNOWN=skip.
func report(t *testing.T, problems []string, input string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	if os.Getenv("FUTURES_FUZZ_KNOWN") == "skip" && allKnown(problems) {
		t.Skip("known generator bug")
	}
	t.Fatalf("%s\ninput: %s", strings.Join(problems, "\n"), input)
}

// genPanic is a panic of gen.Run, caught.
type genPanic struct {
	value any
	stack []byte
}

func (p genPanic) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func runGen(cfg gen.Config) (res *gen.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, genPanic{r, debug.Stack()}
		}
	}()
	return gen.Run(context.Background(), cfg)
}

// readDir returns the regular files of dir: path → content.
func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[path] = data
	}
	return out
}

func dirDiff(before, after map[string][]byte) string {
	var diffs []string
	for path, b := range before {
		if a, ok := after[path]; !ok {
			diffs = append(diffs, "removed "+filepath.Base(path))
		} else if !bytes.Equal(a, b) {
			diffs = append(diffs, "rewrote "+filepath.Base(path))
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			diffs = append(diffs, "wrote "+filepath.Base(path))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, ", ")
}

// badPosition says what is wrong with e's position, or "": it must name
// one of the package's files (sources holds them: path → content), a line
// of it, and a column within that line or 0 (or just past its newline: the
// end of a file that ends with one is there, as go/token counts lines).
func badPosition(e *gen.Error, sources map[string][]byte) string {
	if e.Msg == "" {
		return "no message"
	}
	src, ok := sources[e.Pos.Filename]
	if !ok {
		return fmt.Sprintf("position %q is not in one of the package's files", e.Pos)
	}
	lines := bytes.Split(src, []byte("\n"))
	if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
		return fmt.Sprintf("line %d is not in %s, which has %d lines", e.Pos.Line, filepath.Base(e.Pos.Filename), len(lines))
	}
	if n := len(lines[e.Pos.Line-1]); e.Pos.Column < 0 || e.Pos.Column > n+2 {
		return fmt.Sprintf("column %d is not in line %d, which has %d bytes", e.Pos.Column, e.Pos.Line, n)
	}
	return ""
}

// checkGeneratedFile checks what every generated file promises.
func checkGeneratedFile(path string, src []byte) string {
	if strings.HasSuffix(path, ".json") {
		// An OpenAPI document or a lock file: valid JSON that says it is
		// generated.
		if !isGeneratedDoc(src) {
			return "does not carry the generated-document mark"
		}
		if !json.Valid(src) {
			return "is not valid JSON"
		}
		return ""
	}
	if !bytes.HasPrefix(src, []byte(gen.Header+"\n")) {
		return "does not start with the generated-code header"
	}
	if strings.HasPrefix(filepath.Base(path), ".") {
		return "a temporary file was left behind"
	}
	formatted, err := format.Source(src)
	if err != nil {
		return "does not parse: " + err.Error()
	}
	if !bytes.Equal(formatted, src) {
		return "is not gofmt-clean"
	}
	return ""
}

func dumpFiles(files map[string][]byte, names []string) string {
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "--- %s\n%s\n", filepath.Base(name), files[name])
	}
	return b.String()
}

// typeCheck type-checks the files of package p that the build context
// selects, with dependencies from export data, then runs the go vet checks
// that need no facts on the generated files, and says what is wrong.
func (h *genHarness) typeCheck(files map[string][]byte) string {
	var syntax []*ast.File
	var errs []string
	for _, path := range slices.Sorted(mapKeys(files)) {
		name := filepath.Base(path)
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(h.dir, name); err != nil || !ok {
			continue
		}
		f, err := parser.ParseFile(h.fset, path, files[path], parser.SkipObjectResolution)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		syntax = append(syntax, f)
	}
	conf := types.Config{
		Importer:  h.imp,
		GoVersion: "go1.26",
		Error:     func(err error) { errs = append(errs, err.Error()) },
	}
	info := gen.FuzzedTypesInfo()
	h.mu.Lock() // the importer and the file set are shared
	defer h.mu.Unlock()
	pkg, _ := conf.Check(h.pkgPath, h.fset, syntax, info)
	if len(errs) > 0 {
		return "does not type-check: " + strings.Join(errs, "\n")
	}
	// The go vet checks that need no facts, on the generated files.
	if reports := gen.FuzzedVet(h.fset, syntax, pkg, info, func(name string) bool { return isGeneratedSource(files[name]) }); len(reports) > 0 {
		return "fails go vet: " + strings.Join(reports, "\n")
	}
	return ""
}

func isGeneratedSource(src []byte) bool { return bytes.HasPrefix(src, []byte(gen.Header+"\n")) }

// isGeneratedDoc reports whether src is a JSON file that futuresgen
// wrote: an OpenAPI document or a lock file.
func isGeneratedDoc(src []byte) bool {
	return bytes.Contains(src, []byte(`"x-futuresgen": "Code generated by futuresgen. DO NOT EDIT."`))
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// shapeKey identifies a package by its tokens, literals and comments
// aside: packages that differ only in option values share a key.
func shapeKey(files map[string][]byte) [32]byte {
	hash := sha256.New()
	for _, path := range slices.Sorted(mapKeys(files)) {
		fmt.Fprintf(hash, "%s\x00", filepath.Base(path))
		var s scanner.Scanner
		fset := token.NewFileSet()
		src := files[path]
		s.Init(fset.AddFile(path, -1, len(src)), src, nil, 0)
		for {
			_, tok, lit := s.Scan()
			if tok == token.EOF {
				break
			}
			if tok.IsLiteral() && tok != token.IDENT {
				lit = tok.String()
			}
			fmt.Fprintf(hash, "%d %s\x00", tok, lit)
		}
	}
	var key [32]byte
	hash.Sum(key[:0])
	return key
}

// buildOnce builds and vets package p with the go command the first time
// its shape is seen. A failure counts against the generator when the go
// command's messages name a generated file; otherwise the source has a
// problem that only the compiler sees (a misused //go: directive, say),
// which the generator does not promise to catch.
func (h *genHarness) buildOnce(t *testing.T, files map[string][]byte, generated []string) string {
	key := shapeKey(files)
	h.mu.Lock()
	seen := h.built[key]
	h.built[key] = true
	h.mu.Unlock()
	if seen || !isFuzzing() && os.Getenv("FUTURES_FUZZ_BUILD") != "1" || os.Getenv("FUTURES_FUZZ_BUILD") == "0" {
		// Plain go test type-checks its seeds in-process only: building
		// them would double its time, and TestGenerateMutations builds.
		return ""
	}
	for _, args := range [][]string{{"build", "./p"}, {"vet", "./p"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = h.mod
		cmd.Env = goEnv()
		out, err := cmd.CombinedOutput()
		if err == nil {
			continue
		}
		if blamesGenerated(out, generated) {
			return fmt.Sprintf("go %s fails on the generated code: %v\n%s\n%s", args[0], err, out, dumpFiles(files, generated))
		}
		t.Logf("go %s fails on the source, not on the generated code: %s", args[0], out)
		return ""
	}
	return ""
}

// goMessage is a file:line:col: message line of the go command.
var goMessage = regexp.MustCompile(`(?m)^(?:vet: )?(\S+?\.go):\d+:\d+: (.*)$`)

// blamesGenerated reports whether the go command's output has a message
// about a generated file that no other file gets too (a struct tag that vet
// dislikes is copied from the user's signature, as it must be).
func blamesGenerated(out []byte, generated []string) bool {
	isGen := func(file string) bool {
		return slices.ContainsFunc(generated, func(g string) bool { return filepath.Base(g) == filepath.Base(file) })
	}
	theirs := map[string]bool{}
	var ours []string
	for _, m := range goMessage.FindAllSubmatch(out, -1) {
		if isGen(string(m[1])) {
			ours = append(ours, string(m[2]))
		} else {
			theirs[string(m[2])] = true
		}
	}
	for _, msg := range ours {
		if !theirs[msg] {
			return true
		}
	}
	return false
}

// fuzzSeedDirectives returns the directive lines of testdata/ok and
// testdata/errors, good and bad, plus a few of our own.
func fuzzSeedDirectives(tb testing.TB) []string {
	tb.Helper()
	seen := map[string]bool{}
	var out []string
	add := func(d string) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for _, group := range []string{"ok", "errors"} {
		err := filepath.WalkDir(filepath.Join(testdata(tb), group), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for line := range strings.SplitSeq(string(data), "\n") {
				if line = strings.TrimSpace(line); directiveLine.MatchString(line) {
					add(line)
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, d := range []string{
		"//futures:task retries=2147483647 backoff=2562047h47m16.854775807s timeout=1ns",
		"//futures:task delay=9223372036854775807ns every=1h name=a/b.c:d-e_f queue=q",
		"//futures:view GET /{id} maxbody=9223372036854775807 status=599 timeout=1ns",
		`//futures:view "GET" "/a b/{id}" name="x"`,
		"//futures:view POST /{$}",
		"//futures:view GET /{path...} template=t.html",
		"//futures:view GET /{sku}/{rest}",
		"//futures:task durable=true durable=false",
		"//futures:task name=é.ü",
		"//futures:task\tretries=1\t",
		"//futures:task retries=1\r",
		"//futures:view GET /x\x00",
		"//go:noinline",
		"// futures:task",
		"//futures:",
	} {
		add(d)
	}
	return out
}

var directiveLine = regexp.MustCompile(`^//\s*futures:`)

func isFuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

func FuzzGenerate(f *testing.F) {
	for _, c := range gen.FuzzedCurated {
		f.Add(c.Directive, c.Shape, c.Place, c.Flags)
	}
	if isFuzzing() {
		// Every directive of testdata/ok and testdata/errors, and a few
		// more, once each, on shapes, places and flags that vary with it.
		for i, d := range fuzzSeedDirectives(f) {
			f.Add(d, uint8(i*7%gen.FuzzedShapes), uint8(i%gen.FuzzedPlacements), uint8(i*5%64))
		}
	}
	h := newGenHarness(f)
	f.Fuzz(func(t *testing.T, directive string, shape, place, flags uint8) {
		files := gen.FuzzedFiles(directive, shape, place, flags)
		describe := func() string {
			return fmt.Sprintf("directive %q, shape %d, place %d, flags %#x\n%s", directive, shape, place, flags, files["p.go"]+files["f_linux.go"])
		}
		outcome, problems := h.runPackage(t, files)
		if log := os.Getenv("FUTURES_FUZZ_OUTCOMES"); log != "" {
			if f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				fmt.Fprintln(f, outcome)
				f.Close()
			}
		}
		report(t, problems, describe())
	})
}

// TestGenerateMutations runs the generator over every package of
// testdata/ok and testdata/errors with each directive mutated in a few
// systematic ways: a character deleted, an option duplicated, a value (or
// a view's pattern) turned to garbage, the directive moved onto the next
// declaration. Each mutation of the good packages gets a package of its
// own; the error packages get one per kind of mutation, applied to all
// their directives at once. One run of the generator over all of them
// checks that it does not panic and that every error has a position; a
// second run over those that had no error checks that they generate and
// that the result builds and vets.
func TestGenerateMutations(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and builds a few hundred packages")
	}
	t.Parallel() // it mostly waits for the go command
	root := testdata(t)
	mod := newModule(t, "example.com/golden")
	copyTree(t, filepath.Join(root, "ok"), mod) // what the cases import

	type variant struct {
		dir, what, kind string
	}
	var variants []variant
	garbage := 0
	for _, group := range []string{"ok", "errors"} {
		cases, err := os.ReadDir(filepath.Join(root, group))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if !c.IsDir() {
				continue
			}
			caseDir := filepath.Join(root, group, c.Name())
			files := map[string]string{}
			entries, err := os.ReadDir(caseDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
					data, err := os.ReadFile(filepath.Join(caseDir, e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					files[e.Name()] = string(data)
				}
			}
			write := func(name, kind, what string, mutated map[string]string) {
				dir := filepath.Join(mod, "v", fmt.Sprintf("%s_%s_%03d", group, c.Name(), len(variants)))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for n, src := range files {
					if m, ok := mutated[n]; ok {
						src = m
					}
					if err := os.WriteFile(filepath.Join(dir, n), []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				variants = append(variants, variant{dir, fmt.Sprintf("%s/%s/%s: %s", group, c.Name(), name, what), kind})
			}
			for _, name := range slices.Sorted(mapKeys(files)) {
				src := files[name]
				lines := strings.Split(src, "\n")
				var at []int
				for i, l := range lines {
					if directiveLine.MatchString(strings.TrimSpace(l)) {
						at = append(at, i)
					}
				}
				if len(at) == 0 {
					continue
				}
				if group == "ok" {
					for _, i := range at {
						for _, m := range mutateDirective(t, src, i, &garbage) {
							write(name, m.kind, fmt.Sprintf("line %d, %s (%s): %q", i+1, m.kind, m.what, m.line), map[string]string{name: m.src})
						}
					}
					continue
				}
				// Error packages: each kind of mutation on every directive.
				byKind := map[string]string{}
				var kinds []string
				for _, kind := range mutationKinds {
					cur := src
					// Bottom up, and moves only downwards, so that the
					// lines of the directives above stay where they were.
					for k := len(at) - 1; k >= 0; k-- {
						for _, m := range mutateDirective(t, cur, at[k], &garbage) {
							if m.kind == kind && (kind != "move" || m.down) {
								cur = m.src
								break
							}
						}
					}
					if cur != src {
						byKind[kind] = cur
						kinds = append(kinds, kind)
					}
				}
				for _, kind := range kinds {
					write(name, kind, "every directive: "+kind, map[string]string{name: byKind[kind]})
				}
			}
		}
	}
	kinds := map[string]int{}
	for _, v := range variants {
		kinds[v.kind]++
	}
	t.Logf("%d mutated packages: %v", len(variants), kinds)

	sources := map[string][]byte{}
	var patterns []string
	byDir := map[string]variant{}
	for _, v := range variants {
		maps := readDir(t, v.dir)
		for p, s := range maps {
			sources[p] = s
		}
		rel, _ := filepath.Rel(mod, v.dir)
		patterns = append(patterns, "./"+filepath.ToSlash(rel))
		byDir[v.dir] = v
	}

	// Run 1: all at once.
	started := time.Now()
	res, err := runGen(gen.Config{Dir: mod, Patterns: patterns, Env: goEnv()})
	if p, ok := err.(genPanic); ok {
		// Find the package that makes it panic.
		for i, v := range variants {
			if _, err := runGen(gen.Config{Dir: mod, Patterns: patterns[i : i+1], Env: goEnv()}); err != nil {
				if p, ok := err.(genPanic); ok {
					t.Fatalf("gen.Run panicked on %s: %v\n%s\n%s", v.what, p.value, p.stack, dumpFiles(readDir(t, v.dir), slices.Sorted(mapKeys(readDir(t, v.dir)))))
				}
			}
		}
		t.Fatalf("gen.Run panicked on the whole set, on no package alone: %v\n%s", p.value, p.stack)
	}
	failed := map[string]bool{}
	if res != nil {
		for _, w := range res.Warnings {
			if msg := badPosition(w, sources); msg != "" {
				t.Errorf("warning %q: %s", w, msg)
			}
		}
	}
	if err != nil {
		var list gen.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("gen.Run failed with %T, not a gen.ErrorList: %v", err, err)
		}
		for _, e := range list {
			if msg := badPosition(e, sources); msg != "" {
				v := byDir[filepath.Dir(e.Pos.Filename)]
				t.Errorf("error %q: %s (%s)", e.Error(), msg, v.what)
				continue
			}
			failed[filepath.Dir(e.Pos.Filename)] = true
		}
		for _, v := range variants {
			if diff := dirDiff(readDirFiltered(sources, v.dir), readDir(t, v.dir)); diff != "" {
				t.Errorf("gen.Run failed but changed %s: %s", v.what, diff)
			}
		}
	}

	t.Logf("run 1 over every package: %v", time.Since(started).Round(time.Millisecond))

	// Run 2: the packages without errors generate; those that got a
	// generated file (a package whose directives the mutation turned into
	// plain comments is not the generator's business) build and vet.
	var good []string
	for i, v := range variants {
		if !failed[v.dir] {
			good = append(good, patterns[i])
		}
	}
	if len(good) == 0 {
		t.Fatal("no mutated package generates: the mutations are too destructive to test the success path")
	}
	if err != nil {
		started = time.Now()
		if _, err := runGen(gen.Config{Dir: mod, Patterns: good, Env: goEnv()}); err != nil {
			t.Fatalf("gen.Run on the packages that had no error in the first run: %v", err)
		}
		t.Logf("run 2 over %d packages: %v", len(good), time.Since(started).Round(time.Millisecond))
	}
	var generated []string
	for _, pat := range good {
		dir := filepath.Join(mod, filepath.FromSlash(pat))
		wrote := false
		for path, src := range readDir(t, dir) {
			if _, ok := sources[path]; ok {
				continue
			}
			wrote = true
			if msg := checkGeneratedFile(path, src); msg != "" {
				t.Errorf("%s: %s (%s)", path, msg, byDir[dir].what)
			}
		}
		if wrote {
			generated = append(generated, pat)
		}
	}
	t.Logf("%d packages have errors, %d have none, of which %d got generated files", len(failed), len(good), len(generated))
	if len(generated) == 0 {
		t.Fatal("no mutated package got a generated file: the mutations are too destructive to test the success path")
	}
	started = time.Now()
	for _, verb := range []string{"build", "vet"} {
		cmd := exec.Command("go", append([]string{verb}, generated...)...)
		cmd.Dir = mod
		cmd.Env = goEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go %s on the generated packages: %v\n%s", verb, err, out)
		}
	}
	if _, err := runGen(gen.Config{Dir: mod, Patterns: generated, Env: goEnv(), Check: true}); err != nil {
		t.Errorf("--check right after generating: %v", err)
	}
	t.Logf("build, vet and check: %v", time.Since(started).Round(time.Millisecond))
}

// readDirFiltered returns the entries of files that are in dir.
func readDirFiltered(files map[string][]byte, dir string) map[string][]byte {
	out := map[string][]byte{}
	for p, s := range files {
		if filepath.Dir(p) == dir {
			out[p] = s
		}
	}
	return out
}

var mutationKinds = []string{"delete", "duplicate", "garbage", "pattern", "move"}

type mutation struct {
	kind, what, line, src string
	down                  bool // a move to a later line
}

var garbageValues = []string{
	"-1", "0", "99999999999999999999", "1.5", `"unterminated`, "`raw value`", `"two words"`, "é",
	"30s30s", "1e3", "=", `""`, `"\q"`, "0x10", "1MiB", "-0s", "9223372036854775807ns",
	"2562047h47m16.854775807s", "2147483647", "9223372036854775807", "1TB", "true", "a\tb", "∞",
}

var garbagePatterns = []string{
	"/{x}/{x}", "/{", "nopath", "/a/{b...}/c", "/{$}/x", "/é/{ß}", "//", "/{id}", "/{id...}",
	"/a/{$}", "example.com/x", "GET", "/%zz", "/{a}{b}", "/{}",
}

// mutateDirective returns the mutations of the directive at line i of src.
func mutateDirective(t testing.TB, src string, i int, garbage *int) []mutation {
	lines := strings.Split(src, "\n")
	orig := lines[i]
	indent := orig[:len(orig)-len(strings.TrimLeft(orig, " \t"))]
	d := strings.TrimSpace(orig)
	var out []mutation
	seen := map[string]bool{d: true}
	with := func(kind, what, nd string) {
		if seen[nd] {
			return
		}
		seen[nd] = true
		l := slices.Clone(lines)
		l[i] = indent + nd
		out = append(out, mutation{kind, what, nd, strings.Join(l, "\n"), false})
	}
	del := func(kind string, at int) {
		if at >= 0 && at < len(d) {
			with(kind, fmt.Sprintf("delete byte %d", at), d[:at]+d[at+1:])
		}
	}
	// One byte deleted, in turn: the directive's name, the first '=' (or
	// the last byte), or the middle.
	switch *garbage % 3 {
	case 0:
		del("delete", strings.Index(d, "futures:")+len("futures:"))
	case 1:
		if eq := strings.IndexByte(d, '='); eq >= 0 {
			del("delete", eq)
		} else {
			del("delete", len(d)-1)
		}
	default:
		del("delete", len(d)/2)
	}

	words := strings.Fields(d)
	isView := strings.Contains(words[0], ":view")
	var opt string
	for _, w := range words[1:] {
		if strings.Contains(w, "=") || w == "durable" {
			opt = w
			break
		}
	}
	switch {
	case opt != "":
		with("duplicate", "duplicate "+opt, d+" "+opt)
	case isView:
		with("duplicate", "duplicate status", d+" status=201 status=201")
	default:
		with("duplicate", "duplicate retries", d+" retries=1 retries=1")
	}

	g := garbageValues[*garbage%len(garbageValues)]
	*garbage++
	if eq := strings.IndexByte(d, '='); eq >= 0 {
		end := strings.IndexAny(d[eq:], " \t")
		if end < 0 {
			end = len(d)
		} else {
			end += eq
		}
		with("garbage", "value "+g, d[:eq+1]+g+d[end:])
	} else if isView {
		with("garbage", "timeout "+g, d+" timeout="+g)
	} else {
		with("garbage", "retries "+g, d+" retries="+g)
	}
	if isView && len(words) >= 3 {
		p := garbagePatterns[*garbage%len(garbagePatterns)]
		nw := slices.Clone(words)
		nw[2] = p
		with("pattern", "pattern "+p, strings.Join(nw, " "))
	}

	// Move it above the next declaration (or the previous one, for the
	// last).
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("testdata does not parse: %v", err)
	}
	var declLines []int // 0-based line of each declaration's keyword
	for _, decl := range f.Decls {
		declLines = append(declLines, fset.Position(decl.Pos()).Line-1)
	}
	target := -1
	for k, l := range declLines {
		if l > i {
			if k+1 < len(declLines) {
				target = declLines[k+1]
			}
			break
		}
	}
	if target < 0 {
		for _, l := range declLines {
			if l < i-1 {
				target = l
			}
		}
		if len(declLines) >= 2 && target == declLines[len(declLines)-1] {
			target = declLines[len(declLines)-2]
		}
	}
	if target >= 0 {
		l := slices.Clone(lines)
		l = slices.Delete(l, i, i+1)
		down := target > i
		if down {
			target--
		}
		l = slices.Insert(l, target, orig)
		out = append(out, mutation{"move", "moved to line " + strconv.Itoa(target+1), d, strings.Join(l, "\n"), down})
	}
	return out
}
