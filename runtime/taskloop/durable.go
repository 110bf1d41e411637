package taskloop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

// Receipt is the result of a durable task's future. With a backend, the
// future resolves once the task's job is stored, and JobID names the job;
// without one, the task runs on the loop like any other, and the future
// resolves when it has run, with a zero JobID.
type Receipt struct {
	JobID int64
	// Duplicate says that the task was a duplicate (Spec.Unique) of one
	// already stored or running, and was not stored or run itself: JobID
	// then names the existing job (zero on the in-process loop).
	Duplicate bool
}

// Backend runs durable tasks outside this process's loop, on storage that
// survives it (runtime/durable runs them on River over PostgreSQL). A loop
// with a backend (Options.Backend) starts and stops it with itself, hands
// it the durable definitions registered with the loop, and enqueues
// durable tasks on it instead of running them. Generated code never sees
// it: it calls AsyncDurable and LaterDurable.
type Backend interface {
	Registrar
	// Enqueue stores a job for the task of spec with its JSON arguments
	// and returns once the job is stored: committed, or part of the
	// transaction that ctx carries.
	Enqueue(ctx context.Context, spec Spec, args []byte) (Receipt, error)
	// InTx reports whether Enqueue would insert within a transaction that
	// ctx carries; such inserts happen at once, in the caller's goroutine.
	InTx(ctx context.Context) bool
	// Start starts working jobs (or only inserting, as configured).
	Start(ctx context.Context) error
	// Stop stops fetching jobs and waits for those running until ctx ends,
	// then cancels them.
	Stop(ctx context.Context) error
}

// enqueueSpec is how a durable task's insert runs on the loop: its retries
// and timeout are the task's, not the insert's.
func enqueueSpec(spec Spec) Spec {
	return Spec{Name: spec.Name, Queue: spec.Queue, Retries: 2, Backoff: 100 * time.Millisecond, Timeout: 30 * time.Second, Durable: true, enqueue: true}
}

type afterResponseKey struct{}

// afterResponse reports whether ctx is that of an after-response task: its
// transaction, if it had one, ended with the request.
func afterResponse(ctx context.Context) bool {
	v, _ := ctx.Value(afterResponseKey{}).(bool)
	return v
}

// IgnoresTx reports whether a backend must ignore a transaction in ctx:
// true for the insert of an after-response task, which happens after the
// request, and its transaction, have ended.
func IgnoresTx(ctx context.Context) bool { return afterResponse(ctx) }

// AsyncDurable submits a durable task: fn with its arguments args, which
// must encode as JSON. On a loop with a backend, the task's job is stored
// on the backend (inserted by a loop worker, or at once in the caller when
// ctx carries a transaction, so that the job exists if and only if the
// transaction commits) and the future resolves when it is stored. Without
// a backend, fn runs like any task of Async (from its arguments' JSON with
// Options.DurableJSON), and the future resolves when it has run.
func AsyncDurable[A any](ctx context.Context, spec Spec, args A, fn func(context.Context) error) *future.Future[Receipt] {
	l := From(ctx)
	f, dup := asyncDurable(ctx, l, spec, args, fn)
	notifySubmitted(ctx, l, spec, args, false, dup, f)
	return f
}

// asyncDurable is AsyncDurable without telling SubmitHooks; it reports
// whether the loop found the task a duplicate.
func asyncDurable[A any](ctx context.Context, l *Loop, spec Spec, args A, fn func(context.Context) error) (*future.Future[Receipt], bool) {
	if l == nil || l.opts.Backend == nil {
		t, f, dup, err := newDurableTask(l, spec, args, fn)
		switch {
		case err != nil:
			return future.Failed[Receipt](err), false
		case dup:
			return future.Resolved(Receipt{Duplicate: true}), true
		}
		return submitTask(ctx, l, t, f), false
	}
	enqueue, err := enqueueFunc(l.opts.Backend, spec, args)
	if err != nil {
		return future.Failed[Receipt](err), false
	}
	switch {
	case l.opts.Backend.InTx(ctx):
		// In the caller's transaction, once: a failed statement aborts
		// the transaction, so a retry could only fail again.
		once := enqueueSpec(spec)
		once.Retries = 0
		return submitQuiet(ctx, nil, once, enqueue), false
	case l.closingFlag.Load():
		// The loop takes no new tasks while it shuts down, but its backend
		// still works jobs, which may start durable tasks of their own:
		// store those in the caller rather than fail them.
		return submitQuiet(ctx, nil, enqueueSpec(spec), enqueue), false
	}
	// Once stored, the job belongs to no request: the insert is not
	// cancelled with the request that asked for it.
	return submitUntracked(ctx, l, enqueueSpec(spec), false, enqueue), false
}

