package taskloop_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// blocker occupies workers until released.
type blocker struct {
	started chan struct{} // one value per task that started
	release chan struct{}
	once    sync.Once
}

// newBlocker returns a blocker that is released when the test ends, if the
// test has not released it, so that a failing test leaves no worker behind.
func newBlocker(t testing.TB) *blocker {
	b := &blocker{started: make(chan struct{}, 100), release: make(chan struct{})}
	t.Cleanup(func() { b.free() })
	return b
}

// free releases the blocked tasks; it may be called more than once.
func (b *blocker) free() {
	b.once.Do(func() { close(b.release) })
}

// submit starts a task that signals started and waits for release,
// ignoring its context.
func (b *blocker) submit(l *taskloop.Loop) *future.Future[string] {
	return taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "blocker"}, func(context.Context) (string, error) {
		b.started <- struct{}{}
		<-b.release
		return "released", nil
	})
}

func ok(context.Context) (string, error) { return "ok", nil }

// shutdownBegan returns a channel that is closed once Shutdown has begun on
// l: it submits a periodic task due in an hour, which Shutdown ends at
// once (it counts as Succeeded, and Shutdown does not report it: a
// schedule's end is not lost work). Call it before Shutdown.
func shutdownBegan(l *taskloop.Loop) <-chan struct{} {
	return taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "sentinel", Every: time.Hour}, ok).Done()
}

func TestQueueFull(t *testing.T) {
	causeErr := errors.New("client went away")
	for _, tc := range []struct {
		name   string
		policy taskloop.Policy
		// ctx is the submitter's context for the submission that finds the
		// queue full.
		ctx     func() (context.Context, context.CancelFunc)
		wantErr []error // the rejected task's error matches each
		notErr  error
	}{
		{
			name:    "reject",
			policy:  taskloop.Reject,
			ctx:     func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
			wantErr: []error{taskloop.ErrQueueFull},
		},
		{
			name:   "block until the submitter's context is cancelled",
			policy: taskloop.Block,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantErr: []error{context.Canceled},
			notErr:  taskloop.ErrQueueFull,
		},
		{
			name:   "block until the submitter's deadline",
			policy: taskloop.Block,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			},
			wantErr: []error{context.DeadlineExceeded},
			notErr:  taskloop.ErrQueueFull,
		},
		{
			name:   "block until the submitter's context is cancelled with a cause",
			policy: taskloop.Block,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancelCause(context.Background())
				cancel(causeErr)
				return ctx, func() {}
			},
			wantErr: []error{context.Canceled, causeErr},
			notErr:  taskloop.ErrQueueFull,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1, WhenFull: tc.policy})
			b := newBlocker(t)
			running := b.submit(l)
			recv(t, b.started)
			queued := taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)

			ctx, cancel := tc.ctx()
			defer cancel()
			ran := false
			rejected := taskloop.Submit(ctx, l, taskloop.Spec{Name: "third"}, func(context.Context) (string, error) {
				ran = true
				return "", nil
			})
			// Refused at once: resolved when Submit returns.
			r := resolved(t, rejected)
			for _, want := range tc.wantErr {
				if !errors.Is(r.Err, want) {
					t.Errorf("error %v does not match %v", r.Err, want)
				}
			}
			if tc.notErr != nil && errors.Is(r.Err, tc.notErr) {
				t.Errorf("error %v matches %v", r.Err, tc.notErr)
			}
			if te := taskErr(t, r.Err); te.Name != "third" || te.Attempts != 0 {
				t.Errorf("TaskError %+v", te)
			}
			if s := l.Stats(); s.Rejected != 1 || s.Queued != 1 || s.Running != 1 {
				t.Errorf("stats while full: %+v", s)
			}

			b.free()
			for _, f := range []*future.Future[string]{running, queued} {
				if _, err := await(t, f); err != nil {
					t.Fatal(err)
				}
			}
			shutdown(t, l)
			if ran {
				t.Error("rejected task ran")
			}
			if s := checkIdle(t, l); s.Submitted != 3 || s.Succeeded != 2 || s.Rejected != 1 || s.Failed != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestBlockWaitsForRoom(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	b := newBlocker(t)
	running := b.submit(l)
	recv(t, b.started)
	queued := taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)

	submitted := make(chan *future.Future[string])
	go func() {
		submitted <- taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)
	}()
	// The submitter counts as queued while it waits for room.
	eventually(t, "the submitter to wait for room", func() bool { return l.Stats().Queued == 2 })
	select {
	case <-submitted:
		t.Fatal("Submit returned although the queue was full")
	default:
	}
	b.free()
	blocked := recv(t, submitted)
	for _, f := range []*future.Future[string]{running, queued, blocked} {
		if _, err := await(t, f); err != nil {
			t.Fatal(err)
		}
	}
	shutdown(t, l)
	if s := checkIdle(t, l); s.Succeeded != 3 || s.Rejected != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBlockEndsAtShutdown(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	b := newBlocker(t)
	running := b.submit(l)
	recv(t, b.started)
	queued := taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)

	submitted := make(chan *future.Future[string])
	go func() {
		submitted <- taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)
	}()
	eventually(t, "the submitter to wait for room", func() bool { return l.Stats().Queued == 2 })

	shutdownErr := make(chan error)
	go func() { shutdownErr <- l.Shutdown(context.Background()) }()
	blocked := recv(t, submitted)
	if _, err := await(t, blocked); !errors.Is(err, taskloop.ErrClosed) {
		t.Fatalf("blocked submission got %v, want ErrClosed", err)
	}
	// Shutdown waits for what was accepted.
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v while a task was running", err)
	default:
	}
	b.free()
	if err := recv(t, shutdownErr); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, f := range []*future.Future[string]{running, queued} {
		if v, err := resolved(t, f).Value, resolved(t, f).Err; v == "" || err != nil {
			t.Fatalf("accepted task: %q, %v", v, err)
		}
	}
	<-l.Done()
	if s := checkIdle(t, l); s.Succeeded != 2 || s.Rejected != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestGracefulShutdown shuts down a loop with tasks running, queued, waiting
