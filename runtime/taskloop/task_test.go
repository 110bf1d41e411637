package taskloop_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// outcome is one row of TestOutcomes: a spec, a function that counts its
// calls, and what the task's future must hold.
type outcome struct {
	name  string
	spec  taskloop.Spec
	fn    func(ctx context.Context, call int32) (int, error)
	want  int
	check func(t *testing.T, err error) // nil: expect no error
	calls int32                         // how many times fn must run
}

func wantIs(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Fatalf("error %v does not match %v", err, target)
		}
	}
}

func wantPanic(value any) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var pe *future.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v does not wrap *future.PanicError", err)
		}
		if pe.Value != value {
			t.Fatalf("panic value %v, want %v", pe.Value, value)
		}
		if !strings.Contains(string(pe.Stack), "task_test.go") {
			t.Fatalf("panic stack does not show the panicking function:\n%s", pe.Stack)
		}
	}
}

func both(checks ...func(*testing.T, error)) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		for _, c := range checks {
			c(t, err)
		}
	}
}

// failFirst returns a function that fails its first n calls with fail and
// then returns 42.
func failFirst(n int32, fail func(ctx context.Context) error) func(context.Context, int32) (int, error) {
	return func(ctx context.Context, call int32) (int, error) {
		if call <= n {
			return 0, fail(ctx)
		}
		return 42, nil
	}
}

func boom(context.Context) error { return errBoom }

