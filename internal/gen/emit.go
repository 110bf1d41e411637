package gen

import (
	"bytes"
	"cmp"
	"fmt"
	"go/format"
	"go/token"
	"go/types"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dave/jennifer/jen"
)

// The emit step: every checked and placed package rendered, file by file,
// with jennifer. emitAll runs the packages in parallel; emitFile renders one
// file: its registrations (emit_register.go), tasks (emit_task.go) and
// views (emit_view.go), whose types emit_types.go spells. The runtime's
// names go through rt and member (contract.go), which accept only those of
// the generated-code contract.

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

// emit renders the package's files: base name → bytes.
func (p *plan) emit() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, f := range p.files {
		if len(f.units) == 0 && len(f.regs) == 0 && len(f.appends) == 0 && f.api == nil && f.client == nil {
			continue // every task is in a file with build constraints
		}
		src, err := emitFile(p.pkg.Types, p.excludedNames, f)
		if err != nil {
			return nil, err
		}
		out[f.name] = src
	}
	if p.api != nil {
		out[p.api.out] = p.api.doc
	}
	if p.lockOut != nil {
		out[LockFile] = p.lockOut
	}
	return out, nil
}

// emitFile renders one generated file, gofmt-clean and with the header.
// excluded are the package-level names of the files the build constraints
// exclude, which the file's imports and locals avoid as they avoid those
// in the build, so that the file is the same on every platform.
func emitFile(pkg *types.Package, excluded []string, out *outFile) ([]byte, error) {
	paths := map[string]*types.Package{}
	for path, name := range map[string]string{
		pathContext: "context", pathErrors: "errors", pathHTTP: "http", pathTime: "time",
		pathFmt: "fmt", pathStrconv: "strconv", pathUTF8: "utf8",
		pathFuture: "future", pathTaskloop: "taskloop", pathView: "view", pathCron: "cron",
		pathSocket: "socket", pathIter: "iter", pathHTTPClient: "httpclient",
	} {
		paths[path] = types.NewPackage(path, name)
	}
	if out.client != nil {
		for _, m := range out.client.methods {
			if m.v.reqType != nil {
				packagesOf(m.v.reqType, paths)
			}
			if m.v.value != nil {
				packagesOf(m.v.value, paths)
			}
		}
	}
	for _, u := range out.units {
		switch u := u.(type) {
		case *task:
			for _, p := range u.params {
				packagesOf(p.Type(), paths)
			}
			if u.result != nil {
				packagesOf(u.result, paths)
			}
		case *view:
			if u.reqType != nil {
				packagesOf(u.reqType, paths)
			}
			if u.value != nil {
				packagesOf(u.value, paths)
			}
			if u.seq != nil {
				packagesOf(u.seq, paths)
			}
		}
	}
	n := newNames(pkg, excluded, paths)
	f := jen.NewFilePathName(pkg.Path(), pkg.Name())
	f.NoFormat = true // format.Source below formats, once
	n.register(f, paths)

	emitAssertion(f, out)
	if out.api != nil {
		emitAPI(f, out.api)
	}
	if out.client != nil {
		emitClient(f, n, out.client)
	}
	for _, r := range out.regs {
		emitRegistration(f, n, r)
	}
	if len(out.appends) > 0 {
		emitAppends(f, n, out.appends)
	}
	for _, u := range out.units {
		switch u := u.(type) {
		case *task:
			emitTask(f, n, u)
		case *view:
			if u.socket != nil {
				emitSocket(f, n, u)
			} else {
				emitView(f, n, u)
			}
		}
	}

	var body bytes.Buffer
	if err := f.Render(&body); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", out.name, err)
	}
	var src bytes.Buffer
	src.WriteString(Header + "\n\n")
	if out.constraint != "" {
		src.WriteString("//go:build " + out.constraint + "\n\n")
	}
	src.Write(groupImports(body.Bytes()))
	formatted, err := format.Source(src.Bytes())
	if err != nil {
		return nil, fmt.Errorf("futuresgen produced invalid Go for %s (please report this): %w\n%s", out.name, err, src.Bytes())
	}
	return formatted, nil
}

