// Package lostlock has a durable task whose lock the test removes after
// generating.
package lostlock

import "context"

// Send is durable.
//
// want +2 `futures.lock.json is missing: it locks the arguments of this package's durable tasks; run futuresgen on this package`
//
//futures:task durable
func Send(ctx context.Context, to string) error { return nil }