func waitCtx(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

var outcomes = []outcome{
	{
		name:  "success",
		fn:    failFirst(0, nil),
		want:  42,
		calls: 1,
	},
	{
		name:  "error",
		fn:    failFirst(1, boom),
		check: wantIs(errBoom),
		calls: 1,
	},
	{
		name:  "value returned with an error is dropped",
		fn:    func(context.Context, int32) (int, error) { return 7, errBoom },
		check: wantIs(errBoom),
		calls: 1,
	},
	{
		name:  "retried until success",
		spec:  taskloop.Spec{Retries: 3, Backoff: time.Microsecond},
		fn:    failFirst(2, boom),
		want:  42,
		calls: 3,
	},
	{
		name:  "retries exhausted",
		spec:  taskloop.Spec{Retries: 2, Backoff: time.Microsecond},
		fn:    failFirst(100, boom),
		check: wantIs(errBoom),
		calls: 3,
	},
	{
		name:  "permanent error is not retried",
		spec:  taskloop.Spec{Retries: 5, Backoff: time.Microsecond},
		fn:    failFirst(100, func(context.Context) error { return taskloop.Permanent(errBoom) }),
		check: wantIs(errBoom),
		calls: 1,
	},
	{
		name: "wrapped permanent error is not retried",
		spec: taskloop.Spec{Retries: 5, Backoff: time.Microsecond},
		fn: failFirst(100, func(context.Context) error {
			return fmt.Errorf("sending: %w", taskloop.Permanent(errBoom))
		}),
		check: wantIs(errBoom),
		calls: 1,
	},
	{
		name:  "panic",
		fn:    func(context.Context, int32) (int, error) { panic("kaboom") },
		check: wantPanic("kaboom"),
		calls: 1,
	},
	{
		name:  "panic with an error value",
		fn:    func(context.Context, int32) (int, error) { panic(errBoom) },
		check: both(wantPanic(errBoom), wantIs(errBoom)),
		calls: 1,
	},
	{
		name:  "panics are retried like errors",
		spec:  taskloop.Spec{Retries: 3, Backoff: time.Microsecond},
		fn:    failFirst(2, func(context.Context) error { panic("kaboom") }),
		want:  42,
		calls: 3,
	},
	{
		name:  "panics exhaust retries",
		spec:  taskloop.Spec{Retries: 1, Backoff: time.Microsecond},
		fn:    func(context.Context, int32) (int, error) { panic("kaboom") },
		check: wantPanic("kaboom"),
		calls: 2,
	},
	{
		name:  "timeout",
		spec:  taskloop.Spec{Timeout: time.Millisecond},
		fn:    failFirst(100, waitCtx),
		check: wantIs(context.DeadlineExceeded),
		calls: 1,
	},
	{
		name:  "timeouts are retried",
		spec:  taskloop.Spec{Timeout: time.Millisecond, Retries: 2, Backoff: time.Microsecond},
		fn:    failFirst(1, waitCtx),
		want:  42,
		calls: 2,
	},
	{
		name: "timeout bounds each attempt, not the task",
		spec: taskloop.Spec{Timeout: time.Hour, Retries: 1, Backoff: time.Microsecond},
		fn: func(ctx context.Context, call int32) (int, error) {
			if _, ok := ctx.Deadline(); !ok {
				return 0, taskloop.Permanent(errors.New("attempt has no deadline"))
			}
			if call == 1 {
				return 0, errBoom
			}
			return 42, nil
		},
		want:  42,
		calls: 2,
	},
	{
		name: "Goexit fails the task and is not retried",
		spec: taskloop.Spec{Retries: 3, Backoff: time.Microsecond},
		fn: func(context.Context, int32) (int, error) {
			runtime.Goexit()
			return 0, nil
		},
		check: wantIs(taskloop.ErrGoexit),
		calls: 1,
	},
}

// TestOutcomes runs every outcome on a loop and without one (synchronously):
// both modes honour retries, timeouts, panics and Permanent the same way.
func TestOutcomes(t *testing.T) {
	for _, withLoop := range []bool{true, false} {
		mode := "loop"
		if !withLoop {
			mode = "sync"
		}
		t.Run(mode, func(t *testing.T) {
			var l *taskloop.Loop
			if withLoop {
				l = startLoop(t, taskloop.Options{Workers: 2})
			}
			for _, tc := range outcomes {
				t.Run(tc.name, func(t *testing.T) {
					var calls atomic.Int32
					spec := tc.spec
					spec.Name = "outcome"
					fn := func(ctx context.Context) (int, error) { return tc.fn(ctx, calls.Add(1)) }

					var f *future.Future[int]
					if withLoop {
						f = taskloop.Submit(context.Background(), l, spec, fn)
					} else {
						// A run without a loop happens in the caller, so a
						// Goexit would end it: submit from a goroutine.
						submitted := make(chan *future.Future[int], 1)
						go func() {
							var f *future.Future[int]
							defer func() { submitted <- f }()
							f = taskloop.Submit(context.Background(), nil, spec, fn)
							// Without a loop the future is resolved on return.
							if _, ok := f.Peek(); !ok {
								t.Error("future not resolved when Submit returned without a loop")
							}
						}()
						f = recv(t, submitted)
						if f == nil {
							// Goexit ended the submitting goroutine before
							// Submit returned: the future is lost, as is
							// everything else that goroutine held. Nothing
							// more to check than that fn ran once.
							if calls.Load() != tc.calls {
								t.Fatalf("fn ran %d times, want %d", calls.Load(), tc.calls)
							}
							return
						}
					}
					v, err := await(t, f)
					if n := calls.Load(); n != tc.calls {
						t.Errorf("fn ran %d times, want %d", n, tc.calls)
					}
					if tc.check == nil {
						if err != nil || v != tc.want {
							t.Fatalf("got %d, %v; want %d, nil", v, err, tc.want)
						}
						return
					}
					if v != 0 {
						t.Errorf("value %d with an error, want the zero value", v)
					}
					tc.check(t, err)
					te := taskErr(t, err)
					if te.Name != "outcome" || te.Attempts != int(tc.calls) {
						t.Errorf("TaskError{Name: %q, Attempts: %d}, want outcome, %d", te.Name, te.Attempts, tc.calls)
					}
				})
			}
			if withLoop {
				shutdown(t, l)
				s := checkIdle(t, l)
				if s.Submitted != int64(len(outcomes)) || s.Rejected != 0 || s.Canceled != 0 {
					t.Errorf("stats %+v", s)
				}
				// Panicked counts attempts that panicked: 1+1+2+2.
				if s.Panicked != 6 {
					t.Errorf("Panicked = %d, want 6", s.Panicked)
				}
			}
		})
	}
}

// TestSyncGoexit checks the synchronous Goexit case that TestOutcomes
// cannot reach: the future, here from Later, is resolved with ErrGoexit
// before runtime.Goexit unwinds the goroutine that ran the task.
func TestSyncGoexit(t *testing.T) {
	ctx, scope := taskloop.NewScope(context.Background())
	var calls atomic.Int32
	f := taskloop.Later(ctx, taskloop.Spec{Name: "exit", Retries: 2}, func(context.Context) (int, error) {
		calls.Add(1)
		runtime.Goexit()
		return 0, nil
	})
	returned := make(chan bool)
	go func() {
		closed := false
		defer func() { returned <- closed }()
		scope.Close()
		closed = true
	}()
	if recv(t, returned) {
		t.Fatal("Close returned although the task called Goexit")
	}
	r := resolved(t, f)
	if !errors.Is(r.Err, taskloop.ErrGoexit) || calls.Load() != 1 {
		t.Fatalf("got %v after %d calls; want ErrGoexit after 1", r.Err, calls.Load())
	}
}

func TestTaskErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  taskloop.TaskError
		want string
	}{
		{taskloop.TaskError{Name: "mail.Send", Attempts: 1, Err: errBoom}, "task mail.Send: boom"},
		{taskloop.TaskError{Name: "mail.Send", Attempts: 0, Err: taskloop.ErrQueueFull}, "task mail.Send: taskloop: queue is full"},
		{taskloop.TaskError{Name: "mail.Send", Attempts: 3, Err: errBoom}, "task mail.Send failed after 3 attempts: boom"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(&tc.err, tc.err.Err) {
			t.Errorf("%q does not unwrap to its cause", tc.want)
		}
	}
}

