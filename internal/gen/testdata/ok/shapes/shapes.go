// Package shapes has a task of every accepted shape.
package shapes

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// List is a generic type that tasks may take, instantiated.
type List[T any] struct{ Items []T }

// Alias is an alias that must stay spelled as written.
type Alias = map[string][]int

//futures:task
func Nothing() {}

//futures:task
func OnlyError(ctx context.Context) error { return nil }

//futures:task
func OnlyValue(n int) string { return "" }

//futures:task
func ValueAndError(ctx context.Context, at time.Time, d time.Duration) (*time.Time, error) {
	return nil, nil
}

//futures:task
func Variadic(ctx context.Context, prefix string, parts ...string) (int, error) { return 0, nil }

//futures:task
func unexported(ctx context.Context) error { return nil }

// Names takes parameters named like the identifiers the generated code uses.
//
//futures:task
func Names(ctx context.Context, err error, future int, args []string, taskloop string, context_ bool, time int) error {
	return nil
}

//futures:task
func Unnamed(context.Context, string, int) error { return nil }

//futures:task
func Blank(_ context.Context, _ string, x int) error { return nil }

// NoContextParamNamedCtx has no context but a parameter named ctx.
//
//futures:task
func NoContextParamNamedCtx(ctx string) error { return nil }

//futures:task
func Composite(ctx context.Context, l List[string], a Alias, m map[string]List[int], ch <-chan int, f func(int) (string, error), s struct {
	A int `json:"a"`
	B string
}, arr [3]byte, r *http.Request, q url.Values, e any) ([]List[int], error) {
	return nil, nil
}
