package future_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gofutures/futures/runtime/future"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

func TestGoResolves(t *testing.T) {
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, parent := range []struct {
		name string
		ctx  context.Context
	}{
		{"background", context.Background()},
		{"cancellable", cancellable},
	} {
		for _, tc := range []struct {
			name    string
			fn      func(context.Context) (int, error)
			want    int
			wantErr error
		}{
			{"value", func(context.Context) (int, error) { return 42, nil }, 42, nil},
			{"error", func(context.Context) (int, error) { return 0, errBoom }, 0, errBoom},
			{"value and error", func(context.Context) (int, error) { return 7, errBoom }, 7, errBoom},
		} {
			t.Run(parent.name+"/"+tc.name, func(t *testing.T) {
				f := future.Go(parent.ctx, tc.fn)
				got, err := f.Await(context.Background())
				if got != tc.want || !errors.Is(err, tc.wantErr) {
					t.Fatalf("Await = %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
				}
				// Awaiting again, with another kind of context, gives the same.
				got, err = f.Await(parent.ctx)
				if got != tc.want || !errors.Is(err, tc.wantErr) {
					t.Fatalf("second Await = %d, %v", got, err)
				}
				r, ok := f.Peek()
				if !ok || r.Value != tc.want || !errors.Is(r.Err, tc.wantErr) {
					t.Fatalf("Peek = %+v, %v", r, ok)
				}
			})
		}
	}
}

func TestGoContextCarriesValuesAndEndsWithFunction(t *testing.T) {
	type key struct{}
	for _, parent := range []string{"background", "cancellable"} {
		t.Run(parent, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), key{}, "v")
			if parent == "cancellable" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			var inner context.Context
			f := future.Go(ctx, func(ctx context.Context) (string, error) {
				inner = ctx
				if ctx.Err() != nil {
					return "", fmt.Errorf("context done while running: %w", ctx.Err())
				}
				return ctx.Value(key{}).(string), nil
			})
			if v, err := f.Await(context.Background()); v != "v" || err != nil {
				t.Fatalf("Await = %q, %v", v, err)
			}
			select {
			case <-inner.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("function's context not done after it returned")
			}
			if !errors.Is(inner.Err(), context.Canceled) {
				t.Fatalf("Err = %v, want context.Canceled", inner.Err())
			}
		})
	}
}

func TestGoFollowsParentCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := future.Go(ctx, func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	cancel()
	if _, err := f.Await(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await err = %v, want context.Canceled", err)
	}
}

func TestCancel(t *testing.T) {
	cancellable, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	for _, parent := range []context.Context{context.Background(), cancellable} {
		started := make(chan struct{})
		f := future.Go(parent, func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 1, ctx.Err()
		})
		<-started
		f.Cancel()
		f.Cancel() // twice is fine
		if v, err := f.Await(context.Background()); v != 1 || !errors.Is(err, context.Canceled) {
			t.Fatalf("Await = %d, %v", v, err)
		}
	}
}

func TestDerivedContextsFollowRunContext(t *testing.T) {
	// context.WithTimeout on the function's context uses its AfterFunc
	// method; cancelling the future must reach the derived context.
	release := make(chan struct{})
	f := future.Go(context.Background(), func(ctx context.Context) (error, error) {
		child, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		stop := context.AfterFunc(ctx, func() {})
		defer stop()
		close(release)
		<-child.Done()
		return child.Err(), nil
	})
	<-release
	f.Cancel()
	got, _ := f.Await(context.Background())
	if !errors.Is(got, context.Canceled) {
		t.Fatalf("derived context ended with %v, want context.Canceled", got)
	}
	// AfterFunc on an already cancelled run context runs at once.
	var inner context.Context
	future.Go(context.Background(), func(ctx context.Context) (int, error) {
		inner = ctx
		return 0, nil
	}).Await(context.Background())
	ran := make(chan struct{})
	context.AfterFunc(inner, func() { close(ran) })
	<-ran
}

