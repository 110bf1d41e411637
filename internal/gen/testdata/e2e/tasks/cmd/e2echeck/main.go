// Command e2echeck runs the wrappers that futuresgen generated for package
// tasks and exits non-zero, after printing every failure, if any of them
// misbehaves. internal/gen/e2e_test.go runs it in a temporary module.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"

	"example.com/e2e/tasks"
)

// wait bounds every wait of the program, so that a hang is a failure.
const wait = 5 * time.Second

var failures int

func fail(format string, args ...any) {
	failures++
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
}

func main() {
	ctx := context.Background()
	withoutLoop(ctx)
	withLoop(ctx)
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "%d failure(s)\n", failures)
		os.Exit(1)
	}
	fmt.Println("ok")
}

// resolved returns f's result, failing if f is not resolved yet.
func resolved[T any](what string, f *future.Future[T]) (T, error) {
	r, ok := f.Peek()
	if !ok {
		fail("%s: with no loop, the future is not resolved when the call returns", what)
		var zero T
		return zero, errors.New("unresolved")
	}
	return r.Value, r.Err
}

// await awaits f for at most wait. A wait that ends early fails with
// context.Canceled, never with the context.DeadlineExceeded that task
// timeouts produce.
func await[T any](ctx context.Context, f *future.Future[T]) (T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := time.AfterFunc(wait, cancel)
	defer stop.Stop()
	return f.Await(ctx)
}

func withoutLoop(ctx context.Context) {
	taskloop.SetDefault(nil)

	if v, err := resolved("AddAsync", tasks.AddAsync(ctx, 2, 3)); v != 5 || err != nil {
		fail("no loop: AddAsync(2, 3) = %v, %v; want 5, nil", v, err)
	}
	if v, err := resolved("AddLater", tasks.AddLater(ctx, 1, 1)); v != 2 || err != nil {
		fail("no loop, no request scope: AddLater(1, 1) = %v, %v; want 2, nil", v, err)
	}
	if _, err := resolved("FailAsync", tasks.FailAsync(ctx, "sync")); !errors.Is(err, tasks.ErrBoom) {
		fail("no loop: FailAsync error = %v; want one matching tasks.ErrBoom", err)
	}
	m := &tasks.Mailer{}
	if v, err := resolved("DeliverAsync", m.DeliverAsync(ctx, "bob", "sync")); v != "delivered to bob" || err != nil {
		fail("no loop: DeliverAsync = %q, %v", v, err)
	}
	if len(m.Sent) != 1 {
		fail("no loop: Mailer.Sent = %q; want one message", m.Sent)
	}
	if v, err := resolved("SumAsync", tasks.SumAsync(ctx, "s", 1, 2)); v != "s=3" || err != nil {
		fail("no loop: SumAsync = %q, %v", v, err)
	}
}

