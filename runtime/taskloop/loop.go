// Package taskloop runs tasks in the background of a process: a bounded pool
// of workers fed by a bounded queue, with retries, timeouts, delays,
// intervals, and a graceful Shutdown that drains what was accepted.
//
// A task is a function plus a Spec (its name and how to run it). Submitting
// one returns a *future.Future that resolves exactly once with the
// function's result, or with an error that says why it did not run. Tasks
// keep the values of the context they were submitted with, but not its
// cancellation or deadline: a task started by an HTTP handler outlives the
// request. Its context is cancelled by its own timeout, by Future.Cancel, or
// when the loop stops.
//
// Generated code calls Async and Later, which find the loop in the context
// (WithLoop) or the process default (SetDefault). With no loop at all, the
// task runs synchronously in the caller and its future is already resolved,
// so plain programs and tests need no setup.
//
// # Request scopes
//
// Middleware (or NewScope) opens a request scope: tasks submitted with Later
// inside it wait until the handler has returned and its response has been
// flushed, then go to the loop. That is how a view sends a confirmation email
// after it has answered.
//
// # Cost and ownership
//
// The loop owns its worker goroutines, started by Start and ended by
// Shutdown; whoever calls Start must call Shutdown. Submitting a task costs
// two allocations (the task and its future, which the task produces through
// future.NewPromise), one more when the submitter's context can be
// cancelled, plus the caller's closure. Measured with
// `go test -run '^$' -bench . -count 6 ./runtime/taskloop` on 2 cores
// (medians): a trivial task submitted and completed costs about 0.6 µs,
// 1.5 times a raw goroutine per task with a WaitGroup (0.4 µs), which has
// no bound, no queue and no future; the latency of one task alone, submit
// to resolution, is about 1.4 µs against 0.7 µs raw, the price of handing
// it to a parked worker and back.
//
// # For generated code
//
// The wrappers and registration functions that futuresgen writes use only
// these names of this package. They are a contract with generated code: a
// change to one that would break it comes with a new version constant
// (see [SupportsGeneratedCodeVersion1]).
//
//   - [Spec], with the fields [Spec.Name], [Spec.Retries], [Spec.Backoff],
//     [Spec.Timeout], [Spec.Delay], [Spec.Every], [Spec.Queue] and
//     [Spec.Durable];
//   - [Async] and [Later]; for durable tasks [AsyncDurable],
//     [LaterDurable], [DecodeArgs] and [Receipt];
//   - [Definition], with [Definition.Spec], [Definition.Run] and
//     [Definition.RunJSON]; [Registrar] and its [Registrar.Register]; and
//     [RegisterOn];
//   - [SupportsGeneratedCodeVersion1], which every generated file that uses
//     this package asserts.
//
// Of package future they use [future.Future], the result of every wrapper,
// and its [future.Future.Await], which the handler of a view that returns
// a future calls.
package taskloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrQueueFull is the error of a task refused because the queue was full
	// and the policy is Reject.
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
	// slows producers down to the pace of the workers.
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
	// QueueSize is how many accepted tasks may wait for a worker. Default:
	// 1024. Tasks waiting for a delay, an interval or a retry backoff do not
	// count against it.
	QueueSize int
	// WhenFull is what submitting does when the queue is full. Default: Block.
	WhenFull Policy
	// MaxBackoff caps the wait between two attempts of a task. Default: 1 minute.
	MaxBackoff time.Duration
	// Logger receives the loop's logs: a task's final failure at Warn, a
	// panic at Error with its stack, retries at Debug. Default: slog.Default().
	Logger *slog.Logger
	// Hooks, when not nil, is told when each attempt starts and finishes,
	// for metrics or tracing.
	Hooks Hooks
	// Backend, when not nil, stores and runs durable tasks (Spec.Durable)
	// instead of this loop: see Backend and runtime/durable. The loop
	// starts it in Start and stops it at the end of Shutdown. Default: none,
	// and durable tasks run here, which the loop logs once.
	Backend Backend
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

// Loop is an in-process task loop. Create it with New, then Start it; every
// method is safe for concurrent use.
type Loop struct {
	opts  Options
	queue chan *task

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

	mu             sync.Mutex
	state          loopState
	waiting        map[*task]struct{} // tasks whose timer is set
	overflow       []*task            // timer-fired tasks waiting for room in the queue
	running        []atomic.Pointer[task]
	stopStartCtx   func() bool
	shutdownErr    error
	shutdownDone   chan struct{}
	defs           map[string]*Definition
	warnNotDurable sync.Once
	unstarted      []*Definition   // periodic definitions registered before Start
	baseCtx        context.Context // Start's context without its cancellation

	stats      counters
	unfinished atomic.Int64 // tasks failed by the hard stop
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
		waiting:      make(map[*task]struct{}),
		running:      make([]atomic.Pointer[task], opts.Workers),
		shutdownDone: make(chan struct{}),
	}
	l.stopCtx, l.stopCancel = context.WithCancelCause(context.Background())
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