// to retry, waiting for a delay and periodic, and checks what becomes of
// each.
func TestGracefulShutdown(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 2, QueueSize: 16})
	b := newBlocker(t)
	running := []*future.Future[string]{b.submit(l), b.submit(l)}
	recv(t, b.started)
	recv(t, b.started)

	var queued []*future.Future[string]
	for i := range 5 {
		queued = append(queued, taskloop.Submit(context.Background(), l, taskloop.Spec{}, func(context.Context) (string, error) {
			return fmt.Sprint("queued ", i), nil
		}))
	}
	// Queued behind the blockers, it fails twice and retries after
	// Shutdown has begun.
	var retryCalls atomic.Int32
	retried := taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 3, Backoff: time.Microsecond}, func(context.Context) (string, error) {
		if retryCalls.Add(1) < 3 {
			return "", errBoom
		}
		return "retried", nil
	})
	delayed := taskloop.Submit(context.Background(), l, taskloop.Spec{Delay: time.Hour}, func(context.Context) (string, error) {
		t.Error("delayed task ran")
		return "", nil
	})
	var periodicRuns atomic.Int32
	periodic := taskloop.Submit(context.Background(), l, taskloop.Spec{Delay: time.Nanosecond, Every: time.Hour}, func(context.Context) (int32, error) {
		return periodicRuns.Add(1), nil
	})

	shutdownErr := make(chan error)
	go func() { shutdownErr <- l.Shutdown(context.Background()) }()

	// The delayed task failing tells that Shutdown has begun.
	if _, err := await(t, delayed); !errors.Is(err, taskloop.ErrStopped) {
		t.Fatalf("delayed task: %v, want ErrStopped", err)
	}
	if te := taskErr(t, resolved(t, delayed).Err); te.Attempts != 0 {
		t.Errorf("delayed task made %d attempts", te.Attempts)
	}
	late := taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)
	if r := resolved(t, late); !errors.Is(r.Err, taskloop.ErrClosed) {
		t.Fatalf("task submitted during Shutdown: %v, want ErrClosed", r.Err)
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v while tasks were running", err)
	default:
	}

	b.free()
	// Every task ran but the delayed one, which Shutdown reports.
	err := recv(t, shutdownErr)
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) || se.NotStarted != 1 || se.Unfinished != 0 || se.Cause != nil || !errors.Is(err, taskloop.ErrStopped) {
		t.Fatalf("Shutdown = %v, want a *ShutdownError for 1 delayed task not started", err)
	}
	// Every accepted task has resolved when Shutdown returns.
	for _, f := range running {
		if r := resolved(t, f); r.Value != "released" || r.Err != nil {
			t.Errorf("running task: %+v", r)
		}
	}
	for i, f := range queued {
		if r := resolved(t, f); r.Value != fmt.Sprint("queued ", i) || r.Err != nil {
			t.Errorf("queued task %d: %+v", i, r)
		}
	}
	if r := resolved(t, retried); r.Value != "retried" || r.Err != nil {
		t.Errorf("retried task: %+v", r)
	}
	// The periodic task either ran before Shutdown began or was ended
	// before its first run; either way it ends with no error.
	if r := resolved(t, periodic); r.Err != nil || r.Value != periodicRuns.Load() {
		t.Errorf("periodic task: %+v after %d runs", r, periodicRuns.Load())
	}
	select {
	case <-l.Done():
	case <-time.After(safety):
		t.Fatal("Done not closed")
	}
	s := checkIdle(t, l)
	if s.Submitted != 11 || s.Succeeded != 9 || s.Failed != 1 || s.Stopped != 1 || s.Rejected != 1 || s.Retried != 2 {
		t.Errorf("stats %+v", s)
	}

	// Shutdown again returns the same result at once.
	if again := l.Shutdown(context.Background()); again != err {
		t.Fatalf("second Shutdown: %v, want %v", again, err)
	}
}

