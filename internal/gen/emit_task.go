package gen

import (
	"fmt"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"
)

// specCode renders the task's taskloop.Spec; periodic includes Every.
func specCode(t *task, periodic bool) jen.Code {
	fields := []jen.Code{fieldOf(pathTaskloop, "Spec", "Name", jen.Lit(t.name))}
	if t.retries > 0 {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Retries", jen.Lit(int(t.retries))))
	}
	if t.backoff > 0 {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Backoff", durationCode(t.backoff)))
	}
	if t.timeout > 0 {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Timeout", durationCode(t.timeout)))
	}
	if t.delay > 0 {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Delay", durationCode(t.delay)))
	}
	if periodic && t.every > 0 {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Every", durationCode(t.every)))
	}
	if t.queue != "" {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Queue", jen.Lit(t.queue)))
	}
	if t.durable {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Durable", jen.True()))
	}
	if periodic && t.cron != "" {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Cron", rt(pathCron, "Expr").Call(jen.Lit(t.cron))))
	}
	if u := t.unique; u != nil {
		var uf []jen.Code
		if u.byArgs {
			uf = append(uf, fieldOf(pathTaskloop, "Unique", "ByArgs", jen.True()))
		}
		if u.byQueue {
			uf = append(uf, fieldOf(pathTaskloop, "Unique", "ByQueue", jen.True()))
		}
		if u.period > 0 {
			uf = append(uf, fieldOf(pathTaskloop, "Unique", "Period", durationCode(u.period)))
		}
		if u.states != nil {
			states := make([]jen.Code, len(u.states))
			for i, s := range u.states {
				states[i] = jen.Lit(s)
			}
			uf = append(uf, fieldOf(pathTaskloop, "Unique", "States", jen.Index().String().Values(states...)))
		}
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Unique", jen.Op("&").Add(rt(pathTaskloop, "Unique")).Add(literal(uf))))
	}
	if t.priority > 0 {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Priority", jen.Lit(t.priority)))
	}
	if t.limit > 0 {
		fields = append(fields, fieldOf(pathTaskloop, "Spec", "Limit", jen.Lit(t.limit)))
	}
	return rt(pathTaskloop, "Spec").Add(literal(fields))
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
	if t.durable {
		emitArgs(f, t)
		emitWrapper(f, n, t, t.async, "AsyncDurable", fmt.Sprintf(
			"%s starts the durable task %s and returns its future. On a loop with a durable backend (taskloop.Options.Backend), it stores a job with the arguments as JSON (in the transaction that ctx carries, if any) and the future resolves once the job is stored, with its ID. Without a backend, %s runs like any task: on the loop that ctx names or the default loop, or now, in this goroutine, with no loop.%s",
			t.async, t.display(), t.fn.Name(), optionSummary(t)))
		emitWrapper(f, n, t, t.later, "LaterDurable", fmt.Sprintf(
			"%s is %s, except inside a request scope (a futures view or taskloop.Middleware), where %s is stored or started only after the response has been written.",
			t.later, t.async, t.fn.Name()))
		return
	}
	async, later := "Async", "Later"
	switch {
	case t.unique != nil:
		// The arguments tell the task's duplicates apart, and go to the
		// loop's SubmitHooks too.
		emitArgs(f, t)
		async, later = "AsyncUnique", "LaterUnique"
	case t.argsName != "":
		// The arguments go to the loop's SubmitHooks, for a test harness
		// (runtime/futurestest) to record.
		emitArgs(f, t)
		async, later = "AsyncWith", "LaterWith"
	}
	emitWrapper(f, n, t, t.async, async, fmt.Sprintf(
		"%s runs %s as a task on the loop that ctx names (taskloop.WithLoop) or the default loop (taskloop.SetDefault), and returns its future. With no loop, %s runs now, in this goroutine, and the future is already resolved. Inside a request (a futures view or taskloop.Middleware) the task belongs to it: it is cancelled if the request's context ends (the view's timeout, a client gone) before the view returns.%s",
		t.async, t.display(), t.fn.Name(), optionSummary(t)))
	emitWrapper(f, n, t, t.later, later, fmt.Sprintf(
		"%s is %s, except inside a request scope (a futures view or taskloop.Middleware), where %s starts only after the response has been written, whatever the response, and is never cancelled by the request's end. Awaiting the future inside that request fails with taskloop.ErrAwaitInScope.",
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
	paramNames := make([]string, len(t.params))
	for i, p := range t.params {
		pn := s.name(preferred(p.Name(), "arg"+strconv.Itoa(i)))
		paramNames[i] = pn
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
	result := resultCode(t)
	body := callReturning(call, t.result != nil, t.hasErr)
	closure := jen.Func().Params(jen.Id(taskCtx).Qual(pathContext, "Context")).Params(result, jen.Error()).Block(body...)
	runtimeArgs := []jen.Code{jen.Id(ctxName), jen.Id(t.specName)}
	if t.argsName != "" {
		// A durable task's arguments travel as JSON to whichever process
		// works the job, and tell a unique task's duplicates apart; any
		// task's go to the loop's SubmitHooks.
		keys := argKeys(t)
		values := make([]jen.Code, len(keys))
		for i, key := range keys {
			values[i] = field(key, jen.Id(paramNames[i]))
		}
		runtimeArgs = append(runtimeArgs, jen.Id(t.argsName).Values(values...))
	}
	if t.durable {
		// The closure runs the task here when there is no backend.
		closure = jen.Func().Params(jen.Id(taskCtx).Qual(pathContext, "Context")).Error().Block(errorOnly(call, false, t.hasErr)...)
	}

	docComment(f, "%s", doc)
	fn := f.Func()
	if t.recv != nil {
		recvType := jen.Id(t.recv.named.Obj().Name())
		if t.recv.pointer {
			recvType = jen.Op("*").Add(recvType)
		}
		fn = fn.Params(jen.Id(recvName).Add(recvType))
	}
	fn.Id(name).Params(params...).Op("*").Add(rt(pathFuture, "Future")).Types(result).Block(
		jen.Return(rt(pathTaskloop, runtimeFunc).Call(append(runtimeArgs, closure)...)),
	)
	f.Line()
}

// emitArgs writes the struct a task's arguments travel in: as JSON for a
// durable task, to the loop's SubmitHooks for any, and a unique task's
// duplicates are told apart by them. Its JSON keys are the parameters'
// names, so that a job stored by one version of the code decodes in the
// next as long as the names stay; the lock file sees to that.
func emitArgs(f *jen.File, t *task) {
	keys := argKeys(t)
	fields := make([]jen.Code, len(t.params))
	for i, p := range t.params {
		fields[i] = jen.Id(keys[i]).Add(typeCode(p.Type())).Tag(map[string]string{"json": preferred(p.Name(), "arg"+strconv.Itoa(i))})
	}
	if t.durable {
		docComment(f, "%s are the arguments of %s as they travel in a durable job.", t.argsName, t.display())
	} else if t.unique != nil {
		docComment(f, "%s are the arguments of %s as %s and %s hand them to the task loop, which tells its duplicates apart by them and gives them to its SubmitHooks (a test harness records them).", t.argsName, t.display(), t.async, t.later)
	} else {
		docComment(f, "%s are the arguments of %s as %s and %s hand them to the task loop, for its SubmitHooks (a test harness records them).", t.argsName, t.display(), t.async, t.later)
	}
	f.Type().Id(t.argsName).Struct(fields...)
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

// definitionCode renders the taskloop.Definition of t; recv names the
// receiver of a method task.
func definitionCode(n *names, t *task, recv string) jen.Code {
	spec := jen.Id(t.specName)
	periodic := t.every > 0 || t.cron != ""
	if periodic {
		spec = jen.Add(specCode(t, true)) // the wrappers' Spec runs once; this one repeats
	}
	d := []jen.Code{fieldOf(pathTaskloop, "Definition", "Spec", spec)}
	if periodic {
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
		d = append(d, fieldOf(pathTaskloop, "Definition", "Run", jen.Func().Params(jen.Id(ctxName).Qual(pathContext, "Context")).Error().Block(errorOnly(call, t.result != nil, t.hasErr)...)))
	}
	if t.durable {
		d = append(d, fieldOf(pathTaskloop, "Definition", "RunJSON", runJSONCode(n, t, recv)))
	}
	return literal(d)
}

// runJSONCode renders the function that runs a durable task from its
// arguments as JSON, in whichever process works the job.
func runJSONCode(n *names, t *task, recv string) jen.Code {
	reserved := []string{t.argsName}
	if t.recv == nil {
		reserved = append(reserved, t.fn.Name())
	} else {
		reserved = append(reserved, recv)
	}
	s := n.scope(reserved...)
	ctx, data, a, err := s.name("ctx"), s.name("data"), s.name("a"), s.name("err")
	var args []jen.Code
	if t.ctxParam != nil {
		args = append(args, jen.Id(ctx))
	}
	keys := argKeys(t)
	for i, key := range keys {
		arg := jen.Id(a).Dot(key)
		if t.variadic && i == len(keys)-1 {
			arg = arg.Op("...")
		}
		args = append(args, arg)
	}
	call := jen.Id(t.fn.Name()).Call(args...)
	if t.recv != nil {
		call = jen.Id(recv).Dot(t.fn.Name()).Call(args...)
	}
	// Parameters added since the task was locked may be missing from
	// jobs stored before.
	decodeArgs := []jen.Code{jen.Id(data), jen.Op("&").Id(a)}
	for _, key := range t.optional {
		decodeArgs = append(decodeArgs, jen.Lit(key))
	}
	return jen.Func().Params(jen.Id(ctx).Qual(pathContext, "Context"), jen.Id(data).Index().Byte()).Error().Block(
		jen.Var().Id(a).Id(t.argsName),
		jen.If(jen.Id(err).Op(":=").Add(rt(pathTaskloop, "DecodeArgs")).Call(decodeArgs...), jen.Id(err).Op("!=").Nil()).Block(
			jen.Return(jen.Id(err)),
		),
		jen.Return(call),
	)
}

// resultCode is the future's type argument: the result, struct{}, or
// taskloop.Receipt for a durable task.
func resultCode(t *task) jen.Code {
	switch {
	case t.durable:
		return rt(pathTaskloop, "Receipt")
	case t.result == nil:
		return jen.Struct()
	}
	return typeCode(t.result)
}

// argKeys are the field names of a durable task's arguments struct, one
// per parameter. encoding/json skips unexported fields: a name that does
// not capitalize (_id, あ) gets a prefix that does.
func argKeys(t *task) []string {
	var keys []string
	taken := map[string]bool{}
	for i, p := range t.params {
		base := upperFirst(preferred(p.Name(), "arg"+strconv.Itoa(i)))
		if !token.IsExported(base) {
			base = "P" + base
		}
		key := base
		for j := 2; taken[key]; j++ {
			key = base + strconv.Itoa(j)
		}
		taken[key] = true
		keys = append(keys, key)
	}
	return keys
}
