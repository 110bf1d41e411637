package taskloop

import (
	"context"
	"log/slog"
	"time"
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
