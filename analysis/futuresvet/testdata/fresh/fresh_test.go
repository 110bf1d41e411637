package fresh

import "context"

// want +2 `//futures:task is in a _test.go file, where futuresgen generates nothing`
//
//futures:task
func Fake(ctx context.Context) error { return nil }
