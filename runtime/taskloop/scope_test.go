package taskloop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// modes runs a test with a loop and without one; loop is nil in the second
// case, and WithLoop(ctx, nil) makes tasks synchronous even if a default
// loop is set.
func modes(t *testing.T, test func(t *testing.T, l *taskloop.Loop)) {
	t.Run("loop", func(t *testing.T) { test(t, startLoop(t, taskloop.Options{Workers: 2})) })
	t.Run("no loop", func(t *testing.T) { test(t, nil) })
}

// newServer serves h behind Middleware on loopback; the server is closed
// when the test ends.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(taskloop.Middleware(h))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic tests would log stacks
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// TestMiddlewareRunsLaterAfterResponse checks that a task submitted with
// Later starts only after the handler has returned, and that the client
// has the whole response before the task finishes.
func TestMiddlewareRunsLaterAfterResponse(t *testing.T) {
	modes(t, func(t *testing.T, l *taskloop.Loop) {
		const body = "hello, after-response world\n"
		var handlerDone atomic.Bool
		clientRead := make(chan struct{})
		type seen struct {
			handlerDone bool // when the task started
			clientRead  bool // before the task finished
		}
		futures := make(chan *future.Future[seen], 1)

		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			ctx := taskloop.WithLoop(r.Context(), l)
			futures <- taskloop.Later(ctx, taskloop.Spec{Name: "after"}, func(context.Context) (seen, error) {
				s := seen{handlerDone: handlerDone.Load()}
				select {
				case <-clientRead:
					s.clientRead = true
				case <-time.After(5 * time.Second):
				}
				return s, nil
			})
			if l == nil {
				// Without a loop the task runs in this goroutine before
				// net/http ends the response: a Content-Length lets the
				// client read the whole body without that end.
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			io.WriteString(w, body)
			handlerDone.Store(true)
		})

		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != body {
			t.Fatalf("body %q, %v", got, err)
		}
		close(clientRead)

		f := recv(t, futures)
		s, err := await(t, f)
		if err != nil {
			t.Fatal(err)
		}
		if !s.handlerDone {
			t.Error("the task started before the handler returned")
		}
		if !s.clientRead {
			t.Error("the task finished before the client had read the response")
		}
		if l != nil {
			shutdown(t, l)
			if s := checkIdle(t, l); s.Succeeded != 1 {
				t.Errorf("stats %+v", s)
			}
		}
	})
}

func TestAwaitInScope(t *testing.T) {
	modes(t, func(t *testing.T, l *taskloop.Loop) {
		type inside struct {
			f    *future.Future[string]
			errs []error
		}
		results := make(chan inside, 1)
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			ctx := taskloop.WithLoop(r.Context(), l)
			f := taskloop.Later(ctx, taskloop.Spec{}, func(context.Context) (string, error) { return "done", nil })
			var res inside
			res.f = f
			// Fails at once, with the request's context and with any
			// context derived from it; never waits for the handler to end.
			_, err := f.Await(r.Context())
			res.errs = append(res.errs, err)
			sub, cancel := context.WithTimeout(ctx, time.Hour)
			_, err = f.Await(sub)
			cancel()
			res.errs = append(res.errs, err)
			// And through future.All, which waits for it too.
			_, err = future.All(future.Resolved("x"), f).Await(r.Context())
			res.errs = append(res.errs, err)
			results <- res
		})
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()

		res := recv(t, results)
		for i, err := range res.errs {
			if !errors.Is(err, taskloop.ErrAwaitInScope) {
				t.Errorf("Await %d inside the handler = %v, want ErrAwaitInScope", i, err)
			}
		}
		// Outside the request the future resolves as usual.
		if v, err := await(t, res.f); v != "done" || err != nil {
			t.Fatalf("got %q, %v", v, err)
		}
		// Once the scope has closed, awaiting with the request's context no
		// longer fails fast (it has resolved here).
		if l != nil {
			shutdown(t, l)
		}
	})
}

