package durable

import (
	"github.com/riverqueue/river"

	"github.com/gofutures/futures/runtime/taskloop"
)

// InsertOpts returns the options Enqueue inserts spec's jobs with, for
// tests that insert many jobs at once with River's InsertMany.
func (b *Backend) InsertOpts(spec taskloop.Spec) *river.InsertOpts { return b.insertOpts(spec) }
