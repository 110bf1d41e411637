// Package futurestest is a harness for tests of code that schedules tasks:
// a task loop that records every task submitted to it (its name, its
// arguments, its delay) and runs nothing until the test says so, so that a
// test of a view can assert "this request scheduled SendWelcome with these
// arguments", then run it and check what it did.
//
//	h := futurestest.New(t)
//	RegisterTasks(h)                        // durable and periodic tasks, as main does
//	mux := http.NewServeMux()
//	RegisterViews(mux)
//	rec := httptest.NewRecorder()
//	h.Handler(mux).ServeHTTP(rec, httptest.NewRequest("POST", "/signups", body))
//	task := h.Only("SendWelcome")          // fails the test unless exactly one was scheduled
//	if task.Arg("to") != "ada@example.com" { … }
//	h.RunUntilIdle()                        // runs it, and what it schedules
//	if err := task.Err(); err != nil { … }
//
// The tasks run with the loop's own semantics, in the test's goroutine:
// retries, timeouts, panics turned into errors, request scopes (a view's
// after-response tasks are recorded when scheduled and run once its
// response is written), delays and intervals. A durable task runs as a
// backend's worker would run its job: its arguments are encoded as JSON
// when it is scheduled and decoded by its registered RunJSON when it runs
// (taskloop.Options.DurableJSON), strictly, as taskloop.DecodeArgs
// decodes them, so that a test catches arguments that would not survive
// the trip, and Task.Args holds them as they came back.
//
// The task options of River's controls hold here as on a loop: a task
// with unique= that matches one already pending (or, with a period, run in
// that period) is recorded with Duplicate set and does not run; limit=
// bounds the attempts that run at once, which RunPending, running one at
// a time, always meets; a cron= task registered with Register runs at its
// schedule's times on the clock (see Time), like an every= task.
//
// # Time
//
// Delays, intervals and retry backoffs wait on the clock. Under
// testing/synctest that clock is fake: inside synctest.Test, time.Sleep
// moves it on at once, and RunPending then runs what fell due, to the
// nanosecond. Create the harness inside the bubble.
//
//	synctest.Test(t, func(t *testing.T) {
//		h := futurestest.New(t)
//		RemindLater(h.Context(t.Context()), "ada") // delay=24h
//		time.Sleep(24 * time.Hour)
//		h.RunPending() // runs the reminder
//	})
//
// Outside a bubble the clock is the real one, and a task waiting for its
// delay stays pending.
//
// # Arguments
//
// Generated code hands a task's arguments to the loop (taskloop.AsyncWith,
// LaterWith, AsyncDurable), which passes them to the harness through
// taskloop.SubmitHooks. Tasks submitted by hand with taskloop.Async, Later
// or Submit carry none: their Args is nil.
package futurestest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gofutures/futures/runtime/internal/loopctl"
	"github.com/gofutures/futures/runtime/taskloop"
)

// maxPasses bounds RunUntilIdle: a task that schedules another at once,
// for ever, fails the test instead of hanging it.
const maxPasses = 10000

// Harness is a task loop driven by a test. Create it with New; it is safe
// for concurrent use (the handlers of an httptest.Server may schedule
// tasks while the test looks).
type Harness struct {
	tb       testing.TB
	loop     *taskloop.Loop
	hooks    taskloop.Hooks // the user's, called around each attempt
	closed   atomic.Bool
	requests sync.WaitGroup // requests served through Handler

	mu    sync.Mutex
	tasks []*Task
}

// Option configures New.
type Option func(*config)

type config struct {
	logger *slog.Logger
	hooks  taskloop.Hooks
}

// WithLogger sets the loop's logger. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithHooks adds hooks that the loop calls around every attempt (tracing,
// metrics), after the harness's own: runtime/telemetry's, for a test of
// spans. Their DropHooks are called too.
func WithHooks(h taskloop.Hooks) Option { return func(c *config) { c.hooks = h } }

// New returns a harness whose loop holds every task submitted to it until
// RunPending or RunUntilIdle. When tb ends, the tasks still pending are
// dropped without running (they fail with taskloop.ErrStopped, quietly).
func New(tb testing.TB, opts ...Option) *Harness {
	tb.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	h := &Harness{tb: tb, hooks: c.hooks}
	logger := slog.New(&quietAfterClose{Handler: c.logger.Handler(), closed: &h.closed})
	h.loop = taskloop.New(taskloop.Options{Hooks: recorder{h}, Logger: logger, DurableJSON: true})
	loopctl.Manual(h.loop)
	tb.Cleanup(func() {
		h.closed.Store(true)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = h.loop.Shutdown(ctx) // what was never run fails with ErrStopped
	})
	return h
}

