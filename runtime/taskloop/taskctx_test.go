package taskloop_test

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// Issue 15, item 1: a task's context must outlive its function. What a
// task returns may stay bound to its context (a channel fed by a
// goroutine, a response body, *sql.Rows, minio-go's GetObject): the
// context ends when the future is cancelled, the task's timeout fires or,
// without a loop, the caller's context ends; never because the function
// returned.

// bound is what a task returns that stays bound to its context: a channel
// that a goroutine feeds for as long as the context lives, a reader whose
// Read fails once the context has ended, and the context itself.
type bound struct {
	ch  <-chan int
	r   io.ReadCloser
	ctx context.Context
	p   *payload
}

// makeBound is a task function that returns a bound.
func makeBound(ctx context.Context) (bound, error) {
	return bound{ch: feed(ctx), r: ctxReader{ctx}, ctx: ctx}, nil
}

// feed returns a channel that a goroutine fills with 0, 1, 2, … until ctx
// ends, then closes.
func feed(ctx context.Context) <-chan int {
	ch := make(chan int)
	go func() {
		defer close(ch)
		for i := 0; ctx.Err() == nil; i++ {
			select {
			case ch <- i:
			case <-ctx.Done():
			}
		}
	}()
	return ch
}

// ctxReader reads "data" until its context ends, then fails with the
// context's error, as an HTTP response body does.
type ctxReader struct{ ctx context.Context }

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return copy(p, "data"), nil
}

func (ctxReader) Close() error { return nil }

// taskRunner starts a task the way one of the task's paths runs it and
// returns its future, already resolved or not.
type taskRunner struct {
	name string
	run  func(t *testing.T, ctx context.Context, spec taskloop.Spec, fn func(context.Context) (bound, error)) *future.Future[bound]
}

var taskRunners = []taskRunner{
	{"on a loop", func(t *testing.T, ctx context.Context, spec taskloop.Spec, fn func(context.Context) (bound, error)) *future.Future[bound] {
		l := startLoop(t, taskloop.Options{Workers: 2})
		return taskloop.Async(taskloop.WithLoop(ctx, l), spec, fn)
	}},
	{"without a loop", func(t *testing.T, ctx context.Context, spec taskloop.Spec, fn func(context.Context) (bound, error)) *future.Future[bound] {
		return taskloop.Async(ctx, spec, fn)
	}},
	{"inline, awaited by a task", func(t *testing.T, ctx context.Context, spec taskloop.Spec, fn func(context.Context) (bound, error)) *future.Future[bound] {
		// The only worker runs the parent, which awaits its queued child:
		// the parent's goroutine takes the child and runs it.
		l := startLoop(t, taskloop.Options{Workers: 1})
		children := make(chan *future.Future[bound], 1)
		parent := taskloop.Submit(ctx, l, taskloop.Spec{Name: "parent"}, func(ctx context.Context) (bound, error) {
			child := taskloop.Submit(ctx, l, spec, fn)
			children <- child
			return child.Await(ctx)
		})
		await(t, parent) // the child's result, which the caller checks
		if l.Stats().Inline == 0 {
			t.Fatal("the child did not run in its parent's goroutine")
		}
		return recv(t, children)
	}},
}

// readAlive checks that b still works: three values from its channel, three
// reads, and a live context.
func readAlive(t *testing.T, b bound) {
	t.Helper()
	for i := range 3 {
		select {
		case v, ok := <-b.ch:
			if !ok {
				t.Fatalf("the channel closed after %d values (context: %v)", i, b.ctx.Err())
			}
			if v != i {
				t.Fatalf("value %d is %d", i, v)
			}
		case <-time.After(safety):
			t.Fatal("the channel sent nothing")
		}
		var buf [8]byte
		if n, err := b.r.Read(buf[:]); err != nil || string(buf[:n]) != "data" {
			t.Fatalf("Read %d = %q, %v", i, buf[:n], err)
		}
	}
	if err := b.ctx.Err(); err != nil {
		t.Fatalf("the task's context ended (%v) when the function returned", err)
	}
}

// waitEnded waits for b's feeding goroutine to end and checks that b's
// context ended with want.
func waitEnded(t *testing.T, b bound, want error) {
	t.Helper()
	deadline := time.After(safety)
	for {
		select {
		case _, ok := <-b.ch:
			if ok {
				continue
			}
		case <-deadline:
			t.Fatalf("the channel still open %v after the context should have ended", safety)
		}
		break
	}
	if err := b.ctx.Err(); !errors.Is(err, want) {
		t.Fatalf("context error %v, want %v", err, want)
	}
	if _, err := b.r.Read(make([]byte, 8)); !errors.Is(err, want) {
		t.Fatalf("Read after the end: %v, want %v", err, want)
	}
}

