package taskloop

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/internal/reqid"
)

// ErrAwaitInScope is the error of awaiting an after-response task inside the
// request scope that holds it: the task cannot start before the handler
// returns, so the wait would never end.
var ErrAwaitInScope = errors.New("taskloop: awaiting an after-response task inside its own request; it starts only after the handler returns")

// ErrScopeAborted is the error of after-response tasks whose handler
// panicked: they are not run.
var ErrScopeAborted = errors.New("taskloop: request handler panicked; after-response task not run")

type scopeKey struct{}

// Scope collects after-response tasks of one request until Close hands them
// to their loops, and keeps track of the tasks the request starts with
// Async until then. Open one with NewScope or Middleware. Its methods are
// safe for concurrent use.
//
// Scopes nest: a scope opened where another is open (a view inside
// Middleware, or inside server.Run, which wraps every handler in one)
// hands its tasks to the enclosing scope when it closes, so that they
// start only once the outermost handler, compression included, is done.
type Scope struct {
	parent *Scope // the enclosing scope, or nil

	mu      sync.Mutex
	closed  bool
	pending []pendingTask
	started []*task // tasks started with Async under the scope while it is open

	// The request's ID, on the outermost scope: named once SetRequest
	// has been called; id is the client's, or made the first time a log
	// asks.
	named bool
	id    string
}

type pendingTask struct {
	ctx context.Context
	t   *task // bound for the loop that ctx named at Later
}

// NewScope opens a request scope and returns a context that carries it.
// Whoever opens a scope owns it and must call Close (or Abort) once the
// response is written; until then its tasks wait. A scope opened inside
// another open one nests in it (see Scope).
//
// Opening a scope costs one allocation: the context and the scope are one
// object.
func NewScope(ctx context.Context) (context.Context, *Scope) {
	c := &scopeContext{Context: ctx}
	if p := scopeFrom(ctx); p != nil && !p.isClosed() {
		c.scope.parent = p
	}
	return c, &c.scope
}

// scopeContext carries a scope the way context.WithValue would, in the
// same allocation as the scope.
type scopeContext struct {
	context.Context
	scope Scope
}

func (c *scopeContext) Value(key any) any {
	if key == (scopeKey{}) {
		return &c.scope
	}
	return c.Context.Value(key)
}

func (c *scopeContext) String() string { return "taskloop.NewScope" }

func scopeFrom(ctx context.Context) *Scope {
	s, _ := ctx.Value(scopeKey{}).(*Scope)
	return s
}

// Later submits fn like Async, except inside a request scope, where the task
// waits until the scope closes (the handler has returned and its response
// has been flushed) and then goes to the loop that ctx names at this call.
// Awaiting the future inside the same scope fails at once with
// ErrAwaitInScope.
//
// Handing the task to the loop after the response never waits, so that
// the response is complete and its connection free first: the task's room
// in the queue is checked now, before the response. Under policy Block,
// Later waits until the queue has room or ctx ends (the view's deadline,
// a client gone), and the task goes on either way: its response is coming
// and its work must not be lost. Under policy Reject, or once the loop is
// shutting down, the task is refused now: its future fails with
// ErrQueueFull or ErrClosed, and the loop logs it with the request's ID.
// The after-response tasks of the requests in flight may so take the
// queue past its bound, by at most their number.
//
// Without a loop, the task runs synchronously when the outermost scope
// closes, in the goroutine that closes it: the client has every byte of
// the response by then (Middleware flushes first), but net/http finishes
// the response (a chunked response's last chunk) and reads the
// connection's next request only once the task has returned. Run a loop
// where that matters.
func Later[T any](ctx context.Context, spec Spec, fn func(context.Context) (T, error)) *future.Future[T] {
	return LaterWith(ctx, spec, any(nil), fn)
}

// LaterWith is Later for generated code, which also hands over the task's
// arguments, as AsyncWith does.
func LaterWith[A, T any](ctx context.Context, spec Spec, args A, fn func(context.Context) (T, error)) *future.Future[T] {
	l := From(ctx)
	f, later := laterQuiet(ctx, l, spec, fn)
	notifySubmitted(ctx, l, spec, args, later, false, f)
	return f
}

// laterQuiet is Later on l without telling SubmitHooks; it reports whether
// the task waits for a request scope to close.
func laterQuiet[T any](ctx context.Context, l *Loop, spec Spec, fn func(context.Context) (T, error)) (*future.Future[T], bool) {
	s := scopeFrom(ctx)
	if s == nil {
		return submitQuiet(ctx, l, spec, fn), false
	}
	t, f := newTask(l, spec, fn)
	return laterTask(ctx, s, l, t, f)
}

// laterTask is Later for a task made already: t, of future f, bound for
// l, in scope s; it reports whether the task waits for s to close.
func laterTask[T any](ctx context.Context, s *Scope, l *Loop, t *task, f *future.Future[T]) (*future.Future[T], bool) {
	if l != nil && !l.waitRoomForLater(ctx, t) {
		return f, false
	}
	if !s.add(pendingTask{ctx: ctx, t: t}) {
		dispatch(ctx, t, ctx, false)
		return f, false
	}
	return f, true
}

// add keeps p until Close, in s or, if s has closed, in the nearest
// enclosing scope still open; it reports false if none is.
func (s *Scope) add(p pendingTask) bool {
	for sc := s; sc != nil; sc = sc.parent {
		sc.mu.Lock()
		if !sc.closed {
			sc.pending = append(sc.pending, p)
			p.t.scope.Store(sc)
			sc.mu.Unlock()
			return true
		}
		sc.mu.Unlock()
	}
	return false
}

