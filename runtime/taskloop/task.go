package taskloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/internal/runctx"
)

// Spec says how to run a task. Generated code keeps one per task in a
// package variable; the zero Spec runs a task once, now, with no timeout.
type Spec struct {
	// Name identifies the task in logs, hooks, errors and, for durable
	// tasks, across processes. Generated code uses "importpath.Func".
	Name string
	// Retries is how many times a failed attempt is tried again; 0 means one
	// attempt. Retries stop when the task's context ends or the error is
	// marked with Permanent.
	Retries int
	// Backoff is the wait before the first retry; each later retry waits
	// twice as long as the one before, with jitter, up to the loop's
	// MaxBackoff. Default: 500ms.
	Backoff time.Duration
	// Timeout, when positive, bounds each attempt: its context is cancelled
	// when the timeout passes.
	Timeout time.Duration
	// Delay, when positive, starts the task that much later (Django Futures'
	// deadline). Without a loop, Delay is ignored and the task runs now.
	Delay time.Duration
	// Every, when positive, runs the task at this interval until Shutdown or
	// Future.Cancel; the first run comes after Delay if set, else after one
	// interval, and runs never overlap. Its future resolves when the schedule
	// ends, with the last successful run's value. Without a loop the task
	// runs once, now.
	Every time.Duration
	// Queue labels the task in logs and hooks; the in-process loop has a
	// single queue. Durable backends use it to pick their queue.
	Queue string
	// Durable says the task may run on a durable backend (see the
	// durable-tasks documentation); the in-process loop runs it like any
	// other task.
	Durable bool
}

// RetryDelay is the wait before retrying after the given failed attempt (1
// for the first): Backoff (default 500ms) doubled for each attempt after
// the first, capped at maxBackoff, with jitter over its upper half. Durable
// backends use it too, so that a task waits alike wherever it runs.
func (s *Spec) RetryDelay(attempt int, maxBackoff time.Duration) time.Duration {
	base := s.Backoff
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	d := base
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	// Equal jitter: half fixed, half random, so that tasks that failed
	// together do not retry together.
	half := d / 2
	return half + rand.N(d-half+1)
}

// TaskError is the error of a task that did not succeed. It wraps the
// cause: the function's last error (which wraps *future.PanicError after a
// panic), ErrQueueFull, ErrClosed, ErrStopped, or a context's error.
type TaskError struct {
	Name     string
	Attempts int // attempts started; 0 if the task never ran
	Err      error
}

func (e *TaskError) Error() string {
	if e.Attempts > 1 {
		return fmt.Sprintf("task %s failed after %d attempts: %v", e.Name, e.Attempts, e.Err)
	}
	return fmt.Sprintf("task %s: %v", e.Name, e.Err)
}

func (e *TaskError) Unwrap() error { return e.Err }

type permanentError struct{ err error }

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err so that the task is not retried. The task's error
// still wraps err. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// ErrGoexit is the error of an attempt that called runtime.Goexit.
var ErrGoexit = errors.New("taskloop: task called runtime.Goexit")

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
}

func (t *typedTask[T]) call(ctx context.Context) error {
	v, err := t.fn(ctx)
	if err == nil {
		t.value = v
	}
	return err
}

func (t *typedTask[T]) resolve(err error) {
	if err != nil {
		var zero T
		t.promise.Resolve(zero, err)
		return
	}
	t.promise.Resolve(t.value, nil)
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
			l.help(ctx, t, cur.depth.Load()+1)
		}
	}
	return nil
}

// Cancel is the task future's Cancel (future.Producer).
func (t *task) Cancel() { t.cancel() }

func (t *task) periodic() bool { return t.spec.Every > 0 }

// endsAtShutdown reports whether Shutdown ends t while it waits on a timer:
// periodic tasks end, and delayed tasks that never started fail; tasks
// waiting to retry are in flight and go on.
func (t *task) endsAtShutdown() bool { return t.periodic() || t.attempts.Load() == 0 }

