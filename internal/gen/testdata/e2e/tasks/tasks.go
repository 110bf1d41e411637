// Package tasks is the annotated package of the end-to-end test
// (internal/gen/e2e_test.go): futuresgen generates its wrappers in a
// temporary module, and cmd/e2echeck exercises them on a real task loop.
package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBoom is what Fail returns.
var ErrBoom = errors.New("boom")

// Add adds.
//
//futures:task
func Add(ctx context.Context, a, b int) (int, error) { return a + b, nil }

// Fail always fails with ErrBoom.
//
//futures:task
func Fail(ctx context.Context, why string) (string, error) {
	return "", fmt.Errorf("%s: %w", why, ErrBoom)
}

var flakyCalls atomic.Int32

// FlakyCalls is how many times Flaky has been called.
func FlakyCalls() int32 { return flakyCalls.Load() }

// Flaky fails on its first two calls and succeeds on the third, returning
// the number of its call.
//
//futures:task retries=2 backoff=1ms
func Flaky(ctx context.Context) (int32, error) {
	n := flakyCalls.Add(1)
	if n < 3 {
		return 0, fmt.Errorf("call %d fails", n)
	}
	return n, nil
}

// Slow waits for its context, which its timeout ends.
//
//futures:task timeout=20ms
func Slow(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return errors.New("Slow: the timeout did not cancel the context")
	}
}

// Mailer delivers messages and remembers them.
type Mailer struct {
	mu   sync.Mutex
	Sent []string
}

// Deliver is a method task.
//
//futures:task
func (m *Mailer) Deliver(ctx context.Context, to, body string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Sent = append(m.Sent, to+": "+body)
	return "delivered to " + to, nil
}

// Sum is a variadic task with no error.
//
//futures:task
func Sum(ctx context.Context, label string, xs ...int) string {
	total := 0
	for _, x := range xs {
		total += x
	}
	return fmt.Sprintf("%s=%d", label, total)
}

// Shadow's parameters have the names that generated code is most likely to
// use itself.
//
//futures:task
func Shadow(ctx context.Context, err error, future int, args []string, taskloop bool) (string, error) {
	return fmt.Sprintf("%v|%d|%s|%t", err, future, strings.Join(args, ","), taskloop), nil
}

// NoContext takes no context.Context, but a string named ctx.
//
//futures:task
func NoContext(ctx string, err error, future int, args ...string) string {
	return fmt.Sprintf("%s|%v|%d|%s", ctx, err, future, strings.Join(args, ","))
}

var ticks atomic.Int32

// Ticks is how many times Tick has run.
func Ticks() int32 { return ticks.Load() }

// Tick is a periodic task.
//
//futures:task every=5ms
func Tick(ctx context.Context) error {
	ticks.Add(1)
	return nil
}

// AfterResponse reports on seen whether flag was set when it ran.
//
//futures:task
func AfterResponse(ctx context.Context, flag *atomic.Bool, seen chan<- bool) {
	seen <- flag.Load()
}
