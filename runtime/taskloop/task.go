package taskloop

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/internal/runctx"
)

// runner is the typed part of a task.
type runner interface {
	// call runs the function once and keeps its value.
	call(ctx context.Context) error
	// resolve resolves the future: with the kept value when err is nil.
	resolve(err error)
}

// Where a task of a loop is, in t.state. A task is handed from goroutine
// to goroutine; the one that moves it from ready to taken runs it (or
// fails it), which lets a goroutine that awaits a queued task take it out
// of the queue's hands: the queue's entry is then stale and skipped.
const (
	taskIdle  int32 = iota // being submitted, in a scope, on the timer heap, running, or done
	taskReady              // in the queue or its overflow, not yet taken
	taskTaken              // taken from the ready state by a worker or a helper
)

// task is the untyped state of one submitted task, owned by one goroutine
// at a time: the submitter, then a worker, a helper or the timer heap,
// handed over through the queue, the ready state or the loop's mutex.
//
// A task is its own context (the runctx.Context it embeds: cheap, see
// runctx), marked by Value so that the loop knows a submission or an
// Await comes from inside a task. Fields are packed so that a task of a
// small result fits the 256-byte size class.
type task struct {
	runctx.Context
	loop     *Loop // nil when running synchronously
	spec     Spec
	impl     runner
	runStart time.Time
	scope    atomic.Pointer[Scope] // the request scope of an after-response task, or nil
	// wake, when set, is closed once the task is ready or resolved: a
	// goroutine that awaits the task waits for it (see help).
	wake      atomic.Pointer[chan struct{}]
	attempts  atomic.Int32 // attempts started in the current run
	state     atomic.Int32 // taskIdle, taskReady, taskTaken
	depth     atomic.Int32 // how many tasks deep it runs inline; 0 on a worker
	hi        int32        // 1-based index of its entry on the loop's timer heap, 0 if none; guarded by loop.mu
	slot      int8         // noSlot, ownSlot or borrowed, under Spec.Limit: see acquire
	settled   atomic.Bool
	cancelled atomic.Bool
}

type runningKey struct{}

// Value answers the loop's question "which task is this?", and looks up
// every other key in the submitter's values.
func (t *task) Value(key any) any {
	if key == (runningKey{}) {
		return t
	}
	return t.Context.Value(key)
}

// runningTask returns the task whose context ctx is or derives from, when
// it belongs to l: the caller is (most likely) that task's function.
func runningTask(ctx context.Context, l *Loop) *task {
	if t, ok := ctx.Value(runningKey{}).(*task); ok && t.loop == l {
		return t
	}
	return nil
}

type typedTask[T any] struct {
	task
	fn      func(context.Context) (T, error)
	value   T
	promise future.Promise[T]
	// followers resolve the futures of the task's duplicates (see Unique);
	// added under the loop's unique.mu before the task ends, read after.
	followers []func(T, error) bool
}

func (t *typedTask[T]) call(ctx context.Context) error {
	v, err := t.fn(ctx)
	if err == nil {
		t.value = v
	}
	return err
}

func (t *typedTask[T]) resolve(err error) {
	var v T
	if err == nil {
		v = t.value
	}
	t.promise.Resolve(v, err)
	for _, f := range t.followers {
		f(v, err)
	}
}

// newTask returns a task for fn, bound for l (nil: run synchronously), and
// its future; Cancel on the future cancels the task. The loop is set here,
// before anyone holds the future, because Cancel reads it.
//
// The task is its future's producer (future.NewPromise), so that a task
// costs two allocations here: the task and the future.
func newTask[T any](l *Loop, spec Spec, fn func(context.Context) (T, error)) (*task, *future.Future[T]) {
	t := &typedTask[T]{fn: fn}
	t.loop = l
	t.spec = spec
	t.impl = t
	f, p := future.NewPromise[T](&t.task)
	t.promise = p
	return &t.task, f
}

// CheckAwait is called by Await before it blocks on the task's future
// (future.Producer). Inside the request scope that holds an after-response
// task, it fails at once with ErrAwaitInScope, since the task cannot start
// before the request ends. From inside another task of the same loop, it
// helps: it runs the awaited task in the calling goroutine as soon as the
// task is ready, so that tasks awaiting tasks cannot take every worker and
// wait for each other.
func (t *task) CheckAwait(ctx context.Context) error {
	if s := t.scope.Load(); s != nil {
		if err := s.checkAwait(ctx); err != nil {
			return err
		}
	}
	if l := t.loop; l != nil && !t.settled.Load() {
		if cur := runningTask(ctx, l); cur != nil && cur != t {
			l.help(ctx, t, cur, cur.depth.Load()+1)
		}
	}
	return nil
}