// TestShutdownTimeout lets Shutdown's context end while tasks are running,
// queued and waiting to retry.
func TestShutdownTimeout(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 2, QueueSize: 16})

	var cancelled []*future.Future[string]
	started := make(chan struct{}, 2)
	for range 2 {
		cancelled = append(cancelled, taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 3, Backoff: time.Microsecond}, func(ctx context.Context) (string, error) {
			started <- struct{}{}
			return "", waitCtx(ctx)
		}))
	}
	recv(t, started)
	recv(t, started)
	var queued []*future.Future[string]
	for range 3 {
		queued = append(queued, taskloop.Submit(context.Background(), l, taskloop.Spec{}, func(context.Context) (string, error) {
			t.Error("queued task ran after a hard stop")
			return "", nil
		}))
	}
	// Queued behind the running tasks, it never gets to try.
	var retryCalls atomic.Int32
	queued = append(queued, taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 1, Backoff: time.Hour}, func(context.Context) (string, error) {
		retryCalls.Add(1)
		return "", errBoom
	}))
	delayed := taskloop.Submit(context.Background(), l, taskloop.Spec{Delay: time.Hour}, ok)

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := l.Shutdown(ctx)
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) {
		t.Fatalf("Shutdown = %v, want a *ShutdownError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown error %v does not match context.DeadlineExceeded", err)
	}
	if se.Unfinished != 6 {
		t.Errorf("Unfinished = %d, want 6 (2 running, 4 queued)", se.Unfinished)
	}
	if !strings.Contains(se.Error(), "6 task(s) did not finish") {
		t.Errorf("message %q", se.Error())
	}
	for i, f := range append(cancelled, queued...) {
		if r := resolved(t, f); !errors.Is(r.Err, taskloop.ErrStopped) {
			t.Errorf("task %d: %v, want ErrStopped", i, r.Err)
		}
	}
	if r := resolved(t, delayed); !errors.Is(r.Err, taskloop.ErrStopped) {
		t.Errorf("delayed task: %v, want ErrStopped", r.Err)
	}
	if retryCalls.Load() != 0 {
		t.Errorf("queued task ran %d times", retryCalls.Load())
	}
	// The running tasks saw their contexts cancelled, so the workers end.
	select {
	case <-l.Done():
	case <-time.After(safety):
		t.Fatal("Done not closed: running tasks not cancelled")
	}
	s := checkIdle(t, l)
	if s.Failed != 7 || s.Retried != 0 {
		t.Errorf("stats %+v", s)
	}
	// Shutdown again returns the same result.
	if again := l.Shutdown(context.Background()); again != err {
		t.Errorf("second Shutdown = %v, want %v", again, err)
	}
}

