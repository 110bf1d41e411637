package gen

import (
	"go/types"
	"time"
)

// taskOptions are the options of //futures:task.
var taskOptions = []optSpec{
	{"retries", optInt},
	{"backoff", optDuration},
	{"timeout", optDuration},
	{"delay", optDuration},
	{"every", optDuration},
	{"queue", optName},
	{"durable", optBool},
	{"name", optName},
	{"unique", optText},
	{"priority", optInt},
	{"cron", optText},
	{"limit", optInt},
}

// task is a checked //futures:task function, ready to emit.
type task struct {
	decl     *decl
	fn       *types.Func
	recv     *receiver // nil for a plain function
	ctxParam *types.Var
	params   []*types.Var // after the context
	variadic bool
	result   types.Type // nil when the function returns no value
	hasErr   bool

	name     string // the task's stable name
	retries  int64
	backoff  time.Duration
	timeout  time.Duration
	delay    time.Duration
	every    time.Duration
	queue    string
	durable  bool
	unique   *uniqueOpt
	priority int
	cron     string
	limit    int
	async    string // generated names
	later    string
	specName string
	argsName string   // the struct its arguments travel in: durable, unique, or with parameters
	optional []string // durable: the keys of parameters added since the task was locked
}

// checkTask validates a //futures:task declaration's options and signature.
func checkTask(pkg *types.Package, d *decl, e *errs) *task {
	opts, ok := checkDirectiveOptions(d, 0, taskOptions, e)
	if !checkCallable(d, e) {
		return nil
	}
	if d.obj == nil {
		return nil // the type checker has reported why
	}
	t := &task{decl: d, fn: d.obj}
	sig := d.obj.Type().(*types.Signature)
	fnName := d.fn.Name.Name

	if d.fn.Type.TypeParams != nil {
		e.add(d.fn.Type.TypeParams.Pos(), "%s is generic: a task needs concrete types; write a non-generic function that calls %s with the types you need and annotate that", fnName, fnName)
		ok = false
	}
	if r := sig.Recv(); r != nil {
		recv, good := checkReceiver(d, r, e)
		if recv == nil {
			return nil
		}
		ok = ok && good
		t.recv = recv
	}

	params := sig.Params()
	start := 0
	if params.Len() > 0 && isContext(params.At(0).Type()) {
		t.ctxParam = params.At(0)
		start = 1
	}
	misplaced := false
	for i := start; i < params.Len(); i++ {
		if p := params.At(i); isContext(p.Type()) {
			e.add(p.Pos(), "%s", misplacedContext(d, p, start == 1))
			ok, misplaced = false, true
		}
		t.params = append(t.params, params.At(i))
	}
	t.variadic = sig.Variadic() && len(t.params) > 0

	q := qualifier(pkg)
	res := sig.Results()
	resultsOK := true
	switch {
	case res.Len() == 0:
	case res.Len() == 1 && isError(res.At(0).Type()):
		t.hasErr = true
	case res.Len() == 1:
		t.result = res.At(0).Type()
	case res.Len() == 2 && isError(res.At(1).Type()):
		t.result, t.hasErr = res.At(0).Type(), true
	default:
		e.add(d.fn.Type.Results.Pos(), "%s returns %s: a task returns (), (error), (R) or (R, error)", fnName, types.TypeString(res, q))
		ok, resultsOK = false, false
	}

	t.retries = opts["retries"].n
	t.backoff = opts["backoff"].dur
	t.timeout = opts["timeout"].dur
	t.delay = opts["delay"].dur
	t.every = opts["every"].dur
	t.queue = opts["queue"].str
	t.durable = opts["durable"].flag
	t.name = opts["name"].str
	if t.name == "" {
		t.name = pkg.Path() + "." + qualifiedName(t)
	}

	// Options that cannot act on this function.
	if t.timeout > 0 && t.ctxParam == nil && !misplaced {
		uselessOption(d, "timeout", e, "it takes no context.Context, so nothing tells it that the time is up: take ctx context.Context as its first parameter, or remove timeout")
		ok = false
	}
	if resultsOK && !t.hasErr {
		for _, key := range []string{"retries", "backoff"} {
			if opts[key].set {
				uselessOption(d, key, e, "it returns no error, so no attempt fails but by panicking: return an error, or remove "+key)
				ok = false
			}
		}
	} else if resultsOK && opts["backoff"].set && t.retries == 0 && !t.durable {
		// A durable job is run again after a crash whatever its retries,
		// and waits its backoff first.
		uselessOption(d, "backoff", e, "without retries, no attempt follows another to wait for: add retries=N, or remove backoff")
		ok = false
	}

	if !checkControls(d, t, opts, q, e) {
		ok = false
	}
	if t.every > 0 && len(t.params) > 0 {
		e.add(t.params[0].Pos(), "%s runs every %s, so nothing can pass it arguments: a periodic task takes at most a context.Context", fnName, opts["every"].str)
		ok = false
	}
	if t.durable {
		if t.result != nil || !t.hasErr {
			e.add(d.at(d.dir.kindOff), "%s is durable, so its result has nowhere to go across machines: a durable task returns error only, not %s",
				fnName, types.TypeString(res, q))
			ok = false
		}
		for _, p := range t.params {
			if msg := jsonProblem(p.Type(), paramLabel(p, q), q); msg != "" {
				e.add(p.Pos(), "durable task %s: %s (durable task arguments travel as JSON)", fnName, msg)
				ok = false
			}
		}
	}

	base := fnName
	t.async, t.later = base+"Async", base+"Later"
	suffix := fnName
	if t.recv != nil {
		suffix = t.recv.named.Obj().Name() + "_" + fnName
	}
	t.specName = "futuresSpec_" + suffix
	if t.durable || t.unique != nil || len(t.params) > 0 {
		t.argsName = "futuresArgs_" + suffix
	}
	if !ok {
		return nil
	}
	return t
}

func paramLabel(p *types.Var, q types.Qualifier) string {
	if p.Name() == "" || p.Name() == "_" {
		return types.TypeString(p.Type(), q)
	}
	return p.Name()
}

func qualifiedName(t *task) string {
	if t.recv != nil {
		return t.recv.named.Obj().Name() + "." + t.fn.Name()
	}
	return t.fn.Name()
}

// The unit methods of a task.

func (t *task) declOf() *decl { return t.decl }
func (t *task) kind() string  { return "task" }

func (t *task) recvNamed() *types.Named {
	if t.recv == nil {
		return nil
	}
	return t.recv.named
}

func (t *task) packageNames() []string {
	names := []string{t.specName}
	if t.argsName != "" {
		names = append(names, t.argsName)
	}
	if t.recv == nil {
		names = append(names, t.async, t.later)
	}
	return names
}

func (t *task) methodNames() []string {
	if t.recv != nil {
		return []string{t.async, t.later}
	}
	return nil
}
