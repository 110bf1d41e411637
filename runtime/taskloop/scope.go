package taskloop

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/gofutures/futures/runtime/future"
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
// to their loops. Open one with NewScope or Middleware. Its methods are safe
// for concurrent use.
type Scope struct {
	mu      sync.Mutex
	closed  bool
	pending []pendingTask
}

type pendingTask struct {
	ctx context.Context
	t   *task // bound for the loop that ctx named at Later
}

// NewScope opens a request scope and returns a context that carries it.
// Whoever opens a scope owns it and must call Close (or Abort) once the
// response is written; until then its tasks wait.
//
// Opening a scope costs one allocation: the context and the scope are one
// object.
func NewScope(ctx context.Context) (context.Context, *Scope) {
	c := &scopeContext{Context: ctx}
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
// Without a loop, the task runs synchronously when the scope closes, in the
// goroutine that closes it.
func Later[T any](ctx context.Context, spec Spec, fn func(context.Context) (T, error)) *future.Future[T] {
	s := scopeFrom(ctx)
	if s == nil {
		return Async(ctx, spec, fn)
	}
	t, f := newTask(From(ctx), spec, fn, s)
	if !s.add(pendingTask{ctx: ctx, t: t}) {
		dispatch(ctx, t, ctx)
	}
	return f
}

// add keeps p until Close; it reports false if the scope has closed.
func (s *Scope) add(p pendingTask) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.pending = append(s.pending, p)
	return true
}

func (s *Scope) checkAwait(ctx context.Context) error {
	if scopeFrom(ctx) != s {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return ErrAwaitInScope
}

func (s *Scope) take() []pendingTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	p := s.pending
	s.pending = nil
	return p
}

// Close hands the scope's tasks to their loops, in the order they were
// submitted, or runs them now where there is no loop. Tasks submitted with
// Later after Close go straight to their loop. Only the first call of Close
// or Abort has an effect.
//
// Submitting waits for room in a full queue (policy Block) regardless of the
// request's cancellation: a client that went away does not lose the work it
// caused. Shutdown ends such a wait.
func (s *Scope) Close() {
	for _, p := range s.take() {
		dispatch(context.WithoutCancel(p.ctx), p.t, nil)
	}
}

// Abort resolves the scope's tasks with err wrapped in a *TaskError without
// running them. Middleware aborts with ErrScopeAborted when its handler
// panics.
func (s *Scope) Abort(err error) {
	for _, p := range s.take() {
		p.t.settleSync(err)
	}
}

// Middleware opens a request scope around next, so that tasks submitted
// with Later while next runs start only after next has returned and its
// response has been flushed to the client. A panic in next aborts the scope
// (its tasks fail with ErrScopeAborted) and goes on up to net/http.
//
// Flushing makes a response without a Content-Length use chunked encoding.
// Without a loop, after-response tasks run synchronously in the handler's
// goroutine before net/http finishes the response, so a client of a chunked
// response waits for them; set Content-Length or run a loop.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, scope := NewScope(r.Context())
		completed := false
		defer func() {
			if !completed {
				scope.Abort(ErrScopeAborted)
			}
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
		completed = true
		// The flush error only says the connection is gone or hijacked;
		// the tasks run either way.
		_ = http.NewResponseController(w).Flush()
		scope.Close()
	})
}

// Pending returns how many tasks wait for the scope to close.
func (s *Scope) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}