// track keeps t, started with Async under s, for CancelTasks, while s is
// open.
func (s *Scope) track(t *task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if len(s.started) == cap(s.started) && len(s.started) >= 8 {
		// A view that starts many tasks holds only those that CancelTasks
		// could still reach: unfinished ones, and finished ones whose
		// context lives on for what they returned (a failed task's has
		// ended).
		s.started = slices.DeleteFunc(s.started, func(t *task) bool { return t.settled.Load() && t.Err() != nil })
	}
	s.started = append(s.started, t)
}

func (s *Scope) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// checkAwait fails an Await, in ctx, of a task that waits in s, if ctx is
// inside s (or a scope nested in it) and s has not closed.
func (s *Scope) checkAwait(ctx context.Context) error {
	for sc := scopeFrom(ctx); sc != nil; sc = sc.parent {
		if sc == s {
			if s.isClosed() {
				return nil
			}
			return ErrAwaitInScope
		}
	}
	return nil
}

func (s *Scope) take() []pendingTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	p := s.pending
	s.pending = nil
	s.started = nil
	return p
}

// Close hands the scope's tasks to the enclosing scope, if one is open,
// else to their loops, in the order they were submitted, or runs them now
// where there is no loop. Tasks submitted with Later after Close go
// straight to their loop. Only the first call of Close or Abort has an
// effect. Tasks started with Async under the scope go on running.
//
// Close never waits for room in a queue: the room was waited for when
// Later was called, and the tasks take it now even if the queue has filled
// since. A loop that is shutting down refuses them (ErrClosed, logged).
func (s *Scope) Close() {
	for _, p := range s.take() {
		if s.parent != nil && s.parent.add(p) {
			continue
		}
		dispatch(context.WithoutCancel(p.ctx), p.t, nil, true)
	}
}

// Abort resolves the scope's tasks with err wrapped in a *TaskError without
// running them, and logs each on its loop as not run (see DropHooks).
// Middleware aborts with ErrScopeAborted when its handler panics.
func (s *Scope) Abort(err error) {
	for _, p := range s.take() {
		p.t.settleSync(err)
		if l := p.t.loop; l != nil {
			l.dropped(p.ctx, p.t, "task not run", err)
		}
	}
}

// CancelTasks cancels the tasks started with Async (or Submit) under the
// scope's context while it was open, as Future.Cancel does: those that
// have not started end with context.Canceled, the running ones see their
// context cancelled, and so does what finished ones returned. A handler calls it when its request's context ended
// before it returned (a deadline, a client gone): nobody is left to use
// what those tasks make. After-response tasks (Later) are not affected.
// Views and Middleware do it themselves.
func (s *Scope) CancelTasks() {
	s.mu.Lock()
	ts := s.started
	s.started = nil
	s.mu.Unlock()
	for _, t := range ts {
		t.cancel()
	}
}

// SetRequest names the request that the scope serves, so that the loop's
// warnings about its tasks carry the request's ID (see RequestID). A
// scope nested in another takes the enclosing one's request instead.
// Middleware sets it; views do too.
func (s *Scope) SetRequest(r *http.Request) {
	root := s.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.named {
		return
	}
	root.named = true
	// Read the header now, in the handler's goroutine: a log may ask for
	// the ID from another goroutine, once the handler is done with r.
	if id := r.Header.Get("X-Request-ID"); reqid.Valid(id) {
		root.id = id
	}
}

func (s *Scope) root() *Scope {
	for s.parent != nil {
		s = s.parent
	}
	return s
}

// RequestID returns the ID of the request whose scope ctx carries (see
// Scope.SetRequest), or "" if it carries none or the scope names no
// request. The ID is the request's X-Request-ID header when it is a token
// of at most 64 characters, else a random one made on the first call; it
// is the same for every call about one request, and views put it in their
// error responses, so that a log line about a task matches the response
// the client saw.
func RequestID(ctx context.Context) string {
	s := scopeFrom(ctx)
	if s == nil {
		return ""
	}
	root := s.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.id == "" && root.named {
		root.id = reqid.New()
	}
	return root.id
}

// Middleware opens a request scope around next, so that tasks submitted
// with Later while next runs start only after next has returned and its
// response has been flushed to the client. A panic in next aborts the scope
// (its tasks fail with ErrScopeAborted) and goes on up to net/http. When
// the request's context ends before next returns (the client went away),
// the tasks next started with Async are cancelled (see CancelTasks).
//
// Flushing makes a response without a Content-Length use chunked encoding;
// Middleware flushes only when after-response tasks wait. Without a loop,
// after-response tasks run synchronously in the handler's goroutine after
// that flush, before net/http finishes the response, so a client of a
// chunked response waits for them to see its end; set Content-Length or
// run a loop.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, scope := NewScope(r.Context())
		scope.SetRequest(r)
		completed := false
		defer func() {
			if !completed {
				scope.Abort(ErrScopeAborted)
			}
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
		completed = true
		if ctx.Err() != nil {
			scope.CancelTasks()
		}
		if scope.Pending() > 0 {
			// The flush error only says the connection is gone or
			// hijacked; the tasks run either way.
			_ = http.NewResponseController(w).Flush()
		}
		scope.Close()
	})
}

// Pending returns how many tasks wait for the scope to close.
func (s *Scope) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}