func TestMiddlewarePanicAbortsScope(t *testing.T) {
	for _, value := range []any{http.ErrAbortHandler, "handler bug"} {
		t.Run(fmt.Sprint(value), func(t *testing.T) {
			modes(t, func(t *testing.T, l *taskloop.Loop) {
				futures := make(chan *future.Future[int], 1)
				var ran atomic.Bool
				srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
					ctx := taskloop.WithLoop(r.Context(), l)
					futures <- taskloop.Later(ctx, taskloop.Spec{Name: "after"}, func(context.Context) (int, error) {
						ran.Store(true)
						return 1, nil
					})
					panic(value)
				})
				if resp, err := srv.Client().Get(srv.URL); err == nil {
					resp.Body.Close()
					t.Fatal("a panicking handler answered")
				}
				_, err := await(t, recv(t, futures))
				if !errors.Is(err, taskloop.ErrScopeAborted) {
					t.Fatalf("got %v, want ErrScopeAborted", err)
				}
				if te := taskErr(t, err); te.Name != "after" || te.Attempts != 0 {
					t.Errorf("TaskError %+v", te)
				}
				if ran.Load() {
					t.Error("the task of an aborted scope ran")
				}
				if l != nil {
					shutdown(t, l)
					if s := checkIdle(t, l); s.Submitted != 0 {
						t.Errorf("an aborted task reached the loop: %+v", s)
					}
				}
			})
		})
	}
}

func TestScopeClose(t *testing.T) {
	modes(t, func(t *testing.T, l *taskloop.Loop) {
		ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
		var (
			mu    sync.Mutex
			order []int
		)
		var fs []*future.Future[int]
		for i := range 3 {
			fs = append(fs, taskloop.Later(ctx, taskloop.Spec{}, func(context.Context) (int, error) {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return i, nil
			}))
		}
		if n := scope.Pending(); n != 3 {
			t.Fatalf("Pending = %d, want 3", n)
		}
		for _, f := range fs {
			if _, done := f.Peek(); done {
				t.Fatal("a Later task ran before Close")
			}
		}
		scope.Close()
		if n := scope.Pending(); n != 0 {
			t.Fatalf("Pending after Close = %d", n)
		}
		for i, f := range fs {
			if v, err := await(t, f); v != i || err != nil {
				t.Fatalf("task %d: %d, %v", i, v, err)
			}
		}
		if l == nil {
			// Run in Close's goroutine, in submission order.
			if fmt.Sprint(order) != "[0 1 2]" {
				t.Fatalf("order %v", order)
			}
		}

		// Later after Close goes straight to the loop (or runs now).
		late := taskloop.Later(ctx, taskloop.Spec{}, func(context.Context) (int, error) { return 9, nil })
		if scope.Pending() != 0 {
			t.Fatal("Later after Close was kept in the scope")
		}
		if v, err := await(t, late); v != 9 || err != nil {
			t.Fatalf("late task: %d, %v", v, err)
		}
		// Only the first Close or Abort counts.
		scope.Close()
		scope.Abort(errBoom)
		if l != nil {
			shutdown(t, l)
			if s := checkIdle(t, l); s.Succeeded != 4 {
				t.Fatalf("stats %+v", s)
			}
		}
	})
}

func TestScopeCloseKeepsOrderOnOneWorker(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1})
	ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
	var order []int // one worker: the tasks run one after the other
	var last *future.Future[int]
	for i := range 5 {
		last = taskloop.Later(ctx, taskloop.Spec{}, func(context.Context) (int, error) {
			order = append(order, i)
			return i, nil
		})
	}
	scope.Close()
	await(t, last)
	shutdown(t, l)
	if fmt.Sprint(order) != "[0 1 2 3 4]" {
		t.Fatalf("order %v", order)
	}
}

func TestScopeAbort(t *testing.T) {
	ctx, scope := taskloop.NewScope(context.Background())
	f := taskloop.Later(ctx, taskloop.Spec{Name: "t"}, func(context.Context) (int, error) {
		t.Error("aborted task ran")
		return 0, nil
	})
	scope.Abort(errBoom)
	r := resolved(t, f)
	if !errors.Is(r.Err, errBoom) {
		t.Fatalf("got %v", r.Err)
	}
	taskErr(t, r.Err)
	scope.Close() // no effect
}

func TestScopeCancelBeforeClose(t *testing.T) {
	modes(t, func(t *testing.T, l *taskloop.Loop) {
		ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
		f := taskloop.Later(ctx, taskloop.Spec{}, func(context.Context) (int, error) {
			t.Error("cancelled task ran")
			return 0, nil
		})
		f.Cancel()
		scope.Close()
		if _, err := await(t, f); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if l != nil {
			shutdown(t, l)
			if s := checkIdle(t, l); s.Canceled != 1 {
				t.Fatalf("stats %+v", s)
			}
		}
	})
}

