package signatures

import "context"

//futures:task
func Generic[T any](ctx context.Context, v T) error { return nil }

type Box[T any] struct{ v T }

//futures:task
func (b *Box[T]) Open(ctx context.Context) error { return nil }

//futures:task
func TwoValues(ctx context.Context) (int, int) { return 0, 0 }

//futures:task
func Three(ctx context.Context) (int, string, error) { return 0, "", nil }

//futures:task
func ErrorFirst(ctx context.Context) (error, int) { return nil, 0 }

//futures:task every=1m
func EveryWithArgs(ctx context.Context, n int) error { return nil }
