package taskloop

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
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
	// when the timeout passes, also after a successful attempt has
	// returned, for what it returned (see the package documentation).
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
	// Cron, when not nil, runs the task at the times it gives, as Every
	// does at an interval (the two do not mix: Every wins): the first run
	// at Cron.Next(now) after the schedule starts, each next one at
	// Cron.Next of the time the run ended, so that runs never overlap. A
	// zero time ends the schedule. Without a loop the task runs once, now.
	// Generated code fills it with runtime/cron's Expr.
	Cron Schedule
	// Unique, when not nil, makes a new task that matches one already
	// there a duplicate, which does not run: see Unique.
	Unique *Unique
	// Priority orders a durable backend's jobs: 1 (the default) runs
	// first, 4 last, as River's priorities do. The in-process loop runs
	// tasks in the order they become ready, whatever their priority.
	Priority int
	// Limit, when positive, is how many attempts of the task may run at
	// once on a loop; the next ones wait, in order, for one to end. On a
	// durable backend it is the limit in each worker process.
	Limit int

	// enqueue marks the spec of the loop task that stores a durable
	// task's job on the backend (see enqueueSpec), for Event.Enqueue.
	enqueue bool
}

// Schedule gives the times of a periodic task (Spec.Cron): Next returns
// the first time after t at which the task should run, or the zero time
// when it never runs again. River's PeriodicSchedule has the same method,
// so a durable backend passes it on as it is.
type Schedule interface {
	Next(t time.Time) time.Time
}

// Unique says when a new task is a duplicate of another of the same name
// (Spec.Unique): the mapping of River's unique jobs (river.UniqueOpts)
// onto the task loop. A duplicate does not run: the future of a durable
// task's duplicate resolves at once with a Receipt whose Duplicate field
// is set (and, on a durable backend, whose JobID is the existing job's);
// that of any other task resolves with the original's result.
//
// On a loop, a task is a duplicate while its original waits or runs, in a
// state of States; with a Period, also once the original has ended, until
// the end of the period it was due in, if its end state (completed,
// cancelled or discarded) is among States. River also keeps completed jobs,
// which block duplicates by default, until its job cleaner deletes them (a
// day later, by default); a loop forgets a task that ended at once when
// there is no Period.
type Unique struct {
	// ByArgs makes tasks with different arguments (as JSON) distinct; else
	// every task of the name matches.
	ByArgs bool
	// ByQueue makes tasks of different queues distinct.
	ByQueue bool
	// Period, when positive, makes tasks due in different periods (their
	// due time rounded down to a multiple of Period, in UTC) distinct.
	Period time.Duration
	// States are River's job states in which an original blocks a
	// duplicate; nil means River's default: available, completed, pending,
	// retryable, running and scheduled. If set, it must include available,
	// pending, running and scheduled, as River requires. A loop maps its
	// tasks' states onto River's: scheduled (delayed), available (queued),
	// running, retryable (waiting to retry), completed, cancelled, and
	// discarded (failed).
	States []string
}

// periodic reports whether the spec runs a task repeatedly.
func (s *Spec) periodic() bool { return s.Every > 0 || s.Cron != nil }

// nextRun returns when a periodic task runs next, after a run that was
// due at prev (zero before the first) and ended at now, and false when
// its schedule has no next time.
func (s *Spec) nextRun(prev, now time.Time) (time.Time, bool) {
	if s.Every > 0 {
		if prev.IsZero() {
			return now.Add(s.Every), true
		}
		return prev.Add(s.Every), true
	}
	// A run that a timer started a hair early may end before the time it
	// was due: the next one comes after that time, never at it again.
	next := s.Cron.Next(later(prev, now))
	return next, !next.IsZero()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
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
