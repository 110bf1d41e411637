package taskloop_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gofutures/futures/runtime/taskloop"
)

// TestLoopOnFakeTime runs a loop inside a testing/synctest bubble, where
// time is fake and moves only when every goroutine of the bubble waits:
// delays, intervals and retry backoffs pass at once, exactly, and the
// loop's workers and timer leave the bubble clean at Shutdown.
func TestLoopOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l := taskloop.New(taskloop.Options{Workers: 2})
		if err := l.Start(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Now()

		delayed := taskloop.Submit(ctx, l, taskloop.Spec{Name: "delayed", Delay: time.Hour},
			func(context.Context) (time.Time, error) { return time.Now(), nil })
		var ticks atomic.Int32
		periodic := taskloop.Submit(ctx, l, taskloop.Spec{Name: "tick", Every: 10 * time.Minute},
			func(context.Context) (struct{}, error) { ticks.Add(1); return struct{}{}, nil })
		var tries atomic.Int32
		retried := taskloop.Submit(ctx, l, taskloop.Spec{Name: "flaky", Retries: 2, Backoff: time.Second},
			func(context.Context) (time.Time, error) {
				if tries.Add(1) < 3 {
					return time.Time{}, errors.New("not yet")
				}
				return time.Now(), nil
			})

		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if _, done := delayed.Peek(); done {
			t.Fatal("the task delayed by an hour ran before the hour")
		}
		if n := ticks.Load(); n != 5 {
			t.Fatalf("after 59 minutes the 10-minute task ran %d times, want 5", n)
		}
		r, done := retried.Peek()
		if !done || r.Err != nil {
			t.Fatalf("the task retried twice has not succeeded: %v %v", done, r.Err)
		}
		// Backoff 1s then 2s, with jitter over each wait's upper half.
		if took := r.Value.Sub(start); took < 1500*time.Millisecond || took > 3*time.Second {
			t.Fatalf("the third attempt came %v after the first, want 1.5s to 3s", took)
		}

		time.Sleep(time.Minute)
		synctest.Wait()
		at, err := delayed.Await(ctx)
		if err != nil || at.Sub(start) != time.Hour {
			t.Fatalf("delayed task ran at +%v (%v), want exactly +1h", at.Sub(start), err)
		}
		periodic.Cancel()
		if err := l.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		<-l.Done()
	})
}
