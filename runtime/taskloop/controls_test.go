package taskloop_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// The task options that map River's controls onto the loop: Unique,
// Limit and Cron (see also durable.go's tests for DecodeArgs).

type mailArgs struct {
	To string `json:"to"`
}

// TestUniqueWhileQueuedOrRunning: a second task with the same name and
// arguments, while the first waits or runs, does not run; its future
// resolves with the first one's result. Other arguments run.
func TestUniqueWhileQueuedOrRunning(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 2})
	ctx := taskloop.WithLoop(context.Background(), l)
	spec := taskloop.Spec{Name: "mail", Unique: &taskloop.Unique{ByArgs: true}}
	release := make(chan struct{})
	var runs atomic.Int32
	send := func(to string) *future.Future[string] {
		return taskloop.AsyncUnique(ctx, spec, mailArgs{to}, func(ctx context.Context) (string, error) {
			runs.Add(1)
			<-release
			return "sent to " + to, nil
		})
	}
	first := send("ada@example.com")
	eventually(t, "the first task to run", func() bool { return runs.Load() == 1 })
	dup := send("ada@example.com")
	other := send("bob@example.com")
	close(release)
	for _, f := range []*future.Future[string]{first, dup} {
		if v, err := await(t, f); err != nil || v != "sent to ada@example.com" {
			t.Errorf("Await = %q, %v; want the first task's result", v, err)
		}
	}
	if v, err := await(t, other); err != nil || v != "sent to bob@example.com" {
		t.Errorf("other arguments: %q, %v", v, err)
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("%d runs; want 2 (the duplicate does not run)", n)
	}
	// Without a Period the loop forgets a task that ended: the same
	// arguments run again.
	if _, err := await(t, send("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("%d runs; want 3 once the first had ended", n)
	}
	shutdown(t, l)
	checkIdle(t, l)
}

// TestUniquePeriod: with a Period, a completed task still blocks its
// duplicates until the period's end; a failed one does not, since River's
// default states leave discarded jobs out.
func TestUniquePeriod(t *testing.T) {
	l := startLoop(t, taskloop.Options{})
	ctx := taskloop.WithLoop(context.Background(), l)
	spec := taskloop.Spec{Name: "report", Unique: &taskloop.Unique{ByArgs: true, Period: time.Hour}}
	var runs atomic.Int32
	run := func(day string, fail bool) *future.Future[taskloop.Receipt] {
		return taskloop.AsyncDurable(ctx, spec, map[string]string{"day": day}, func(ctx context.Context) error {
			runs.Add(1)
			if fail {
				return errBoom
			}
			return nil
		})
	}
	if r, err := await(t, run("monday", false)); err != nil || r.Duplicate {
		t.Fatalf("first: %+v, %v", r, err)
	}
	// The hour may turn between the two: then the second is no duplicate.
	before := time.Now().UTC().Truncate(time.Hour)
	r, err := await(t, run("monday", false))
	sameHour := time.Now().UTC().Truncate(time.Hour).Equal(before)
	if err != nil || (sameHour && !r.Duplicate) {
		t.Fatalf("second in the same period: %+v, %v; want a duplicate receipt", r, err)
	}
	if sameHour && runs.Load() != 1 {
		t.Errorf("%d runs; want 1", runs.Load())
	}
	if _, err := await(t, run("tuesday", true)); !errors.Is(err, errBoom) {
		t.Fatalf("failing task: %v", err)
	}
	if r, err := await(t, run("tuesday", false)); err != nil || r.Duplicate {
		t.Errorf("after a failure: %+v, %v; want a run (discarded jobs do not block)", r, err)
	}
	shutdown(t, l)
}

