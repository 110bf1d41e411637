// Package freshlock has a durable task whose generated file and lock are
// fresh: nothing to report.
package freshlock

import "context"

//futures:task durable
func Send(ctx context.Context, to string) error { return nil }