func TestAwaitContextEndsFirst(t *testing.T) {
	f, resolve := future.New[int]()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.Await(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Await err = %v, want DeadlineExceeded", err)
	}
	if _, ok := f.Peek(); ok {
		t.Fatal("Peek reports a result for an unresolved future")
	}
	resolve(3, nil)
	if v, err := f.Await(ctx); v != 3 || err != nil {
		t.Fatalf("Await after resolve with an ended ctx = %d, %v; a resolved future must win", v, err)
	}
}

func TestNewResolvesOnce(t *testing.T) {
	f, resolve := future.New[string]()
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i := range 50 {
		wg.Go(func() {
			if resolve(fmt.Sprint(i), nil) {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d calls of resolve won, want exactly 1", wins.Load())
	}
	v1, _ := f.Await(context.Background())
	if resolve("later", errBoom) {
		t.Fatal("resolve after resolution reported success")
	}
	v2, err := f.Await(context.Background())
	if v1 != v2 || err != nil {
		t.Fatalf("result changed after resolution: %q then %q, %v", v1, v2, err)
	}
}

func TestManyWaiters(t *testing.T) {
	f, resolve := future.New[int]()
	const n = 100
	var wg sync.WaitGroup
	results := make([]int, n)
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range n {
		wg.Go(func() {
			ctx := context.Background()
			if i%2 == 0 {
				ctx = cancellable
			}
			if i%3 == 0 {
				<-f.Done()
			}
			results[i], _ = f.Await(ctx)
		})
	}
	time.Sleep(time.Millisecond)
	resolve(9, nil)
	wg.Wait()
	for i, r := range results {
		if r != 9 {
			t.Fatalf("waiter %d got %d", i, r)
		}
	}
}

func TestResolvedAndFailed(t *testing.T) {
	select {
	case <-future.Resolved(1).Done():
	default:
		t.Fatal("Resolved future's Done is not closed")
	}
	if v, err := future.Resolved("x").Await(context.Background()); v != "x" || err != nil {
		t.Fatalf("Resolved: %q, %v", v, err)
	}
	if _, err := future.Failed[int](errBoom).Await(context.Background()); !errors.Is(err, errBoom) {
		t.Fatalf("Failed: %v", err)
	}
}

func TestPanicBecomesError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fn    func(context.Context) (int, error)
		check func(t *testing.T, err error)
	}{
		{"value", func(context.Context) (int, error) { panic("kaboom") }, func(t *testing.T, err error) {
			var pe *future.PanicError
			if !errors.As(err, &pe) || pe.Value != "kaboom" {
				t.Fatalf("err = %v, want *PanicError with kaboom", err)
			}
			if !strings.Contains(string(pe.Stack), "future_test") {
				t.Fatalf("stack does not show the panicking function:\n%s", pe.Stack)
			}
		}},
		{"error value", func(context.Context) (int, error) { panic(errBoom) }, func(t *testing.T, err error) {
			if !errors.Is(err, errBoom) {
				t.Fatalf("err = %v, want it to wrap errBoom", err)
			}
		}},
		{"nil deref", func(context.Context) (int, error) {
			var p *int
			return *p, nil
		}, func(t *testing.T, err error) {
			var re runtime.Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a runtime.Error inside", err)
			}
		}},
		{"goexit", func(context.Context) (int, error) { runtime.Goexit(); return 0, nil }, func(t *testing.T, err error) {
			if !errors.Is(err, future.ErrGoexit) {
				t.Fatalf("err = %v, want ErrGoexit", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := future.Go(context.Background(), tc.fn).Await(context.Background())
			tc.check(t, err)
		})
	}
}

func TestAwaitCheck(t *testing.T) {
	errInScope := errors.New("in scope")
	type key struct{}
	f, resolve := future.New[int](future.WithAwaitCheck(func(ctx context.Context) error {
		if ctx.Value(key{}) != nil {
			return errInScope
		}
		return nil
	}))
	if _, err := f.Await(context.WithValue(context.Background(), key{}, 1)); !errors.Is(err, errInScope) {
		t.Fatalf("Await err = %v, want the check's error", err)
	}
	resolve(5, nil)
	if v, err := f.Await(context.WithValue(context.Background(), key{}, 1)); v != 5 || err != nil {
		t.Fatalf("a resolved future must not be checked: %d, %v", v, err)
	}
}

// TestAwaitCheckThroughCombinators: All and AllSettled, which wait for
// every input, pass Await's check on to their inputs, so that an input
// that could never resolve fails the Await at once; First and Any, which
// need one input only, do not (another input may resolve first).
func TestAwaitCheckThroughCombinators(t *testing.T) {
	errInScope := errors.New("in scope")
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	checked, _ := future.New[int](future.WithAwaitCheck(func(ctx context.Context) error {
		if ctx.Value(key{}) != nil {
			return errInScope
		}
		return nil
	}))
	plain, resolvePlain := future.New[int]()
	for _, tc := range []struct {
		name  string
		await func(context.Context) error
		want  error
	}{
		{"All", func(ctx context.Context) error { _, err := future.All(plain, checked).Await(ctx); return err }, errInScope},
		{"AllSettled", func(ctx context.Context) error { _, err := future.AllSettled(plain, checked).Await(ctx); return err }, errInScope},
		{"All of All", func(ctx context.Context) error {
			_, err := future.All(future.All(checked), future.All(plain)).Await(ctx)
			return err
		}, errInScope},
		{"First", func(ctx context.Context) error { _, err := future.First(plain, checked).Await(ctx); return err }, context.DeadlineExceeded},
		{"Any", func(ctx context.Context) error { _, err := future.Any(plain, checked).Await(ctx); return err }, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			if err := tc.await(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("Await = %v, want %v", err, tc.want)
			}
		})
	}
	// Once All has failed, its inputs are not checked any more.
	failing, fail := future.New[int]()
	all := future.All(failing, checked)
	fail(0, errBoom)
	if _, err := all.Await(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("All after a failure: %v", err)
	}
	resolvePlain(1, nil)
}

func TestThen(t *testing.T) {
	ctx := context.Background()
	double := func(_ context.Context, v int) (int, error) { return v * 2, nil }
	if v, err := future.Then(ctx, future.Resolved(21), double).Await(ctx); v != 42 || err != nil {
		t.Fatalf("Then = %d, %v", v, err)
	}
	called := false
	_, err := future.Then(ctx, future.Failed[int](errBoom), func(context.Context, int) (int, error) {
		called = true
		return 0, nil
	}).Await(ctx)
	if !errors.Is(err, errBoom) || called {
		t.Fatalf("Then on failure: err %v, fn called %v", err, called)
	}
	// Cancelling Then's future stops its wait on an input that never resolves.
	never, _ := future.New[int]()
	out := future.Then(ctx, never, double)
	out.Cancel()
	if _, err := out.Await(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Then: %v", err)
	}
}

func TestMap(t *testing.T) {
	ctx := context.Background()
	in, resolve := future.New[int]()
	out := future.Map(in, func(v int) string { return fmt.Sprint(v + 1) })
	resolve(1, nil)
	if v, err := out.Await(ctx); v != "2" || err != nil {
		t.Fatalf("Map = %q, %v", v, err)
	}
	if _, err := future.Map(future.Failed[int](errBoom), func(int) int { return 0 }).Await(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("Map on failure: %v", err)
	}
	var pe *future.PanicError
	if _, err := future.Map(future.Resolved(0), func(int) int { panic("x") }).Await(ctx); !errors.As(err, &pe) {
		t.Fatalf("Map panic: %v", err)
	}
}

// blocking returns a future that waits for its context and reports whether
// it was cancelled through cancelled.
func blocking(cancelled *atomic.Int32) *future.Future[int] {
	return future.Go(context.Background(), func(ctx context.Context) (int, error) {
		<-ctx.Done()
		cancelled.Add(1)
		return 0, ctx.Err()
	})
}

func TestAll(t *testing.T) {
	ctx := context.Background()
	t.Run("values in order", func(t *testing.T) {
		var fs []*future.Future[int]
		for i := range 20 {
			fs = append(fs, future.Go(ctx, func(context.Context) (int, error) {
				time.Sleep(time.Duration(20-i) * 100 * time.Microsecond)
				return i, nil
			}))
		}
		got, err := future.All(fs...).Await(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("All[%d] = %d", i, v)
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		got, err := future.All[int]().Await(ctx)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("All() = %#v, %v", got, err)
		}
	})
	t.Run("first error cancels the rest", func(t *testing.T) {
		var cancelled atomic.Int32
		fs := []*future.Future[int]{blocking(&cancelled), future.Failed[int](errBoom), blocking(&cancelled)}
		if _, err := future.All(fs...).Await(ctx); !errors.Is(err, errBoom) {
			t.Fatalf("All err = %v", err)
		}
		future.AllSettled(fs...).Await(ctx)
		if cancelled.Load() != 2 {
			t.Fatalf("%d of 2 futures cancelled", cancelled.Load())
		}
	})
}

func TestAllSettled(t *testing.T) {
	ctx := context.Background()
	got, err := future.AllSettled(future.Resolved(1), future.Failed[int](errBoom), future.Go(ctx, func(context.Context) (int, error) { return 3, nil })).Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Value != 1 || got[0].Err != nil || !errors.Is(got[1].Err, errBoom) || got[2].Value != 3 {
		t.Fatalf("AllSettled = %+v", got)
	}
}

func TestFirstAndAny(t *testing.T) {
	ctx := context.Background()
	t.Run("First takes a failure", func(t *testing.T) {
		var cancelled atomic.Int32
		slow := blocking(&cancelled)
		if _, err := future.First(slow, future.Failed[int](errBoom)).Await(ctx); !errors.Is(err, errBoom) {
			t.Fatalf("First err = %v", err)
		}
		slow.Await(ctx)
		if cancelled.Load() != 1 {
			t.Fatal("First did not cancel the loser")
		}
	})
	t.Run("Any skips failures", func(t *testing.T) {
		var cancelled atomic.Int32
		slow := blocking(&cancelled)
		late := future.Go(ctx, func(context.Context) (int, error) { time.Sleep(time.Millisecond); return 7, nil })
		if v, err := future.Any(future.Failed[int](errBoom), late, slow).Await(ctx); v != 7 || err != nil {
			t.Fatalf("Any = %d, %v", v, err)
		}
		slow.Await(ctx)
		if cancelled.Load() != 1 {
			t.Fatal("Any did not cancel the loser")
		}
	})
	t.Run("Any all fail", func(t *testing.T) {
		errOther := errors.New("other")
		_, err := future.Any(future.Failed[int](errBoom), future.Failed[int](errOther)).Await(ctx)
		if !errors.Is(err, errBoom) || !errors.Is(err, errOther) {
			t.Fatalf("Any err = %v, want both errors", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if _, err := future.First[int]().Await(ctx); !errors.Is(err, future.ErrNoFutures) {
			t.Fatal(err)
		}
		if _, err := future.Any[int]().Await(ctx); !errors.Is(err, future.ErrNoFutures) {
			t.Fatal(err)
		}
	})
}

func TestCombinatorCancelReachesInputs(t *testing.T) {
	ctx := context.Background()
	for name, combine := range map[string]func(...*future.Future[int]) interface{ Cancel() }{
		"All":        func(fs ...*future.Future[int]) interface{ Cancel() } { return future.All(fs...) },
		"AllSettled": func(fs ...*future.Future[int]) interface{ Cancel() } { return future.AllSettled(fs...) },
		"First":      func(fs ...*future.Future[int]) interface{ Cancel() } { return future.First(fs...) },
		"Any":        func(fs ...*future.Future[int]) interface{ Cancel() } { return future.Any(fs...) },
		"Map": func(fs ...*future.Future[int]) interface{ Cancel() } {
			return future.Map(fs[0], func(v int) int { return v })
		},
	} {
		t.Run(name, func(t *testing.T) {
			var cancelled atomic.Int32
			in := blocking(&cancelled)
			combine(in).Cancel()
			in.Await(ctx)
			if cancelled.Load() != 1 {
				t.Fatal("input not cancelled")
			}
		})
	}
}
