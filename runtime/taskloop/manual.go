package taskloop

import (
	"context"
	"errors"

	"github.com/gofutures/futures/runtime/internal/loopctl"
)

// A manual loop is driven by runtime/futurestest through loopctl: it is
// never started, so what is submitted to it stays in its queue and timers
// (which run on the clock as usual, fake under testing/synctest) until the
// test runs it, in the test's goroutine, with the loop's own semantics:
// retries, timeouts, hooks, delays and intervals.
func init() {
	loopctl.Manual = func(l any) { l.(*Loop).setManual() }
	loopctl.RunReady = func(l any) int { return l.(*Loop).runReady() }
	loopctl.Ready = func(l any) (int, int) { return l.(*Loop).ready() }
}

var errManual = errors.New("taskloop: Start on a loop driven by runtime/futurestest; it runs tasks only when the test asks")

func (l *Loop) setManual() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.manual = true
	// Register starts periodic schedules at once, with this context, as
	// on a started loop.
	l.baseCtx = WithLoop(context.Background(), l)
}

// runReady moves the tasks due now from the timers to the queue and runs
// those that were ready then, each as a task run inline one level deep
// (so that what it awaits runs in its goroutine too).
func (l *Loop) runReady() int {
	l.fire()
	n := len(l.queue) + int(l.overflowN.Load())
	ran := 0
	for range n {
		var t *task
		select {
		case t = <-l.queue:
		default:
			l.pumpOverflow()
			select {
			case t = <-l.queue:
			default:
				return ran
			}
		}
		if l.take(t) {
			l.executeInline(t, nil, 1)
			ran++
		}
	}
	return ran
}

// ready counts the tasks ready to run (stale queue entries included) and
// those on the timer heap.
func (l *Loop) ready() (ready, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue) + int(l.overflowN.Load()), len(l.timers)
}
