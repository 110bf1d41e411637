package typeerror

import "context"

//futures:task
func Send(ctx context.Context) error { return nil }

var x int = "not an int"

func use(ctx context.Context) {
	SendLater(ctx) // tolerated: the generator is about to create it
	Missing(ctx)   // not tolerated
}
