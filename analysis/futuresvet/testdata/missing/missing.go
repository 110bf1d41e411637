// Package missing has a directive but no generated file.
package missing

import "context"

// want +2 `futures_gen.go is missing: the directives of this package generate it; run futuresgen on this package`
//
//futures:task
func Send(ctx context.Context, to string) error { return nil }