// TestShutdownTimeoutDuringRetry has a task waiting for its retry when
// Shutdown's context ends: a graceful Shutdown would wait for the retry,
// the hard stop fails it.
func TestShutdownTimeoutDuringRetry(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1})
	var calls atomic.Int32
	f := taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 1, Backoff: time.Hour}, func(context.Context) (string, error) {
		calls.Add(1)
		return "", errBoom
	})
	eventually(t, "the task to wait for its retry", func() bool { return l.Stats().Waiting == 1 })

	began := shutdownBegan(l)
	ctx, cancel := context.WithCancel(context.Background())
	shutdownErr := make(chan error)
	go func() { shutdownErr <- l.Shutdown(ctx) }()
	// Shutdown has begun, and the retrying task goes on waiting.
	recv(t, began)
	if _, done := f.Peek(); done {
		t.Fatal("graceful Shutdown ended a task waiting for its retry")
	}
	cancel()
	err := recv(t, shutdownErr)
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) || se.Unfinished != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want a *ShutdownError with 1 unfinished task", err)
	}
	r := resolved(t, f)
	if !errors.Is(r.Err, taskloop.ErrStopped) || calls.Load() != 1 {
		t.Fatalf("got %v after %d calls", r.Err, calls.Load())
	}
	if te := taskErr(t, r.Err); te.Attempts != 1 {
		t.Errorf("Attempts = %d, want 1", te.Attempts)
	}
	<-l.Done()
	checkIdle(t, l)
}

// TestShutdownTimeoutWithStubbornTask: a task that ignores its context
// keeps its worker, so Done closes only when it returns, but Shutdown
// returns and the task's future has resolved.
func TestShutdownTimeoutWithStubbornTask(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1})
	b := newBlocker(t)
	f := b.submit(l)
	recv(t, b.started)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Shutdown(ctx)
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) || se.Unfinished != 1 {
		t.Fatalf("Shutdown = %v", err)
	}
	if r := resolved(t, f); !errors.Is(r.Err, taskloop.ErrStopped) {
		t.Fatalf("got %v, want ErrStopped", r.Err)
	}
	select {
	case <-l.Done():
		t.Fatal("Done closed while a task still runs")
	default:
	}
	b.free()
	<-l.Done()
	checkIdle(t, l)
}

func TestShutdownConcurrentCallsAgree(t *testing.T) {
	for _, hard := range []bool{false, true} {
		t.Run(fmt.Sprint("hard=", hard), func(t *testing.T) {
			l := startLoop(t, taskloop.Options{Workers: 1})
			b := newBlocker(t)
			f := b.submit(l)
			recv(t, b.started)
			ctx, cancel := context.WithCancel(context.Background())
			if hard {
				cancel()
			}
			defer cancel()
			began := shutdownBegan(l)
			errs := make(chan error, 4)
			var wg sync.WaitGroup
			for range cap(errs) {
				wg.Go(func() { errs <- l.Shutdown(ctx) })
			}
			if !hard {
				recv(t, began)
				// The graceful Shutdowns wait for the running task.
				b.free()
			}
			wg.Wait()
			close(errs)
			var results []error
			for err := range errs {
				results = append(results, err)
			}
			final := l.Shutdown(context.Background())
			for _, err := range results {
				switch {
				case !hard && err != nil:
					t.Fatalf("graceful Shutdown = %v", err)
				case hard && !errors.Is(err, context.Canceled):
					// A caller whose context has ended while the first
					// call works returns its context's error.
					t.Fatalf("hard Shutdown = %v, want an error matching context.Canceled", err)
				}
			}
			var se *taskloop.ShutdownError
			if hard && (!errors.As(final, &se) || se.Unfinished != 1) {
				t.Fatalf("Shutdown after a hard stop = %v", final)
			}
			resolved(t, f)
			b.free()
			<-l.Done()
			checkIdle(t, l)
		})
	}
}