// TestUniqueStatesRetryable: leaving retryable out of States lets a new
// task run while the original waits to retry.
func TestUniqueStatesRetryable(t *testing.T) {
	l := startLoop(t, taskloop.Options{})
	ctx := taskloop.WithLoop(context.Background(), l)
	for _, states := range [][]string{nil, {"available", "pending", "running", "scheduled"}} {
		spec := taskloop.Spec{Name: "sync", Retries: 1, Backoff: time.Hour, Unique: &taskloop.Unique{States: states}}
		var attempts atomic.Int32
		first := taskloop.AsyncUnique(ctx, spec, struct{}{}, func(ctx context.Context) (int, error) {
			attempts.Add(1)
			return 0, errBoom
		})
		eventually(t, "the first attempt to fail", func() bool { return l.Stats().Waiting == 1 })
		second := taskloop.AsyncUnique(ctx, spec, struct{}{}, func(ctx context.Context) (int, error) { return 2, nil })
		if states == nil {
			if _, ok := second.Peek(); ok {
				t.Errorf("default states: the duplicate resolved while the original waits to retry")
			}
			first.Cancel()
			if _, err := await(t, second); !errors.Is(err, context.Canceled) {
				t.Errorf("default states: duplicate = %v; want the original's end", err)
			}
			continue
		}
		if v, err := await(t, second); err != nil || v != 2 {
			t.Errorf("retryable not in States: %d, %v; want the new task to run", v, err)
		}
		first.Cancel()
		await(t, first)
	}
	shutdown(t, l)
	checkIdle(t, l)
}

// TestUniqueLater: two after-response tasks with the same arguments in
// one request make one run, after the response.
func TestUniqueLater(t *testing.T) {
	l := startLoop(t, taskloop.Options{})
	var runs atomic.Int32
	spec := taskloop.Spec{Name: "welcome", Unique: &taskloop.Unique{ByArgs: true}}
	ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
	var fs []*future.Future[struct{}]
	for range 3 {
		fs = append(fs, taskloop.LaterUnique(ctx, spec, mailArgs{"ada@example.com"}, func(ctx context.Context) (struct{}, error) {
			runs.Add(1)
			return struct{}{}, nil
		}))
	}
	// Awaiting a duplicate inside the request fails at once, as awaiting
	// the original would.
	if _, err := fs[1].Await(ctx); !errors.Is(err, taskloop.ErrAwaitInScope) {
		t.Errorf("Await of a duplicate in its request = %v; want ErrAwaitInScope", err)
	}
	scope.Close()
	for _, f := range fs {
		if _, err := await(t, f); err != nil {
			t.Fatal(err)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("%d runs; want 1", n)
	}
	shutdown(t, l)
}

// TestLimit: at most Limit attempts of a task run at once on a loop with
// more workers; the others wait their turn, in order, and every one runs.
func TestLimit(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 8})
	ctx := taskloop.WithLoop(context.Background(), l)
	spec := taskloop.Spec{Name: "export", Limit: 2}
	var running, peak atomic.Int32
	var order []int
	var mu sync.Mutex
	release := make(chan struct{})
	var fs []*future.Future[struct{}]
	for i := range 10 {
		fs = append(fs, taskloop.Async(ctx, spec, func(ctx context.Context) (struct{}, error) {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			<-release
			running.Add(-1)
			return struct{}{}, nil
		}))
	}
	// Another task is not held back by export's limit.
	if _, err := await(t, taskloop.Async(ctx, taskloop.Spec{Name: "other"}, func(ctx context.Context) (int, error) { return 1, nil })); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two exports to run", func() bool { return running.Load() == 2 })
	// The 8 others wait, counted as queued once the workers that took them
	// have put them aside.
	eventually(t, "the 8 others to count as queued", func() bool { return l.Stats().Queued == 8 })
	close(release)
	for _, f := range fs {
		if _, err := await(t, f); err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak of %d running at once; want 2", p)
	}
	shutdown(t, l)
	checkIdle(t, l)
}