// LaterDurable is AsyncDurable, except inside a request scope, where the
// job is stored once the response has been written (and a transaction in
// ctx is ignored: it has ended by then).
func LaterDurable[A any](ctx context.Context, spec Spec, args A, fn func(context.Context) error) *future.Future[Receipt] {
	if scopeFrom(ctx) == nil {
		return AsyncDurable(ctx, spec, args, fn)
	}
	l := From(ctx)
	f, later, dup := laterDurable(ctx, l, spec, args, fn)
	notifySubmitted(ctx, l, spec, args, later, dup, f)
	return f
}

// laterDurable is LaterDurable inside a request scope without telling
// SubmitHooks; it reports whether the task waits for the scope to close,
// and whether the loop found it a duplicate.
func laterDurable[A any](ctx context.Context, l *Loop, spec Spec, args A, fn func(context.Context) error) (f *future.Future[Receipt], later, dup bool) {
	if l == nil || l.opts.Backend == nil {
		t, f, dup, err := newDurableTask(l, spec, args, fn)
		switch {
		case err != nil:
			return future.Failed[Receipt](err), false, false
		case dup:
			return future.Resolved(Receipt{Duplicate: true}), false, true
		}
		f, later := laterTask(ctx, scopeFrom(ctx), l, t, f)
		return f, later, false
	}
	enqueue, err := enqueueFunc(l.opts.Backend, spec, args)
	if err != nil {
		return future.Failed[Receipt](err), false, false
	}
	f, later = laterQuiet(context.WithValue(ctx, afterResponseKey{}, true), l, enqueueSpec(spec), enqueue)
	return f, later, false
}

// durableRun is what runs a durable task on l, which has no backend: fn,
// or, with Options.DurableJSON, the task's registered RunJSON on its
// arguments' JSON, as a backend's worker would run it.
func (l *Loop) durableRun(spec Spec, args any, fn func(context.Context) error) (func(context.Context) error, error) {
	if l == nil || !l.opts.DurableJSON {
		return fn, nil
	}
	data, err := json.Marshal(args)
	if err != nil {
		return nil, &TaskError{Name: spec.Name, Err: fmt.Errorf("encoding arguments: %w", err)}
	}
	l.mu.Lock()
	d := l.defs[spec.Name]
	l.mu.Unlock()
	if d == nil || d.RunJSON == nil {
		return nil, &TaskError{Name: spec.Name, Err: fmt.Errorf("%w: a worker could not run its job (register the package's tasks with the loop: RegisterTasks)", ErrNotRegistered)}
	}
	return func(ctx context.Context) error { return d.RunJSON(ctx, data) }, nil
}

// ErrNotRegistered is the error of a durable task submitted to a loop with
// Options.DurableJSON that does not know it: a backend's worker would not
// run its job either.
var ErrNotRegistered = errors.New("taskloop: durable task not registered")

func runReceipt(fn func(context.Context) error) func(context.Context) (Receipt, error) {
	return func(ctx context.Context) (Receipt, error) { return Receipt{}, fn(ctx) }
}

// newDurableTask makes the task that runs a durable task on l (nil: in
// the caller) when there is no backend (see durableRun). With Spec.Unique
// on a loop, it claims the task's key first, and reports dup for a
// duplicate, which does not run: as with a backend, its future resolves
// at once.
func newDurableTask[A any](l *Loop, spec Spec, args A, fn func(context.Context) error) (*task, *future.Future[Receipt], bool, error) {
	fn, err := l.durableRun(spec, args, fn)
	if err != nil {
		return nil, nil, false, err
	}
	if l == nil || spec.Unique == nil {
		t, f := newTask(l, spec, runReceipt(fn))
		return t, f, false, nil
	}
	key, err := uniqueKey(spec, args, time.Now())
	if err != nil {
		return nil, nil, false, err
	}
	t, f := newTask(l, spec, runReceipt(fn))
	l.unique.mu.Lock()
	defer l.unique.mu.Unlock()
	if l.claimLocked(key, t, f) != nil {
		l.opts.Logger.Debug("duplicate task not run", "task", spec.Name)
		return nil, nil, true, nil
	}
	return t, f, false, nil
}

