package taskloop

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/internal/runctx"
)

// help runs t, which a goroutine inside another task of l awaits, in that
// goroutine whenever t is ready (now, or once its timer fires), until t
// has resolved or ctx ends; a t running elsewhere is waited for. The
// awaiting task's worker is blocked anyway, so running t there keeps the
// number of tasks at work where it was, and no worker waits on a task that
// no worker is left to run.
func (l *Loop) help(ctx context.Context, t, parent *task, depth int32) {
	for !t.settled.Load() && ctx.Err() == nil {
		if l.take(t) || l.unparkFor(t, parent) {
			l.runInline(t, parent, depth)
			continue // a retry may bring it back
		}
		ch := t.waitChan()
		if t.settled.Load() || t.state.Load() == taskReady {
			continue
		}
		if l.unparkFor(t, parent) {
			// Put aside for its limit since the look above (acquire
			// signals, which the wait below would see).
			l.runInline(t, parent, depth)
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// runInline runs t now, for a task (parent) that submitted it to a full
// queue or awaits it, depth tasks deep, and returns once t's attempt has
// ended, or t waits for a slot of its Spec.Limit. It runs t in the calling
// goroutine, or, past maxInlineDepth, in a new one that it waits for, so
// that a chain of tasks of any length never overflows a stack.
func (l *Loop) runInline(t, parent *task, depth int32) {
	if depth <= maxInlineDepth {
		l.executeInline(t, parent, depth)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.executeInline(t, parent, 1)
	}()
	<-done
}

// execute runs one attempt of t in worker slot and decides what follows.
func (l *Loop) execute(slot int, t *task) {
	if t.settled.Load() {
		l.release(t) // a slot handed to it while it waited
		return       // failed by a hard stop while queued
	}
	// Publish t before looking at stoppedFlag: a hard stop sets the flag
	// before it sweeps the running slots, so either it finds t here or t
	// sees the flag.
	l.running[slot].Store(t)
	t.depth.Store(0)
	if !l.acquire(t, nil) {
		l.running[slot].Store(nil) // it waits for a slot of its limit
		return
	}
	if l.startAttempt(t) {
		actx, err := t.attempt(l) // runtime.Goexit leaves here with t in its slot: see work
		l.stats.running.Add(-1)
		l.release(t)
		// t stays in its slot until its fate is decided (retry, settle,
		// reschedule), so that a hard stop in between finds it there and
		// fails it with ErrStopped.
		l.decide(actx, t, err)
	} else {
		l.release(t)
	}
	l.running[slot].Store(nil)
}

// executeInline is execute for a task run in the goroutine of a task that
// submitted or awaits it, depth tasks deep.
func (l *Loop) executeInline(t, parent *task, depth int32) {
	if t.settled.Load() {
		l.release(t)
		return
	}
	if !l.acquire(t, parent) {
		return // it waits for a slot of its limit
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
			l.release(t)
			l.settle(t, ErrGoexit)
		}
	}()
	if l.startAttempt(t) {
		actx, err := t.attempt(l)
		l.stats.running.Add(-1)
		l.release(t)
		l.decide(actx, t, err)
	} else {
		l.release(t)
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
// actx is the attempt's context, for the log.
func (l *Loop) decide(actx context.Context, t *task, err error) {
	if err != nil && t.shouldRetry(err) {
		l.stats.retried.Add(1)
		d := t.spec.RetryDelay(int(t.attempts.Load()), l.opts.MaxBackoff)
		l.log(actx, slog.LevelDebug, "task failed, retrying", "task", t.spec.Name, "attempt", t.attempts.Load(), "retry_in", d, "err", err)
		l.backlog.Add(1)
		l.after(t, d)
		return
	}
	if err != nil {
		l.log(actx, slog.LevelWarn, "task failed", "task", t.spec.Name, "attempts", t.attempts.Load(), "err", err)
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
	next, ok := t.spec.nextRun(t.runStart, time.Now())
	if !ok {
		l.scheduleEnded(t)
		return
	}
	if t.spec.Every <= 0 {
		t.runStart = next // the time the run is due, for the one after
	}
	l.backlog.Add(1)
	l.after(t, time.Until(next))
}

// scheduleEnded ends a periodic task whose schedule has no next time (a
// cron expression that never fires again), with its last run's value.
func (l *Loop) scheduleEnded(t *task) {
	l.opts.Logger.Info("periodic task ended: its schedule has no next time", "task", t.spec.Name)
	l.settle(t, nil)
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
	if t.attempts.Add(1) == 1 && t.spec.Every > 0 {
		t.runStart = time.Now()
	}
}

// attempt runs the function once under the task's timeout, turning a panic
// or runtime.Goexit into an error, and returns the attempt's context (the
// one Hooks.TaskStarted returned, for the logs that follow) with the
// error. l may be nil (synchronous run).
//
// The attempt's context is not cancelled when the function returns: what a
// successful attempt returns may go on using it until its timeout (see
// finish). A failed attempt's is, at once, as its value is dropped.
func (t *task) attempt(l *Loop) (actx context.Context, err error) {
	ctx := context.Context(t)
	if t.spec.Timeout > 0 {
		timeout := runctx.NewTimeout(t, t.spec.Timeout)
		defer func() {
			if err != nil {
				timeout.Stop()
			}
		}()
		ctx = timeout
	}
	var hooks Hooks
	if l != nil {
		hooks = l.opts.Hooks
	}
	var ev Event // only with hooks: time.Now is a good part of a trivial task's cost
	if hooks != nil {
		ev = Event{
			Name: t.spec.Name, Queue: t.spec.Queue, Durable: t.spec.Durable, Enqueue: t.spec.enqueue,
			Attempt: int(t.attempts.Load()), MaxAttempts: t.spec.Retries + 1, Started: time.Now(),
		}
		if hctx := hooks.TaskStarted(ctx, ev); hctx != nil {
			ctx = hctx
		}
	}
	returned, goexit := false, false
	defer func() {
		actx = ctx // also after a panic
		if !returned {
			if r := recover(); r != nil {
				err = &future.PanicError{Value: r, Stack: debug.Stack()}
				if l != nil {
					l.stats.panicked.Add(1)
					l.log(ctx, slog.LevelError, "task panicked", "task", t.spec.Name, "attempt", t.attempts.Load(), "panic", r, "stack", string(err.(*future.PanicError).Stack))
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
	return ctx, err
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
	_, err := t.attempt(nil)
	exited = false
	return err
}

func (l *Loop) work(slot int) {
	quit := false
	defer func() {
		if !quit {
			// A task called runtime.Goexit, which no recover stops: fail
			// it and put a new worker in this one's slot.
			if t := l.running[slot].Swap(nil); t != nil {
				l.stats.running.Add(-1)
				l.release(t)
				l.settle(t, ErrGoexit)
			}
			go l.work(slot)
			return
		}
		if l.workersLeft.Add(-1) == 0 {
			close(l.exited)
		}
	}()
	for {
		select {
		case t := <-l.queue:
			// The queue may hold a task that a goroutine awaiting it has
			// taken already: take reports which entry is the live one.
			if l.take(t) {
				l.execute(slot, t)
			}
			if l.overflowN.Load() > 0 {
				l.pumpOverflow()
			}
		case <-l.quit:
			quit = true
			return
		}
	}
}