// TestLimitAwaitOwnKind: a task with Limit 1 that awaits a task of its own
// name completes: the child runs in the parent's slot, since the parent is
// blocked, instead of waiting for that slot for ever.
func TestLimitAwaitOwnKind(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 4})
	ctx := taskloop.WithLoop(context.Background(), l)
	spec := taskloop.Spec{Name: "fib", Limit: 1}
	var fib func(ctx context.Context, n int) *future.Future[int]
	fib = func(ctx context.Context, n int) *future.Future[int] {
		return taskloop.Async(ctx, spec, func(ctx context.Context) (int, error) {
			if n < 2 {
				return n, nil
			}
			a, err := fib(ctx, n-1).Await(ctx)
			if err != nil {
				return 0, err
			}
			b, err := fib(ctx, n-2).Await(ctx)
			return a + b, err
		})
	}
	if v, err := await(t, fib(ctx, 12)); err != nil || v != 144 {
		t.Fatalf("fib(12) = %d, %v", v, err)
	}
	shutdown(t, l)
	checkIdle(t, l)
}

// TestLimitCancelAndStop: a task waiting for its limit ends at once when
// cancelled, and a Shutdown whose context ends fails those still waiting.
func TestLimitCancelAndStop(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 4})
	ctx := taskloop.WithLoop(context.Background(), l)
	spec := taskloop.Spec{Name: "slow", Limit: 1}
	started := make(chan struct{}, 1)
	hold := func(ctx context.Context) (struct{}, error) {
		started <- struct{}{}
		<-ctx.Done()
		return struct{}{}, ctx.Err()
	}
	running := taskloop.Async(ctx, spec, hold)
	recv(t, started)
	waiting := taskloop.Async(ctx, spec, hold)
	last := taskloop.Async(ctx, spec, hold)
	eventually(t, "two tasks to wait for the limit", func() bool { return l.Stats().Queued == 2 })
	waiting.Cancel()
	if _, err := await(t, waiting); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Shutdown(sctx)
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) || se.Unfinished != 2 {
		t.Errorf("Shutdown = %v; want 2 unfinished (the running one and the one waiting)", err)
	}
	for _, f := range []*future.Future[struct{}]{running, last} {
		if _, err := await(t, f); !errors.Is(err, taskloop.ErrStopped) {
			t.Errorf("after a hard stop: %v; want ErrStopped", err)
		}
	}
	recv(t, l.Done()) // the running task returns once cancelled
	checkIdle(t, l)
}

// ticks is a Schedule at multiples of step, which ends (the zero time)
// after stop calls of Next.
type ticks struct {
	step time.Duration
	n    atomic.Int32 // calls of Next
	stop int32
}

func (s *ticks) Next(t time.Time) time.Time {
	if s.n.Add(1) > s.stop {
		return time.Time{}
	}
	return t.Truncate(s.step).Add(s.step)
}