// TestShutdownAgainReturnsSameResult calls Shutdown again, with a context
// that has ended too, once the first call has returned: it returns the
// first call's result, every time.
func TestShutdownAgainReturnsSameResult(t *testing.T) {
	for range 20 {
		l := startLoop(t, taskloop.Options{Workers: 1})
		b := newBlocker(t)
		b.submit(l)
		recv(t, b.started)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		first := l.Shutdown(ctx)
		var se *taskloop.ShutdownError
		if !errors.As(first, &se) {
			t.Fatalf("Shutdown = %v", first)
		}
		for range 5 {
			if again := l.Shutdown(ctx); again != first {
				t.Fatalf("Shutdown again = %v, want %v", again, first)
			}
		}
		b.free()
		<-l.Done()
	}
}

func TestShutdownWaiterContextEnds(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1})
	b := newBlocker(t)
	b.submit(l)
	recv(t, b.started)
	began := shutdownBegan(l)
	first := make(chan error)
	go func() { first <- l.Shutdown(context.Background()) }()
	recv(t, began)
	// A second caller whose context ends stops waiting with its error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Shutdown = %v, want context.Canceled", err)
	}
	b.free()
	if err := recv(t, first); err != nil {
		t.Fatal(err)
	}
}

func TestStartContextCancelStopsHard(t *testing.T) {
	l := newLoop(t, taskloop.Options{Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	f := taskloop.Submit(context.Background(), l, taskloop.Spec{Retries: 5}, func(ctx context.Context) (int, error) {
		close(started)
		return 0, waitCtx(ctx)
	})
	queued := taskloop.Submit(context.Background(), l, taskloop.Spec{}, func(context.Context) (int, error) { return 1, nil })
	<-started
	cancel()
	if _, err := await(t, f); !errors.Is(err, taskloop.ErrStopped) {
		t.Fatalf("running task: %v, want ErrStopped", err)
	}
	if _, err := await(t, queued); !errors.Is(err, taskloop.ErrStopped) {
		t.Fatalf("queued task: %v, want ErrStopped", err)
	}
	// Shutdown reports the hard stop.
	err := l.Shutdown(context.Background())
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) || se.Unfinished != 2 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown after a cancelled Start = %v", err)
	}
	if r := resolved(t, taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)); !errors.Is(r.Err, taskloop.ErrClosed) {
		t.Fatalf("submit after a hard stop: %v", r.Err)
	}
	<-l.Done()
	checkIdle(t, l)
}

func TestStartTwice(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1})
	if err := l.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	shutdown(t, l)
	if err := l.Start(context.Background()); err == nil {
		t.Fatal("Start after Shutdown succeeded")
	}
}

func TestShutdownUnstartedLoopRunsQueue(t *testing.T) {
	l := newLoop(t, taskloop.Options{Workers: 2})
	var fs []*future.Future[int]
	for i := range 10 {
		fs = append(fs, taskloop.Submit(context.Background(), l, taskloop.Spec{}, func(context.Context) (int, error) { return i, nil }))
	}
	shutdown(t, l)
	for i, f := range fs {
		if r := resolved(t, f); r.Value != i || r.Err != nil {
			t.Fatalf("task %d: %+v", i, r)
		}
	}
	checkIdle(t, l)
}