// emitAssertion writes the file's compatibility assertion, const _ =
// taskloop.SupportsGeneratedCodeVersion1 (view's for a file of views only),
// which fails to compile against a runtime that lacks names the file uses.
func emitAssertion(f *jen.File, out *outFile) {
	var paths []string
	if len(out.units) > 0 || len(out.regs) > 0 || len(out.appends) > 0 || out.api != nil || out.client == nil {
		path := pathView
		isTask := func(u unit) bool { return u.kind() == "task" }
		isTaskReg := func(r *registration) bool { return r.kind == "task" }
		if slices.ContainsFunc(out.units, isTask) || slices.ContainsFunc(out.regs, isTaskReg) || slices.ContainsFunc(out.appends, isTaskReg) {
			path = pathTaskloop
		}
		paths = append(paths, path)
	}
	if out.client != nil {
		// A client calls httpclient, whose names view's version does not
		// cover; a file of a client alone uses nothing of view.
		paths = append(paths, pathHTTPClient)
	}
	docComment(f, "If this does not compile, the github.com/gofutures/futures that go.mod requires does not support the code of the futuresgen that wrote this file: generate it again with go tool futuresgen, the module's own.")
	for _, path := range paths {
		f.Const().Id("_").Op("=").Add(rt(path, versionAssertion))
	}
	f.Line()
}

// groupImports puts the import block that jennifer renders, one spec per
// line, in goimports' groups: the standard library, then paths whose first
// element has a dot, then appengine ones, with a blank line between groups,
// so that format.Source alone gives goimports' layout. goimports itself
// (imports.Process) prints the file twice, and was half of the cost of
// generating.
func groupImports(src []byte) []byte {
	start := bytes.Index(src, []byte("\nimport (\n"))
	if start < 0 {
		return src
	}
	start += len("\nimport (\n")
	n := bytes.Index(src[start:], []byte("\n)"))
	if n < 0 {
		return src
	}
	type spec struct {
		line, path string
		group      int
	}
	var specs []spec
	for line := range strings.SplitSeq(string(src[start:start+n]), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		_, quoted, ok := strings.Cut(line, `"`)
		path, err := strconv.Unquote(`"` + quoted)
		if !ok || err != nil {
			return src // not the shape expected: leave it to format.Source
		}
		group := 0
		switch first, _, _ := strings.Cut(path, "/"); {
		case strings.HasPrefix(path, "appengine"):
			group = 2
		case strings.Contains(first, "."):
			group = 1
		}
		specs = append(specs, spec{line, path, group})
	}
	slices.SortStableFunc(specs, func(a, b spec) int {
		return cmp.Or(cmp.Compare(a.group, b.group), strings.Compare(a.path, b.path), strings.Compare(a.line, b.line))
	})
	var out bytes.Buffer
	out.Write(src[:start])
	for i, s := range specs {
		if i > 0 && s.group != specs[i-1].group {
			out.WriteByte('\n')
		}
		out.WriteString(s.line + "\n")
	}
	out.Write(src[start+n+1:])
	return out.Bytes()
}

// names chooses identifiers for one generated file: import names that clash
// with nothing in the package, and local names that clash with no import.
type names struct {
	imports map[string]string // path → name
	taken   map[string]bool   // file and package scope
}

