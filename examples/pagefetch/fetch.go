package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/view"
)

//go:generate go run ../../cmd/futuresgen

// Choices are the values of n that the page offers, as Django Futures' demo
// did.
var Choices = []int{1, 5, 10, 25, 50, 100, 250, 500, 1000}

// DefaultN is n when the query does not give one.
const DefaultN = 10

// Fetcher fetches one URL many times at once. Its methods are the demo's
// view and task: a struct holds their dependencies instead of globals.
type Fetcher struct {
	// Client makes the requests.
	Client *httpclient.Client
	// URL is the page to fetch.
	URL string
	// Logger receives a line per batch, after its response has gone out.
	Logger *slog.Logger
}

// PageRequest is what the page's form sends.
type PageRequest struct {
	// N is how many times to fetch the page: one of Choices. Absent (or
	// 0), it is DefaultN; a value that is not a number is refused by the
	// generated binding, one that is not a choice by Index.
	N int `query:"n"`
}

// Report is what Index answers: JSON for API clients, or
// templates/index.html for browsers.
type Report struct {
	URL      string  `json:"url"`
	N        int     `json:"n"`
	Bytes    int64   `json:"bytes"`   // received in all
	WallMS   float64 `json:"wall_ms"` // from the first request out to the last response in
	SumMS    float64 `json:"sum_ms"`  // of each request's own time
	Speedup  float64 `json:"speedup"` // SumMS / WallMS: what running them at once saved
	Requests []Fetch `json:"requests"`

	Choices []int `json:"-"` // for the page's form
}

// Fetch is one request of a batch.
type Fetch struct {
	Status  int     `json:"status"`
	Bytes   int     `json:"bytes"`
	StartMS float64 `json:"start_ms"` // after the batch started
	MS      float64 `json:"ms"`       // the request's own time

	// Where the request's bar starts and how wide it is, in percent of the
	// wall time, for the page's timeline.
	Left  float64 `json:"-"`
	Width float64 `json:"-"`
}

// Index fetches the page N times at once and reports how long each request
// took, how long they all took together, and the speed-up over fetching them
// one after the other.
//
//futures:view GET /{$} template=templates/index.html timeout=30s
func (f *Fetcher) Index(ctx context.Context, req PageRequest) (Report, error) {
	n := req.N
	if n == 0 {
		n = DefaultN
	}
	if !slices.Contains(Choices, n) {
		return Report{}, view.Error(http.StatusBadRequest, "n must be one of "+choices())
	}

	// Every Get starts at once, in its own goroutine; Map notes when each
	// one's response is in, and All waits for them all (the first failure
	// cancels the rest).
	type done struct {
		resp *httpclient.Response
		at   time.Duration
	}
	start := time.Now()
	calls := make([]*future.Future[done], n)
	for i := range calls {
		calls[i] = future.Map(f.Client.Get(ctx, f.URL, nil), func(r *httpclient.Response) done {
			return done{r, time.Since(start)}
		})
	}
	results, err := future.All(calls...).Await(ctx)
	wall := time.Since(start)
	if ctx.Err() != nil {
		return Report{}, ctx.Err() // the view's timeout (504), or the client left
	}
	if err != nil {
		return Report{}, view.Wrap(http.StatusBadGateway, "fetching the page failed; the server's log says why", err)
	}

	rep := Report{URL: f.URL, N: n, WallMS: ms(wall), Requests: make([]Fetch, n), Choices: Choices}
	var sum time.Duration
	for i, d := range results {
		if err := d.resp.Err(); err != nil {
			return Report{}, view.Wrap(http.StatusBadGateway, "the page answered with an error status; the server's log says which", err)
		}
		started := d.at - d.resp.Elapsed
		rep.Requests[i] = Fetch{
			Status:  d.resp.StatusCode,
			Bytes:   len(d.resp.Body),
			StartMS: ms(started),
			MS:      ms(d.resp.Elapsed),
			Left:    percent(started, wall),
			Width:   max(percent(d.resp.Elapsed, wall), 0.5),
		}
		rep.Bytes += int64(len(d.resp.Body))
		sum += d.resp.Elapsed
	}
	rep.SumMS = ms(sum)
	if wall > 0 {
		rep.Speedup = float64(sum) / float64(wall)
	}
	f.logBatchLater(ctx, n, wall, sum) // after the response has gone out
	return rep, nil
}

// logBatch logs a batch's figures. Index schedules it with logBatchLater,
// so the line is written once the page has been sent, on the task loop.
//
//futures:task
func (f *Fetcher) logBatch(ctx context.Context, n int, wall, sum time.Duration) {
	f.Logger.InfoContext(ctx, "fetched the page", "n", n, "wall", wall.Round(time.Microsecond),
		"sum", sum.Round(time.Microsecond), "speedup", fmt.Sprintf("%.1fx", float64(sum)/float64(max(wall, 1))))
}

// choices is Choices as text: "1, 5, 10, …".
func choices() string {
	s := make([]string, len(Choices))
	for i, c := range Choices {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, ", ")
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

// percent is d as a percentage of total, within [0, 100].
func percent(d, total time.Duration) float64 {
	if total <= 0 {
		return 0
	}
	return min(max(100*float64(d)/float64(total), 0), 100)
}
