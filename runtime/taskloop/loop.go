package taskloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrQueueFull is the error of a task refused because the queue was full
	// and the policy is Reject, or because a task submitted from inside a
	// task found even the extra room of such submissions taken (see the
	// package documentation).
	ErrQueueFull = errors.New("taskloop: queue is full")
	// ErrClosed is the error of a task submitted after Shutdown began.
	ErrClosed = errors.New("taskloop: loop is shut down")
	// ErrStopped is the error of an accepted task that did not finish because
	// the loop stopped: Shutdown's context ended first, Start's context was
	// cancelled, or the task was waiting for its delay when Shutdown began.
	ErrStopped = errors.New("taskloop: loop stopped before the task finished")
)

// Policy says what submitting does when the queue is full.
type Policy int

const (
	// Block waits for room in the queue until the submitter's context ends,
	// then fails the task with the context's error. It is the default: it
	// slows producers down to the pace of the workers. Tasks submitted from
	// inside a task of the loop never wait: see the package documentation.
	Block Policy = iota
	// Reject fails the task at once with an error matching ErrQueueFull.
	Reject
)

// String returns "block" or "reject".
func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Options configure a Loop. The zero value gives the defaults stated on
// each field.
type Options struct {
	// Workers is how many tasks run at once. Default: 4 × GOMAXPROCS, since
	// background tasks mostly wait on the network (mail, HTTP, databases)
	// rather than compute.
	Workers int
	// QueueSize is how many accepted tasks may wait: for a worker, for a
	// delay, for a periodic task's next run, or for a retry. Default: 1024.
	// A new task beyond it gets WhenFull. Tasks coming back from a run (to
	// retry, or for a periodic task's next run), after-response tasks
	// handed over once their response is written, and schedules started by
	// Register are never refused, so the count may pass QueueSize by that
	// many; delayed and periodic tasks submitted by tasks may pass it by
	// up to QueueSize more (see the package documentation).
	QueueSize int
	// WhenFull is what submitting does when the queue is full. Default: Block.
	WhenFull Policy
	// MaxBackoff caps the wait between two attempts of a task. Default: 1 minute.
	MaxBackoff time.Duration
	// Logger receives the loop's logs: a task's final failure and a task
	// that did not run at Warn, a panic at Error with its stack, retries at
	// Debug. Default: slog.Default().
	Logger *slog.Logger
	// Hooks, when not nil, is told when each attempt starts and finishes,
	// for metrics or tracing, and, if it implements DropHooks, of every
	// task that did not run.
	Hooks Hooks
	// Backend, when not nil, stores and runs durable tasks (Spec.Durable)
	// instead of this loop: see Backend and runtime/durable. The loop
	// starts it in Start and stops it at the end of Shutdown. Default: none,
	// and durable tasks run here, which the loop logs once.
	Backend Backend
	// DurableJSON, on a loop without a Backend, runs each durable task as
	// a backend's worker runs its job: its arguments are encoded as JSON
	// when it is submitted, and its registered Definition.RunJSON decodes
	// and runs them, so that arguments that would not survive the trip
	// (unexported fields, values that do not encode or decode alike) fail
	// here too. A durable task that is not registered with the loop then
	// fails with ErrNotRegistered. runtime/futurestest sets it. Default:
	// false, and durable tasks run with their arguments as passed.
	DurableJSON bool
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

type loopState int

const (
	created loopState = iota
	started
	closing
)

// maxInlineDepth bounds how deep tasks run inside one another's goroutine
// (a task run by the task that submitted or awaited it, which may do the
// same), at a few KiB of stack each; past it, runInline goes on in a fresh
// goroutine.
const maxInlineDepth = 128

// Loop is an in-process task loop. Create it with New, then Start it; every
// method is safe for concurrent use.
type Loop struct {
	opts        Options
	submitHooks SubmitHooks // Options.Hooks, when it implements SubmitHooks
	queue       chan *task  // ready tasks; those that do not fit wait in overflow

	// backlog counts the accepted tasks that wait: ready (in the queue or
	// its overflow) or on the timer heap. New tasks are admitted while it
	// is below QueueSize; room wakes the submitters that wait for it.
	backlog atomic.Int64
	room    gate

	// stopCtx ends when the loop stops hard: running tasks see their
	// contexts cancelled.
	stopCtx    context.Context
	stopCancel context.CancelCauseFunc

	// closingFlag is set when Shutdown begins; submitting increments live
	// before it reads closingFlag, and Shutdown sets it before it reads live,
	// so that one of the two always sees the other.
	closingFlag atomic.Bool
	stoppedFlag atomic.Bool
	live        atomic.Int64
	closingCh   chan struct{} // closed when Shutdown begins
	drained     chan struct{} // closed when live reaches 0 after closing
	drainOnce   sync.Once
	quit        chan struct{} // closed to end the workers
	exited      chan struct{} // closed when the last worker has returned
	workersLeft atomic.Int64

	// epoch is the origin of the timer heap's times, whose monotonic
	// clock they share.
	epoch time.Time

	fireMu sync.Mutex // held by fire, around l.mu

	mu             sync.Mutex
	state          loopState
	manual         bool        // driven by runtime/futurestest: see manual.go
	timers         timerHeap   // tasks waiting for a delay, an interval or a retry
	timer          *time.Timer // fires when timers[0] is due; nil until first needed
	timerSeq       uint64      // orders tasks due at the same time
	overflow       []*task     // ready tasks that did not fit in the queue
	overflowN      atomic.Int64
	inline         map[*task]struct{} // tasks running in a submitter's or awaiter's goroutine
	running        []atomic.Pointer[task]
	stopStartCtx   func() bool
	shutdownErr    error
	shutdownDone   chan struct{}
	defs           map[string]*Definition
	warnNotDurable sync.Once
	unstarted      []*Definition       // periodic definitions registered before Start
	limits         map[string]*limiter // by task name, for tasks with Spec.Limit
	baseCtx        context.Context     // Start's context without its cancellation

	unique uniqueSet // tasks with Spec.Unique

	stats      counters
	unfinished atomic.Int64 // tasks failed by the hard stop
	notStarted atomic.Int64 // delayed tasks failed when Shutdown began
}

// New returns a loop configured by opts. It starts nothing: tasks submitted
// before Start wait in the queue.
func New(opts Options) *Loop {
	opts = opts.withDefaults()
	l := &Loop{
		opts:         opts,
		queue:        make(chan *task, opts.QueueSize),
		closingCh:    make(chan struct{}),
		drained:      make(chan struct{}),
		quit:         make(chan struct{}),
		exited:       make(chan struct{}),
		running:      make([]atomic.Pointer[task], opts.Workers),
		shutdownDone: make(chan struct{}),
		epoch:        time.Now(),
	}
	l.stopCtx, l.stopCancel = context.WithCancelCause(context.Background())
	l.submitHooks, _ = opts.Hooks.(SubmitHooks)
	if h, ok := opts.Hooks.(LoopHooks); ok {
		h.ObserveLoop(l)
	}
	return l
}

// Start starts the workers. Cancelling ctx stops the loop hard, as if
// Shutdown's context had ended: running tasks see their contexts cancelled
// and every unfinished task fails with ErrStopped; call Shutdown for a
// graceful stop. Start returns an error if the loop was already started or
// shut down.
func (l *Loop) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.state != created {
		l.mu.Unlock()
		return errors.New("taskloop: Start called twice or after Shutdown")
	}
	if l.manual {
		l.mu.Unlock()
		return errManual
	}
	// Periodic tasks and durable jobs run with Start's values and this
	// loop, so that the tasks they start find it.
	base := WithLoop(context.WithoutCancel(ctx), l)
	if b := l.opts.Backend; b != nil {
		// ctx bounds the backend's start (its first contact with the
		// database); the backend stops with the loop's Shutdown.
		if err := b.Start(WithLoop(ctx, l)); err != nil {
			l.mu.Unlock()
			return fmt.Errorf("taskloop: starting the durable backend: %w", err)
		}
	}
	l.baseCtx = base
	l.startLocked()
	l.stopStartCtx = context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithCancel(context.Background())
		cancel()
		l.Shutdown(sctx)
	})
	schedules := l.unstarted
	l.unstarted = nil
	l.mu.Unlock()
	for _, d := range schedules {
		l.startSchedule(l.baseCtx, d)
	}
	return nil
}