func TestDefaults(t *testing.T) {
	// The zero Options work: a started loop with default workers, queue and
	// logger (a failing task logs to slog.Default, which must not panic).
	l := taskloop.New(taskloop.Options{Logger: quiet})
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)
	if v, err := await(t, f); v != "ok" || err != nil {
		t.Fatalf("got %q, %v", v, err)
	}
	shutdown(t, l)
	checkIdle(t, l)
}

// TestHardStopResolvesEverything submits a stream of short tasks of every
// kind and stops the loop hard in the middle: when Shutdown returns, every
// accepted task's future has resolved, and Unfinished counts exactly those
// that failed with ErrStopped.
func TestHardStopResolvesEverything(t *testing.T) {
	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		l := startLoop(t, taskloop.Options{Workers: 4, QueueSize: 32})
		var (
			fs []*future.Future[int]
			wg sync.WaitGroup
			mu sync.Mutex
		)
		// Four submitters keep the queue full (policy Block) until the hard
		// stop refuses their tasks.
		for g := range 4 {
			wg.Go(func() {
				for i := range 500 {
					spec := taskloop.Spec{Backoff: time.Microsecond}
					switch (g + i) % 4 {
					case 1:
						spec.Retries = 2
					case 2:
						spec.Delay = time.Microsecond
					case 3:
						spec.Timeout = time.Microsecond
					}
					f := taskloop.Submit(context.Background(), l, spec, func(ctx context.Context) (int, error) {
						if i%3 == 0 {
							return 0, errBoom
						}
						return i, nil
					})
					mu.Lock()
					fs = append(fs, f)
					mu.Unlock()
				}
			})
		}
		eventually(t, "tasks to run", func() bool { return l.Stats().Succeeded > 100 })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := l.Shutdown(ctx)
		// Futures submitted from now on fail with ErrClosed at once.
		wg.Wait()

		unfinished := 0
		var se *taskloop.ShutdownError
		if errors.As(err, &se) {
			unfinished = se.Unfinished
		} else if err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		stopped := 0
		mu.Lock()
		for i, f := range fs {
			r, ok := f.Peek()
			if !ok {
				t.Fatalf("round %d: future %d of %d not resolved when Shutdown returned", round, i, len(fs))
			}
			// Delayed tasks that had not started when Shutdown began fail
			// with ErrStopped without counting as unfinished.
			if errors.Is(r.Err, taskloop.ErrStopped) && !strings.Contains(r.Err.Error(), "did not start") {
				stopped++
			}
		}
		mu.Unlock()
		if stopped != unfinished {
			t.Fatalf("round %d: %d futures failed with ErrStopped, Unfinished = %d", round, stopped, unfinished)
		}
		<-l.Done()
		checkIdle(t, l)
	}
}

