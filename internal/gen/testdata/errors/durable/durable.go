package durable

import (
	"context"
	"io"
	"unsafe"
)

type Secret struct {
	Name string
	key  string
}

type Nested struct {
	Items []map[string]Secret
}

type Point struct{ X, Y int }

//futures:task durable
func Chan(ctx context.Context, c chan int) error { return nil }

//futures:task durable
func Func(ctx context.Context, f func()) error { return nil }

//futures:task durable
func Iface(ctx context.Context, r io.Reader, v any) error { return nil }

//futures:task durable
func Unexported(ctx context.Context, s Secret) error { return nil }

//futures:task durable
func Deep(ctx context.Context, n Nested) error { return nil }

//futures:task durable
func Complex(ctx context.Context, c complex128, p unsafe.Pointer) error { return nil }

//futures:task durable
func MapKey(ctx context.Context, m map[Point]string) error { return nil }

//futures:task durable
func Returns(ctx context.Context) (int, error) { return 0, nil }

//futures:task durable
func NoError(ctx context.Context) {}

//futures:task durable
func Fine(ctx context.Context, ids []int64, m map[int]string, p *Point) error { return nil }
