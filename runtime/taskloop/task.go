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

// task is the untyped state of one submitted task, owned by one goroutine
// at a time: the submitter, then a worker or a timer, handed over through
// the queue or the loop's mutex.
type task struct {
	loop     *Loop // nil when running synchronously
	spec     Spec
	ctx      runctx.Context
	impl     runner
	attempts atomic.Int32 // attempts started in the current run
	runStart time.Time
	timer    *time.Timer // guarded by loop.mu

	settled   atomic.Bool
	cancelled atomic.Bool
	scope     *Scope // the request scope of an after-response task, or nil
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
func newTask[T any](l *Loop, spec Spec, fn func(context.Context) (T, error), scope *Scope) (*task, *future.Future[T]) {
	t := &typedTask[T]{fn: fn}
	t.loop = l
	t.spec = spec
	t.scope = scope
	t.impl = t
	f, p := future.NewPromise[T](&t.task)
	t.promise = p
	return &t.task, f
}

// CheckAwait makes awaiting an after-response task inside its own request
// fail at once (future.Producer).
func (t *task) CheckAwait(ctx context.Context) error {
	if t.scope == nil {
		return nil
	}
	return t.scope.checkAwait(ctx)
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
// otherwise. Every submitted task's future resolves exactly once.
func Submit[T any](ctx context.Context, l *Loop, spec Spec, fn func(context.Context) (T, error)) *future.Future[T] {
	t, f := newTask(l, spec, fn, nil)
	dispatch(ctx, t, ctx)
	return f
}

// Async submits fn to the loop found in ctx (WithLoop) or the process
// default (SetDefault); with neither, it runs fn synchronously, as Submit
// does with a nil loop.
func Async[T any](ctx context.Context, spec Spec, fn func(context.Context) (T, error)) *future.Future[T] {
	return Submit(ctx, From(ctx), spec, fn)
}

// dispatch hands t to its loop, or runs it now when it has none. stop, when
// not nil, cancels a synchronous run.
func dispatch(ctx context.Context, t *task, stop context.Context) {
	l := t.loop
	if l == nil {
		t.ctx.Init(valuesOf(ctx), stop)
		t.runSync()
		return
	}
	t.ctx.Init(valuesOf(ctx), l.stopCtx)
	l.submit(ctx, t)
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

func (l *Loop) submit(ctx context.Context, t *task) {
	l.stats.submitted.Add(1)
	l.live.Add(1)
	if l.closingFlag.Load() {
		l.reject(t, ErrClosed)
		return
	}
	switch {
	case t.cancelled.Load():
		l.settle(t, context.Canceled)
	case t.spec.Delay > 0:
		l.after(t, t.spec.Delay)
	case t.periodic():
		l.after(t, t.spec.Every)
	default:
		l.enqueue(ctx, t)
	}
}

// enqueue puts a newly submitted task in the queue under the loop's policy.
func (l *Loop) enqueue(ctx context.Context, t *task) {
	l.stats.queued.Add(1)
	select {
	case l.queue <- t:
	default:
		if l.opts.WhenFull == Reject {
			l.stats.queued.Add(-1)
			l.reject(t, ErrQueueFull)
			return
		}
		select {
		case l.queue <- t:
		case <-ctx.Done():
			l.stats.queued.Add(-1)
			// Wrap the context's error, and its cause when that differs,
			// so that errors.Is finds both.
			err := ctx.Err()
			if cause := context.Cause(ctx); cause != err {
				err = fmt.Errorf("%w: %w", err, cause)
			}
			l.reject(t, fmt.Errorf("waiting for room in the queue: %w", err))
			return
		case <-l.closingCh:
			l.stats.queued.Add(-1)
			l.reject(t, ErrClosed)
			return
		}
	}
	// A hard stop may have swept the queue just before the send; the task
	// must not sit there unresolved, nor count as queued forever.
	if l.stoppedFlag.Load() {
		l.sweepQueue()
	}
}

// requeue puts a task whose timer fired back in the queue. It runs in the
// timer's goroutine, so it may wait for room.
//
// A full queue does not hold the timer's goroutine: the task waits in the
// loop's overflow list, which workers empty into the queue as it drains,
// so that any number of delayed tasks firing at once costs no goroutines.
func (l *Loop) requeue(t *task) {
	l.stats.queued.Add(1)
	select {
	case l.queue <- t:
		if l.stoppedFlag.Load() {
			l.sweepQueue()
		}
		return
	default:
	}
	l.mu.Lock()
	if l.stoppedFlag.Load() {
		l.mu.Unlock()
		l.stats.queued.Add(-1)
		l.stopTask(t)
		return
	}
	l.overflow = append(l.overflow, t)
	l.mu.Unlock()
	// The queue may have drained since the send failed, with every worker
	// now idle: move what fits at once.
	l.pumpOverflow()
}

// pumpOverflow moves tasks from the overflow list into the queue while
// there is room. Workers call it after each task.
func (l *Loop) pumpOverflow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.overflow) > 0 {
		select {
		case l.queue <- l.overflow[0]:
			l.overflow[0] = nil
			l.overflow = l.overflow[1:]
		default:
			return
		}
	}
	l.overflow = nil // let the backing array go
}

// after runs t again (or for the first time) after d.
func (l *Loop) after(t *task, d time.Duration) {
	l.mu.Lock()
	switch {
	case l.stoppedFlag.Load():
		l.mu.Unlock()
		l.stopTask(t)
		return
	case l.state == closing && t.endsAtShutdown():
		l.mu.Unlock()
		l.endAtShutdown(t)
		return
	case t.cancelled.Load():
		// Future.Cancel came after the worker decided to wait but before t
		// was in waiting, where cancel would have found it; cancel sets the
		// flag before it takes l.mu, so one of the two sees the other.
		l.mu.Unlock()
		l.endCancelled(t)
		return
	}
	l.waiting[t] = struct{}{}
	l.stats.waiting.Add(1)
	t.timer = time.AfterFunc(d, func() { l.wake(t) })
	l.mu.Unlock()
}

func (l *Loop) endAtShutdown(t *task) {
	if t.periodic() {
		l.settle(t, nil)
		return
	}
	l.settle(t, fmt.Errorf("did not start: %w", ErrStopped))
}

// unwait removes t from the waiting set, reporting whether it was there.
func (l *Loop) unwait(t *task) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.waiting[t]; !ok {
		return false
	}
	delete(l.waiting, t)
	t.timer.Stop()
	l.stats.waiting.Add(-1)
	return true
}