// newNames picks an import name for every path: the package's own name
// unless the package or another import already uses it.
func newNames(pkg *types.Package, excluded []string, paths map[string]*types.Package) *names {
	n := &names{imports: map[string]string{}, taken: map[string]bool{}}
	for _, name := range slices.Concat(pkg.Scope().Names(), excluded) {
		n.taken[name] = true
	}
	// The runtime's packages choose first, so that generated code reads
	// taskloop.Async and future.Future wherever possible.
	order := slices.SortedFunc(maps.Keys(paths), func(a, b string) int {
		return cmp.Or(cmp.Compare(runtimeRank(b), runtimeRank(a)), cmp.Compare(a, b))
	})
	for _, path := range order {
		if path == pkg.Path() {
			continue
		}
		want := paths[path].Name()
		name := want
		for i := 1; n.taken[name] || token.IsKeyword(name) || types.Universe.Lookup(name) != nil; i++ {
			name = want + "pkg"
			if i > 1 {
				name += strconv.Itoa(i)
			}
		}
		n.taken[name] = true
		n.imports[path] = name
	}
	return n
}

func runtimeRank(path string) int {
	switch path {
	case pathContext, pathErrors, pathHTTP, pathTime, pathFmt, pathStrconv, pathUTF8, pathFuture, pathTaskloop, pathView, pathCron, pathSocket, pathIter, pathHTTPClient:
		return 1
	}
	return 0
}

func (n *names) register(f *jen.File, paths map[string]*types.Package) {
	for path, name := range n.imports {
		if name == paths[path].Name() {
			f.ImportName(path, name)
		} else {
			f.ImportAlias(path, name)
		}
	}
}

// localScope hands out local identifiers that shadow no import and no
// package-level name used in the same function.
type localScope struct {
	outer map[string]bool
	local map[string]bool
}

func (n *names) scope(reserved ...string) *localScope {
	s := &localScope{outer: map[string]bool{}, local: map[string]bool{}}
	// Locals shadow nothing at all: not an import, and not a name of the
	// package, which a parameter's type may spell (func F(Msg
	// context.Context) (Msg, error) is legal Go).
	for name := range n.taken {
		s.outer[name] = true
	}
	for _, r := range reserved {
		s.outer[r] = true
	}
	return s
}

func (s *localScope) free(name string) bool {
	return name != "" && name != "_" && !s.outer[name] && !s.local[name] && !token.IsKeyword(name) && types.Universe.Lookup(name) == nil
}

// name returns want, or want with a suffix if want is taken, and takes it.
func (s *localScope) name(want string) string {
	name := want
	for i := 1; !s.free(name); i++ {
		name = want + strconv.Itoa(i)
	}
	s.local[name] = true
	return name
}

// durationCode spells d as a multiple of its largest exact unit.
func durationCode(d time.Duration) jen.Code {
	units := []struct {
		d    time.Duration
		name string
	}{{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"}, {time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"}}
	for _, u := range units {
		if d%u.d == 0 {
			if d == u.d {
				return jen.Qual(pathTime, u.name)
			}
			return jen.Lit(int(d/u.d)).Op("*").Qual(pathTime, u.name)
		}
	}
	return jen.Qual(pathTime, "Duration").Call(jen.Lit(int(d)))
}

// field renders a keyed element of a composite literal.
func field(key string, value jen.Code) jen.Code { return jen.Id(key).Op(":").Add(value) }

// fieldOf renders a keyed element of a literal of the runtime type typ.
func fieldOf(path, typ, key string, value jen.Code) jen.Code {
	return field(member(path, typ, key), value)
}

// literal renders composite literal elements on one line when there is
// one, else one per line.
func literal(items []jen.Code) jen.Code {
	if len(items) <= 1 {
		return jen.Values(items...)
	}
	return multiline(items)
}

func preferred(name, fallback string) string {
	if name == "" || name == "_" {
		return fallback
	}
	return name
}

// docComment writes a doc comment, wrapped at 80 columns.
func docComment(f *jen.File, format string, args ...any) {
	var line strings.Builder
	for _, w := range strings.Fields(fmt.Sprintf(format, args...)) {
		if line.Len() > 0 && line.Len()+1+len(w) > 77 {
			f.Comment(line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(w)
	}
	if line.Len() > 0 {
		f.Comment(line.String())
	}
}

// multiline renders a composite literal's elements one per line.
func multiline(items []jen.Code) jen.Code {
	return jen.Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, items...)
}
