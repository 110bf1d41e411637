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
