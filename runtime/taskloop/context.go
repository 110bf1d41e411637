package taskloop

import (
	"context"
	"sync/atomic"
)

type loopKey struct{}

var defaultLoop atomic.Pointer[Loop]

// WithLoop returns a copy of ctx in which Async and Later submit to l. A
// nil l makes them run tasks synchronously even when a default is set.
func WithLoop(ctx context.Context, l *Loop) context.Context {
	return context.WithValue(ctx, loopKey{}, l)
}

// SetDefault makes l the loop that Async and Later use when the context
// names none, and returns the previous default. SetDefault(nil) returns the
// process to running tasks synchronously.
func SetDefault(l *Loop) (previous *Loop) {
	return defaultLoop.Swap(l)
}

// From returns the loop that Async would use for ctx: the one set by
// WithLoop, else the process default, else nil.
func From(ctx context.Context) *Loop {
	if l, ok := ctx.Value(loopKey{}).(*Loop); ok {
		return l
	}
	return defaultLoop.Load()
}
