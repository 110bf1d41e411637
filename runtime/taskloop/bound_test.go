package taskloop_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// TestDelayedTasksCountAgainstBound is issue 13's attack, scaled down:
// 100,000 tasks with a delay under policy Reject. Only QueueSize of them
// are accepted, the others are rejected at once; the accepted ones wait
// without a goroutine each; and Shutdown reports those it did not run.
func TestDelayedTasksCountAgainstBound(t *testing.T) {
	const n, queue = 100_000, 1000
	l := startLoop(t, taskloop.Options{Workers: 2, QueueSize: queue, WhenFull: taskloop.Reject})
	ctx := context.Background()
	before := runtime.NumGoroutine()
	fs := make([]*future.Future[string], n)
	for i := range fs {
		fs[i] = taskloop.Submit(ctx, l, taskloop.Spec{Name: "later", Delay: time.Hour}, ok)
	}
	s := l.Stats()
	if s.Waiting != queue || s.Rejected != n-queue {
		t.Errorf("after %d delayed submissions: %d waiting, %d rejected; want %d and %d", n, s.Waiting, s.Rejected, queue, n-queue)
	}
	if g := runtime.NumGoroutine() - before; g > 10 {
		t.Errorf("%d more goroutines with %d delayed tasks waiting", g, s.Waiting)
	}
	// A periodic task waits as long as a delayed one: it counts too.
	every := taskloop.Submit(ctx, l, taskloop.Spec{Name: "every", Every: time.Hour}, ok)
	if r, done := every.Peek(); !done || !errors.Is(r.Err, taskloop.ErrQueueFull) {
		t.Errorf("periodic task submitted at the bound: %+v, %v; want ErrQueueFull", r, done)
	}

	err := l.Shutdown(ctx)
	if err == nil {
		t.Fatalf("Shutdown returned nil; it did not run %d accepted delayed tasks", s.Waiting)
	}
	var accepted, rejected int
	for _, f := range fs {
		r := resolved(t, f)
		switch {
		case errors.Is(r.Err, taskloop.ErrStopped):
			accepted++
		case errors.Is(r.Err, taskloop.ErrQueueFull):
			rejected++
		default:
			t.Fatalf("delayed task: %v", r.Err)
		}
	}
	if accepted != queue || rejected != n-queue {
		t.Errorf("%d stopped, %d rejected; want %d and %d", accepted, rejected, queue, n-queue)
	}
	checkIdle(t, l)
}

// TestDelayedTaskWaitsForRoom: under policy Block, a delayed task that
// finds the bound reached waits for room like any other, until its
// submitter's context ends.
func TestDelayedTaskWaitsForRoom(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	first := taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "first", Delay: time.Hour}, ok)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	second := taskloop.Submit(ctx, l, taskloop.Spec{Name: "second", Delay: time.Hour}, ok)
	r, done := second.Peek()
	if !done || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("second delayed task at the bound: %+v, resolved %v; want it to wait for room until its context ended", r, done)
	}
	first.Cancel()
	if _, err := await(t, first); !errors.Is(err, context.Canceled) {
		t.Fatalf("first: %v", err)
	}
	// The cancelled task left the timer: there is room again.
	third := taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "third", Delay: time.Millisecond}, ok)
	if v, err := await(t, third); v != "ok" || err != nil {
		t.Fatalf("third: %q, %v", v, err)
	}
	shutdown(t, l)
	checkIdle(t, l)
}

// TestBlockedSubmittersGoInOrder: submitters waiting for room (policy
// Block) get it in the order they came, one per task that leaves the
// queue, and newcomers queue behind them.
func TestBlockedSubmittersGoInOrder(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
	b := newBlocker(t)
	b.submit(l)
	recv(t, b.started)
	taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "fill"}, ok)
	const n = 5
	var mu sync.Mutex
	var order []int
	fs := make(chan *future.Future[string], n)
	for i := range n {
		go func() {
			fs <- taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "waiter"}, func(context.Context) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				order = append(order, i)
				return "ok", nil
			})
		}()
		eventually(t, "the submitter to wait for room", func() bool { return l.Stats().Queued == int64(2+i) })
	}
	b.free()
	for range n {
		if _, err := await(t, recv(t, fs)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("ran in order %v; want the order the submitters came in", order)
	}
}
