package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/reugn/async"
	"github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"

	"github.com/gofutures/futures/runtime/future"
)

// fanOut is how many tasks the all-100 scenarios start and wait for.
const fanOut = 100

// task is the function every contender runs: a little work, a value and no
// error.
func task(context.Context) (int, error) { return work(workSize), nil }

// BenchmarkFutures compares starting a function in a goroutine and waiting
// for its value and error:
//
//   - go-await: one function, then wait for it (ns/op is one task).
//   - all-100: 100 functions, then wait for all of their values in order,
//     failing fast on the first error (ns/op is the batch of 100).
//
// each with a parent context that cannot be cancelled (parent=background)
// and one that can, as a request's can (parent=cancellable).
//
// Contenders: futures (future.Go, Await, future.All), raw (goroutines that
// send on a buffered channel), errgroup (golang.org/x/sync/errgroup: a
// zero Group for one task, WithContext for 100), conc
// (sourcegraph/conc/pool's result pool with errors, with context and cancel
// on error for 100) and reugn-async (reugn/async's Task.Call, Future.Get,
// FutureSeq).
func BenchmarkFutures(b *testing.B) {
	for _, parent := range []string{"background", "cancellable"} {
		newCtx := func(b *testing.B) context.Context {
			if parent == "background" {
				return context.Background()
			}
			ctx, cancel := context.WithCancel(context.Background())
			b.Cleanup(cancel)
			return ctx
		}
		for _, c := range []struct {
			name string
			one  func(ctx context.Context) (int, error)
		}{
			{"futures", goAwaitFutures},
			{"raw", goAwaitRaw},
			{"errgroup", goAwaitErrgroup},
			{"conc", goAwaitConc},
			{"reugn-async", goAwaitReugn},
		} {
			b.Run(fmt.Sprintf("go-await/parent=%s/impl=%s", parent, c.name), func(b *testing.B) {
				ctx := newCtx(b)
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					v, err := c.one(ctx)
					if err != nil {
						b.Fatal(err)
					}
					sink = v
				}
				cpu.report(b)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
			})
		}
		for _, c := range []struct {
			name string
			all  func(ctx context.Context, n int) ([]int, error)
		}{
			{"futures", allFutures},
			{"raw", allRaw},
			{"errgroup", allErrgroup},
			{"conc", allConc},
			{"reugn-async", allReugn},
		} {
			b.Run(fmt.Sprintf("all-100/parent=%s/impl=%s", parent, c.name), func(b *testing.B) {
				ctx := newCtx(b)
				b.ReportAllocs()
				cpu := startCPU()
				for b.Loop() {
					vs, err := c.all(ctx, fanOut)
					if err != nil || len(vs) != fanOut {
						b.Fatalf("%d values, %v", len(vs), err)
					}
					sink = vs[fanOut-1]
				}
				cpu.report(b)
				b.ReportMetric(float64(b.N*fanOut)/b.Elapsed().Seconds(), "tasks/s")
			})
		}
	}
}

func goAwaitFutures(ctx context.Context) (int, error) {
	return future.Go(ctx, task).Await(ctx)
}

func goAwaitRaw(ctx context.Context) (int, error) {
	type result struct {
		v   int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := task(ctx)
		ch <- result{v, err}
	}()
	r := <-ch
	return r.v, r.err
}

func goAwaitErrgroup(ctx context.Context) (int, error) {
	var g errgroup.Group
	var v int
	g.Go(func() error {
		var err error
		v, err = task(ctx)
		return err
	})
	err := g.Wait()
	return v, err
}

func goAwaitConc(ctx context.Context) (int, error) {
	p := pool.NewWithResults[int]().WithErrors()
	p.Go(func() (int, error) { return task(ctx) })
	vs, err := p.Wait()
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

func goAwaitReugn(ctx context.Context) (int, error) {
	return async.NewTask(func() (int, error) { return task(ctx) }).Call().Get(ctx)
}

func allFutures(ctx context.Context, n int) ([]int, error) {
	fs := make([]*future.Future[int], n)
	for i := range fs {
		fs[i] = future.Go(ctx, task)
	}
	return future.All(fs...).Await(ctx)
}

// allRaw is the hand-written idiom: a goroutine per function sending its
// index, value and error on a channel with room for all, so that none
// blocks when the caller returns early on the first error.
func allRaw(ctx context.Context, n int) ([]int, error) {
	type result struct {
		i, v int
		err  error
	}
	ch := make(chan result, n)
	for i := range n {
		go func() {
			v, err := task(ctx)
			ch <- result{i, v, err}
		}()
	}
	vs := make([]int, n)
	for range n {
		r := <-ch
		if r.err != nil {
			return nil, r.err
		}
		vs[r.i] = r.v
	}
	return vs, nil
}

func allErrgroup(ctx context.Context, n int) ([]int, error) {
	g, gctx := errgroup.WithContext(ctx)
	vs := make([]int, n)
	for i := range n {
		g.Go(func() error {
			var err error
			vs[i], err = task(gctx)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return vs, nil
}

// allConc uses conc's result pool, which (in v0.3.0) returns the values in
// the order the functions finished, not the order they were started.
func allConc(ctx context.Context, n int) ([]int, error) {
	p := pool.NewWithResults[int]().WithContext(ctx).WithCancelOnError()
	for range n {
		p.Go(task)
	}
	return p.Wait()
}

// allReugn uses FutureSeq, which waits for every future (no failing fast)
// and returns []any holding values or errors.
func allReugn(ctx context.Context, n int) ([]int, error) {
	fs := make([]async.Future[int], n)
	for i := range fs {
		fs[i] = async.NewTask(func() (int, error) { return task(ctx) }).Call()
	}
	seq, err := async.FutureSeq(fs).Get(ctx)
	if err != nil {
		return nil, err
	}
	vs := make([]int, n)
	for i, v := range seq {
		switch v := v.(type) {
		case int:
			vs[i] = v
		case error:
			return nil, v
		}
	}
	return vs, nil
}
