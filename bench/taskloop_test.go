package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/panjf2000/ants/v2"
	"github.com/sourcegraph/conc/pool"

	"github.com/gofutures/futures/runtime/taskloop"
)

// executor is one contender of BenchmarkTaskLoop: a pool of workers that
// runs the functions given to submit.
type executor interface {
	// bind returns what submits fn: the loop wraps fn once, here, so that
	// no contender allocates a closure per task (the benchmarks run the
	// same function every time).
	bind(fn func()) (submit func() error)
	// wait is called once every function has been submitted and has
	// finished; conc's pool must be waited for.
	wait()
	close()
}

// newExecutors returns a constructor for each contender, each bounded to
// the given number of workers (raw is not: it starts a goroutine per task).
var newExecutors = []struct {
	name string
	new  func(b *testing.B, workers int) executor
}{
	{"futures", newLoopExecutor},
	{"pond", func(b *testing.B, workers int) executor { return &pondExecutor{pond.NewPool(workers)} }},
	{"ants", func(b *testing.B, workers int) executor {
		p, err := ants.NewPool(workers)
		if err != nil {
			b.Fatal(err)
		}
		return &antsExecutor{p}
	}},
	{"conc", func(b *testing.B, workers int) executor { return &concExecutor{pool.New().WithMaxGoroutines(workers)} }},
	{"raw", func(*testing.B, int) executor { return rawExecutor{} }},
}

// loopExecutor submits to a taskloop.Loop: each task gets a future, as
// generated Async wrappers do (it is dropped here).
type loopExecutor struct {
	l    *taskloop.Loop
	ctx  context.Context
	spec taskloop.Spec
}

func newLoopExecutor(b *testing.B, workers int) executor {
	l := taskloop.New(taskloop.Options{Workers: workers, Logger: quiet})
	if err := l.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return &loopExecutor{l: l, ctx: context.Background(), spec: taskloop.Spec{Name: "bench"}}
}

func (e *loopExecutor) bind(fn func()) func() error {
	task := func(context.Context) (struct{}, error) {
		fn()
		return struct{}{}, nil
	}
	return func() error {
		taskloop.Submit(e.ctx, e.l, e.spec, task)
		return nil
	}
}
func (e *loopExecutor) wait() {}
func (e *loopExecutor) close() {
	e.l.Shutdown(context.Background())
	<-e.l.Done()
}

// pondExecutor uses Submit, which returns a future (pond.Task) as the loop
// does.
type pondExecutor struct{ p pond.Pool }

func (e *pondExecutor) bind(fn func()) func() error {
	return func() error { e.p.Submit(fn); return nil }
}
func (e *pondExecutor) wait()  {}
func (e *pondExecutor) close() { e.p.StopAndWait() }

type antsExecutor struct{ p *ants.Pool }

func (e *antsExecutor) bind(fn func()) func() error {
	return func() error { return e.p.Submit(fn) }
}
func (e *antsExecutor) wait()  {}
func (e *antsExecutor) close() { e.p.Release() }

type concExecutor struct{ p *pool.Pool }

func (e *concExecutor) bind(fn func()) func() error {
	return func() error { e.p.Go(fn); return nil }
}
func (e *concExecutor) wait()  { e.p.Wait() }
func (e *concExecutor) close() {}

type rawExecutor struct{}

func (rawExecutor) bind(fn func()) func() error {
	return func() error { go fn(); return nil }
}
func (rawExecutor) wait()  {}
func (rawExecutor) close() {}

const (
	// sleepTasks is the size of a batch of sleeping tasks.
	sleepTasks = 100_000
	// sleepWorkers bounds every pool for sleeping tasks: a batch cannot
	// take less than sleepTasks/sleepWorkers × 1 ms (100 ms).
	sleepWorkers = 1000
)

// BenchmarkTaskLoop compares the task loop with worker pools and with a
// goroutine per task:
//
//   - trivial: b.N tiny tasks submitted as fast as the pool takes them,
//     then waited for; ns/op is per task. Every pool has 4 × GOMAXPROCS
//     workers, the loop's default.
//   - sleep-1ms: a batch of 100,000 tasks that each sleep 1 ms; ns/op is
//     per batch. Every pool has 1,000 workers, so a batch takes at least
//     100 ms; raw starts 100,000 goroutines at once and has no such floor.
//
// Every task ends with wg.Done, which is how the benchmark knows that all
// have run, in every contender.
func BenchmarkTaskLoop(b *testing.B) {
	trivialWorkers := 4 * runtime.GOMAXPROCS(0)
	for _, c := range newExecutors {
		b.Run(fmt.Sprintf("trivial/impl=%s", c.name), func(b *testing.B) {
			e := c.new(b, trivialWorkers)
			defer e.close()
			var wg sync.WaitGroup
			fn := func() {
				_ = work(workSize) // noinline: it runs
				wg.Done()
			}
			submit := e.bind(fn)
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				wg.Add(1)
				if err := submit(); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			e.wait()
			cpu.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
	for _, c := range newExecutors {
		b.Run(fmt.Sprintf("sleep-1ms/impl=%s", c.name), func(b *testing.B) {
			var wg sync.WaitGroup
			fn := func() {
				time.Sleep(time.Millisecond)
				wg.Done()
			}
			b.ReportAllocs()
			cpu := startCPU() // pools' creation and closing included: cheap
			for b.Loop() {
				b.StopTimer()
				e := c.new(b, sleepWorkers)
				submit := e.bind(fn)
				b.StartTimer()
				wg.Add(sleepTasks)
				for range sleepTasks {
					if err := submit(); err != nil {
						b.Fatal(err)
					}
				}
				wg.Wait()
				e.wait()
				b.StopTimer()
				e.close()
				b.StartTimer()
			}
			cpu.report(b)
			b.ReportMetric(float64(b.N*sleepTasks)/b.Elapsed().Seconds(), "tasks/s")
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(sleepTasks/sleepWorkers*time.Millisecond), "x-floor")
		})
	}
}
