package taskloop_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/taskloop"
)

// work is the same small computation for every contender, so that the
// benchmarks compare the cost of running tasks, not the tasks.
//
//go:noinline
func work(n int) int {
	s := 0
	for i := range n {
		s += i
	}
	return s
}

const workSize = 16

var sink int

func benchLoop(b *testing.B) *taskloop.Loop {
	l := taskloop.New(taskloop.Options{Logger: quiet})
	if err := l.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := l.Shutdown(context.Background()); err != nil {
			b.Error(err)
		}
		<-l.Done()
	})
	return l
}

// BenchmarkThroughput submits b.N trivial tasks as fast as it can and waits
// for them all: the cost per task of submitting and completing it, next to
// the raw idiom of a goroutine per task and a sync.WaitGroup. Each task
// ends with wg.Done in every contender, so that they do the same work.
func BenchmarkThroughput(b *testing.B) {
	b.Run("raw-waitgroup-goroutine", func(b *testing.B) {
		b.ReportAllocs()
		var wg sync.WaitGroup
		for b.Loop() {
			wg.Add(1)
			go func() {
				_ = work(workSize) // noinline: not optimized away
				wg.Done()
			}()
		}
		wg.Wait()
	})
	b.Run("loop", func(b *testing.B) {
		l := benchLoop(b)
		ctx := context.Background()
		spec := taskloop.Spec{Name: "bench"}
		b.ReportAllocs()
		var wg sync.WaitGroup
		for b.Loop() {
			wg.Add(1)
			taskloop.Submit(ctx, l, spec, func(context.Context) (int, error) {
				v := work(workSize)
				wg.Done()
				return v, nil
			})
		}
		wg.Wait()
	})
}

// BenchmarkLatency runs one task at a time and waits for its result: the
// time from submitting a task to its future resolving.
func BenchmarkLatency(b *testing.B) {
	b.Run("raw-waitgroup-goroutine", func(b *testing.B) {
		b.ReportAllocs()
		var wg sync.WaitGroup
		for b.Loop() {
			var v int
			wg.Add(1)
			go func() {
				v = work(workSize)
				wg.Done()
			}()
			wg.Wait()
			sink = v
		}
	})
	b.Run("loop", func(b *testing.B) {
		l := benchLoop(b)
		ctx := context.Background()
		spec := taskloop.Spec{Name: "bench"}
		fn := func(context.Context) (int, error) { return work(workSize), nil }
		b.ReportAllocs()
		for b.Loop() {
			v, _ := taskloop.Submit(ctx, l, spec, fn).Await(ctx)
			sink = v
		}
	})
	b.Run("no-loop", func(b *testing.B) {
		// Synchronous, for reference: the task's bookkeeping alone.
		ctx := context.Background()
		spec := taskloop.Spec{Name: "bench"}
		fn := func(context.Context) (int, error) { return work(workSize), nil }
		b.ReportAllocs()
		for b.Loop() {
			v, _ := taskloop.Submit(ctx, nil, spec, fn).Await(ctx)
			sink = v
		}
	})
}

// BenchmarkWatchedContext is BenchmarkLatency for a task that watches its
// context, as any task doing I/O does: the link to the loop's hard stop
// (or, without a loop, the caller's context), and the timer of a timeout,
// which outlive the function and must not keep the task alive.
func BenchmarkWatchedContext(b *testing.B) {
	fn := func(ctx context.Context) (int, error) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		return work(workSize), nil
	}
	caller, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		name string
		loop bool
		spec taskloop.Spec
	}{
		{"loop", true, taskloop.Spec{Name: "bench"}},
		{"loop-timeout", true, taskloop.Spec{Name: "bench", Timeout: time.Minute}},
		{"no-loop", false, taskloop.Spec{Name: "bench"}},
		{"no-loop-timeout", false, taskloop.Spec{Name: "bench", Timeout: time.Minute}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var l *taskloop.Loop
			if c.loop {
				l = benchLoop(b)
			}
			b.ReportAllocs()
			for b.Loop() {
				v, _ := taskloop.Submit(caller, l, c.spec, fn).Await(caller)
				sink = v
			}
		})
	}
}
