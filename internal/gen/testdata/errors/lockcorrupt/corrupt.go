// Package errors has a lock file that does not parse.
package errors

import "context"

//futures:task durable
func Send(ctx context.Context, to string) error { return nil }
