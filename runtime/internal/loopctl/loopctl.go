// Package loopctl lets runtime/futurestest drive a task loop by hand: a
// loop made manual is never started, holds what is submitted to it, and
// runs it only when the test asks, in the test's goroutine. Package
// taskloop sets these functions in its init; they take a *taskloop.Loop
// (as any: this package cannot name the type without an import cycle).
package loopctl

var (
	// Manual marks a loop, before any use, as driven by hand: Start
	// refuses it, and Shutdown starts no workers.
	Manual func(loop any)
	// RunReady moves the loop's tasks that are due now from its timers to
	// its queue, then runs, in the calling goroutine, the tasks that were
	// ready then (not those they submit), and returns how many it ran.
	RunReady func(loop any) int
	// Ready returns how many of the loop's tasks are ready to run, and how
	// many wait for a time (a delay, a retry, a periodic run).
	Ready func(loop any) (ready, waiting int)
)
