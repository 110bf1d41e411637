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

	// enqueue marks the spec of the loop task that stores a durable
	// task's job on the backend (see enqueueSpec), for Event.Enqueue.
	enqueue bool
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
