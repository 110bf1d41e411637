package taskloop

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

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

// LoopHooks is implemented by Hooks that want the loop they serve, to read
// its Stats (the gauges of queue depth and tasks running, say). New calls
// ObserveLoop once, with the loop it is making, before it returns; the
// loop is not started yet. The hooks must not keep the loop alive past its
// use (runtime/telemetry holds a weak pointer).
type LoopHooks interface {
	Hooks
	ObserveLoop(l *Loop)
}

// SubmitHooks is implemented by Hooks that want to hear of every task
// submitted to the loop, with its arguments when generated code hands
// them over: runtime/futurestest records them so that a test can assert
// what a request scheduled. The loop checks for it with a type assertion
// on Options.Hooks when New makes it.
type SubmitHooks interface {
	Hooks
	// TaskSubmitted is called once per task submitted to the loop (Async,
	// Later, their durable forms, Submit, and the schedules that Register
	// starts), before the task is accepted or refused, in the submitting
	// goroutine, with the submitter's context. It must be quick and safe
	// for concurrent use.
	TaskSubmitted(ctx context.Context, s Submission)
}

// Submission describes a task submitted to a loop, for SubmitHooks.
type Submission struct {
	// Spec is the task's, as generated code wrote it (for a durable task,
	// not that of the insert that stores its job).
	Spec Spec
	// Args holds the task's arguments: for generated code, the struct of
	// its parameters (the one a durable task's job carries as JSON, whose
	// JSON keys are the parameters' names). It is nil for a task with no
	// parameters and for one submitted with Submit, Async or Later, whose
	// arguments are inside its function.
	Args any
	// Later says the task waits for its request's response (Later or
	// LaterDurable inside a request scope).
	Later bool
	// Duplicate says the loop found the task a duplicate of one already
	// there (Spec.Unique) and does not run it: its future follows the
	// original's, or, for a durable task, has resolved with a Receipt
	// whose Duplicate is set. On a loop with a durable backend, the
	// backend decides when it stores the job, after the submission: the
	// insert's Receipt says so, and Duplicate is false here.
	Duplicate bool
	// Result reports whether the task's future has resolved, and its
	// error. For a durable task on a loop with a backend, the future is
	// the insert's: it resolves once the job is stored.
	Result func() (done bool, err error)
}

// Event describes one attempt of a task, or a task that did not run.
type Event struct {
	Name  string
	Queue string
	// Durable says the task is durable (Spec.Durable). On a loop with a
	// backend, its attempts on the loop store its job (Enqueue is true);
	// the task itself runs where the backend works the job.
	Durable bool
	// Enqueue says the attempt stores a durable task's job on the loop's
	// backend rather than running the task.
	Enqueue     bool
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

// notifySubmitted tells l's SubmitHooks, if any, of the task of spec whose
// future is f. args are boxed only then, so that generated code hands them
// over for free when nobody listens.
func notifySubmitted[A, T any](ctx context.Context, l *Loop, spec Spec, args A, later, dup bool, f *future.Future[T]) {
	if l == nil || l.submitHooks == nil {
		return
	}
	l.submitHooks.TaskSubmitted(ctx, Submission{
		Spec:      spec,
		Args:      args,
		Later:     later,
		Duplicate: dup,
		Result: func() (bool, error) {
			r, ok := f.Peek()
			return ok, r.Err
		},
	})
}