// TestManyTasks runs 100,000 tasks that succeed, fail, panic, time out and
// retry, and checks each outcome and the Stats.
func TestManyTasks(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	type kind struct {
		name  string
		spec  taskloop.Spec
		fn    func(ctx context.Context, i int, call int32) (int, error)
		calls int32
		check func(i, v int, err error) error
	}
	wantValue := func(i, v int, err error) error {
		if err != nil || v != i {
			return fmt.Errorf("got %d, %v; want %d, nil", v, err, i)
		}
		return nil
	}
	wantErr := func(target error) func(int, int, error) error {
		return func(_, v int, err error) error {
			var te *taskloop.TaskError
			if !errors.Is(err, target) || !errors.As(err, &te) || v != 0 {
				return fmt.Errorf("got %d, %v; want a *TaskError matching %v", v, err, target)
			}
			return nil
		}
	}
	wantPanic := func(_, v int, err error) error {
		var pe *future.PanicError
		if !errors.As(err, &pe) || pe.Value != "kaboom" {
			return fmt.Errorf("got %d, %v; want a panic", v, err)
		}
		return nil
	}
	tiny := time.Microsecond
	kinds := []kind{
		{"success", taskloop.Spec{}, func(_ context.Context, i int, _ int32) (int, error) { return i, nil }, 1, wantValue},
		{"error", taskloop.Spec{}, func(context.Context, int, int32) (int, error) { return 0, errBoom }, 1, wantErr(errBoom)},
		{"permanent", taskloop.Spec{Retries: 3, Backoff: tiny}, func(context.Context, int, int32) (int, error) {
			return 0, taskloop.Permanent(errBoom)
		}, 1, wantErr(errBoom)},
		{"panic", taskloop.Spec{}, func(context.Context, int, int32) (int, error) { panic("kaboom") }, 1, wantPanic},
		{"timeout", taskloop.Spec{Timeout: tiny}, func(ctx context.Context, _ int, _ int32) (int, error) {
			return 0, waitCtx(ctx)
		}, 1, wantErr(context.DeadlineExceeded)},
		{"retry then success", taskloop.Spec{Retries: 2, Backoff: tiny}, func(_ context.Context, i int, call int32) (int, error) {
			if call < 3 {
				return 0, errBoom
			}
			return i, nil
		}, 3, wantValue},
		{"retries exhausted", taskloop.Spec{Retries: 1, Backoff: tiny}, func(context.Context, int, int32) (int, error) {
			return 0, errBoom
		}, 2, wantErr(errBoom)},
		{"panic then success", taskloop.Spec{Retries: 1, Backoff: 100 * tiny}, func(_ context.Context, i int, call int32) (int, error) {
			if call == 1 {
				panic("kaboom")
			}
			return i, nil
		}, 2, wantValue},
		{"timeout then success", taskloop.Spec{Retries: 1, Backoff: tiny, Timeout: tiny}, func(ctx context.Context, i int, call int32) (int, error) {
			if call == 1 {
				return 0, waitCtx(ctx)
			}
			return i, nil
		}, 2, wantValue},
	}

	// Weights: mostly successes, as in life; panics are the dearest under
	// the race detector (each captures a stack).
	var mix []int
	for k, weight := range []int{8, 2, 1, 1, 1, 2, 1, 1, 1} {
		for range weight {
			mix = append(mix, k)
		}
	}
	kindOf := func(i int) *kind { return &kinds[mix[i%len(mix)]] }

	l := startLoop(t, taskloop.Options{Workers: 16, QueueSize: 256})
	calls := make([]atomic.Int32, n)
	fs := make([]*future.Future[int], n)
	for i := range n {
		k := kindOf(i)
		fs[i] = taskloop.Submit(context.Background(), l, k.spec, func(ctx context.Context) (int, error) {
			return k.fn(ctx, i, calls[i].Add(1))
		})
	}
	var succeeded, failed, retried, panicked int64
	for i, f := range fs {
		v, err := await(t, f)
		k := kindOf(i)
		if e := k.check(i, v, err); e != nil {
			t.Fatalf("task %d (%s): %v", i, k.name, e)
		}
		if c := calls[i].Load(); c != k.calls {
			t.Fatalf("task %d (%s): %d calls, want %d", i, k.name, c, k.calls)
		}
		if err == nil {
			succeeded++
		} else {
			failed++
		}
		retried += int64(k.calls - 1)
		if strings.HasPrefix(k.name, "panic") {
			panicked++
		}
	}
	shutdown(t, l)
	// Each outcome is counted once per task: a task settled twice would
	// show up here.
	s := checkIdle(t, l)
	if s.Submitted != int64(n) || s.Succeeded != succeeded || s.Failed != failed || s.Rejected != 0 || s.Canceled != 0 {
		t.Errorf("stats %+v; want %d submitted, %d succeeded, %d failed", s, n, succeeded, failed)
	}
	if s.Retried != retried || s.Panicked != panicked {
		t.Errorf("Retried %d, Panicked %d; want %d, %d", s.Retried, s.Panicked, retried, panicked)
	}
}