func withLoop(ctx context.Context) {
	quiet := slog.New(slog.DiscardHandler)
	l := taskloop.New(taskloop.Options{Workers: 4, Logger: quiet})
	if err := tasks.RegisterTasks(l); err != nil {
		fail("RegisterTasks: %v", err)
	}
	m := &tasks.Mailer{}
	if err := tasks.RegisterMailerTasks(l, m); err != nil {
		fail("RegisterMailerTasks: %v", err)
	}
	if err := l.Start(ctx); err != nil {
		fail("Start: %v", err)
		return
	}
	taskloop.SetDefault(l)
	defer taskloop.SetDefault(nil)

	// Results and errors.
	if v, err := await(ctx, tasks.AddAsync(ctx, 2, 40)); v != 42 || err != nil {
		fail("AddAsync(2, 40) = %v, %v; want 42, nil", v, err)
	}
	if _, err := await(ctx, tasks.FailAsync(ctx, "async")); !errors.Is(err, tasks.ErrBoom) {
		fail("FailAsync error = %v; want one matching tasks.ErrBoom", err)
	} else if te := new(taskloop.TaskError); !errors.As(err, &te) {
		fail("FailAsync error %v is not a *taskloop.TaskError", err)
	}
	if l.Stats().Submitted < 2 {
		fail("the loop accepted %d tasks; AddAsync and FailAsync did not run on it", l.Stats().Submitted)
	}

	// Retries.
	if v, err := await(ctx, tasks.FlakyAsync(ctx)); v != 3 || err != nil {
		fail("FlakyAsync (retries=2, fails twice) = %v, %v; want 3, nil", v, err)
	}
	if n := tasks.FlakyCalls(); n != 3 {
		fail("Flaky was called %d times; want 3", n)
	}

	// Timeouts.
	start := time.Now()
	if _, err := await(ctx, tasks.SlowAsync(ctx)); !errors.Is(err, context.DeadlineExceeded) {
		fail("SlowAsync (timeout=20ms) error = %v; want one matching context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		fail("SlowAsync (timeout=20ms) took %v", d)
	}

	// A method task.
	if v, err := await(ctx, m.DeliverAsync(ctx, "ann", "hello")); v != "delivered to ann" || err != nil {
		fail("DeliverAsync = %q, %v; want \"delivered to ann\", nil", v, err)
	}
	if !slices.Equal(m.Sent, []string{"ann: hello"}) {
		fail("Mailer.Sent = %q; want [\"ann: hello\"]", m.Sent)
	}

	// A variadic task.
	for _, c := range []struct {
		f    *future.Future[string]
		want string
	}{
		{tasks.SumAsync(ctx, "none"), "none=0"},
		{tasks.SumAsync(ctx, "three", 1, 2, 3), "three=6"},
		{tasks.SumAsync(ctx, "spread", []int{4, 5}...), "spread=9"},
	} {
		if v, err := await(ctx, c.f); v != c.want || err != nil {
			fail("SumAsync = %q, %v; want %q", v, err, c.want)
		}
	}

	// Parameters named like what generated code uses.
	if v, err := await(ctx, tasks.ShadowAsync(ctx, tasks.ErrBoom, 7, []string{"a", "b"}, true)); v != "boom|7|a,b|true" || err != nil {
		fail("ShadowAsync = %q, %v; want \"boom|7|a,b|true\"", v, err)
	}
	if v, err := await(ctx, tasks.NoContextAsync(ctx, "c", nil, 1, "x", "y")); v != "c|<nil>|1|x,y" || err != nil {
		fail("NoContextAsync = %q, %v; want \"c|<nil>|1|x,y\"", v, err)
	}

	// A loop named by the context wins over the default; a nil one runs
	// the task synchronously.
	l2 := taskloop.New(taskloop.Options{Workers: 1, Logger: quiet})
	if err := l2.Start(ctx); err != nil {
		fail("Start l2: %v", err)
	}
	if v, err := await(ctx, tasks.AddAsync(taskloop.WithLoop(ctx, l2), 1, 2)); v != 3 || err != nil {
		fail("AddAsync on WithLoop(l2) = %v, %v", v, err)
	}
	if n := l2.Stats().Submitted; n != 1 {
		fail("WithLoop(l2): l2 accepted %d tasks; want 1", n)
	}
	if v, err := resolved("AddAsync on WithLoop(nil)", tasks.AddAsync(taskloop.WithLoop(ctx, nil), 1, 2)); v != 3 || err != nil {
		fail("AddAsync on WithLoop(nil) = %v, %v", v, err)
	}

	// After the response.
	afterResponse(ctx)

	// The periodic task, registered by RegisterTasks, runs on its own.
	deadline := time.Now().Add(wait)
	for tasks.Ticks() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := tasks.Ticks(); n < 2 {
		fail("Tick (every=5ms, registered with RegisterTasks) ran %d times before Shutdown; want at least 2", n)
	}

	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := l.Shutdown(sctx); err != nil {
		fail("Shutdown: %v", err)
	}
	if err := l2.Shutdown(sctx); err != nil {
		fail("Shutdown l2: %v", err)
	}
}

// afterResponse serves a handler wrapped in taskloop.Middleware that
// schedules AfterResponseLater and sets a flag as its last statement: the
// task must see the flag, so it ran after the handler had returned.
func afterResponse(ctx context.Context) {
	var flag atomic.Bool
	seen := make(chan bool, 1)
	awaited := make(chan error, 1)
	srv := httptest.NewServer(taskloop.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := tasks.AfterResponseLater(r.Context(), &flag, seen)
		// Awaiting it here would deadlock; it must fail at once.
		actx, cancel := context.WithTimeout(r.Context(), wait)
		_, err := f.Await(actx)
		cancel()
		awaited <- err
		io.WriteString(w, "hello")
		flag.Store(true)
	})))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		fail("GET: %v", err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "hello" {
		fail("GET: body %q, %v; want \"hello\"", body, err)
	}
	select {
	case err := <-awaited:
		if !errors.Is(err, taskloop.ErrAwaitInScope) {
			fail("awaiting AfterResponseLater's future inside its request: %v; want taskloop.ErrAwaitInScope at once", err)
		}
	case <-time.After(wait):
		fail("the handler never finished")
	}
	select {
	case saw := <-seen:
		if !saw {
			fail("AfterResponseLater ran before the handler returned: it did not see the flag set by the handler's last statement")
		}
	case <-time.After(wait):
		fail("AfterResponseLater never ran")
	}
}
