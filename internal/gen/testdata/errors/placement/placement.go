package placement

import "context"

//futures:task
type T struct{}

//futures:task
var V = 1

const (
	//futures:task
	C = 1
)

func Body(ctx context.Context) {
	//futures:task
	_ = ctx
}

//futures:task

func Floating(ctx context.Context) error { return nil }

//futures:task
//futures:task retries=1
func Twice(ctx context.Context) error { return nil }

//futures:task
//futures:view GET /x
func Both(ctx context.Context) error { return nil }