func (l *Loop) work(slot int) {
	quit := false
	defer func() {
		if !quit {
			// A task called runtime.Goexit, which no recover stops: fail
			// it and put a new worker in this one's slot.
			if t := l.running[slot].Swap(nil); t != nil {
				l.stats.running.Add(-1)
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
			l.stats.queued.Add(-1)
			l.execute(slot, t)
			l.pumpOverflow()
		case <-l.quit:
			quit = true
			return
		}
	}
}

// Done returns a channel closed when every worker has returned, after
// Shutdown. A task that ignores its context keeps its worker until it
// returns, so Done may close after Shutdown has returned.
func (l *Loop) Done() <-chan struct{} { return l.exited }

// ShutdownError is Shutdown's error when its context ended before every
// accepted task had finished.
type ShutdownError struct {
	// Unfinished is how many accepted tasks failed with ErrStopped: running,
	// queued or waiting for a retry when the context ended.
	Unfinished int
	// Cause is the context's error.
	Cause error
}

func (e *ShutdownError) Error() string {
	return fmt.Sprintf("taskloop: shutdown: %d task(s) did not finish: %v", e.Unfinished, e.Cause)
}

// Unwrap returns the context's error, so that errors.Is(err,
// context.DeadlineExceeded) holds after a Shutdown that timed out.
func (e *ShutdownError) Unwrap() error { return e.Cause }

// Shutdown stops intake, then waits until every accepted task has finished
// or ctx ends, whichever is first.
//
// From the moment Shutdown begins, submitting fails with ErrClosed. Queued
// and running tasks run to completion, including their retries; periodic
// tasks end (their futures resolve with the last run's value); tasks still
// waiting for their first delayed start fail with ErrStopped. When ctx ends
// first, Shutdown cancels the contexts of running tasks, fails every
// unfinished task with ErrStopped, and returns a *ShutdownError that counts
// them. Either way every accepted task's future has resolved when Shutdown
// returns.
//
// Shutdown may be called more than once and from several goroutines; later
// calls wait for the first one and return its result. A loop that was never
// started is started, so that what was queued still runs.
func (l *Loop) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	switch l.state {
	case created:
		l.startLocked()
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
	var ended []*task
	for t := range l.waiting {
		if t.endsAtShutdown() {
			delete(l.waiting, t)
			t.timer.Stop()
			l.stats.waiting.Add(-1)
			ended = append(ended, t)
		}
	}
	l.mu.Unlock()
	for _, t := range ended {
		l.endAtShutdown(t)
	}
	l.checkDrained()

	select {
	case <-l.drained:
	case <-ctx.Done():
		if n := l.stopHard(); n > 0 {
			l.shutdownErr = &ShutdownError{Unfinished: n, Cause: ctx.Err()}
		}
	}
	close(l.quit)
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
// contexts of running tasks, and returns how many tasks it failed.
//
// Tasks move between the queue, the timers and the workers without a lock,
// so a sweep can miss one in passage; every such hand-off checks
// stoppedFlag (or stopCtx) after publishing the task where the sweep looks,
// and fails the task itself. stopHard waits for those, which run no user
// code, so that every future has resolved and been counted on return.
func (l *Loop) stopHard() int {
	l.stoppedFlag.Store(true)
	l.mu.Lock()
	waiting, overflow := l.waiting, l.overflow
	l.waiting, l.overflow = make(map[*task]struct{}), nil
	l.mu.Unlock()
	for t := range waiting {
		t.timer.Stop()
		l.stats.waiting.Add(-1)
		l.stopTask(t)
	}
	for _, t := range overflow {
		l.stats.queued.Add(-1)
		l.stopTask(t)
	}
	// Fail running tasks before cancelling their contexts, so that they
	// fail with ErrStopped rather than with what they return once
	// cancelled.
	for i := range l.running {
		if t := l.running[i].Load(); t != nil {
			l.stopTask(t)
		}
	}
	l.stopCancel(ErrStopped)
	l.sweepQueue()
	<-l.drained
	return int(l.unfinished.Load())
}

// sweepQueue empties the queue after a hard stop, failing what it finds.
// Whoever puts a task in the queue and then sees stoppedFlag calls it too:
// its task is then either swept or taken by a worker, which fails it.
func (l *Loop) sweepQueue() {
	for {
		select {
		case t := <-l.queue:
			l.stats.queued.Add(-1)
			l.stopTask(t)
		default:
			return
		}
	}
}

// stopTask fails t with ErrStopped after a hard stop and counts it as
// unfinished, unless it has already been resolved.
func (l *Loop) stopTask(t *task) {
	l.settleCounting(t, ErrStopped, &l.unfinished)
}

// Stats are counts of a loop's tasks. Counts only grow; gauges go up and
// down. Once the loop is idle, Submitted equals Succeeded + Failed +
// Canceled + Rejected.
type Stats struct {
	Submitted int64 // submitted tasks, the Rejected ones included
	Rejected  int64 // refused: queue full, loop closed, or submitter's ctx ended while blocked
	Succeeded int64 // tasks that ended without error (a periodic task counts once, when it ends, even by Future.Cancel)
	Failed    int64 // tasks that ended with an error, including ErrStopped
	Canceled  int64 // tasks ended by Future.Cancel before they succeeded or failed
	Retried   int64 // attempts that failed and were retried
	Panicked  int64 // attempts that panicked
	Runs      int64 // runs of periodic tasks

	Queued  int64 // gauge: waiting for a worker, including submitters waiting for room (policy Block)
	Running int64 // gauge: running now
	Waiting int64 // gauge: waiting for a delay, an interval or a retry backoff
}

type counters struct {
	submitted, rejected, succeeded, failed, canceled atomic.Int64
	retried, panicked, runs                          atomic.Int64
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
		Queued:    c.queued.Load(),
		Running:   c.running.Load(),
		Waiting:   c.waiting.Load(),
	}
}