// TestCron: a task with Spec.Cron runs at the schedule's times, each run
// after the one before has ended, until the schedule has no next time.
func TestCron(t *testing.T) {
	l := startLoop(t, taskloop.Options{})
	// Next is asked once by Register's check, once for the first run,
	// then after each run: 3 runs, and the fifth answer ends it.
	sched := &ticks{step: 20 * time.Millisecond, stop: 4}
	var mu sync.Mutex
	var runs []time.Time
	err := l.Register(taskloop.Definition{
		Spec: taskloop.Spec{Name: "tick", Cron: sched},
		Run: func(ctx context.Context) error {
			mu.Lock()
			runs = append(runs, time.Now())
			mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the schedule to end", func() bool { return sched.n.Load() > sched.stop })
	shutdown(t, l)
	mu.Lock()
	defer mu.Unlock()
	if len(runs) != 3 {
		t.Fatalf("%d runs; want 3", len(runs))
	}
	for i := 1; i < len(runs); i++ {
		// Each run is due at the tick after the previous run ended.
		if runs[i].Truncate(sched.step).Equal(runs[i-1].Truncate(sched.step)) {
			t.Errorf("runs %d and %d fell in the same tick: %v, %v", i-1, i, runs[i-1], runs[i])
		}
	}
	if s := l.Stats(); s.Runs != 3 {
		t.Errorf("Stats.Runs = %d; want 3", s.Runs)
	}
}

// TestCronNeverFires: Register refuses a schedule with no next time.
func TestCronNeverFires(t *testing.T) {
	l := newLoop(t, taskloop.Options{})
	err := l.Register(taskloop.Definition{
		Spec: taskloop.Spec{Name: "never", Cron: &ticks{stop: 0}},
		Run:  func(ctx context.Context) error { return nil },
	})
	if err == nil || !strings.Contains(err.Error(), "never fires") {
		t.Errorf("Register = %v; want an error that the schedule never fires", err)
	}
}

// signupArgs is how generated code declares a durable task's arguments.
type signupArgs struct {
	CustomerID int64    `json:"customerID"`
	Email      string   `json:"email"`
	Tags       []string `json:"tags"`
	Address    struct {
		City string `json:"city"`
	} `json:"address"`
}

// TestDecodeArgs: a job's arguments must match the task's parameters key
// for key. A job stored before userID was renamed customerID fails, with
// an error naming both keys, and is not retried, instead of running with
// customerID zero.
func TestDecodeArgs(t *testing.T) {
	for _, c := range []struct {
		name, data string
		optional   []string
		want       string // "" for success
	}{
		{"exact", `{"customerID":7,"email":"a@b","tags":[],"address":{"city":"Lyon"}}`, nil, ""},
		{"renamed", `{"userID":7,"email":"a@b","tags":null,"address":{}}`, nil, `missing "customerID"; unknown "userID"`},
		{"removed parameter", `{"customerID":7,"email":"a@b","tags":null,"address":{},"plan":"pro"}`, nil, `unknown "plan"`},
		{"added parameter", `{"customerID":7,"email":"a@b","address":{}}`, nil, `missing "tags"`},
		{"added, optional", `{"customerID":7,"email":"a@b","address":{}}`, []string{"tags"}, ""},
		{"case differs", `{"CustomerID":7,"email":"a@b","tags":null,"address":{}}`, nil, `missing "customerID"; unknown "CustomerID"`},
		{"field added to a struct", `{"customerID":7,"email":"a@b","tags":null,"address":{}}`, nil, ""},
		{"field removed from a struct", `{"customerID":7,"email":"a@b","tags":null,"address":{"city":"Lyon","zip":"69001"}}`, nil, `unknown field "zip"`},
		{"retyped", `{"customerID":"7","email":"a@b","tags":null,"address":{}}`, nil, `cannot unmarshal string`},
		{"not an object", `[1,2]`, nil, `want a JSON object`},
		{"null", `null`, nil, `want a JSON object`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var a signupArgs
			err := taskloop.DecodeArgs([]byte(c.data), &a, c.optional...)
			if c.want == "" {
				if err != nil {
					t.Fatalf("DecodeArgs: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("DecodeArgs = %v; want an error with %q", err, c.want)
			}
			if !taskloop.IsPermanent(err) {
				t.Errorf("the error is not Permanent: a job whose arguments do not match would be retried")
			}
			if strings.Contains(c.want, "missing") || strings.Contains(c.want, "unknown \"") {
				if !errors.Is(err, taskloop.ErrArgs) {
					t.Errorf("the error does not wrap ErrArgs")
				}
			}
		})
	}
	// A task without parameters: a periodic job carries no arguments.
	var none struct{}
	if err := taskloop.DecodeArgs(nil, &none); err != nil {
		t.Errorf("no arguments: %v", err)
	}
}

// TestDecodeArgsOmittable: a field that encoding/json may leave out
// (omitempty) may be absent.
func TestDecodeArgsOmittable(t *testing.T) {
	var a struct {
		N     int64 `json:"n"`
		Crash bool  `json:"crash,omitempty"`
	}
	if err := taskloop.DecodeArgs([]byte(`{"n":1}`), &a); err != nil || a.N != 1 {
		t.Errorf("DecodeArgs = %v, %+v", err, a)
	}
	if err := taskloop.DecodeArgs([]byte(`{"crash":true}`), &a); !errors.Is(err, taskloop.ErrArgs) {
		t.Errorf("without n: %v; want ErrArgs", err)
	}
}
