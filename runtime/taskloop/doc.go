// Package taskloop runs tasks in the background of a process: a bounded pool
// of workers fed by a bounded queue, with retries, timeouts, delays,
// intervals, and a graceful Shutdown that drains what was accepted.
//
// A task is a function plus a Spec (its name and how to run it). Submitting
// one returns a *future.Future that resolves exactly once with the
// function's result, or with an error that says why it did not run. Tasks
// keep the values of the context they were submitted with, but not its
// cancellation or deadline: a task outlives the code that started it. Its
// context is cancelled by its own timeout, by Future.Cancel, when the loop
// stops while it runs, or when the request that started it is abandoned
// (see Request scopes).
//
// A task's context also outlives its function, as a context passed to a
// direct call does: what the function returns may go on using it (a
// channel that a goroutine feeds, a response body, *sql.Rows). It is not
// cancelled when the function returns, but when the future is cancelled
// (Future.Cancel works after the task has ended too), when the timeout of
// the attempt that returned fires, or, without a loop, when the caller's
// context ends. An attempt that fails has its context cancelled at once:
// its value is dropped. Such a context never keeps itself alive: once
// nothing refers to it, it is collected, deadline or not.
//
// Generated code calls Async and Later, which find the loop in the context
// (WithLoop) or the process default (SetDefault). With no loop at all, the
// task runs synchronously in the caller and its future is already resolved,
// so plain programs and tests need no setup.
//
// # The bound, and tasks that start tasks
//
// Options.QueueSize bounds the accepted tasks that wait: for a worker, for
// their delay, for a periodic task's next run, or for a retry. A new task
// that finds the bound reached waits for room (policy Block) or is refused
// (policy Reject). All waiting tasks sit in the queue or in one timer heap
// served by one timer: a delayed task costs memory, never a goroutine.
//
// A task that submits to its own loop must not wait for room: only the
// workers make room, and if every worker waited, none would be left to
// make it. So a submission from inside a running task of the loop (its
// context, or one derived from it) never waits. Under policy Block, when
// the queue is full, the new task runs at once in the submitting
// goroutine, as its own task (its spec, retries, hooks and stats), and
// Async returns once its first attempt has ended: the parent pays with its
// own time, its worker does the work (no goroutine is added), and nothing
// grows without bound, so a fan-out of any depth completes. A delayed or
// periodic task cannot run now: it may exceed the bound by up to QueueSize
// more, and beyond that it is refused with ErrQueueFull. Under policy
// Reject, a full queue refuses a task's submissions like any other.
//
// A task that awaits the future of another task of its loop (Future.Await
// with its own context) never deadlocks the loop either: if the awaited
// task is still in the queue, the awaiting goroutine takes it and runs it;
// if it waits for its delay or a retry, the awaiting goroutine runs it as
// soon as it is due. Only a task already running elsewhere is waited for,
// and that one makes progress. This holds for futures awaited directly
// and through future.All and AllSettled, which pass the check on to their
// inputs; First and Any do not (the input they would run may be beaten by
// another), so a task that awaits First of queued children may wait for a
// worker.
//
// # Request scopes
//
// Middleware (or NewScope) opens a request scope: tasks submitted with Later
// inside it wait until the handler has returned and its response has been
// flushed, then go to the loop, without ever waiting for room: their room
// was waited for when Later was called, before the response. Tasks started
// with Async inside a scope belong to the request: when the request's
// context ends before its handler returns (a view's timeout, or a client
// that went away), they are cancelled; a handler that returns normally
// leaves them running.
//
// # Unique tasks, limits and schedules
//
// Three Spec fields carry River's controls onto the loop, so that durable
// tasks behave alike with or without a backend. Spec.Unique makes a task
// that matches one already waiting or running (by name, and arguments,
// queue or period as it says) a duplicate, which does not run
// (AsyncUnique, and AsyncDurable without a backend). Spec.Limit bounds how
// many attempts of one task run at once; the others wait, in order, counted
// in the queue's bound, and a task that awaits a task of its own name runs
// it in its own slot instead of waiting for it. Spec.Cron runs a periodic
// task at the times of a Schedule (runtime/cron's Expr), as Spec.Every does
// at an interval.
//
// # Losses are never silent
//
// A task that does not run is logged at Warn with its name, the error and
// the ID of the request that submitted it (RequestID), counted in Stats,
// and passed to Options.Hooks if they implement DropHooks: refused when
// submitted (queue full, loop shut down, the submitter's context ended
// while it waited for room), failed by Shutdown before it started, or cut
// off by a Shutdown deadline. Shutdown's error counts the tasks it did not
// run.
//
// # Observing the loop
//
// Options.Hooks sees every attempt (Hooks), every task that did not run
// (DropHooks), every submission with the task's arguments (SubmitHooks)
// and the loop itself, for gauges of its Stats (LoopHooks), each optional
// interface found by a type assertion. runtime/telemetry's hooks trace
// and measure tasks with OpenTelemetry; runtime/futurestest's record what
// code schedules, for tests. The loop's log lines are written with the
// context of the attempt or of the submitter, and carry the request's ID,
// so that a tracing log handler joins them to their trace. A loop works
// inside a testing/synctest bubble, on its fake clock, when it is created
// and shut down there.
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
// A task whose context outlives its function costs nothing more unless the
// context is watched (Done, AfterFunc, as any I/O does) and must not keep
// itself alive: measured with `go test -run '^$' -bench WatchedContext
// -count 6 ./runtime/taskloop` (medians), a watched task on a loop costs
// what it did (1.2 µs); with a timeout, whose timer holds the context
// weakly, 3.3 µs instead of 2.3; without a loop, where the context follows
// the caller's weakly, 1.4 µs instead of 0.64, and 3.2 µs instead of 1.5
// with a timeout.
//
// # For generated code
//
// The wrappers and registration functions that futuresgen writes use only
// these names of this package. They are a contract with generated code: a
// change to one that would break it comes with a new version constant
// (see [SupportsGeneratedCodeVersion1]).
//
//   - [Spec], with the fields [Spec.Name], [Spec.Retries], [Spec.Backoff],
//     [Spec.Timeout], [Spec.Delay], [Spec.Every], [Spec.Queue],
//     [Spec.Durable], [Spec.Cron], [Spec.Unique], [Spec.Priority] and
//     [Spec.Limit]; [Unique], with [Unique.ByArgs], [Unique.ByQueue],
//     [Unique.Period] and [Unique.States];
//   - [Async] and [Later], and [AsyncWith] and [LaterWith] for tasks
//     with parameters; for durable tasks [AsyncDurable],
//     [LaterDurable], [DecodeArgs] and [Receipt]; for unique tasks
//     [AsyncUnique] and [LaterUnique];
//   - [Definition], with [Definition.Spec], [Definition.Run] and
//     [Definition.RunJSON]; [Registrar] and its [Registrar.Register]; and
//     [RegisterOn];
//   - [SupportsGeneratedCodeVersion1], which every generated file that uses
//     this package asserts.
//
// Of package future they use [future.Future], the result of every wrapper,
// and its [future.Future.Await], which the handler of a view that returns
// a future calls. Of package runtime/cron, the files of tasks with a cron
// schedule use [cron.Expr].
package taskloop