func (l *Loop) wake(t *task) {
	if !l.unwait(t) {
		return // Cancel, Shutdown or a hard stop took it first
	}
	l.requeue(t)
}

// reject resolves a task that the loop did not take.
func (l *Loop) reject(t *task, err error) {
	if !t.settled.CompareAndSwap(false, true) {
		return
	}
	l.stats.rejected.Add(1)
	t.finish(err)
	l.live.Add(-1)
	l.checkDrained()
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
// a *TaskError.
func (t *task) finish(err error) {
	t.ctx.Cancel(context.Canceled)
	if err != nil {
		var te *TaskError
		if !errors.As(err, &te) || te.Name != t.spec.Name {
			err = &TaskError{Name: t.spec.Name, Attempts: int(t.attempts.Load()), Err: err}
		}
	}
	t.impl.resolve(err)
}

// cancel is the task future's Cancel: it cancels the task's context and
// ends it now if it is waiting on a timer or has not been dispatched yet.
func (t *task) cancel() {
	if t.settled.Load() || !t.cancelled.CompareAndSwap(false, true) {
		return
	}
	t.ctx.Cancel(context.Canceled)
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
	switch {
	case t.cancelled.Load():
		l.running[slot].Store(nil)
		l.settle(t, context.Canceled)
		return
	case l.stoppedFlag.Load():
		l.running[slot].Store(nil)
		l.stopTask(t)
		return
	}
	t.begin()
	l.stats.running.Add(1)
	err := t.attempt(l) // runtime.Goexit leaves here with t in its slot: see work
	l.stats.running.Add(-1)
	// t stays in its slot until its fate is decided (retry, settle,
	// reschedule), so that a hard stop in between finds it there and
	// fails it with ErrStopped.
	l.decide(t, err)
	l.running[slot].Store(nil)
}

// decide does what follows an attempt of t that ended with err: a retry,
// the task's end, or a periodic task's next run.
func (l *Loop) decide(t *task, err error) {
	if err != nil && t.shouldRetry(err) {
		l.stats.retried.Add(1)
		d := t.spec.RetryDelay(int(t.attempts.Load()), l.opts.MaxBackoff)
		l.opts.Logger.Debug("task failed, retrying", "task", t.spec.Name, "attempt", t.attempts.Load(), "retry_in", d, "err", err)
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
	l.after(t, time.Until(t.runStart.Add(t.spec.Every)))
}

func (t *task) shouldRetry(err error) bool {
	var p permanentError
	return int(t.attempts.Load()) <= t.spec.Retries &&
		!t.cancelled.Load() &&
		t.ctx.Err() == nil &&
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
	ctx := context.Context(&t.ctx)
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
		case <-t.ctx.Done():
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
// metrics and tracing can be attached without the loop depending on them.
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

// Event describes one attempt of a task.
type Event struct {
	Name        string
	Queue       string
	Attempt     int // 1 for the first attempt
	MaxAttempts int // Spec.Retries + 1
	Started     time.Time
	Duration    time.Duration // TaskFinished only
	Err         error         // TaskFinished only
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