// TestTaskContextOutlivesFunction: through Async and Await, on a loop, run
// inline by an awaiting task, and without a loop, what the task returned
// works after it returned; Future.Cancel still reaches it.
func TestTaskContextOutlivesFunction(t *testing.T) {
	for _, r := range taskRunners {
		t.Run(r.name, func(t *testing.T) {
			f := r.run(t, context.Background(), taskloop.Spec{Name: "stream"}, makeBound)
			b, err := await(t, f)
			if err != nil {
				t.Fatal(err)
			}
			readAlive(t, b)
			f.Cancel()
			waitEnded(t, b, context.Canceled)
		})
	}
}

// TestTaskContextTimeoutAfterReturn: a task's timeout bounds its context
// after the function returned too: not before, and it does end it.
func TestTaskContextTimeoutAfterReturn(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, r := range taskRunners {
		t.Run(r.name, func(t *testing.T) {
			f := r.run(t, context.Background(), taskloop.Spec{Name: "stream", Timeout: timeout}, makeBound)
			b, err := await(t, f)
			if err != nil {
				t.Fatal(err)
			}
			deadline, ok := b.ctx.Deadline()
			if !ok {
				t.Fatal("the context of a task with a timeout has no deadline")
			}
			// The test itself may be slower than the timeout on a loaded
			// machine: what it asserts is that the context does not end
			// before its deadline, and ends at it.
			if err := b.ctx.Err(); err != nil && time.Now().Before(deadline) {
				t.Fatalf("the context ended (%v) before its deadline", err)
			}
			waitEnded(t, b, context.DeadlineExceeded)
			if ended := time.Now(); ended.Before(deadline) {
				t.Fatalf("the context ended %v before its deadline", deadline.Sub(ended))
			}
		})
	}
}

// TestTaskContextEndsWithCaller: without a loop, the task runs in its
// caller, and its context ends when the caller's does, after the function
// returned too.
func TestTaskContextEndsWithCaller(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := await(t, taskloop.Async(ctx, taskloop.Spec{Name: "stream"}, makeBound))
	if err != nil {
		t.Fatal(err)
	}
	readAlive(t, b)
	cancel()
	waitEnded(t, b, context.Canceled)
}

// TestFailedAttemptContextEnds: an attempt that fails has nothing to hand
// on, so its context ends when it returns, timeout or not, and what it
// started stops before a retry.
func TestFailedAttemptContextEnds(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Hour} {
		for _, r := range taskRunners {
			t.Run(r.name, func(t *testing.T) {
				ctxs := make(chan context.Context, 2)
				f := r.run(t, context.Background(), taskloop.Spec{Name: "fails", Retries: 1, Backoff: time.Millisecond, Timeout: timeout}, func(ctx context.Context) (bound, error) {
					ctxs <- ctx
					return bound{}, errBoom
				})
				if _, err := await(t, f); !errors.Is(err, errBoom) {
					t.Fatalf("got %v, want errBoom", err)
				}
				for i := range 2 {
					if err := recv(t, ctxs).Err(); !errors.Is(err, context.Canceled) {
						t.Errorf("attempt %d's context: %v, want context.Canceled", i+1, err)
					}
				}
			})
		}
	}
}

// payload is what TestFinishedTaskIsCollected's tasks return: large
// enough that the allocator never batches it with other objects.
type payload struct{ _ [64]byte }

// TestFinishedTaskIsCollected: a context that outlives its function must
// not keep itself alive. A finished task that nobody references any more
// (its future, its value and its context dropped) is collected, although
// its function watched its context, the context has not ended, the
// caller's context (without a loop) or the loop lives on, and its timeout
// is an hour away: neither the link to the caller's or the loop's
// cancellation nor the timer holds it.
func TestFinishedTaskIsCollected(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, r := range taskRunners {
		for _, timeout := range []time.Duration{0, time.Hour} {
			t.Run(r.name, func(t *testing.T) {
				spec := taskloop.Spec{Name: "payload", Timeout: timeout}
				var w weak.Pointer[payload]
				func() {
					f := r.run(t, ctx, spec, func(tctx context.Context) (bound, error) {
						_ = tctx.Done() // watched, as by a goroutine or an HTTP request
						p := &payload{}
						w = weak.Make(p)
						return bound{ctx: tctx, p: p}, nil
					})
					if _, err := await(t, f); err != nil {
						t.Fatal(err)
					}
				}()
				deadline := time.Now().Add(safety)
				for w.Value() != nil {
					if time.Now().After(deadline) {
						t.Fatalf("a finished task that nobody references was not collected in %v", safety)
					}
					runtime.GC()
					time.Sleep(time.Millisecond)
				}
			})
		}
	}
}

// TestAbandonedRequestCancelsFinishedTasks: the tasks that a request
// started with Async are cancelled when the request is abandoned, and
// that reaches those that have already returned too, however many the
// request started: what they returned belongs to the abandoned request.
func TestAbandonedRequestCancelsFinishedTasks(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 2})
	ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
	var bs []bound
	for range 20 {
		b, err := await(t, taskloop.Async(ctx, taskloop.Spec{Name: "stream"}, makeBound))
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	for _, b := range bs {
		readAlive(t, b)
	}
	scope.CancelTasks()
	for _, b := range bs {
		waitEnded(t, b, context.Canceled)
	}
	scope.Close()
}