func TestPermanent(t *testing.T) {
	if taskloop.Permanent(nil) != nil {
		t.Fatal("Permanent(nil) is not nil")
	}
	err := taskloop.Permanent(errBoom)
	if !errors.Is(err, errBoom) || err.Error() != errBoom.Error() {
		t.Fatalf("Permanent(errBoom) = %v, does not wrap it transparently", err)
	}
}

func TestSyncWithoutLoop(t *testing.T) {
	if taskloop.From(context.Background()) != nil {
		t.Fatal("a default loop is set")
	}
	// A variable written by the task and read after Async without any
	// synchronization: the race detector proves the task ran in this
	// goroutine.
	ran := false
	f := taskloop.Async(context.Background(), taskloop.Spec{Delay: time.Hour, Every: time.Hour}, func(context.Context) (string, error) {
		ran = true
		return "done", nil
	})
	if !ran {
		t.Fatal("task did not run synchronously")
	}
	r := resolved(t, f)
	if r.Value != "done" || r.Err != nil {
		t.Fatalf("result %+v", r)
	}

	// Later outside a request scope is Async.
	ran = false
	g := taskloop.Later(context.Background(), taskloop.Spec{}, func(context.Context) (int, error) {
		ran = true
		return 1, nil
	})
	if !ran || resolved(t, g).Value != 1 {
		t.Fatal("Later without a scope or loop did not run synchronously")
	}
}

func TestSyncCallerContext(t *testing.T) {
	t.Run("cancellation stops the backoff wait", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls atomic.Int32
		failed := make(chan struct{})
		go func() {
			<-failed
			cancel()
		}()
		f := taskloop.Submit(ctx, nil, taskloop.Spec{Retries: 5, Backoff: time.Hour}, func(context.Context) (int, error) {
			if calls.Add(1) == 1 {
				close(failed)
			}
			return 0, errBoom
		})
		r := resolved(t, f)
		if !errors.Is(r.Err, errBoom) || calls.Load() != 1 {
			t.Fatalf("got %v after %d calls; want the task's error after 1", r.Err, calls.Load())
		}
	})
	t.Run("the task's context follows the caller's", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		f := taskloop.Submit(ctx, nil, taskloop.Spec{}, func(ctx context.Context) (int, error) {
			cancel()
			return 0, waitCtx(ctx)
		})
		if r := resolved(t, f); !errors.Is(r.Err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", r.Err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		f := taskloop.Submit(context.Background(), nil, taskloop.Spec{Timeout: time.Millisecond}, func(ctx context.Context) (int, error) {
			return 0, waitCtx(ctx)
		})
		if r := resolved(t, f); !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", r.Err)
		}
	})
	t.Run("context live after the run until Future.Cancel", func(t *testing.T) {
		var inner context.Context
		f := taskloop.Submit(context.Background(), nil, taskloop.Spec{}, func(ctx context.Context) (int, error) {
			inner = ctx
			return 0, ctx.Err()
		})
		if err := inner.Err(); err != nil {
			t.Fatalf("task context ended (%v) when the task finished", err)
		}
		f.Cancel()
		if !errors.Is(inner.Err(), context.Canceled) {
			t.Fatalf("task context %v after Future.Cancel, want context.Canceled", inner.Err())
		}
	})
}