func (l *Loop) startLocked() {
	l.state = started
	l.workersLeft.Store(int64(l.opts.Workers))
	for i := range l.opts.Workers {
		go l.work(i)
	}
}

// Done returns a channel closed when every worker has returned, after
// Shutdown. A task that ignores its context keeps its worker until it
// returns, so Done may close after Shutdown has returned.
func (l *Loop) Done() <-chan struct{} { return l.exited }

// ShutdownError is Shutdown's error when it did not run every task it had
// accepted: its context ended first, or delayed tasks had not started yet.
type ShutdownError struct {
	// Unfinished is how many accepted tasks failed with ErrStopped because
	// the context ended: running, queued or waiting for a retry.
	Unfinished int
	// NotStarted is how many delayed tasks were still waiting for their
	// first run when Shutdown began; they failed with ErrStopped.
	NotStarted int
	// Cause is the context's error when it ended first, else nil.
	Cause error
}

func (e *ShutdownError) Error() string {
	msg := "taskloop: shutdown:"
	if e.Unfinished > 0 || e.Cause != nil {
		msg += fmt.Sprintf(" %d task(s) did not finish: %v", e.Unfinished, e.Cause)
		if e.NotStarted > 0 {
			msg += ";"
		}
	}
	if e.NotStarted > 0 {
		msg += fmt.Sprintf(" %d delayed task(s) never started", e.NotStarted)
	}
	return msg
}

