package runctx

import (
	"context"
	"runtime"
	"time"
	"weak"
)

// Timeout is a Context that also ends, with context.DeadlineExceeded, when
// its time is up: the context of one attempt of a task with a timeout.
//
// Unlike context.WithTimeout's, its timer holds it weakly, because nobody
// cancels it when the attempt succeeds: what the task returned may go on
// using it until the deadline. A Timeout that nobody refers to any more
// is collected before its deadline, and its timer is stopped then, so a
// task with a long timeout does not keep its result alive that long.
type Timeout struct {
	Context
	deadline time.Time
	timer    *time.Timer
	cleanup  runtime.Cleanup
}

// NewTimeout returns a Timeout that takes its values and its cancellation
// from parent and ends d from now. parent's values must carry no
// cancellation of their own (see Init): a task's Context, say.
func NewTimeout(parent context.Context, d time.Duration) *Timeout {
	c := &Timeout{deadline: time.Now().Add(d)}
	c.Init(parent, parent)
	w := weak.Make(c)
	c.timer = time.AfterFunc(d, func() {
		if c := w.Value(); c != nil {
			c.Cancel(context.DeadlineExceeded)
		}
	})
	c.cleanup = runtime.AddCleanup(c, stopTimer, c.timer)
	return c
}

func stopTimer(t *time.Timer) { t.Stop() }

// Deadline is the earlier of c's own deadline and its parent's.
func (c *Timeout) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// String names the context in panics and logs.
func (c *Timeout) String() string { return "runtime context with timeout" }

// Stop cancels c with context.Canceled, if it has not ended, and stops its
// timer at once: for an attempt that failed, whose context nobody needs.
func (c *Timeout) Stop() {
	c.Cancel(context.Canceled)
	c.timer.Stop()
	c.cleanup.Stop()
}
