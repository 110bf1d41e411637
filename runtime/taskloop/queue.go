package taskloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

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
	f := submitQuiet(ctx, l, spec, fn)
	notifySubmitted(ctx, l, spec, any(nil), false, false, f)
	return f
}

// submitQuiet is Submit without telling SubmitHooks: for the submissions
// that AsyncDurable and LaterDurable make, which tell them themselves.
func submitQuiet[T any](ctx context.Context, l *Loop, spec Spec, fn func(context.Context) (T, error)) *future.Future[T] {
	t, f := newTask(l, spec, fn)
	return submitTask(ctx, l, t, f)
}

// submitTask is Submit for a task made already: t, of future f.
func submitTask[T any](ctx context.Context, l *Loop, t *task, f *future.Future[T]) *future.Future[T] {
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

// AsyncWith is Async for generated code, which also hands over the task's
// arguments: args, the struct of the parameters that fn passes on. The
// loop never reads them; it gives them to SubmitHooks (see Submission),
// and costs nothing more when there are none.
func AsyncWith[A, T any](ctx context.Context, spec Spec, args A, fn func(context.Context) (T, error)) *future.Future[T] {
	l := From(ctx)
	f := submitQuiet(ctx, l, spec, fn)
	notifySubmitted(ctx, l, spec, args, false, false, f)
	return f
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
		// The task's context follows the caller's after the function has
		// returned too, weakly (see finish). Linking weakly from the start
		// costs less than relinking then; while the task runs, its
		// goroutine holds it.
		t.Context.Release()
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
			l.runInline(t, parent, parent.depth.Load()+1)
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
	case t.spec.Every > 0:
		l.after(t, t.spec.Every)
	case t.periodic():
		next, ok := t.spec.nextRun(time.Time{}, time.Now())
		if !ok {
			l.leaveBacklog()
			l.scheduleEnded(t)
			return
		}
		t.runStart = next
		l.after(t, time.Until(next))
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
	l.log(ctx, slog.LevelWarn, msg, "task", t.spec.Name, "err", err)
	if h, ok := l.opts.Hooks.(DropHooks); ok {
		h.TaskDropped(ctx, Event{
			Name: t.spec.Name, Queue: t.spec.Queue, Durable: t.spec.Durable, Enqueue: t.spec.enqueue,
			Attempt: int(t.attempts.Load()), MaxAttempts: t.spec.Retries + 1,
			Started: time.Now(), Err: err,
		})
	}
}

// log writes a line about a task to the loop's logger with ctx, the
// submitter's or the attempt's, so that a handler can add the trace that
// ctx carries (runtime/telemetry's does), and with the ID of the request
// that submitted the task, when there was one.
func (l *Loop) log(ctx context.Context, level slog.Level, msg string, attrs ...any) {
	if !l.opts.Logger.Enabled(ctx, level) {
		return
	}
	if id := RequestID(ctx); id != "" {
		attrs = append(attrs, "request_id", id)
	}
	l.opts.Logger.Log(ctx, level, msg, attrs...)
}

// gate is where submitters wait for room in the queue (policy Block), in
// the order they came: while any waits, a newcomer queues behind it, and
// whoever frees room admits the first waiter on its behalf (calling its
// admit function), so that a newcomer cannot take the room that a waiter
// was woken for.
type gate struct {
	// n counts the waiters, those about to register included; whoever
	// frees room reads it after freeing, and a waiter registers before it
	// checks for room one last time, so that one of the two sees the
	// other.
	n       atomic.Int32
	mu      sync.Mutex
	waiters []*waiter
}

type waiter struct {
	ch    chan struct{} // closed once admitted
	admit func() bool   // called with the gate locked
}

// wait returns nil once admit, called with the gate locked by wait or by
// wake, has reported true; or an error when ctx ends (its error, with its
// cause) or when closing is closed (ErrClosed), unless admit reported true
// first.
func (g *gate) wait(ctx context.Context, closing <-chan struct{}, admit func() bool) error {
	g.mu.Lock()
	g.n.Add(1)
	if len(g.waiters) == 0 && admit() {
		g.n.Add(-1)
		g.mu.Unlock()
		return nil
	}
	w := &waiter{ch: make(chan struct{}), admit: admit}
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()
	var err error
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		// Wrap the context's error, and its cause when that differs,
		// so that errors.Is finds both.
		err = ctx.Err()
		if cause := context.Cause(ctx); cause != err {
			err = fmt.Errorf("%w: %w", err, cause)
		}
	case <-closing:
		err = ErrClosed
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.waiters, w); i >= 0 {
		g.waiters = slices.Delete(g.waiters, i, i+1)
		g.n.Add(-1)
		return err
	}
	return nil // admitted as it gave up: it has its room
}

// wake admits the waiters in order while their admit reports true: the
// first only, or, with all, every one that fits.
func (g *gate) wake(all bool) {
	if g.n.Load() == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for len(g.waiters) > 0 && g.waiters[0].admit() {
		close(g.waiters[0].ch)
		g.waiters[0] = nil
		g.waiters = g.waiters[1:]
		g.n.Add(-1)
		if !all {
			return
		}
	}
}