func TestDefaultLoopAndWithLoop(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1})
	prev := taskloop.SetDefault(l)
	defer taskloop.SetDefault(prev)
	if prev != nil {
		t.Fatalf("a default loop was already set: %v", prev)
	}

	ctx := context.Background()
	if taskloop.From(ctx) != l {
		t.Fatal("From does not return the default loop")
	}
	release := make(chan struct{})
	f := taskloop.Async(ctx, taskloop.Spec{}, func(context.Context) (int, error) {
		<-release
		return 1, nil
	})
	if _, ok := f.Peek(); ok {
		t.Fatal("Async ran synchronously with a default loop")
	}
	close(release)
	if v, err := await(t, f); v != 1 || err != nil {
		t.Fatalf("got %d, %v", v, err)
	}

	// WithLoop(nil) overrides the default: synchronous again.
	sync := taskloop.WithLoop(ctx, nil)
	if taskloop.From(sync) != nil {
		t.Fatal("From(WithLoop(ctx, nil)) is not nil")
	}
	if r := resolved(t, taskloop.Async(sync, taskloop.Spec{}, func(context.Context) (int, error) { return 2, nil })); r.Value != 2 {
		t.Fatalf("result %+v", r)
	}

	// WithLoop names another loop.
	other := startLoop(t, taskloop.Options{Workers: 1})
	if taskloop.From(taskloop.WithLoop(ctx, other)) != other {
		t.Fatal("From does not return the WithLoop loop")
	}
	if v, err := await(t, taskloop.Async(taskloop.WithLoop(ctx, other), taskloop.Spec{}, func(context.Context) (int, error) { return 3, nil })); v != 3 || err != nil {
		t.Fatalf("got %d, %v", v, err)
	}
	shutdown(t, other)
	if s := other.Stats(); s.Submitted != 1 || s.Succeeded != 1 {
		t.Fatalf("task did not go to the WithLoop loop: %+v", s)
	}

	if got := taskloop.SetDefault(prev); got != l {
		t.Fatalf("SetDefault returned %v, want the loop set before", got)
	}
}

func TestTaskContext(t *testing.T) {
	type key struct{}
	l := newLoop(t, taskloop.Options{Workers: 1})
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), key{}, "v"), time.Hour)

	type seen struct {
		value       any
		err         error
		hasDeadline bool
		ctx         context.Context
	}
	f := taskloop.Submit(ctx, l, taskloop.Spec{}, func(ctx context.Context) (seen, error) {
		_, ok := ctx.Deadline()
		return seen{ctx.Value(key{}), ctx.Err(), ok, ctx}, nil
	})
	// The submitter's context ends before the task starts: the loop is
	// started only now.
	cancel()
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, err := await(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if s.value != "v" {
		t.Errorf("task lost the submitter's values: %v", s.value)
	}
	if s.err != nil {
		t.Errorf("task context cancelled with its submitter's: %v", s.err)
	}
	if s.hasDeadline {
		t.Error("task context inherited the submitter's deadline")
	}
	// What the task returned may still use its context (see
	// taskctx_test.go): it ends when the future is cancelled, not when the
	// function returns.
	if err := s.ctx.Err(); err != nil {
		t.Errorf("task context ended (%v) when the task finished", err)
	}
	f.Cancel()
	if !errors.Is(s.ctx.Err(), context.Canceled) {
		t.Errorf("task context %v after Future.Cancel, want context.Canceled", s.ctx.Err())
	}
	shutdown(t, l)
	checkIdle(t, l)
}

