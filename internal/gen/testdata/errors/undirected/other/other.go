package other

import "context"

// Send has no directive.
func Send(ctx context.Context, to string) error { return nil }
