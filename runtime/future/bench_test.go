package future_test

import (
	"context"
	"testing"

	"github.com/gofutures/futures/runtime/future"
)

// work is the same small computation for every contender, so that the
// benchmarks compare the cost of starting and waiting, not the work.
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

// BenchmarkGoAwait compares future.Go followed by Await with the raw idiom a
// future replaces: a goroutine that sends its result on a buffered channel.
// Target: future at most 1.3 times raw ns/op, at most 2 allocs/op, with a
// context.Background parent.
func BenchmarkGoAwait(b *testing.B) {
	b.Run("raw-goroutine-chan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ch := make(chan int, 1)
			go func() { ch <- work(workSize) }()
			sink = <-ch
		}
	})
	b.Run("future", func(b *testing.B) {
		b.ReportAllocs()
		ctx := context.Background()
		fn := func(context.Context) (int, error) { return work(workSize), nil }
		for b.Loop() {
			v, _ := future.Go(ctx, fn).Await(ctx)
			sink = v
		}
	})
	b.Run("future-cancellable-parent", func(b *testing.B) {
		b.ReportAllocs()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		fn := func(context.Context) (int, error) { return work(workSize), nil }
		for b.Loop() {
			v, _ := future.Go(ctx, fn).Await(ctx)
			sink = v
		}
	})
}