// Submit runs fn as a task on l and returns its future. With a nil l it runs
// fn synchronously in the caller, honouring Retries, Backoff and Timeout
// under ctx, and returns a resolved future.
//
// ctx gives the task its values; on a loop, its cancellation only bounds the
// wait for room in a full queue (policy Block). Submit never blocks
// otherwise, except that a task submitting to its own full loop runs the
// new task's first attempt itself (see the package documentation). Inside
// a request scope (a view, Middleware), the task belongs to the request:
// it is cancelled if the request's context ends before the handler
// returns. Every submitted task's future resolves exactly once.
func Submit[T any](ctx context.Context, l *Loop, spec Spec, fn func(context.Context) (T, error)) *future.Future[T] {
	t, f := newTask(l, spec, fn)
	if l != nil {
		if s := scopeFrom(ctx); s != nil {
			s.track(t)
		}
	}
	dispatch(ctx, t, ctx, false)
	return f
}

// Async submits fn to the loop found in ctx (WithLoop) or the process
// default (SetDefault); with neither, it runs fn synchronously, as Submit
// does with a nil loop.
func Async[T any](ctx context.Context, spec Spec, fn func(context.Context) (T, error)) *future.Future[T] {
	return Submit(ctx, From(ctx), spec, fn)
}

// submitUntracked is Submit for work that belongs to no request once
// submitted: a durable task's insert, a periodic schedule.
func submitUntracked[T any](ctx context.Context, l *Loop, spec Spec, forced bool, fn func(context.Context) (T, error)) *future.Future[T] {
	t, f := newTask(l, spec, fn)
	dispatch(ctx, t, ctx, forced)
	return f
}

// dispatch hands t to its loop, or runs it now when it has none. stop, when
// not nil, cancels a synchronous run. forced admits t over the bound.
func dispatch(ctx context.Context, t *task, stop context.Context, forced bool) {
	l := t.loop
	if l == nil {
		t.Context.Init(valuesOf(ctx), stop)
		t.runSync()
		return
	}
	t.Context.Init(valuesOf(ctx), l.stopCtx)
	l.submit(ctx, t, forced)
}

