package gen

import (
	"bytes"
	"cmp"
	"fmt"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dave/jennifer/jen"
	"golang.org/x/tools/imports"
)

// Import paths of the runtime packages that generated code calls.
const (
	pathContext  = "context"
	pathTime     = "time"
	pathFuture   = "github.com/gofutures/futures/runtime/future"
	pathTaskloop = "github.com/gofutures/futures/runtime/taskloop"
)

// outFile is one generated file: the package's main file, or the file for
// the tasks of one source file with build constraints.
type outFile struct {
	name       string // base name
	constraint string // //go:build expression, "" for the main file
	tasks      []*task
	regs       []*registration // declared here, each with the tasks of this file
	appends    []*registration // declared in another file, with tasks of this file
}

// names chooses identifiers for one generated file: import names that clash
// with nothing in the package, and local names that clash with no import.
type names struct {
	imports map[string]string // path → name
	taken   map[string]bool   // file and package scope
}

// newNames picks an import name for every path: the package's own name
// unless the package or another import already uses it.
func newNames(pkg *types.Package, paths map[string]*types.Package) *names {
	n := &names{imports: map[string]string{}, taken: map[string]bool{}}
	for _, name := range pkg.Scope().Names() {
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
	case pathContext, pathTime, pathFuture, pathTaskloop:
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
	for _, name := range n.imports {
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

// emitFile renders one generated file, gofmt-clean and with the header.
func emitFile(pkg *types.Package, out *outFile) ([]byte, error) {
	paths := map[string]*types.Package{}
	addPath := func(p *types.Package) { paths[p.Path()] = p }
	addPath(types.NewPackage(pathContext, "context"))
	addPath(types.NewPackage(pathFuture, "future"))
	addPath(types.NewPackage(pathTaskloop, "taskloop"))
	for _, t := range out.tasks {
		if t.hasDurations() {
			addPath(types.NewPackage(pathTime, "time"))
		}
		for _, p := range t.params {
			packagesOf(p.Type(), paths)
		}
		if t.result != nil {
			packagesOf(t.result, paths)
		}
	}
	n := newNames(pkg, paths)
	f := jen.NewFilePathName(pkg.Path(), pkg.Name())
	n.register(f, paths)

	for _, r := range out.regs {
		emitRegistration(f, n, r)
	}
	if len(out.appends) > 0 {
		emitAppends(f, n, out.appends)
	}
	for _, t := range out.tasks {
		emitTask(f, n, t)
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
	src.Write(body.Bytes())
	// imports.Process with FormatOnly is gofmt plus goimports' grouping
	// of the standard library apart from the rest; it adds nothing.
	formatted, err := imports.Process(out.name, src.Bytes(), &imports.Options{FormatOnly: true, Comments: true, TabIndent: true, TabWidth: 8})
	if err != nil {
		return nil, fmt.Errorf("futuresgen produced invalid Go for %s (please report this): %w\n%s", out.name, err, src.Bytes())
	}
	return formatted, nil
}

func (t *task) hasDurations() bool {
	return t.backoff > 0 || t.timeout > 0 || t.delay > 0 || t.every > 0
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

// specCode renders the task's taskloop.Spec; periodic includes Every.
func specCode(t *task, periodic bool) jen.Code {
	fields := []jen.Code{field("Name", jen.Lit(t.name))}
	if t.retries > 0 {
		fields = append(fields, field("Retries", jen.Lit(int(t.retries))))
	}
	if t.backoff > 0 {
		fields = append(fields, field("Backoff", durationCode(t.backoff)))
	}
	if t.timeout > 0 {
		fields = append(fields, field("Timeout", durationCode(t.timeout)))
	}
	if t.delay > 0 {
		fields = append(fields, field("Delay", durationCode(t.delay)))
	}
	if periodic && t.every > 0 {
		fields = append(fields, field("Every", durationCode(t.every)))
	}
	if t.queue != "" {
		fields = append(fields, field("Queue", jen.Lit(t.queue)))
	}
	if t.durable {
		fields = append(fields, field("Durable", jen.True()))
	}
	return jen.Qual(pathTaskloop, "Spec").Add(literal(fields))
}

// field renders a keyed element of a composite literal.
func field(key string, value jen.Code) jen.Code { return jen.Id(key).Op(":").Add(value) }

// literal renders composite literal elements on one line when there is
// one, else one per line.
func literal(items []jen.Code) jen.Code {
	if len(items) <= 1 {
		return jen.Values(items...)
	}
	return multiline(items)
}

// optionSummary restates the directive's options, as written, for doc
// comments.
func optionSummary(t *task) string {
	var parts []string
	for _, o := range t.decl.dir.options {
		if o.hasValue {
			v := o.value
			if strings.ContainsAny(v, " \t\"`") {
				v = strconv.Quote(v)
			}
			parts = append(parts, o.key+"="+v)
		} else {
			parts = append(parts, o.key)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " Options: " + strings.Join(parts, " ") + "."
}

// emitTask writes the task's Spec variable and its Async and Later wrappers.
func emitTask(f *jen.File, n *names, t *task) {
	docComment(f, "%s is how %s and %s run %s.", t.specName, t.async, t.later, t.display())
	f.Var().Id(t.specName).Op("=").Add(specCode(t, false))
	f.Line()
	emitWrapper(f, n, t, t.async, "Async", fmt.Sprintf(
		"%s runs %s as a task on the loop that ctx names (taskloop.WithLoop) or the default loop (taskloop.SetDefault), and returns its future. With no loop, %s runs now, in this goroutine, and the future is already resolved.%s",
		t.async, t.display(), t.fn.Name(), optionSummary(t)))
	emitWrapper(f, n, t, t.later, "Later", fmt.Sprintf(
		"%s is %s, except inside a request scope (a futures view or taskloop.Middleware), where %s starts only after the response has been written. Awaiting the future inside that request fails with taskloop.ErrAwaitInScope.",
		t.later, t.async, t.fn.Name()))
}

func (t *task) display() string {
	if t.recv != nil {
		return t.recv.named.Obj().Name() + "." + t.fn.Name()
	}
	return t.fn.Name()
}

// emitWrapper writes FAsync or FLater: the same shape, calling
// taskloop.Async or taskloop.Later.
func emitWrapper(f *jen.File, n *names, t *task, name, runtimeFunc, doc string) {
	reserved := []string{t.specName}
	if t.recv == nil {
		reserved = append(reserved, t.fn.Name())
	}
	s := n.scope(reserved...)

	var recvName string
	if t.recv != nil {
		recvName = s.name(preferred(t.recv.v.Name(), "recv"))
	}
	ctxName := "ctx"
	if t.ctxParam != nil {
		ctxName = preferred(t.ctxParam.Name(), "ctx")
	}
	ctxName = s.name(ctxName)
	params := []jen.Code{jen.Id(ctxName).Qual(pathContext, "Context")}
	args := make([]jen.Code, 0, len(t.params)+1)
	for i, p := range t.params {
		pn := s.name(preferred(p.Name(), "arg"+strconv.Itoa(i)))
		if t.variadic && i == len(t.params)-1 {
			params = append(params, jen.Id(pn).Op("...").Add(typeCode(p.Type().(*types.Slice).Elem())))
			args = append(args, jen.Id(pn).Op("..."))
			continue
		}
		params = append(params, jen.Id(pn).Add(typeCode(p.Type())))
		args = append(args, jen.Id(pn))
	}
	// The closure's context is the task's: it may shadow the caller's, but
	// nothing else.
	delete(s.local, ctxName)
	taskCtx := s.name("ctx")
	if t.ctxParam != nil {
		args = append([]jen.Code{jen.Id(taskCtx)}, args...)
	}

	var call *jen.Statement
	if t.recv != nil {
		call = jen.Id(recvName).Dot(t.fn.Name()).Call(args...)
	} else {
		call = jen.Id(t.fn.Name()).Call(args...)
	}
	result := typeCode(t.resultCode())
	body := callReturning(call, t.result != nil, t.hasErr)

	docComment(f, "%s", doc)
	fn := f.Func()
	if t.recv != nil {
		recvType := jen.Id(t.recv.named.Obj().Name())
		if t.recv.pointer {
			recvType = jen.Op("*").Add(recvType)
		}
		fn = fn.Params(jen.Id(recvName).Add(recvType))
	}
	fn.Id(name).Params(params...).Op("*").Qual(pathFuture, "Future").Types(result).Block(
		jen.Return(jen.Qual(pathTaskloop, runtimeFunc).Call(
			jen.Id(ctxName),
			jen.Id(t.specName),
			jen.Func().Params(jen.Id(taskCtx).Qual(pathContext, "Context")).Params(result, jen.Error()).Block(body...),
		)),
	)
	f.Line()
}

// callReturning turns a call of the user's function into the statements of
// a func(ctx) (R, error) body.
func callReturning(call *jen.Statement, hasResult, hasErr bool) []jen.Code {
	empty := jen.Struct().Values()
	switch {
	case hasResult && hasErr:
		return []jen.Code{jen.Return(call)}
	case hasResult:
		return []jen.Code{jen.Return(call, jen.Nil())}
	case hasErr:
		return []jen.Code{jen.Return(empty, call)}
	}
	return []jen.Code{call, jen.Return(empty, jen.Nil())}
}

// errorOnly turns a call into the statements of a func(ctx) error body.
func errorOnly(call *jen.Statement, hasResult, hasErr bool) []jen.Code {
	switch {
	case hasResult && hasErr:
		return []jen.Code{jen.List(jen.Id("_"), jen.Err()).Op(":=").Add(call), jen.Return(jen.Err())}
	case hasErr:
		return []jen.Code{jen.Return(call)}
	case hasResult:
		return []jen.Code{jen.Id("_").Op("=").Add(call), jen.Return(jen.Nil())}
	}
	return []jen.Code{call, jen.Return(jen.Nil())}
}

func preferred(name, fallback string) string {
	if name == "" || name == "_" {
		return fallback
	}
	return name
}

// definitionCode renders the taskloop.Definition of t; recv names the
// receiver of a method task.
func definitionCode(n *names, t *task, recv string) jen.Code {
	spec := jen.Id(t.specName)
	if t.every > 0 {
		spec = jen.Add(specCode(t, true)) // the wrappers' Spec runs once; this one repeats
	}
	d := []jen.Code{field("Spec", spec)}
	if t.every > 0 {
		var reserved []string
		if t.recv == nil {
			reserved = append(reserved, t.fn.Name())
		} else {
			reserved = append(reserved, recv)
		}
		ctxName := n.scope(reserved...).name("ctx")
		var args []jen.Code
		if t.ctxParam != nil {
			args = append(args, jen.Id(ctxName))
		}
		call := jen.Id(t.fn.Name()).Call(args...)
		if t.recv != nil {
			call = jen.Id(recv).Dot(t.fn.Name()).Call(args...)
		}
		d = append(d, field("Run", jen.Func().Params(jen.Id(ctxName).Qual(pathContext, "Context")).Error().Block(errorOnly(call, t.result != nil, t.hasErr)...)))
	}
	return literal(d)
}

// emitRegistration writes a Register…Tasks function and its list, which
// holds the tasks of the main file; files with build constraints append
// theirs in init.
func emitRegistration(f *jen.File, n *names, r *registration) {
	def := jen.Qual(pathTaskloop, "Definition")
	if r.recv == nil {
		docComment(f, "%s lists the function tasks of this package for %s.", r.listName, r.funcName)
		var items []jen.Code
		for _, t := range r.tasks {
			items = append(items, definitionCode(n, t, ""))
		}
		f.Var().Id(r.listName).Op("=").Index().Add(def).Add(multiline(items))
		f.Line()
		docComment(f, "%s registers every function task of this package with r, a task loop or a durable backend: it names each task for workers and starts the periodic ones.", r.funcName)
		reg := n.scope().name("r")
		f.Func().Id(r.funcName).Params(jen.Id(reg).Qual(pathTaskloop, "Registrar")).Error().Block(
			jen.Return(jen.Id(reg).Dot("Register").Call(jen.Id(r.listName).Op("..."))),
		)
		f.Line()
		return
	}
	recvType := jen.Op("*").Id(r.recv.Obj().Name())
	s := n.scope()
	recv := s.name("recv")
	docComment(f, "%s lists the method tasks of %s for %s.", r.listName, r.recv.Obj().Name(), r.funcName)
	var items []jen.Code
	for _, t := range r.tasks {
		items = append(items, jen.Func().Params(jen.Id(recv).Add(recvType)).Add(def).Block(jen.Return(jen.Add(def).Add(definitionCode(n, t, recv)))))
	}
	f.Var().Id(r.listName).Op("=").Index().Func().Params(recvType).Add(def).Add(multiline(items))
	f.Line()
	docComment(f, "%s registers every method task of %s with r, a task loop or a durable backend, to run on recv: it names each task for workers and starts the periodic ones.", r.funcName, r.recv.Obj().Name())
	reg, defs, i, mk := s.name("r"), s.name("defs"), s.name("i"), s.name("def")
	f.Func().Id(r.funcName).Params(jen.Id(reg).Qual(pathTaskloop, "Registrar"), jen.Id(recv).Add(recvType)).Error().Block(
		jen.Id(defs).Op(":=").Make(jen.Index().Add(def), jen.Len(jen.Id(r.listName))),
		jen.For(jen.List(jen.Id(i), jen.Id(mk)).Op(":=").Range().Id(r.listName)).Block(
			jen.Id(defs).Index(jen.Id(i)).Op("=").Id(mk).Call(jen.Id(recv)),
		),
		jen.Return(jen.Id(reg).Dot("Register").Call(jen.Id(defs).Op("..."))),
	)
	f.Line()
}

// emitAppends adds this file's tasks to registration lists declared in
// other generated files, from init: package variables are initialized
// before any init function runs.
func emitAppends(f *jen.File, n *names, regs []*registration) {
	def := jen.Qual(pathTaskloop, "Definition")
	var stmts []jen.Code
	for _, r := range regs {
		items := []jen.Code{jen.Id(r.listName)}
		for _, t := range r.tasks {
			if r.recv == nil {
				items = append(items, jen.Add(def).Add(definitionCode(n, t, "")))
				continue
			}
			recv := n.scope().name("recv")
			items = append(items, jen.Func().Params(jen.Id(recv).Op("*").Id(r.recv.Obj().Name())).Add(def).Block(
				jen.Return(jen.Add(def).Add(definitionCode(n, t, recv)))))
		}
		stmts = append(stmts, jen.Id(r.listName).Op("=").Append(items...))
	}
	f.Func().Id("init").Params().Block(stmts...)
	f.Line()
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