// TestScopeCancelRacesWithClose cancels a Later future from another
// goroutine while the scope hands it to the loop; the race detector checks
// the hand-over.
func TestScopeCancelRacesWithClose(t *testing.T) {
	modes(t, func(t *testing.T, l *taskloop.Loop) {
		for range 100 {
			ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
			f := taskloop.Later(ctx, taskloop.Spec{Delay: time.Microsecond}, func(context.Context) (int, error) { return 1, nil })
			var wg sync.WaitGroup
			wg.Go(f.Cancel)
			scope.Close()
			wg.Wait()
			if v, err := await(t, f); !(v == 1 && err == nil) && !errors.Is(err, context.Canceled) {
				t.Fatalf("got %d, %v", v, err)
			}
		}
		if l != nil {
			shutdown(t, l)
			checkIdle(t, l)
		}
	})
}

func TestScopeCloseAfterShutdown(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 1})
	ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
	f := taskloop.Later(ctx, taskloop.Spec{}, ok)
	shutdown(t, l)
	scope.Close()
	if r := resolved(t, f); !errors.Is(r.Err, taskloop.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", r.Err)
	}
	checkIdle(t, l)
}

// TestScopeUsesLoopOfLater checks that Close hands each task to the loop
// its Later call named, whatever the default is by then.
func TestScopeUsesLoopOfLater(t *testing.T) {
	a := startLoop(t, taskloop.Options{Workers: 1})
	b := startLoop(t, taskloop.Options{Workers: 1})
	ctx, scope := taskloop.NewScope(context.Background())
	fa := taskloop.Later(taskloop.WithLoop(ctx, a), taskloop.Spec{}, ok)
	fb := taskloop.Later(taskloop.WithLoop(ctx, b), taskloop.Spec{}, ok)
	prev := taskloop.SetDefault(b)
	scope.Close()
	taskloop.SetDefault(prev)
	await(t, fa)
	await(t, fb)
	shutdown(t, a)
	shutdown(t, b)
	if a.Stats().Succeeded != 1 || b.Stats().Succeeded != 1 {
		t.Fatalf("stats a %+v, b %+v", a.Stats(), b.Stats())
	}
}

// TestLaterWaitsForRoom: under policy Block, Later waits for room in the
// queue before the response, since Close never waits: until there is room,
// or until the request's context ends, after which the task is kept
// anyway: a client that went away does not lose the work it caused.
func TestLaterWaitsForRoom(t *testing.T) {
	for _, end := range []string{"room", "client gone"} {
		t.Run(end, func(t *testing.T) {
			l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1})
			bl := newBlocker(t)
			bl.submit(l)
			recv(t, bl.started)
			taskloop.Submit(context.Background(), l, taskloop.Spec{}, ok)

			reqCtx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ctx, scope := taskloop.NewScope(taskloop.WithLoop(reqCtx, l))
			got := make(chan *future.Future[string], 1)
			go func() { got <- taskloop.Later(ctx, taskloop.Spec{}, ok) }()
			eventually(t, "Later to wait for room", func() bool { return l.Stats().Queued == 2 })
			if end == "room" {
				bl.free()
			} else {
				cancel()
			}
			f := recv(t, got)
			scope.Close()
			if end == "client gone" {
				if _, done := f.Peek(); done {
					t.Fatal("the after-response task resolved while the loop was still full")
				}
				bl.free()
			}
			if v, err := await(t, f); v != "ok" || err != nil {
				t.Fatalf("got %q, %v", v, err)
			}
			shutdown(t, l)
			if s := checkIdle(t, l); s.Rejected != 0 || s.Succeeded != 3 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestAsyncEndsWithAbandonedRequest: under Middleware, a task that a
// handler started with Async is cancelled when the client goes away before
// the handler returns; its after-response task still runs.
func TestAsyncEndsWithAbandonedRequest(t *testing.T) {
	l := startLoop(t, taskloop.Options{Workers: 2})
	started := make(chan *future.Future[bool], 1)
	after := make(chan *future.Future[string], 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		ctx := taskloop.WithLoop(r.Context(), l)
		after <- taskloop.Later(ctx, taskloop.Spec{Name: "after"}, ok)
		started <- taskloop.Async(ctx, taskloop.Spec{Name: "work"}, func(ctx context.Context) (bool, error) {
			select {
			case <-ctx.Done():
				return true, nil
			case <-time.After(safety):
				return false, nil
			}
		})
		<-r.Context().Done() // the client goes away
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	work := recv(t, started)
	cancel()
	recv(t, errc)
	if cancelled, err := await(t, work); !cancelled && !errors.Is(err, context.Canceled) {
		t.Fatalf("the task of an abandoned request was not cancelled: %v, %v", cancelled, err)
	}
	if v, err := await(t, recv(t, after)); v != "ok" || err != nil {
		t.Fatalf("after-response task: %q, %v", v, err)
	}
}