// valuesOf returns a context with ctx's values but not its cancellation or
// deadline. A context that can never be cancelled (Background, or values on
// top of it) is returned as is, which saves WithoutCancel's allocation.
func valuesOf(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (l *Loop) submit(ctx context.Context, t *task, forced bool) {
	l.stats.submitted.Add(1)
	l.live.Add(1)
	if l.closingFlag.Load() && !l.takesDuringShutdown(ctx) {
		l.reject(ctx, t, ErrClosed)
		return
	}
	if t.cancelled.Load() {
		l.settle(t, context.Canceled)
		return
	}
	switch {
	case forced:
		l.backlog.Add(1)
	case l.room.n.Load() == 0 && l.tryAdmit(int64(l.opts.QueueSize)):
		// Room, and nobody waits for it: the fast path.
	case !l.admitSlow(ctx, t):
		return // refused, or run already
	}
	l.place(t)
}

// takesDuringShutdown reports whether a loop that is shutting down still
// takes a task submitted with ctx: one that a running task of the loop
// submits finishes work accepted before, so a graceful Shutdown drains it
// too, until the loop stops hard. Everyone else gets ErrClosed.
func (l *Loop) takesDuringShutdown(ctx context.Context) bool {
	return !l.stoppedFlag.Load() && runningTask(ctx, l) != nil
}

// tryAdmit counts one more task in the backlog if it is below limit.
func (l *Loop) tryAdmit(limit int64) bool {
	for {
		n := l.backlog.Load()
		if n >= limit {
			return false
		}
		if l.backlog.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// admitSlow decides about a task that found the backlog full, or others
// waiting for room: it reports true once the task has its place, and
// false when it was refused or has run (see the package documentation for
// why a task's own submissions never wait).
func (l *Loop) admitSlow(ctx context.Context, t *task) bool {
	limit := int64(l.opts.QueueSize)
	if parent := runningTask(ctx, l); parent != nil {
		switch {
		case l.tryAdmit(limit):
			// Tasks do not queue behind waiters: they finish accepted work.
			return true
		case l.opts.WhenFull == Reject:
		case t.spec.Delay <= 0 && !t.periodic():
			l.runInline(t, parent.depth.Load()+1)
			return false
		case l.tryAdmit(2 * limit):
			return true
		}
		l.reject(ctx, t, ErrQueueFull)
		return false
	}
	if l.opts.WhenFull == Reject {
		if l.tryAdmit(limit) {
			return true
		}
		l.reject(ctx, t, ErrQueueFull)
		return false
	}
	l.stats.queued.Add(1) // a submitter waiting for room counts as queued
	err := l.room.wait(ctx, l.closingCh, func() bool { return l.tryAdmit(limit) })
	l.stats.queued.Add(-1)
	if err != nil {
		if !errors.Is(err, ErrClosed) {
			err = fmt.Errorf("waiting for room in the queue: %w", err)
		}
		l.reject(ctx, t, err)
		return false
	}
	return true
}

// waitRoomForLater makes an after-response task wait, before its
// response, for the room that handing it over after the response will
// take without waiting. It waits under policy Block, in turn with other
// submitters, until there is room or ctx ends (the task goes on anyway:
// the response is coming, and its work must not be lost); it reports
// false when the task was refused: queue full under policy Reject, or the
// loop shut down. It takes no room itself: a request that held room while
// it waited for more could wait for itself.
func (l *Loop) waitRoomForLater(ctx context.Context, t *task) bool {
	limit := int64(l.opts.QueueSize)
	refuse := func(err error) bool {
		l.stats.submitted.Add(1)
		l.live.Add(1)
		l.reject(ctx, t, err)
		return false
	}
	if l.closingFlag.Load() && !l.takesDuringShutdown(ctx) {
		return refuse(ErrClosed)
	}
	room := func() bool { return l.backlog.Load() < limit }
	inTask := runningTask(ctx, l) != nil
	switch {
	case (inTask || l.room.n.Load() == 0) && room():
		return true
	case l.opts.WhenFull == Reject:
		return refuse(ErrQueueFull)
	case inTask:
		return true // a task never waits: see the package documentation
	}
	l.stats.queued.Add(1)
	err := l.room.wait(ctx, l.closingCh, room)
	l.stats.queued.Add(-1)
	if errors.Is(err, ErrClosed) {
		return refuse(ErrClosed)
	}
	return true
}

// leaveBacklog counts a task out of the backlog and admits the first
// submitter waiting for room: one per task gone, so that waiters go at the
// pace of the workers. An empty backlog admits every waiter that fits:
// with no task left to leave it, none would be woken again.
func (l *Loop) leaveBacklog() {
	l.room.wake(l.backlog.Add(-1) == 0)
}

// place puts a task just counted in the backlog where it waits: the timer
// heap for a delay or an interval, else the queue.
func (l *Loop) place(t *task) {
	switch {
	case t.spec.Delay > 0:
		l.after(t, t.spec.Delay)
	case t.periodic():
		l.after(t, t.spec.Every)
	default:
		l.push(t)
	}
}

// push makes t ready and puts it in the queue, or in the overflow when the
// queue is full (its bound is the backlog's, not the channel's): push
// never waits.
func (l *Loop) push(t *task) {
	l.stats.queued.Add(1)
	t.state.Store(taskReady)
	t.signal()
	select {
	case l.queue <- t:
		// A hard stop may have swept the queue just before the send; the
		// task must not sit there unresolved, nor count as queued forever.
		if l.stoppedFlag.Load() {
			l.sweepQueue()
		}
		return
	default:
	}
	l.mu.Lock()
	if l.stoppedFlag.Load() {
		l.mu.Unlock()
		if l.take(t) {
			l.stopTask(t)
		}
		return
	}
	l.overflow = append(l.overflow, t)
	l.overflowN.Add(1)
	l.mu.Unlock()
	// The queue may have drained since the send failed, with every worker
	// now idle: move what fits at once.
	l.pumpOverflow()
}

// take moves t from ready to taken, reporting whether this call did: the
// caller then runs or fails it. Stale entries of the queue (tasks a helper
// took) fail to be taken.
func (l *Loop) take(t *task) bool {
	if !t.state.CompareAndSwap(taskReady, taskTaken) {
		return false
	}
	l.stats.queued.Add(-1)
	l.leaveBacklog()
	return true
}

// pumpOverflow moves tasks from the overflow list into the queue while
// there is room, dropping the stale ones. Workers call it after each task.
func (l *Loop) pumpOverflow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.overflow) > 0 {
		t := l.overflow[0]
		if t.state.Load() == taskReady {
			select {
			case l.queue <- t:
			default:
				return
			}
		}
		l.overflow[0] = nil
		l.overflow = l.overflow[1:]
		l.overflowN.Add(-1)
	}
	l.overflow = nil // let the backing array go
}

// after puts t, counted in the backlog, on the timer heap, due in d.
func (l *Loop) after(t *task, d time.Duration) {
	l.mu.Lock()
	switch {
	case l.stoppedFlag.Load():
		l.mu.Unlock()
		l.leaveBacklog()
		l.stopTask(t)
		return
	case l.state == closing && t.endsAtShutdown():
		l.mu.Unlock()
		l.leaveBacklog()
		l.endAtShutdown(t)
		return
	case t.cancelled.Load():
		// Future.Cancel came after the worker decided to wait but before t
		// was on the heap, where cancel would have found it; cancel sets
		// the flag before it takes l.mu, so one of the two sees the other.
		l.mu.Unlock()
		l.leaveBacklog()
		l.endCancelled(t)
		return
	}
	t.state.Store(taskIdle)
	l.timers.push(timerEntry{at: int64(time.Since(l.epoch) + d), seq: l.timerSeq, t: t})
	l.timerSeq++
	l.stats.waiting.Add(1)
	if t.hi == 1 {
		l.armLocked(d)
	}
	l.mu.Unlock()
}

// armLocked sets the loop's one timer to fire in d.
func (l *Loop) armLocked(d time.Duration) {
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.fire)
		return
	}
	l.timer.Reset(d)
}

