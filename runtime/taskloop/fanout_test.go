package taskloop_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// stall is how long a loop may go without finishing a single task before
// watch calls it wedged. Every task of these tests takes microseconds, so
// only a deadlock (or a machine stopped for that long) gets near it.
const stall = 20 * time.Second

// watch waits for done, failing the test if the loop finishes no task for
// stall: a wedged loop fails the test instead of hanging it.
func watch(t testing.TB, l *taskloop.Loop, done <-chan struct{}, what string) {
	t.Helper()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	finished := func() int64 { s := l.Stats(); return s.Succeeded + s.Failed + s.Canceled + s.Rejected }
	last, lastChange := finished(), time.Now()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if n := finished(); n != last {
			last, lastChange = n, time.Now()
			continue
		}
		if time.Since(lastChange) > stall {
			t.Fatalf("%s: the loop is wedged: no task finished for %v; stats %+v", what, stall, l.Stats())
		}
	}
}

// spread is the fan-out of issue 13: a task that starts two tasks of one
// level less, down to depth 0, without waiting for them. It counts every
// run in ran.
func spread(ctx context.Context, depth int, ran *atomic.Int64) error {
	ran.Add(1)
	if depth == 0 {
		return nil
	}
	for range 2 {
		taskloop.Async(ctx, taskloop.Spec{Name: "spread"}, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, spread(ctx, depth-1, ran)
		})
	}
	return nil
}

// TestSpreadFromTasks: tasks that start tasks while every worker is busy
// and the queue is full (policy Block) never wait for room, so the loop
// never wedges: Spread(16) on 8 workers and a queue of 16 runs all of its
// 131,071 tasks.
func TestSpreadFromTasks(t *testing.T) {
	const depth = 16
	want := int64(1)<<(depth+1) - 1
	l := startLoop(t, taskloop.Options{Workers: 8, QueueSize: 16})
	ctx := taskloop.WithLoop(context.Background(), l)
	var ran atomic.Int64
	taskloop.Async(ctx, taskloop.Spec{Name: "spread"}, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, spread(ctx, depth, &ran)
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ran.Load() < want || l.Stats().Running > 0 || l.Stats().Queued > 0 {
			time.Sleep(time.Millisecond)
		}
	}()
	watch(t, l, done, "Spread(16)")
	shutdown(t, l)
	s := checkIdle(t, l)
	if ran.Load() != want || s.Succeeded != want || s.Rejected != 0 || s.Failed != 0 {
		t.Fatalf("ran %d of %d tasks; stats %+v", ran.Load(), want, s)
	}
	t.Logf("Spread(%d): %d tasks; stats %+v", depth, want, s)
}

// fib is naive Fibonacci with a task per call that awaits its two
// children.
func fib(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	spec := taskloop.Spec{Name: "fib"}
	a := taskloop.Async(ctx, spec, func(ctx context.Context) (int, error) { return fib(ctx, n-1) })
	b := taskloop.Async(ctx, spec, func(ctx context.Context) (int, error) { return fib(ctx, n-2) })
	x, err := a.Await(ctx)
	if err != nil {
		return 0, err
	}
	y, err := b.Await(ctx)
	return x + y, err
}

// fibAll is fib awaiting its two children through future.All.
func fibAll(ctx context.Context, n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	spec := taskloop.Spec{Name: "fib"}
	vs, err := future.All(
		taskloop.Async(ctx, spec, func(ctx context.Context) (int, error) { return fibAll(ctx, n-1) }),
		taskloop.Async(ctx, spec, func(ctx context.Context) (int, error) { return fibAll(ctx, n-2) }),
	).Await(ctx)
	if err != nil {
		return 0, err
	}
	return vs[0] + vs[1], nil
}