// Loop returns the harness's loop, for code that takes a *taskloop.Loop.
// It must not be started: the harness runs its tasks.
func (h *Harness) Loop() *taskloop.Loop { return h.loop }

// Context returns ctx with the harness's loop in it (taskloop.WithLoop):
// tasks that code under test schedules with it go to the harness.
func (h *Harness) Context(ctx context.Context) context.Context {
	return taskloop.WithLoop(ctx, h.loop)
}

// Handler returns next served as server.Run serves it: inside a request
// scope (taskloop.Middleware), with the harness's loop in every request's
// context. The harness waits for the requests in flight through it before
// it reports or runs tasks, so that a request's after-response tasks are
// there even when an httptest.Server's client has its response before the
// handler has returned.
func (h *Harness) Handler(next http.Handler) http.Handler {
	scoped := taskloop.Middleware(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		defer h.requests.Done()
		scoped.ServeHTTP(w, r.WithContext(h.Context(r.Context())))
	})
}

// Register registers task definitions with the loop, as with a real one:
// generated RegisterTasks functions take the harness. Periodic tasks start
// their schedules at once; durable tasks must be registered to run, since
// they run from their JSON through RunJSON, as on a worker.
func (h *Harness) Register(defs ...taskloop.Definition) error {
	return h.loop.Register(defs...)
}

var _ taskloop.Registrar = (*Harness)(nil)

// Tasks returns every task submitted so far, in the order they were
// submitted, run or not.
func (h *Harness) Tasks() []*Task {
	h.requests.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Task(nil), h.tasks...)
}

// Pending returns the tasks submitted that have not resolved: waiting to
// run, for their delay or a retry, or periodic tasks still scheduled.
func (h *Harness) Pending() []*Task {
	var out []*Task
	for _, t := range h.Tasks() {
		if !t.Done() {
			out = append(out, t)
		}
	}
	return out
}

// Find returns the tasks submitted under name: a task's full name
// ("example.com/app.SendWelcome", "example.com/app.Service.Send") or its
// end after a dot ("SendWelcome", "Service.Send").
func (h *Harness) Find(name string) []*Task {
	var out []*Task
	for _, t := range h.Tasks() {
		if t.Name == name || strings.HasSuffix(t.Name, "."+name) {
			out = append(out, t)
		}
	}
	return out
}

// Only returns the one task submitted under name (see Find), and fails
// the test, saying what was submitted, if there is not exactly one.
func (h *Harness) Only(name string) *Task {
	h.tb.Helper()
	found := h.Find(name)
	if len(found) != 1 {
		h.tb.Fatalf("futurestest: %d tasks named %s were submitted, want 1; submitted: %v", len(found), name, h.Tasks())
	}
	return found[0]
}

// RunPending runs, in the calling goroutine, the tasks ready now: those
// that were waiting for a worker, and those whose delay, retry backoff or
// periodic interval has passed. Tasks they submit wait for the next call.
// It returns how many attempts it ran.
func (h *Harness) RunPending() int {
	h.requests.Wait()
	return loopctl.RunReady(h.loop)
}

// RunUntilIdle calls RunPending until no task is ready, so that the tasks
// that tasks submit run too, and returns how many attempts it ran. It
// does not move the clock: tasks waiting for a time stay pending (see
// Time in the package documentation). A chain of tasks that never ends
// fails the test.
func (h *Harness) RunUntilIdle() int {
	h.tb.Helper()
	total := 0
	for range maxPasses {
		n := h.RunPending()
		if n == 0 {
			return total
		}
		total += n
	}
	h.tb.Fatalf("futurestest: tasks still ready after %d passes of RunUntilIdle: a task that always schedules another?", maxPasses)
	return total
}

// Task is a task submitted to the harness's loop.
type Task struct {
	// Name is the task's name, "importpath.Func" for generated code.
	Name string
	// Spec is the task's as generated code wrote it: retries, timeout,
	// delay, interval, queue, durable.
	Spec taskloop.Spec
	// Later says the task was scheduled to run after its request's
	// response (FLater inside a view).
	Later bool
	// Duplicate says the task was a duplicate of one already pending (its
	// Spec.Unique): it does not run, and it is Done at once for a durable
	// task (its Receipt says Duplicate), else when the original is.
	Duplicate bool
	// RequestID is the ID of the request that scheduled it, if any
	// (taskloop.RequestID).
	RequestID string
	// Args are the task's arguments in the order of its parameters,
	// without its context: for a durable task, as they came back from
	// their JSON. Nil for a task submitted without them (see Arguments in
	// the package documentation).
	Args []any
	// Params are the names of the parameters, as Args holds them (the JSON
	// keys of a durable task's job).
	Params []string
	// JSON is a durable task's arguments as its job carries them.
	JSON []byte
	// ArgsErr says why a durable task's arguments did not make the trip
	// through JSON (the task fails with it too).
	ArgsErr error

	result func() (bool, error)
}

