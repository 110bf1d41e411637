package taskloop_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// A loop runs tasks in the background; Shutdown waits for what it accepted.
func ExampleNew() {
	ctx := context.Background()
	l := taskloop.New(taskloop.Options{Workers: 2})
	if err := l.Start(ctx); err != nil {
		panic(err)
	}

	square := taskloop.Spec{Name: "example.Square"}
	var fs []*future.Future[int]
	for i := 1; i <= 3; i++ {
		fs = append(fs, taskloop.Submit(ctx, l, square, func(context.Context) (int, error) {
			return i * i, nil
		}))
	}
	for _, f := range fs {
		v, err := f.Await(ctx)
		fmt.Println(v, err)
	}

	if err := l.Shutdown(ctx); err != nil {
		panic(err)
	}
	s := l.Stats()
	fmt.Println("succeeded:", s.Succeeded)
	// Output:
	// 1 <nil>
	// 4 <nil>
	// 9 <nil>
	// succeeded: 3
}

// With no loop in the context and no default loop, Async runs the task in
// the caller: its future is resolved when Async returns.
func ExampleAsync() {
	f := taskloop.Async(context.Background(), taskloop.Spec{Name: "example.Greet"}, func(context.Context) (string, error) {
		fmt.Println("running")
		return "hello", nil
	})
	fmt.Println("Async returned")
	r, resolved := f.Peek()
	fmt.Println(r.Value, r.Err, resolved)
	// Output:
	// running
	// Async returned
	// hello <nil> true
}

// A task with Retries is tried again after a failed attempt, waiting
// Backoff (doubled each time, with jitter) in between.
func ExampleSpec_retries() {
	spec := taskloop.Spec{Name: "example.Flaky", Retries: 3, Backoff: time.Millisecond}
	attempts := 0
	f := taskloop.Async(context.Background(), spec, func(context.Context) (string, error) {
		attempts++
		if attempts < 3 {
			fmt.Println("attempt", attempts, "failed")
			return "", errors.New("temporary failure")
		}
		return "sent", nil
	})
	v, err := f.Await(context.Background())
	fmt.Println(v, err, "after", attempts, "attempts")
	// Output:
	// attempt 1 failed
	// attempt 2 failed
	// sent <nil> after 3 attempts
}

// Permanent marks an error that retrying cannot fix.
func ExamplePermanent() {
	errInvalid := errors.New("invalid address")
	spec := taskloop.Spec{Name: "example.Send", Retries: 5}
	f := taskloop.Async(context.Background(), spec, func(context.Context) (struct{}, error) {
		return struct{}{}, taskloop.Permanent(errInvalid)
	})
	_, err := f.Await(context.Background())
	fmt.Println(err)
	fmt.Println(errors.Is(err, errInvalid))
	var te *taskloop.TaskError
	if errors.As(err, &te) {
		fmt.Println("attempts:", te.Attempts)
	}
	// Output:
	// task example.Send: invalid address
	// true
	// attempts: 1
}

// A periodic task runs at its interval until Shutdown (or Future.Cancel);
// its future then resolves with the last successful run's value.
func ExampleSpec_every() {
	ctx := context.Background()
	l := taskloop.New(taskloop.Options{})
	if err := l.Start(ctx); err != nil {
		panic(err)
	}
	var runs atomic.Int32
	third := make(chan struct{})
	f := taskloop.Submit(ctx, l, taskloop.Spec{Name: "example.Tick", Every: time.Millisecond}, func(context.Context) (string, error) {
		if runs.Add(1) == 3 {
			close(third)
		}
		return "tick", nil
	})
	<-third
	if err := l.Shutdown(ctx); err != nil {
		panic(err)
	}
	v, err := f.Await(ctx)
	fmt.Println(v, err, runs.Load() >= 3)
	// Output:
	// tick <nil> true
}

// Middleware opens a request scope: tasks submitted with Later start once
// the handler has returned and its response has been flushed.
func ExampleMiddleware() {
	ctx := context.Background()
	l := taskloop.New(taskloop.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := l.Start(ctx); err != nil {
		panic(err)
	}

	confirmations := make(chan *future.Future[string], 1)
	signup := func(w http.ResponseWriter, r *http.Request) {
		ctx := taskloop.WithLoop(r.Context(), l)
		email := r.URL.Query().Get("email")
		f := taskloop.Later(ctx, taskloop.Spec{Name: "example.SendConfirmation"}, func(context.Context) (string, error) {
			return "confirmation sent to " + email, nil
		})
		// Awaiting it here would never end: it fails at once instead.
		if _, err := f.Await(r.Context()); errors.Is(err, taskloop.ErrAwaitInScope) {
			fmt.Println("cannot await inside the request")
		}
		confirmations <- f
		fmt.Fprintln(w, "welcome,", email)
	}
	srv := httptest.NewServer(taskloop.Middleware(http.HandlerFunc(signup)))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/signup?email=ada@example.com")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))

	msg, err := (<-confirmations).Await(ctx)
	fmt.Println(msg, err)
	if err := l.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// cannot await inside the request
	// welcome, ada@example.com
	// confirmation sent to ada@example.com <nil>
}
