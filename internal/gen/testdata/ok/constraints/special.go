//go:build special

package constraints

import "context"

// OnSpecial is not built without -tags special, so it gets no wrappers.
//
//futures:task
func OnSpecial(ctx context.Context) error { return nil }
