// Package controls uses the task options that map River's controls:
// unique, priority, cron and limit, durable and in-process.
package controls

import (
	"context"
	"time"
)

// Confirm sends one confirmation per signup and hour, before other work.
//
//futures:task durable unique=args,period=1h priority=1 retries=3
func Confirm(ctx context.Context, signupID int64, email string) error { return nil }

// Refresh refreshes a cache entry at most once at a time per key.
//
//futures:task unique=args limit=4
func Refresh(ctx context.Context, key string) (int, error) { return 0, nil }

// Export runs two at a time on each worker, one per queue while one waits.
//
//futures:task durable queue=exports limit=2 unique=args,queue,states=available|pending|running|scheduled
func Export(ctx context.Context, report Report) error { return nil }

// Cleanup runs every five minutes, once across the cluster.
//
//futures:task durable cron="*/5 * * * *"
func Cleanup(ctx context.Context) error { return nil }

// Digest runs at 9 in Paris, on the loop.
//
//futures:task cron="CRON_TZ=Europe/Paris 0 9 * * MON-FRI" timeout=1m
func Digest(ctx context.Context) error { return nil }

// Hourly is a descriptor.
//
//futures:task cron=@hourly
func Hourly() {}

// Report travels as JSON.
type Report struct {
	Name  string    `json:"name"`
	Since time.Time `json:"since"`
	Rows  []Row     `json:"rows,omitempty"`
	Next  *Report   `json:"next,omitempty"`
}

// Row is part of a Report.
type Row struct {
	Cells [4]float64
	Meta  map[int]string `json:"meta"`
}
