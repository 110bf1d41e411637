package constraints

import "context"

//futures:task
func Always(ctx context.Context) error { return nil }