// fire moves every due task from the timer heap to the queue, in the order
// they fell due, and sets the timer for the next one. It runs in the
// timer's goroutine; push never waits, so that goroutine is the only one,
// whatever falls due at once (firing holds fireMu, so that a second fire,
// of a timer reset meanwhile, queues its tasks after the first's).
func (l *Loop) fire() {
	l.fireMu.Lock()
	defer l.fireMu.Unlock()
	l.mu.Lock()
	now := int64(time.Since(l.epoch))
	var due []*task
	for len(l.timers) > 0 && l.timers[0].at <= now {
		t := l.timers[0].t
		l.timers.remove(t)
		due = append(due, t)
	}
	if len(l.timers) > 0 {
		l.armLocked(time.Duration(l.timers[0].at - now))
	}
	l.stats.waiting.Add(-int64(len(due)))
	l.mu.Unlock()
	for _, t := range due {
		l.push(t)
	}
}

func (l *Loop) endAtShutdown(t *task) {
	if t.periodic() {
		l.settle(t, nil)
		return
	}
	err := fmt.Errorf("did not start: %w", ErrStopped)
	if l.settleCounting(t, err, &l.notStarted) {
		l.stats.stopped.Add(1)
		l.dropped(t, t, "task not run", err)
	}
}

// unwait takes t off the timer heap, reporting whether it was there.
func (l *Loop) unwait(t *task) bool {
	l.mu.Lock()
	if t.hi == 0 {
		l.mu.Unlock()
		return false
	}
	l.timers.remove(t)
	l.stats.waiting.Add(-1)
	l.mu.Unlock()
	l.leaveBacklog()
	return true
}