func enqueueFunc[A any](b Backend, spec Spec, args A) (func(context.Context) (Receipt, error), error) {
	data, err := json.Marshal(args)
	if err != nil {
		return nil, &TaskError{Name: spec.Name, Err: fmt.Errorf("encoding arguments: %w", err)}
	}
	return func(ctx context.Context) (Receipt, error) { return b.Enqueue(ctx, spec, data) }, nil
}

// ErrArgs is wrapped by the error of a durable job whose arguments do not
// match the task's parameters: a key that no parameter has, or a
// parameter's key missing. Such a job was stored by code whose task had
// other parameters (one renamed, removed or added since); it fails
// without running the task, and is not retried, since it never would
// match. futuresgen's lock file (futures.lock.json) refuses such changes
// at generate time.
var ErrArgs = errors.New("the job's arguments do not match the task's parameters")

// DecodeArgs decodes a durable task's JSON arguments into dst, a pointer
// to the struct that generated code declares for them, whose fields' JSON
// names are the parameters' names. Every key of the object must be a
// field's name, exactly, and every field's name a key, except the fields
// named in optional (parameters added after jobs were stored, which take
// their zero value when absent) and those tagged omitempty or omitzero;
// structs inside the arguments may lack
// fields but have none unknown. Anything else fails with an error that
// wraps ErrArgs or the decoding error. The error is Permanent: arguments
// that do not decode will not decode on a retry either.
func DecodeArgs(data []byte, dst any, optional ...string) error {
	if len(data) == 0 {
		data = []byte("{}")
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil || keys == nil {
		if err == nil {
			err = errors.New("null")
		}
		return Permanent(fmt.Errorf("decoding task arguments: want a JSON object: %w", err))
	}
	fields := argFields(dst)
	var missing, unknown []string
	for _, f := range fields {
		if _, ok := keys[f.name]; !ok && !f.omittable && !slices.Contains(optional, f.name) {
			missing = append(missing, f.name)
		}
	}
	for k := range keys {
		if !slices.ContainsFunc(fields, func(f argField) bool { return f.name == k }) {
			unknown = append(unknown, k)
		}
	}
	if len(missing)+len(unknown) > 0 {
		slices.Sort(unknown)
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "missing "+strings.Join(quoteAll(missing), ", "))
		}
		if len(unknown) > 0 {
			parts = append(parts, "unknown "+strings.Join(quoteAll(unknown), ", "))
		}
		return Permanent(fmt.Errorf("decoding task arguments: %w: %s (were the task's parameters renamed, removed or added since the job was stored?)",
			ErrArgs, strings.Join(parts, "; ")))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return Permanent(fmt.Errorf("decoding task arguments: %w", err))
	}
	return nil
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// argFieldCache maps the struct types of arguments to their fields.
var argFieldCache sync.Map

// argField is a field of an arguments struct: its JSON name, and whether
// encoding/json may leave it out (omitempty, omitzero), which makes it
// optional.
type argField struct {
	name      string
	omittable bool
}

// argFields returns the fields of the struct that dst points to, in
// order; generated argument structs tag every field with its parameter's
// name.
func argFields(dst any) []argField {
	t := reflect.TypeOf(dst)
	if cached, ok := argFieldCache.Load(t); ok {
		return cached.([]argField)
	}
	var fields []argField
	if t != nil && t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		st := t.Elem()
		for i := range st.NumField() {
			f := st.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-" && opts == "" || !f.IsExported():
				continue
			case name == "":
				name = f.Name
			}
			omit := false
			for o := range strings.SplitSeq(opts, ",") {
				omit = omit || o == "omitempty" || o == "omitzero"
			}
			fields = append(fields, argField{name, omit})
		}
	}
	argFieldCache.Store(t, fields)
	return fields
}
