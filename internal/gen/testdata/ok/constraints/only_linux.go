package constraints

import "context"

//futures:task retries=1
func OnLinux(ctx context.Context) error { return nil }