// reject resolves a task that the loop did not take, and says so: a log
// line, Stats.Rejected, DropHooks. ctx is the submitter's.
func (l *Loop) reject(ctx context.Context, t *task, err error) {
	if !t.settled.CompareAndSwap(false, true) {
		return
	}
	l.stats.rejected.Add(1)
	l.dropped(ctx, t, "task rejected", err)
	t.finish(err)
	l.live.Add(-1)
	l.checkDrained()
}

// dropped reports a task that will not run, or not to its end: a Warn log
// line with its name, the error and the ID of the request it came from,
// and DropHooks. ctx carries the submitter's values.
func (l *Loop) dropped(ctx context.Context, t *task, msg string, err error) {
	attrs := []any{"task", t.spec.Name, "err", err}
	if id := RequestID(ctx); id != "" {
		attrs = append(attrs, "request_id", id)
	}
	l.opts.Logger.Warn(msg, attrs...)
	if h, ok := l.opts.Hooks.(DropHooks); ok {
		h.TaskDropped(ctx, Event{
			Name: t.spec.Name, Queue: t.spec.Queue,
			Attempt: int(t.attempts.Load()), MaxAttempts: t.spec.Retries + 1,
			Started: time.Now(), Err: err,
		})
	}
}

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

// finish releases t's context and resolves its future, wrapping an error in
// a *TaskError, then wakes the goroutines that help it.
func (t *task) finish(err error) {
	t.Context.Cancel(context.Canceled)
	if err != nil {
		var te *TaskError
		if !errors.As(err, &te) || te.Name != t.spec.Name {
			err = &TaskError{Name: t.spec.Name, Attempts: int(t.attempts.Load()), Err: err}
		}
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

// help runs t, which a goroutine inside another task of l awaits, in that
// goroutine whenever t is ready (now, or once its timer fires), until t
// has resolved or ctx ends; a t running elsewhere is waited for. The
// awaiting task's worker is blocked anyway, so running t there keeps the
// number of tasks at work where it was, and no worker waits on a task that
// no worker is left to run.
func (l *Loop) help(ctx context.Context, t *task, depth int32) {
	for !t.settled.Load() && ctx.Err() == nil {
		if l.take(t) {
			l.runInline(t, depth)
			continue // a retry may bring it back
		}
		ch := t.waitChan()
		if t.settled.Load() || t.state.Load() == taskReady {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// runInline runs t now, for a task that submitted it to a full queue or
// awaits it, depth tasks deep, and returns once t's attempt has ended. It
// runs t in the calling goroutine, or, past maxInlineDepth, in a new one
// that it waits for, so that a chain of tasks of any length never
// overflows a stack.
func (l *Loop) runInline(t *task, depth int32) {
	if depth <= maxInlineDepth {
		l.executeInline(t, depth)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.executeInline(t, 1)
	}()
	<-done
}

// cancel is the task future's Cancel: it cancels the task's context and
// ends it now if it is waiting on a timer or has not been dispatched yet.
func (t *task) cancel() {
	if t.settled.Load() || !t.cancelled.CompareAndSwap(false, true) {
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

// execute runs one attempt of t in worker slot and decides what follows.
func (l *Loop) execute(slot int, t *task) {
	if t.settled.Load() {
		return // failed by a hard stop while queued
	}
	// Publish t before looking at stoppedFlag: a hard stop sets the flag
	// before it sweeps the running slots, so either it finds t here or t
	// sees the flag.
	l.running[slot].Store(t)
	t.depth.Store(0)
	if l.startAttempt(t) {
		err := t.attempt(l) // runtime.Goexit leaves here with t in its slot: see work
		l.stats.running.Add(-1)
		// t stays in its slot until its fate is decided (retry, settle,
		// reschedule), so that a hard stop in between finds it there and
		// fails it with ErrStopped.
		l.decide(t, err)
	}
	l.running[slot].Store(nil)
}

// executeInline is execute for a task run in the goroutine of a task that
// submitted or awaits it, depth tasks deep.
func (l *Loop) executeInline(t *task, depth int32) {
	if t.settled.Load() {
		return
	}
	// Published for the hard stop, as execute publishes in its slot.
	l.mu.Lock()
	if l.inline == nil {
		l.inline = make(map[*task]struct{})
	}
	l.inline[t] = struct{}{}
	l.mu.Unlock()
	t.depth.Store(depth)
	l.stats.inline.Add(1)
	goexit := true
	defer func() {
		l.mu.Lock()
		delete(l.inline, t)
		l.mu.Unlock()
		if goexit {
			// runtime.Goexit in t's function unwinds the goroutine that
			// runs it, its parent's worker included (see work); t itself
			// must not be left unresolved.
			l.stats.running.Add(-1)
			l.settle(t, ErrGoexit)
		}
	}()
	if l.startAttempt(t) {
		err := t.attempt(l)
		l.stats.running.Add(-1)
		l.decide(t, err)
	}
	goexit = false
}

// startAttempt starts an attempt of t, just published as running; it
// reports false, having ended t, when t was cancelled or the loop stopped.
func (l *Loop) startAttempt(t *task) bool {
	switch {
	case t.cancelled.Load():
		l.settle(t, context.Canceled)
		return false
	case l.stoppedFlag.Load():
		l.stopTask(t)
		return false
	}
	t.begin()
	l.stats.running.Add(1)
	return true
}

// decide does what follows an attempt of t that ended with err: a retry,
// the task's end, or a periodic task's next run. A task that waits again
// takes its place in the backlog without asking: it was accepted once.
func (l *Loop) decide(t *task, err error) {
	if err != nil && t.shouldRetry(err) {
		l.stats.retried.Add(1)
		d := t.spec.RetryDelay(int(t.attempts.Load()), l.opts.MaxBackoff)
		l.opts.Logger.Debug("task failed, retrying", "task", t.spec.Name, "attempt", t.attempts.Load(), "retry_in", d, "err", err)
		l.backlog.Add(1)
		l.after(t, d)
		return
	}
	if err != nil {
		l.opts.Logger.Warn("task failed", "task", t.spec.Name, "attempts", t.attempts.Load(), "err", err)
	}
	if !t.periodic() {
		l.settle(t, err)
		return
	}
	l.stats.runs.Add(1)
	t.attempts.Store(0)
	if t.cancelled.Load() {
		l.settle(t, nil)
		return
	}
	l.backlog.Add(1)
	l.after(t, time.Until(t.runStart.Add(t.spec.Every)))
}

func (t *task) shouldRetry(err error) bool {
	var p permanentError
	return int(t.attempts.Load()) <= t.spec.Retries &&
		!t.cancelled.Load() &&
		t.Err() == nil &&
		!errors.As(err, &p)
}

// begin counts the start of an attempt; the first of a periodic run sets
// runStart, from which the next run is scheduled.
func (t *task) begin() {
	if t.attempts.Add(1) == 1 && t.periodic() {
		t.runStart = time.Now()
	}
}

// attempt runs the function once under the task's timeout, turning a panic
// or runtime.Goexit into an error. l may be nil (synchronous run).
func (t *task) attempt(l *Loop) (err error) {
	ctx := context.Context(t)
	if t.spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.spec.Timeout)
		defer cancel()
	}
	var hooks Hooks
	if l != nil {
		hooks = l.opts.Hooks
	}
	var ev Event // only with hooks: time.Now is a good part of a trivial task's cost
	if hooks != nil {
		ev = Event{Name: t.spec.Name, Queue: t.spec.Queue, Attempt: int(t.attempts.Load()), MaxAttempts: t.spec.Retries + 1, Started: time.Now()}
		if hctx := hooks.TaskStarted(ctx, ev); hctx != nil {
			ctx = hctx
		}
	}
	returned, goexit := false, false
	defer func() {
		if !returned {
			if r := recover(); r != nil {
				err = &future.PanicError{Value: r, Stack: debug.Stack()}
				if l != nil {
					l.stats.panicked.Add(1)
					l.opts.Logger.Error("task panicked", "task", t.spec.Name, "attempt", t.attempts.Load(), "panic", r, "stack", string(err.(*future.PanicError).Stack))
				}
			} else {
				err, goexit = ErrGoexit, true
			}
		}
		if hooks != nil {
			ev.Duration = time.Since(ev.Started)
			ev.Err = err
			// Goexit cannot be stopped: the task fails, it is never retried.
			ev.Retrying = err != nil && !goexit && t.shouldRetry(err)
			hooks.TaskFinished(ctx, ev)
		}
	}()
	err = t.impl.call(ctx)
	returned = true
	return err
}

// runSync runs t in the calling goroutine: the loop-less mode.
func (t *task) runSync() {
	if t.cancelled.Load() {
		t.settleSync(context.Canceled)
		return
	}
	for {
		err := t.attemptSync()
		if err == nil || !t.shouldRetry(err) {
			t.settleSync(err)
			return
		}
		timer := time.NewTimer(t.spec.RetryDelay(int(t.attempts.Load()), time.Minute))
		select {
		case <-timer.C:
		case <-t.Done():
			timer.Stop()
			t.settleSync(err)
			return
		}
	}
}

// attemptSync is attempt for a synchronous run, where runtime.Goexit must
// still resolve the future before it unwinds the caller.
func (t *task) attemptSync() error {
	exited := true
	defer func() {
		if exited {
			t.settleSync(ErrGoexit)
		}
	}()
	t.begin()
	err := t.attempt(nil)
	exited = false
	return err
}

func (t *task) settleSync(err error) {
	if t.settled.CompareAndSwap(false, true) {
		t.finish(err)
	}
}

// Hooks is told when each attempt of a task starts and finishes, so that
// metrics and tracing can be attached without the loop depending on them;
// implement DropHooks too to hear of tasks that did not run.
// Its methods run in the worker, around the task's function: they must be
// quick and safe for concurrent use.
type Hooks interface {
	// TaskStarted is called before an attempt. The context it returns, when
	// not nil, becomes the attempt's context (for a tracing span).
	TaskStarted(ctx context.Context, e Event) context.Context
	// TaskFinished is called after an attempt, with Duration, Err and
	// Retrying set.
	TaskFinished(ctx context.Context, e Event)
}

// DropHooks is implemented by Hooks that also want to hear of every task
// that did not run, or not to its end, for a metric of lost work: refused
// when submitted (Stats.Rejected: queue full, loop shut down, the
// submitter's context ended while it waited for room), failed with
// ErrStopped by Shutdown (Stats.Stopped: a delayed task that had not
// started, a task that a Shutdown deadline cut off), or dropped with its
// request scope (a handler that panicked). The loop checks for it with a
// type assertion on Options.Hooks, so Hooks written before it keep working.
type DropHooks interface {
	Hooks
	// TaskDropped is called once per such task, with Err saying why and
	// Attempt the number of attempts it had started. ctx carries the
	// values of the submitter's context (see RequestID). It runs in the
	// goroutine that dropped the task, possibly the submitter's: it must
	// be quick and safe for concurrent use.
	TaskDropped(ctx context.Context, e Event)
}

// Event describes one attempt of a task, or a task that did not run.
type Event struct {
	Name        string
	Queue       string
	Attempt     int // 1 for the first attempt; for TaskDropped, the attempts started
	MaxAttempts int // Spec.Retries + 1
	Started     time.Time
	Duration    time.Duration // TaskFinished only
	Err         error         // TaskFinished and TaskDropped only
	Retrying    bool          // TaskFinished only: another attempt will follow
}

// LogValue lets slog print an Event as a group.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("name", e.Name), slog.Int("attempt", e.Attempt)}
	if e.Duration > 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.Any("err", e.Err))
	}
	return slog.GroupValue(attrs...)
}