// TestAwaitChildrenFromTasks: a task that awaits its own children never
// deadlocks the loop, even when every worker is such a parent: naive
// fib(20) as tasks on 4 workers, 21,891 tasks, with the default queue and
// with a queue of 16, the children awaited one by one or through
// future.All.
func TestAwaitChildrenFromTasks(t *testing.T) {
	for _, tc := range []struct {
		queue int
		all   bool
	}{{0, false}, {16, false}, {0, true}, {16, true}} {
		t.Run(fmt.Sprintf("queue=%d,all=%v", tc.queue, tc.all), func(t *testing.T) {
			l := startLoop(t, taskloop.Options{Workers: 4, QueueSize: tc.queue})
			ctx := taskloop.WithLoop(context.Background(), l)
			f := taskloop.Async(ctx, taskloop.Spec{Name: "fib"}, func(ctx context.Context) (int, error) {
				if tc.all {
					return fibAll(ctx, 20)
				}
				return fib(ctx, 20)
			})
			watch(t, l, f.Done(), "fib(20)")
			if v, err := f.Await(ctx); v != 6765 || err != nil {
				t.Fatalf("fib(20) = %d, %v; want 6765", v, err)
			}
			shutdown(t, l)
			s := checkIdle(t, l)
			if s.Succeeded != 21891 || s.Rejected != 0 {
				t.Fatalf("stats %+v; want 21891 tasks succeeded", s)
			}
			t.Logf("fib(20): stats %+v", s)
		})
	}
}

// TestAwaitDelayedChild: every worker awaits a child that waits for its
// delay; when the delay is over, the child must still find a goroutine to
// run it.
func TestAwaitDelayedChild(t *testing.T) {
	const workers = 2
	l := startLoop(t, taskloop.Options{Workers: workers, QueueSize: 4})
	ctx := taskloop.WithLoop(context.Background(), l)
	parents := make([]*future.Future[int], workers)
	for i := range parents {
		parents[i] = taskloop.Async(ctx, taskloop.Spec{Name: "parent"}, func(ctx context.Context) (int, error) {
			child := taskloop.Async(ctx, taskloop.Spec{Name: "child", Delay: 10 * time.Millisecond}, func(context.Context) (int, error) { return i, nil })
			return child.Await(ctx)
		})
	}
	all := future.All(parents...)
	watch(t, l, all.Done(), "parents awaiting delayed children")
	if v, err := all.Await(ctx); err != nil || len(v) != workers {
		t.Fatalf("got %v, %v", v, err)
	}
	shutdown(t, l)
	checkIdle(t, l)
}

// TestScopeCloseNeverWaits: handing a request's after-response tasks to
// the loop never waits, even when the loop is full under policy Block:
// the handler's goroutine, and so its connection, is free at once.
func TestScopeCloseNeverWaits(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
	later := taskloop.Later(ctx, taskloop.Spec{Name: "after"}, ok) // there is room now
	b := newBlocker(t)
	b.submit(l)
	recv(t, b.started)
	queued := taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok) // now the queue is full
	closed := make(chan struct{})
	go func() {
		scope.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(safety):
		t.Fatal("Scope.Close waited for room in the queue")
	}
	if _, done := later.Peek(); done {
		t.Fatal("the after-response task resolved before the loop had room")
	}
	b.free()
	for _, f := range []*future.Future[string]{later, queued} {
		if v, err := await(t, f); v != "ok" || err != nil {
			t.Fatalf("got %q, %v", v, err)
		}
	}
	shutdown(t, l)
	if s := checkIdle(t, l); s.Rejected != 0 || s.Succeeded != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// chain is a task that starts the next of n and awaits it: a chain of
// tasks far deeper than any stack should hold in one goroutine.
func chain(ctx context.Context, n int) (int, error) {
	if n == 0 {
		return 0, nil
	}
	next := taskloop.Async(ctx, taskloop.Spec{Name: "chain"}, func(ctx context.Context) (int, error) { return chain(ctx, n-1) })
	v, err := next.Await(ctx)
	return v + 1, err
}