func TestCancel(t *testing.T) {
	t.Run("running task", func(t *testing.T) {
		l := startLoop(t, taskloop.Options{Workers: 1})
		started := make(chan struct{})
		var calls atomic.Int32
		f := taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 5, Backoff: time.Microsecond}, func(ctx context.Context) (int, error) {
			if calls.Add(1) == 1 {
				close(started)
			}
			return 0, waitCtx(ctx)
		})
		<-started
		f.Cancel()
		f.Cancel()
		_, err := await(t, f)
		if !errors.Is(err, context.Canceled) || calls.Load() != 1 {
			t.Fatalf("got %v after %d calls; want context.Canceled after 1 (no retry)", err, calls.Load())
		}
		shutdown(t, l)
		if s := checkIdle(t, l); s.Canceled != 1 || s.Retried != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("queued task never runs", func(t *testing.T) {
		l := newLoop(t, taskloop.Options{Workers: 1})
		f := taskloop.Submit(context.Background(), l, taskloop.Spec{}, func(context.Context) (int, error) {
			t.Error("cancelled task ran")
			return 0, nil
		})
		f.Cancel()
		if err := l.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := await(t, f); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		shutdown(t, l)
		if s := checkIdle(t, l); s.Canceled != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	for _, tc := range []struct {
		name string
		spec taskloop.Spec
		// first runs the first attempt; nil means the task must not run.
		first func(ctx context.Context) error
	}{
		{"waiting for its delay", taskloop.Spec{Delay: time.Hour}, nil},
		{"waiting for a retry", taskloop.Spec{Retries: 1, Backoff: time.Hour}, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLoop(t, taskloop.Options{Workers: 1})
			var calls atomic.Int32
			f := taskloop.Submit(context.Background(), l, tc.spec, func(ctx context.Context) (int, error) {
				if calls.Add(1) > 1 || tc.first == nil {
					t.Error("task ran when it should be waiting")
					return 0, nil
				}
				return 0, tc.first(ctx)
			})
			eventually(t, "the task to wait on its timer", func() bool { return l.Stats().Waiting == 1 })
			f.Cancel()
			// Resolves at once, not after the hour.
			if _, err := await(t, f); !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			shutdown(t, l)
			if s := checkIdle(t, l); s.Canceled != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
	t.Run("periodic task while it waits", func(t *testing.T) {
		l := startLoop(t, taskloop.Options{Workers: 1})
		f := taskloop.Submit(context.Background(), l, taskloop.Spec{Every: time.Hour}, func(context.Context) (int, error) {
			t.Error("periodic task ran before its first interval")
			return 1, nil
		})
		eventually(t, "the task to wait on its timer", func() bool { return l.Stats().Waiting == 1 })
		f.Cancel()
		if v, err := await(t, f); v != 0 || err != nil {
			t.Fatalf("got %d, %v; want the zero value and no error for a schedule that never ran", v, err)
		}
		shutdown(t, l)
		checkIdle(t, l)
	})
	t.Run("periodic task while it runs", func(t *testing.T) {
		l := startLoop(t, taskloop.Options{Workers: 1})
		second := make(chan struct{})
		var runs atomic.Int32
		f := taskloop.Submit(context.Background(), l, taskloop.Spec{Every: time.Microsecond}, func(ctx context.Context) (int32, error) {
			n := runs.Add(1)
			if n == 2 {
				close(second)
				return 0, waitCtx(ctx)
			}
			if n > 2 {
				t.Error("schedule went on after Cancel")
			}
			return n, nil
		})
		<-second
		f.Cancel()
		// The schedule ends with the last successful run's value.
		if v, err := await(t, f); v != 1 || err != nil {
			t.Fatalf("got %d, %v; want 1, nil", v, err)
		}
		shutdown(t, l)
		if s := checkIdle(t, l); s.Runs != 2 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestCancelRacesWithRetry cancels a task right as its attempt fails, while
// the worker decides whether to retry it; the task must end at once rather
// than wait for its (hour-long) backoff or interval.
func TestCancelRacesWithRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec taskloop.Spec
	}{
		{"retry", taskloop.Spec{Retries: 1, Backoff: time.Hour}},
		{"periodic", taskloop.Spec{Delay: time.Nanosecond, Every: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			finished := make(chan struct{}, 1)
			l := startLoop(t, taskloop.Options{Workers: 1, Hooks: hookFuncs{
				finished: func(context.Context, taskloop.Event) { finished <- struct{}{} },
			}})
			n := 300
			if testing.Short() {
				n = 30
			}
			for range n {
				f := taskloop.Submit(context.Background(), l, tc.spec, func(context.Context) (int, error) {
					return 0, errBoom
				})
				recv(t, finished)
				f.Cancel()
				ctx, cancel := context.WithTimeout(context.Background(), safety)
				_, err := f.Await(ctx)
				cancel()
				if _, ok := f.Peek(); !ok {
					t.Fatal("cancelled task kept waiting on its timer")
				}
				if tc.spec.Every == 0 && !errors.Is(err, errBoom) && !errors.Is(err, context.Canceled) {
					t.Fatalf("got %v", err)
				}
			}
			shutdown(t, l)
			checkIdle(t, l)
		})
	}
}

func TestDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	l := startLoop(t, taskloop.Options{Workers: 1})
	submitted := time.Now()
	f := taskloop.Submit(context.Background(), l, taskloop.Spec{Delay: delay}, func(context.Context) (time.Time, error) {
		return time.Now(), nil
	})
	// An undelayed task submitted after it runs first.
	first := taskloop.Submit(context.Background(), l, taskloop.Spec{}, func(context.Context) (time.Time, error) {
		return time.Now(), nil
	})
	started, err := await(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if d := started.Sub(submitted); d < delay {
		t.Fatalf("delayed task started after %v, before its delay of %v", d, delay)
	}
	other, _ := await(t, first)
	if !other.Before(started) {
		t.Fatal("the delayed task ran before an undelayed one submitted after it")
	}
	shutdown(t, l)
	checkIdle(t, l)
}

func TestEvery(t *testing.T) {
	const every = 2 * time.Millisecond
	for _, tc := range []struct {
		name string
		spec taskloop.Spec
		// fail says whether run n fails.
		fail func(n int32) bool
	}{
		{"runs", taskloop.Spec{Every: every}, func(int32) bool { return false }},
		{"after a delay", taskloop.Spec{Delay: time.Microsecond, Every: every}, func(int32) bool { return false }},
		{"failed runs keep the schedule", taskloop.Spec{Every: every}, func(n int32) bool { return n%2 == 0 }},
		{"failed runs are retried", taskloop.Spec{Every: every, Retries: 1, Backoff: time.Microsecond}, func(n int32) bool { return n%2 == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLoop(t, taskloop.Options{Workers: 4})
			const want = 5
			reached := make(chan struct{})
			var (
				calls, running atomic.Int32
				mu             sync.Mutex
				starts         []time.Time
				lastOK         int32
			)
			f := taskloop.Submit(context.Background(), l, tc.spec, func(context.Context) (int32, error) {
				if running.Add(1) != 1 {
					t.Error("runs overlap")
				}
				defer running.Add(-1)
				n := calls.Add(1)
				if n == want {
					close(reached)
				}
				if tc.fail(n) {
					return -1, errBoom
				}
				mu.Lock()
				starts = append(starts, time.Now())
				lastOK = n
				mu.Unlock()
				return n, nil
			})
			<-reached
			shutdown(t, l)
			v, err := await(t, f)
			if err != nil {
				t.Fatalf("periodic task ended with %v, want nil", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if v != lastOK {
				t.Fatalf("value %d, want the last successful run's %d", v, lastOK)
			}
			if tc.spec.Retries == 0 {
				for i := 1; i < len(starts); i++ {
					// Generous: successive successful runs start at least half
					// an interval apart.
					if gap := starts[i].Sub(starts[i-1]); gap < every/2 {
						t.Errorf("runs %d and %d started %v apart, interval %v", i-1, i, gap, every)
					}
				}
			}
			s := checkIdle(t, l)
			// Every call is a run or a retried attempt; the last may be
			// cut off by Shutdown.
			if s.Submitted != 1 || s.Succeeded != 1 || s.Runs+s.Retried < want-1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// hookFuncs adapts functions to taskloop.Hooks.
type hookFuncs struct {
	started  func(context.Context, taskloop.Event) context.Context
	finished func(context.Context, taskloop.Event)
}

func (h hookFuncs) TaskStarted(ctx context.Context, e taskloop.Event) context.Context {
	if h.started == nil {
		return nil
	}
	return h.started(ctx, e)
}

func (h hookFuncs) TaskFinished(ctx context.Context, e taskloop.Event) {
	if h.finished != nil {
		h.finished(ctx, e)
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
}

type spanKey struct{}

func (r *recorder) TaskStarted(ctx context.Context, e taskloop.Event) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("start %s/%s %d/%d", e.Name, e.Queue, e.Attempt, e.MaxAttempts))
	return context.WithValue(ctx, spanKey{}, e.Attempt)
}

func (r *recorder) TaskFinished(ctx context.Context, e taskloop.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(spanKey{}) != e.Attempt {
		r.events = append(r.events, "TaskFinished did not get TaskStarted's context")
	}
	if e.Duration < 0 || e.Started.IsZero() {
		r.events = append(r.events, fmt.Sprintf("bad timing %v %v", e.Started, e.Duration))
	}
	r.events = append(r.events, fmt.Sprintf("finish %d err=%v retrying=%v", e.Attempt, e.Err != nil, e.Retrying))
}

func TestHooks(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec taskloop.Spec
		fn   func(ctx context.Context, call int32) (int, error)
		want []string
	}{
		{
			name: "success after retries",
			spec: taskloop.Spec{Retries: 2, Backoff: time.Microsecond},
			fn:   failFirst(2, boom),
			want: []string{
				"start t/q 1/3", "finish 1 err=true retrying=true",
				"start t/q 2/3", "finish 2 err=true retrying=true",
				"start t/q 3/3", "finish 3 err=false retrying=false",
			},
		},
		{
			name: "retries exhausted",
			spec: taskloop.Spec{Retries: 1, Backoff: time.Microsecond},
			fn:   failFirst(100, boom),
			want: []string{
				"start t/q 1/2", "finish 1 err=true retrying=true",
				"start t/q 2/2", "finish 2 err=true retrying=false",
			},
		},
		{
			name: "permanent",
			spec: taskloop.Spec{Retries: 3},
			fn:   failFirst(100, func(context.Context) error { return taskloop.Permanent(errBoom) }),
			want: []string{"start t/q 1/4", "finish 1 err=true retrying=false"},
		},
		{
			name: "panic",
			spec: taskloop.Spec{Retries: 1, Backoff: time.Microsecond},
			fn:   failFirst(1, func(context.Context) error { panic("kaboom") }),
			want: []string{
				"start t/q 1/2", "finish 1 err=true retrying=true",
				"start t/q 2/2", "finish 2 err=false retrying=false",
			},
		},
		{
			name: "Goexit is not retried",
			spec: taskloop.Spec{Retries: 3},
			fn: func(context.Context, int32) (int, error) {
				runtime.Goexit()
				return 0, nil
			},
			want: []string{"start t/q 1/4", "finish 1 err=true retrying=false"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			l := startLoop(t, taskloop.Options{Workers: 1, Hooks: rec})
			var calls atomic.Int32
			spec := tc.spec
			spec.Name, spec.Queue = "t", "q"
			f := taskloop.Submit(context.Background(), l, spec, func(ctx context.Context) (int, error) {
				n := calls.Add(1)
				if ctx.Value(spanKey{}) != int(n) {
					return 0, taskloop.Permanent(errors.New("TaskStarted's context did not reach the task"))
				}
				return tc.fn(ctx, n)
			})
			await(t, f)
			shutdown(t, l)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if got, want := strings.Join(rec.events, "\n"), strings.Join(tc.want, "\n"); got != want {
				t.Fatalf("events:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestHookReturningNilKeepsContext(t *testing.T) {
	type key struct{}
	l := startLoop(t, taskloop.Options{Workers: 1, Hooks: hookFuncs{}})
	ctx := context.WithValue(context.Background(), key{}, "v")
	f := taskloop.Submit(ctx, l, taskloop.Spec{}, func(ctx context.Context) (any, error) {
		return ctx.Value(key{}), nil
	})
	if v, err := await(t, f); v != "v" || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
}

func TestGoexitKeepsLoopWorking(t *testing.T) {
	const workers = 2
	l := startLoop(t, taskloop.Options{Workers: workers})
	// More Goexits than workers: each needs a replacement worker for the
	// next task to run.
	for i := range 3 * workers {
		exit := taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "exit", Retries: 2}, func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		_, err := await(t, exit)
		if !errors.Is(err, taskloop.ErrGoexit) {
			t.Fatalf("Goexit %d: got %v, want ErrGoexit", i, err)
		}
		if te := taskErr(t, err); te.Attempts != 1 {
			t.Fatalf("Goexit task made %d attempts", te.Attempts)
		}
	}
	fs := make([]*future.Future[int], 10)
	for i := range fs {
		fs[i] = taskloop.Submit(context.Background(), l, taskloop.Spec{}, func(context.Context) (int, error) { return i, nil })
	}
	for i, f := range fs {
		if v, err := await(t, f); v != i || err != nil {
			t.Fatalf("task %d after the Goexits: %d, %v", i, v, err)
		}
	}
	shutdown(t, l)
	if s := checkIdle(t, l); s.Failed != 3*workers || s.Succeeded != 10 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPolicyString(t *testing.T) {
	for p, want := range map[taskloop.Policy]string{taskloop.Block: "block", taskloop.Reject: "reject", 7: "Policy(7)"} {
		if got := p.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(p), got, want)
		}
	}
}

// TestBackoff checks the waits between attempts from below only: the first
// retry waits at least half of Backoff (equal jitter), the second at least
// half of twice Backoff.
func TestBackoff(t *testing.T) {
	const backoff = 4 * time.Millisecond
	for _, withLoop := range []bool{true, false} {
		t.Run(fmt.Sprint("loop=", withLoop), func(t *testing.T) {
			var l *taskloop.Loop
			if withLoop {
				l = startLoop(t, taskloop.Options{Workers: 1})
			}
			var starts []time.Time // attempts run one after the other
			f := taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 2, Backoff: backoff}, func(context.Context) (int, error) {
				starts = append(starts, time.Now())
				return 0, errBoom
			})
			await(t, f)
			if len(starts) != 3 {
				t.Fatalf("%d attempts, want 3", len(starts))
			}
			for i, min := range []time.Duration{backoff / 2, backoff} {
				if gap := starts[i+1].Sub(starts[i]); gap < min {
					t.Errorf("retry %d came %v after the attempt before, want at least %v", i+1, gap, min)
				}
			}
		})
	}
}

// TestMaxBackoff: the loop's MaxBackoff caps Spec.Backoff, so an hour-long
// backoff retries at once.
func TestMaxBackoff(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, MaxBackoff: time.Microsecond})
	f := taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 3, Backoff: time.Hour}, failFirstFn(3))
	if v, err := await(t, f); v != 42 || err != nil {
		t.Fatalf("got %d, %v", v, err)
	}
	shutdown(t, l)
	if s := checkIdle(t, l); s.Retried != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func failFirstFn(n int32) func(context.Context) (int, error) {
	var calls atomic.Int32
	fn := failFirst(n, boom)
	return func(ctx context.Context) (int, error) { return fn(ctx, calls.Add(1)) }
}

func TestEventLogValue(t *testing.T) {
	var b strings.Builder
	logger := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("attempt", "task", taskloop.Event{Name: "mail.Send", Attempt: 2, Duration: time.Second, Err: errBoom})
	logger.Info("attempt", "task", taskloop.Event{Name: "mail.Send", Attempt: 1})
	want := "level=INFO msg=attempt task.name=mail.Send task.attempt=2 task.duration=1s task.err=boom\n" +
		"level=INFO msg=attempt task.name=mail.Send task.attempt=1\n"
	if b.String() != want {
		t.Fatalf("logged\n%s\nwant\n%s", b.String(), want)
	}
}
