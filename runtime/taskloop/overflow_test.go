package taskloop_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// TestDelayedTasksHoldNoGoroutines fires thousands of delayed tasks at a
// loop whose only worker is busy: waiting for their time, then for the
// worker, they hold no goroutine each (one timer serves them all), and all
// of them run, in the order they fell due.
func TestDelayedTasksHoldNoGoroutines(t *testing.T) {
	ctx := context.Background()
	const n = 5000
	l := taskloop.New(taskloop.Options{Workers: 1, QueueSize: n, WhenFull: taskloop.Reject, Logger: quiet})
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	started := make(chan struct{})
	// Hold the only worker, out of the queue's count, so that the queue
	// has room for exactly n.
	block := taskloop.Submit(ctx, l, taskloop.Spec{Name: "block"}, func(context.Context) (int, error) {
		close(started)
		<-release
		return 0, nil
	})
	<-started
	before := runtime.NumGoroutine()
	fs := make([]*future.Future[int], n)
	var order []int // appended by the only worker
	for i := range n {
		fs[i] = taskloop.Submit(ctx, l, taskloop.Spec{Name: "delayed", Delay: time.Millisecond}, func(context.Context) (int, error) {
			order = append(order, i)
			return i, nil
		})
	}
	// Let every timer fire while the worker is held.
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats().Waiting > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if g := runtime.NumGoroutine() - before; g > 100 {
		t.Errorf("%d more goroutines with %d delayed tasks waiting for room; want them to wait without one each", g, n)
	}
	close(release)
	block.Await(ctx)
	for i, f := range fs {
		if v, err := f.Await(ctx); err != nil || v != i {
			t.Fatalf("task %d: %d, %v", i, v, err)
		}
	}
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Queued != 0 || st.Succeeded != n+1 {
		t.Fatalf("stats after: %+v", st)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("run %d was task %d: tasks due in order must run in order", i, v)
		}
	}
}