// TestDeepAwaitChain: 2,000 tasks, each awaiting the next, on one worker:
// each is run by the one before it, on a fresh goroutine every
// maxInlineDepth levels.
func TestDeepAwaitChain(t *testing.T) {
	const n = 2000
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	ctx := taskloop.WithLoop(context.Background(), l)
	f := taskloop.Async(ctx, taskloop.Spec{Name: "chain"}, func(ctx context.Context) (int, error) { return chain(ctx, n) })
	watch(t, l, f.Done(), "a chain of awaits")
	if v, err := f.Await(ctx); v != n || err != nil {
		t.Fatalf("chain = %d, %v", v, err)
	}
	shutdown(t, l)
	if s := checkIdle(t, l); s.Succeeded != n+1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestInlineTaskOutcomes: a task run inline by the task that submitted it
// to a full queue (or that awaits it) is still a task of its own: its
// panic, its runtime.Goexit and its retries are its own, and its parent
// goes on (but for Goexit, which no recover stops and which ends the
// goroutine both run in).
func TestInlineTaskOutcomes(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	ctx := taskloop.WithLoop(context.Background(), l)
	release := make(chan struct{})
	type results struct {
		panicked, retried error
		retriedValue      int
	}
	parent := taskloop.Async(ctx, taskloop.Spec{Name: "parent"}, func(ctx context.Context) (results, error) {
		var r results
		// The queue of one is full: children submitted now run here.
		taskloop.Async(ctx, taskloop.Spec{Name: "fill"}, func(context.Context) (int, error) {
			<-release
			return 0, nil
		})
		p := taskloop.Async(ctx, taskloop.Spec{Name: "panics"}, func(context.Context) (int, error) { panic("child panic") })
		_, r.panicked = p.Await(ctx)
		var calls atomic.Int32
		retry := taskloop.Async(ctx, taskloop.Spec{Name: "retries", Retries: 2, Backoff: time.Millisecond}, func(context.Context) (int, error) {
			if calls.Add(1) < 3 {
				return 0, errBoom
			}
			return 42, nil
		})
		// Its retries wait on the timer heap; awaiting runs them here.
		r.retriedValue, r.retried = retry.Await(ctx)
		return r, nil
	})
	r, err := await(t, parent)
	if err != nil {
		t.Fatal(err)
	}
	var pe *future.PanicError
	if !errors.As(r.panicked, &pe) || pe.Value != "child panic" {
		t.Errorf("panicking child: %v", r.panicked)
	}
	if r.retriedValue != 42 || r.retried != nil {
		t.Errorf("retried child: %d, %v", r.retriedValue, r.retried)
	}

	close(release)
	var goexited atomic.Bool
	parent2 := taskloop.Async(ctx, taskloop.Spec{Name: "parent2"}, func(ctx context.Context) (int, error) {
		taskloop.Async(ctx, taskloop.Spec{Name: "fill"}, func(context.Context) (int, error) { return 0, nil })
		taskloop.Async(ctx, taskloop.Spec{Name: "goexit"}, func(context.Context) (int, error) {
			goexited.Store(true)
			runtime.Goexit()
			return 0, nil
		})
		return 1, nil
	})
	if _, err := await(t, parent2); !errors.Is(err, taskloop.ErrGoexit) || !goexited.Load() {
		t.Errorf("parent of a child that called Goexit inline: %v; want ErrGoexit", err)
	}
	// The worker was replaced: the loop goes on.
	if v, err := await(t, taskloop.Async(ctx, taskloop.Spec{}, ok)); v != "ok" || err != nil {
		t.Fatalf("after Goexit: %q, %v", v, err)
	}
	shutdown(t, l)
	if s := checkIdle(t, l); s.Inline < 5 || s.Panicked != 1 || s.Retried != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// TestTaskDelayedSubmissionsPastBound: a task cannot run a delayed child
// now, nor wait for room: past the bound the child takes the extra room
// of QueueSize more, and beyond that it is refused with ErrQueueFull.
func TestTaskDelayedSubmissionsPastBound(t *testing.T) {
	const queue = 4
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: queue})
	ctx := taskloop.WithLoop(context.Background(), l)
	children := make(chan []*future.Future[string], 1)
	taskloop.Async(ctx, taskloop.Spec{Name: "parent"}, func(ctx context.Context) (int, error) {
		var fs []*future.Future[string]
		for range 3 * queue {
			fs = append(fs, taskloop.Async(ctx, taskloop.Spec{Name: "later", Delay: time.Hour}, ok))
		}
		children <- fs
		return 0, nil
	})
	fs := recv(t, children)
	var waiting, refused int
	for _, f := range fs {
		switch r, done := f.Peek(); {
		case !done:
			waiting++
		case errors.Is(r.Err, taskloop.ErrQueueFull):
			refused++
		default:
			t.Fatalf("delayed child: %v", r.Err)
		}
	}
	if waiting != 2*queue || refused != queue {
		t.Fatalf("%d delayed children wait, %d refused; want %d and %d", waiting, refused, 2*queue, queue)
	}
	if s := l.Stats(); s.Waiting != 2*queue {
		t.Fatalf("stats %+v", s)
	}
	var se *taskloop.ShutdownError
	if err := l.Shutdown(context.Background()); !errors.As(err, &se) || se.NotStarted != 2*queue {
		t.Fatalf("Shutdown = %v; want %d delayed tasks reported", err, 2*queue)
	}
	checkIdle(t, l)
}