// Arg returns the argument of the parameter named name, or nil if there
// is none.
func (t *Task) Arg(name string) any {
	for i, p := range t.Params {
		if p == name {
			return t.Args[i]
		}
	}
	return nil
}

// Done reports whether the task has resolved: it ran to its end (its
// last attempt, or a periodic task's schedule), or it failed without
// running.
func (t *Task) Done() bool {
	done, _ := t.result()
	return done
}

// Err returns the task's error once it has resolved (a *taskloop.TaskError
// wrapping the function's), or nil.
func (t *Task) Err() error {
	_, err := t.result()
	return err
}

// String names the task and its arguments, for failure messages.
func (t *Task) String() string {
	var b strings.Builder
	b.WriteString(t.Name)
	b.WriteByte('(')
	for i, a := range t.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%#v", t.Params[i], a)
	}
	b.WriteByte(')')
	if t.Spec.Delay > 0 {
		fmt.Fprintf(&b, " delay=%v", t.Spec.Delay)
	}
	if t.Spec.Every > 0 {
		fmt.Fprintf(&b, " every=%v", t.Spec.Every)
	}
	if t.Spec.Cron != nil {
		fmt.Fprintf(&b, " cron=%q", fmt.Sprint(t.Spec.Cron))
	}
	if t.Duplicate {
		b.WriteString(" duplicate")
	}
	return b.String()
}

// recorder is the loop's hooks: it records submissions and passes
// attempts on to the user's hooks.
type recorder struct{ h *Harness }

func (r recorder) TaskSubmitted(ctx context.Context, s taskloop.Submission) {
	t := &Task{Name: s.Spec.Name, Spec: s.Spec, Later: s.Later, Duplicate: s.Duplicate, RequestID: taskloop.RequestID(ctx), result: s.Result}
	if s.Args != nil {
		args := s.Args
		if s.Spec.Durable {
			args, t.JSON, t.ArgsErr = roundTrip(args)
		}
		t.Params, t.Args = fields(args)
	}
	r.h.mu.Lock()
	r.h.tasks = append(r.h.tasks, t)
	r.h.mu.Unlock()
}

func (r recorder) TaskStarted(ctx context.Context, e taskloop.Event) context.Context {
	if r.h.hooks == nil {
		return nil
	}
	return r.h.hooks.TaskStarted(ctx, e)
}

func (r recorder) TaskFinished(ctx context.Context, e taskloop.Event) {
	if r.h.hooks != nil {
		r.h.hooks.TaskFinished(ctx, e)
	}
}

func (r recorder) TaskDropped(ctx context.Context, e taskloop.Event) {
	if d, ok := r.h.hooks.(taskloop.DropHooks); ok {
		d.TaskDropped(ctx, e)
	}
}

// roundTrip encodes args as a durable task's job does and decodes them
// into a new value of their type, as its worker does: with
// taskloop.DecodeArgs, which wants every key a parameter's and refuses
// unknown fields in the structs inside.
func roundTrip(args any) (back any, data []byte, err error) {
	data, err = json.Marshal(args)
	if err != nil {
		return args, nil, err
	}
	v := reflect.New(reflect.TypeOf(args))
	if err := taskloop.DecodeArgs(data, v.Interface()); err != nil {
		return args, data, err
	}
	return v.Elem().Interface(), data, nil
}

// fields lists the parameters of generated code's argument struct: each
// field's JSON name and value.
func fields(args any) (names []string, values []any) {
	v := reflect.ValueOf(args)
	if v.Kind() != reflect.Struct {
		return []string{"args"}, []any{args}
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		values = append(values, v.Field(i).Interface())
	}
	return names, values
}

// quietAfterClose drops the loop's log lines once the test has ended: the
// tasks left pending then fail with ErrStopped by design, not by fault.
type quietAfterClose struct {
	slog.Handler
	closed *atomic.Bool
}

func (q *quietAfterClose) Enabled(ctx context.Context, l slog.Level) bool {
	return !q.closed.Load() && q.Handler.Enabled(ctx, l)
}

func (q *quietAfterClose) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &quietAfterClose{Handler: q.Handler.WithAttrs(attrs), closed: q.closed}
}

func (q *quietAfterClose) WithGroup(name string) slog.Handler {
	return &quietAfterClose{Handler: q.Handler.WithGroup(name), closed: q.closed}
}
