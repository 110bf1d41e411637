package future_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofutures/futures/runtime/future"
)

func ExampleGo() {
	ctx := context.Background()
	f := future.Go(ctx, func(ctx context.Context) (string, error) {
		return strings.ToUpper("hello"), nil
	})
	v, err := f.Await(ctx)
	fmt.Println(v, err)
	// Output: HELLO <nil>
}

func ExampleNew() {
	f, resolve := future.New[int]()
	go func() { resolve(42, nil) }()
	v, _ := f.Await(context.Background())
	fmt.Println(v)
	fmt.Println("second resolve took effect:", resolve(0, errors.New("too late")))
	// Output:
	// 42
	// second resolve took effect: false
}

func ExampleFuture_Await_timeout() {
	never, _ := future.New[int]()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := never.Await(ctx)
	fmt.Println(err)
	// Output: context deadline exceeded
}

func ExampleFuture_Done() {
	f := future.Go(context.Background(), func(context.Context) (int, error) { return 1, nil })
	select {
	case <-f.Done():
		r, _ := f.Peek()
		fmt.Println("resolved with", r.Value)
	case <-time.After(time.Minute):
		fmt.Println("too slow")
	}
	// Output: resolved with 1
}

func ExampleAll() {
	ctx := context.Background()
	var fs []*future.Future[int]
	for i := 1; i <= 3; i++ {
		fs = append(fs, future.Go(ctx, func(context.Context) (int, error) { return i * i, nil }))
	}
	squares, err := future.All(fs...).Await(ctx)
	fmt.Println(squares, err)
	// Output: [1 4 9] <nil>
}

func ExampleAll_error() {
	ctx := context.Background()
	slow := future.Go(ctx, func(ctx context.Context) (int, error) {
		<-ctx.Done() // All cancels it when another future fails
		return 0, ctx.Err()
	})
	broken := future.Failed[int](errors.New("backend down"))
	_, err := future.All(slow, broken).Await(ctx)
	fmt.Println(err)
	_, err = slow.Await(ctx)
	fmt.Println(err)
	// Output:
	// backend down
	// context canceled
}

func ExampleAllSettled() {
	ctx := context.Background()
	results, _ := future.AllSettled(future.Resolved(1), future.Failed[int](errors.New("no"))).Await(ctx)
	for _, r := range results {
		fmt.Println(r.Value, r.Err)
	}
	// Output:
	// 1 <nil>
	// 0 no
}

func ExampleAny() {
	ctx := context.Background()
	mirror := func(name string, delay time.Duration, err error) *future.Future[string] {
		return future.Go(ctx, func(ctx context.Context) (string, error) {
			select {
			case <-time.After(delay):
				return name, err
			case <-ctx.Done():
				return "", ctx.Err()
			}
		})
	}
	v, err := future.Any(
		mirror("down", 0, errors.New("unreachable")),
		mirror("fast", time.Millisecond, nil),
		mirror("slow", time.Hour, nil),
	).Await(ctx)
	fmt.Println(v, err)
	// Output: fast <nil>
}

func ExampleThen() {
	ctx := context.Background()
	id := future.Resolved(7)
	name := future.Then(ctx, id, func(ctx context.Context, id int) (string, error) {
		return fmt.Sprintf("user-%d", id), nil
	})
	fmt.Println(name.Await(ctx))
	// Output: user-7 <nil>
}

func ExampleMap() {
	ctx := context.Background()
	n := future.Map(future.Resolved("hello"), func(s string) int { return len(s) })
	fmt.Println(n.Await(ctx))
	// Output: 5 <nil>
}

func ExamplePanicError() {
	ctx := context.Background()
	_, err := future.Go(ctx, func(context.Context) (int, error) { panic("bad input") }).Await(ctx)
	var pe *future.PanicError
	if errors.As(err, &pe) {
		fmt.Println("recovered:", pe.Value)
	}
	// Output: recovered: bad input
}

// First resolves like the first input to resolve, success or failure, and
// cancels the others; Any waits for the first success instead.
func ExampleFirst() {
	ctx := context.Background()
	cache := future.Go(ctx, func(context.Context) (string, error) {
		return "", errors.New("cache miss")
	})
	db := future.Go(ctx, func(ctx context.Context) (string, error) {
		<-ctx.Done() // a slow query, until First cancels it
		return "", ctx.Err()
	})
	_, err := future.First(cache, db).Await(ctx)
	fmt.Println(err)
	_, err = db.Await(ctx)
	fmt.Println(err)
	// Output:
	// cache miss
	// context canceled
}

func ExampleResolved() {
	v, err := future.Resolved("cached").Await(context.Background())
	fmt.Println(v, err)
	// Output: cached <nil>
}

func ExampleFailed() {
	_, err := future.Failed[int](errors.New("no backend")).Await(context.Background())
	fmt.Println(err)
	// Output: no backend
}

// Cancel cancels the context of the function that Go runs; the function
// decides what the future resolves with.
func ExampleFuture_Cancel() {
	ctx := context.Background()
	f := future.Go(ctx, func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	f.Cancel()
	_, err := f.Await(ctx)
	fmt.Println(err)
	// Output: context canceled
}

func ExampleFuture_Peek() {
	f, resolve := future.New[string]()
	_, ok := f.Peek()
	fmt.Println("resolved:", ok)
	resolve("done", nil)
	r, ok := f.Peek()
	fmt.Println("resolved:", ok, r.Value, r.Err)
	// Output:
	// resolved: false
	// resolved: true done <nil>
}

// WithCancel hands Future.Cancel to whoever makes the value, which
// resolves the future as it sees fit.
func ExampleWithCancel() {
	stop := make(chan struct{})
	f, resolve := future.New[int](future.WithCancel(func() { close(stop) }))
	go func() {
		<-stop
		resolve(0, errors.New("stopped by the caller"))
	}()
	f.Cancel()
	_, err := f.Await(context.Background())
	fmt.Println(err)
	// Output: stopped by the caller
}

type inHandlerKey struct{}

// WithAwaitCheck turns a wait that could never end into an error: here, a
// value that is only made after the handler returns, awaited inside it.
func ExampleWithAwaitCheck() {
	errTooEarly := errors.New("awaited inside the handler that makes it")
	f, _ := future.New[string](future.WithAwaitCheck(func(ctx context.Context) error {
		if ctx.Value(inHandlerKey{}) != nil {
			return errTooEarly
		}
		return nil
	}))
	ctx := context.WithValue(context.Background(), inHandlerKey{}, true)
	_, err := f.Await(ctx)
	fmt.Println(err)
	// Output: awaited inside the handler that makes it
}

// job is a producer of a future made with NewPromise: what Cancel and
// Await's check reach.
type job struct {
	cancelled chan struct{}
}

func (j *job) Cancel()                              { close(j.cancelled) }
func (j *job) CheckAwait(ctx context.Context) error { return nil }

// NewPromise makes a future and the Promise that resolves it, with a
// Producer behind them, in one allocation: what the task loop does for
// each task.
func ExampleNewPromise() {
	j := &job{cancelled: make(chan struct{})}
	f, p := future.NewPromise[int](j)
	go func() {
		<-j.cancelled
		p.Resolve(0, errors.New("job cancelled"))
	}()
	f.Cancel()
	_, err := f.Await(context.Background())
	fmt.Println(err)
	fmt.Println("resolved again:", p.Resolve(1, nil))
	// Output:
	// job cancelled
	// resolved again: false
}