// TestHardStopFailsInlineTasks: a Shutdown deadline fails the tasks that
// run inline too, and counts them.
func TestHardStopFailsInlineTasks(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	ctx := taskloop.WithLoop(context.Background(), l)
	release := make(chan struct{})
	defer close(release)
	inlineStarted := make(chan struct{})
	children := make(chan *future.Future[string], 1)
	parent := taskloop.Async(ctx, taskloop.Spec{Name: "parent"}, func(ctx context.Context) (string, error) {
		taskloop.Async(ctx, taskloop.Spec{Name: "fill"}, ok) // the queue is full
		children <- taskloop.Async(ctx, taskloop.Spec{Name: "inline"}, func(ctx context.Context) (string, error) {
			close(inlineStarted)
			<-ctx.Done() // until the hard stop cancels it
			return "", ctx.Err()
		})
		return "parent", nil
	})
	recv(t, inlineStarted)
	sctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Shutdown(sctx)
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) || se.Unfinished != 3 {
		t.Fatalf("Shutdown = %v; want 3 unfinished: the parent, its inline child, the queued one", err)
	}
	for _, f := range []*future.Future[string]{parent, recv(t, children)} {
		if _, err := await(t, f); !errors.Is(err, taskloop.ErrStopped) {
			t.Errorf("got %v, want ErrStopped", err)
		}
	}
	<-l.Done()
	if s := checkIdle(t, l); s.Stopped != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// TestTasksSubmitDuringShutdown: once Shutdown has begun, the loop refuses
// new work, but a running task may still start tasks, which finish work
// accepted before (a fan-out half done): the graceful Shutdown runs them.
func TestTasksSubmitDuringShutdown(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 2, QueueSize: 4})
	ctx := taskloop.WithLoop(context.Background(), l)
	began := shutdownBegan(l)
	var ran atomic.Int64
	parent := taskloop.Async(ctx, taskloop.Spec{Name: "spread"}, func(ctx context.Context) (struct{}, error) {
		<-began
		return struct{}{}, spread(ctx, 6, &ran)
	})
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- l.Shutdown(context.Background()) }()
	recv(t, began)
	if r := resolved(t, taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "outside"}, ok)); !errors.Is(r.Err, taskloop.ErrClosed) {
		t.Fatalf("submitted from outside during Shutdown: %v, want ErrClosed", r.Err)
	}
	if err := recv(t, shutdownErr); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := await(t, parent); err != nil {
		t.Fatal(err)
	}
	if want := int64(1)<<7 - 1; ran.Load() != want {
		t.Fatalf("%d of the fan-out's %d tasks ran", ran.Load(), want)
	}
	if s := checkIdle(t, l); s.Rejected != 1 {
		t.Fatalf("stats %+v", s)
	}
}