// Unwrap returns ErrStopped, the error of every task counted, and the
// context's error if it ended, so that errors.Is(err,
// context.DeadlineExceeded) holds after a Shutdown that timed out.
func (e *ShutdownError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrStopped}
	}
	return []error{ErrStopped, e.Cause}
}

// Shutdown stops intake, then waits until every accepted task has finished
// or ctx ends, whichever is first.
//
// From the moment Shutdown begins, submitting fails with ErrClosed, and so
// do submitters waiting for room; only the loop's running tasks may still
// submit, since what they start finishes work accepted before (a fan-out
// half done), until the loop stops hard. Queued and running tasks run to
// completion, including their retries; periodic tasks end (their futures
// resolve with the last run's value); tasks still waiting for their first
// delayed start fail with ErrStopped. When ctx ends first, Shutdown cancels
// the contexts of running tasks and fails every unfinished task with
// ErrStopped. Either way every accepted task's future has resolved when
// Shutdown returns, and if any of them did not run to its end, Shutdown
// returns a *ShutdownError that counts them (each is also logged, see
// DropHooks).
//
// Shutdown may be called more than once and from several goroutines; later
// calls wait for the first one and return its result. A loop that was never
// started is started, so that what was queued still runs.
func (l *Loop) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	switch l.state {
	case created:
		if l.manual {
			close(l.exited) // it never had workers
		} else {
			l.startLocked()
		}
	case closing:
		l.mu.Unlock()
		select {
		case <-l.shutdownDone:
			// Finished already: the first call's result, even when ctx
			// has ended too.
			return l.shutdownErr
		default:
		}
		select {
		case <-l.shutdownDone:
			return l.shutdownErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l.state = closing
	backendStarted := l.opts.Backend != nil && l.baseCtx != nil
	if l.stopStartCtx != nil {
		l.stopStartCtx()
	}
	l.closingFlag.Store(true)
	close(l.closingCh)
	ended := l.timers.removeIf(func(t *task) bool { return t.endsAtShutdown() })
	l.stats.waiting.Add(-int64(len(ended)))
	l.mu.Unlock()
	for _, t := range ended {
		l.leaveBacklog()
		l.endAtShutdown(t)
	}
	l.checkDrained()

	var cause error
	select {
	case <-l.drained:
	case <-ctx.Done():
		cause = ctx.Err()
		l.stopHard()
	}
	close(l.quit)
	l.mu.Lock()
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	if n, ns := int(l.unfinished.Load()), int(l.notStarted.Load()); n > 0 || ns > 0 {
		if n == 0 {
			cause = nil // the context ended after the last task did
		}
		l.shutdownErr = &ShutdownError{Unfinished: n, NotStarted: ns, Cause: cause}
	}
	if backendStarted {
		// After the loop, whose workers may have been inserting jobs.
		if err := l.opts.Backend.Stop(ctx); err != nil {
			l.shutdownErr = errors.Join(l.shutdownErr, fmt.Errorf("taskloop: stopping the durable backend: %w", err))
		}
	}
	close(l.shutdownDone)
	return l.shutdownErr
}

func (l *Loop) checkDrained() {
	if l.closingFlag.Load() && l.live.Load() == 0 {
		l.drainOnce.Do(func() { close(l.drained) })
	}
}

// stopHard fails every unfinished task with ErrStopped, cancels the
// contexts of running tasks, and waits until every task has resolved.
//
// Tasks move between the queue, the timers and the workers without a lock,
// so a sweep can miss one in passage; every such hand-off checks
// stoppedFlag (or stopCtx) after publishing the task where the sweep looks,
// and fails the task itself. stopHard waits for those, which run no user
// code, so that every future has resolved and been counted on return.
func (l *Loop) stopHard() {
	l.stoppedFlag.Store(true)
	l.mu.Lock()
	timers := l.timers.removeIf(func(*task) bool { return true })
	l.stats.waiting.Add(-int64(len(timers)))
	overflow := l.overflow
	l.overflow = nil
	l.overflowN.Store(0)
	inline := make([]*task, 0, len(l.inline))
	for t := range l.inline {
		inline = append(inline, t)
	}
	limited := l.takeLimitedLocked()
	l.mu.Unlock()
	for _, t := range slices.Concat(timers, limited) {
		l.leaveBacklog()
		l.stopTask(t)
	}
	for _, t := range overflow {
		if l.take(t) {
			l.stopTask(t)
		}
	}
	// Fail running tasks before cancelling their contexts, so that they
	// fail with ErrStopped rather than with what they return once
	// cancelled.
	for i := range l.running {
		if t := l.running[i].Load(); t != nil {
			l.stopTask(t)
		}
	}
	for _, t := range inline {
		l.stopTask(t)
	}
	l.stopCancel(ErrStopped)
	l.sweepQueue()
	<-l.drained
}

// sweepQueue empties the queue after a hard stop, failing what it finds.
// Whoever puts a task in the queue and then sees stoppedFlag calls it too:
// its task is then either swept or taken by a worker, which fails it.
func (l *Loop) sweepQueue() {
	for {
		select {
		case t := <-l.queue:
			if l.take(t) {
				l.stopTask(t)
			}
		default:
			return
		}
	}
}

// stopTask fails t with ErrStopped after a hard stop and counts it as
// unfinished, unless it has already been resolved.
func (l *Loop) stopTask(t *task) {
	if l.settleCounting(t, ErrStopped, &l.unfinished) {
		l.stats.stopped.Add(1)
		l.dropped(t, t, "task stopped", ErrStopped)
	}
}

// Stats are counts of a loop's tasks. Counts only grow; gauges go up and
// down. Once the loop is idle, Submitted equals Succeeded + Failed +
// Canceled + Rejected.
type Stats struct {
	Submitted int64 // submitted tasks, the Rejected ones included
	Rejected  int64 // refused: queue full, loop closed, or submitter's ctx ended while blocked
	Succeeded int64 // tasks that ended without error (a periodic task counts once, when it ends, even by Future.Cancel)
	Failed    int64 // tasks that ended with an error, including ErrStopped
	Canceled  int64 // tasks ended by Future.Cancel (or their request's end) before they succeeded or failed
	Retried   int64 // attempts that failed and were retried
	Panicked  int64 // attempts that panicked
	Runs      int64 // runs of periodic tasks
	Stopped   int64 // part of Failed: accepted tasks failed with ErrStopped by Shutdown
	Inline    int64 // runs of tasks in the goroutine of a task that submitted or awaited them

	Queued  int64 // gauge: waiting for a worker, including submitters waiting for room (policy Block)
	Running int64 // gauge: running now, on workers or inline
	Waiting int64 // gauge: waiting for a delay, an interval or a retry backoff
}

type counters struct {
	submitted, rejected, succeeded, failed, canceled atomic.Int64
	retried, panicked, runs, stopped, inline         atomic.Int64
	queued, running, waiting                         atomic.Int64
}

// Stats returns the loop's current counts. Each field is read atomically;
// the fields together are not a single snapshot while tasks are moving.
func (l *Loop) Stats() Stats {
	c := &l.stats
	return Stats{
		Submitted: c.submitted.Load(),
		Rejected:  c.rejected.Load(),
		Succeeded: c.succeeded.Load(),
		Failed:    c.failed.Load(),
		Canceled:  c.canceled.Load(),
		Retried:   c.retried.Load(),
		Panicked:  c.panicked.Load(),
		Runs:      c.runs.Load(),
		Stopped:   c.stopped.Load(),
		Inline:    c.inline.Load(),
		Queued:    c.queued.Load(),
		Running:   c.running.Load(),
		Waiting:   c.waiting.Load(),
	}
}
