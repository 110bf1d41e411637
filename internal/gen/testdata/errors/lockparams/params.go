// Package errors changes the parameters of durable tasks that
// futures.lock.json, written for the previous version, locks: every kind
// of change that breaks the decoding of queued jobs is an error, and the
// compatible ones (Compatible) are not.
package errors

import (
	"context"
	"time"
)

type Address struct {
	City string `json:"city"`
	Zip  string `json:"zip"`
}

// Order gained a field: compatible.
type Order struct {
	ID    int64     `json:"id"`
	Items []string  `json:"items"`
	At    time.Time `json:"at"`
	Ship  Address   `json:"ship"`
	Note  string    `json:"note"`
}

// OrderV2 is Order without items.
type OrderV2 struct {
	ID   int64     `json:"id"`
	At   time.Time `json:"at"`
	Ship Address   `json:"ship"`
}

// OrderV3 is Order with a zip code that became a number.
type OrderV3 struct {
	ID    int64     `json:"id"`
	Items []string  `json:"items"`
	At    time.Time `json:"at"`
	Ship  struct {
		City string `json:"city"`
		Zip  int    `json:"zip"`
	} `json:"ship"`
}

// plan was removed.
//
//futures:task durable
func Removed(ctx context.Context, userID int64) error { return nil }

// userID was renamed.
//
//futures:task durable
func Renamed(ctx context.Context, customerID int64) error { return nil }

//futures:task durable
func Retyped(ctx context.Context, count int) error { return nil }

// n narrowed, u widened (fine), f to an integer.
//
//futures:task durable
func Narrowed(ctx context.Context, n int32, u int64, f int) error { return nil }

//futures:task durable
func Bytes(ctx context.Context, data string) error { return nil }

//futures:task durable
func FieldRemoved(ctx context.Context, order OrderV2) error { return nil }

//futures:task durable
func NestedRetyped(ctx context.Context, orders []OrderV3) error { return nil }

// A slice that became an array, an array that shrank, a map whose keys
// changed type.
//
//futures:task durable
func Collections(ctx context.Context, ids [5]int64, grid [2]int, byName map[int]int) error {
	return nil
}

//futures:task durable
func Stamp(ctx context.Context, at string) error { return nil }

// Reordered, a widened, o's Order with a new field, a new parameter.
//
//futures:task durable
func Compatible(ctx context.Context, b string, a int64, o *Order, extra bool) error { return nil }