// Cancel is the task future's Cancel (future.Producer).
func (t *task) Cancel() { t.cancel() }

func (t *task) periodic() bool { return t.spec.periodic() }

// endsAtShutdown reports whether Shutdown ends t while it waits on a timer:
// periodic tasks end, and delayed tasks that never started fail; tasks
// waiting to retry are in flight and go on.
func (t *task) endsAtShutdown() bool { return t.periodic() || t.attempts.Load() == 0 }

// settle resolves t with err, once, and counts the outcome; it reports
// whether this call was the one that resolved it.
func (l *Loop) settle(t *task, err error) bool {
	return l.settleCounting(t, err, nil)
}

// settleCounting is settle that also adds one to also, when not nil, before
// the task stops counting as live (which may let Shutdown return).
func (l *Loop) settleCounting(t *task, err error, also *atomic.Int64) bool {
	if !t.settled.CompareAndSwap(false, true) {
		return false
	}
	if also != nil {
		also.Add(1)
	}
	switch {
	case err == nil:
		l.stats.succeeded.Add(1)
	case t.cancelled.Load():
		l.stats.canceled.Add(1)
	default:
		l.stats.failed.Add(1)
	}
	t.finish(err)
	l.live.Add(-1)
	l.checkDrained()
	return true
}

// finish resolves t's future, wrapping an error in a *TaskError, then wakes
// the goroutines that help it.
//
// A task that failed has its context cancelled: its value is dropped, so
// nothing it made is left to use the context. A task that succeeded keeps
// its context live, because what it returned may still use it (a channel
// that a goroutine feeds, a response body): the context ends when the
// future is cancelled, the timeout of the last attempt fires, or, without
// a loop, the caller's context ends. The link to whatever would otherwise
// keep it alive is dropped or weakened here: on a loop, the context no
// longer follows the loop's hard stop, which is about running tasks;
// without a loop, it goes on following the caller's context, weakly, so
// that a caller's context that lives long does not collect the contexts
// of every task it ran.
func (t *task) finish(err error) {
	switch {
	case err != nil:
		t.Context.Cancel(context.Canceled)
	case t.loop != nil:
		t.Context.Detach()
	default:
		t.Context.Release()
	}
	if err != nil {
		var te *TaskError
		if !errors.As(err, &te) || te.Name != t.spec.Name {
			err = &TaskError{Name: t.spec.Name, Attempts: int(t.attempts.Load()), Err: err}
		}
	}
	if t.spec.Unique != nil && t.loop != nil {
		t.loop.uniqueEnded(t, err)
	}
	t.impl.resolve(err)
	t.signal()
}

// signal wakes the goroutines waiting in help for t to be ready or
// resolved. It costs one atomic load when nobody waits.
func (t *task) signal() {
	if t.wake.Load() == nil {
		return
	}
	if ch := t.wake.Swap(nil); ch != nil {
		close(*ch)
	}
}

// waitChan returns a channel that signal closes.
func (t *task) waitChan() chan struct{} {
	for {
		if ch := t.wake.Load(); ch != nil {
			return *ch
		}
		ch := make(chan struct{})
		if t.wake.CompareAndSwap(nil, &ch) {
			return ch
		}
	}
}

// cancel is the task future's Cancel: it cancels the task's context and
// ends it now if it is waiting on a timer or has not been dispatched yet.
// Once the task has ended, it still cancels the context, which what the
// task returned may use.
func (t *task) cancel() {
	if t.settled.Load() {
		t.Context.Cancel(context.Canceled)
		return
	}
	if !t.cancelled.CompareAndSwap(false, true) {
		return
	}
	t.Context.Cancel(context.Canceled)
	if l := t.loop; l != nil && l.unwait(t) {
		l.endCancelled(t)
	}
}

// endCancelled ends a cancelled task that is not running: a periodic one
// with its last value, any other with context.Canceled.
func (l *Loop) endCancelled(t *task) {
	if t.periodic() {
		l.settle(t, nil)
	} else {
		l.settle(t, context.Canceled)
	}
}

func (t *task) settleSync(err error) {
	if t.settled.CompareAndSwap(false, true) {
		t.finish(err)
	}
}
