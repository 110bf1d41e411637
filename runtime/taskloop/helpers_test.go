package taskloop_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// TestMain fails the package when a test leaves a goroutine behind: every
// test shuts down the loops it starts and waits for their workers.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// quiet swallows the loop's logs, which would otherwise print every failure
// the tests provoke.
var quiet = slog.New(slog.DiscardHandler)

// safety bounds every wait of the tests, so that a bug shows up as a
// failure instead of a hang. It is never a timing assertion.
const safety = 10 * time.Second

// newLoop returns a loop that is not started yet and is shut down, and its
// workers waited for, when the test ends.
func newLoop(t testing.TB, opts taskloop.Options) *taskloop.Loop {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	l := taskloop.New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), safety)
		defer cancel()
		_ = l.Shutdown(ctx) // the test checks the result when it matters
		select {
		case <-l.Done():
		case <-time.After(safety):
			t.Errorf("the loop's workers did not return")
		}
	})
	return l
}

// startLoop returns a started loop, shut down when the test ends.
func startLoop(t testing.TB, opts taskloop.Options) *taskloop.Loop {
	t.Helper()
	l := newLoop(t, opts)
	if err := l.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return l
}

// shutdown stops l gracefully, expects every task to have finished, and
// waits for the workers.
func shutdown(t testing.TB, l *taskloop.Loop) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-l.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed after Shutdown")
	}
}

// checkIdle checks the Stats invariant of a loop that has no task left:
// every submission ended in exactly one of the outcome counts, and the
// gauges are back to zero.
func checkIdle(t testing.TB, l *taskloop.Loop) taskloop.Stats {
	t.Helper()
	s := l.Stats()
	if s.Submitted != s.Succeeded+s.Failed+s.Canceled+s.Rejected {
		t.Errorf("Submitted %d != Succeeded %d + Failed %d + Canceled %d + Rejected %d",
			s.Submitted, s.Succeeded, s.Failed, s.Canceled, s.Rejected)
	}
	if s.Queued != 0 || s.Running != 0 || s.Waiting != 0 {
		t.Errorf("gauges not zero once idle: Queued %d, Running %d, Waiting %d", s.Queued, s.Running, s.Waiting)
	}
	return s
}

// await waits for f, failing the test if it does not resolve in time.
func await[T any](t testing.TB, f *future.Future[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	v, err := f.Await(ctx)
	if _, ok := f.Peek(); !ok {
		t.Fatalf("future did not resolve within %v", safety)
	}
	return v, err
}

// resolved returns f's result, failing the test if f has not resolved.
func resolved[T any](t testing.TB, f *future.Future[T]) future.Result[T] {
	t.Helper()
	r, ok := f.Peek()
	if !ok {
		t.Fatal("future not resolved")
	}
	return r
}

// recv waits for a value on ch, failing the test if none comes in time.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(safety):
		t.Fatalf("nothing received within %v", safety)
		panic("unreachable")
	}
}

// eventually polls cond until it holds. It is for states that no channel
// announces (a submitter blocked on a full queue, a task put back on its
// timer); it asserts nothing about time.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// taskErr returns err as a *TaskError, failing the test if it is not one.
func taskErr(t testing.TB, err error) *taskloop.TaskError {
	t.Helper()
	var te *taskloop.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *TaskError", err, err)
	}
	return te
}
