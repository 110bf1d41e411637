package main

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/view"
)

//go:generate go run ../../cmd/futuresgen

// DefaultN is n when the query does not give one.
const DefaultN = 10

// Fetcher fetches one URL many times at once. Its methods are the demo's
// views and task: a struct holds their dependencies instead of globals.
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
	// N is how many times to fetch the page, from 1 to 1000; absent, it
	// is DefaultN. The generated binding refuses what is not a number or
	// out of range (0 included) with a 400 that says why.
	N *int `query:"n" validate:"omitempty,min=1,max=1000"`
}

// count is the request's n, DefaultN when absent.
func (r PageRequest) count() int {
	if r.N == nil {
		return DefaultN
	}
	return *r.N
}

// Totals are a batch's figures.
type Totals struct {
	URL     string  `json:"url"`
	N       int     `json:"n"`
	Bytes   int64   `json:"bytes"`   // received in all
	WallMS  float64 `json:"wall_ms"` // from the first request out to the last response in
	SumMS   float64 `json:"sum_ms"`  // of each request's own time
	Speedup float64 `json:"speedup"` // SumMS / WallMS: what running them at once saved
}

// Received is Bytes in human units, as the page shows it: "48.8 MiB".
func (t Totals) Received() string { return humanBytes(t.Bytes) }

// Report is what Index answers: JSON for API clients, or
// templates/index.html for browsers.
type Report struct {
	Totals
	Requests []Fetch `json:"requests"`
}

// Fetch is one request of a batch.
type Fetch struct {
	Index   int     `json:"index"` // its place in the batch, from 0
	Status  int     `json:"status"`
	Bytes   int     `json:"bytes"`
	StartMS float64 `json:"start_ms"` // after the batch started
	MS      float64 `json:"ms"`       // the request's own time

	// Where the request's bar starts and how wide it is, in percent of the
	// wall time, for the page's timeline.
	Left  float64 `json:"-"`
	Width float64 `json:"-"`
}

// Event is one event of Stream: a request's row the moment its response
// is in, and last the batch's totals.
type Event struct {
	Request *Fetch  `json:"request,omitempty"`
	Totals  *Totals `json:"totals,omitempty"`
}

// done is one response of a batch and when it came in.
type done struct {
	i    int
	resp *httpclient.Response
	at   time.Duration // after the batch started
}

// fetchAll starts n requests of the page at once and returns their
// futures, each of which, as it succeeds, also goes to ready (which has
// room for n), so that a caller can take them in the order they finish;
// and the future of them all, which fails with the first failure (and
// cancels the rest).
func (f *Fetcher) fetchAll(ctx context.Context, n int, start time.Time, ready chan<- done) *future.Future[[]done] {
	calls := make([]*future.Future[done], n)
	for i := range calls {
		calls[i] = future.Map(f.Client.Get(ctx, f.URL, nil), func(r *httpclient.Response) done {
			d := done{i, r, time.Since(start)}
			if ready != nil {
				ready <- d
			}
			return d
		})
	}
	return future.All(calls...)
}

// row is the Fetch of d, its bar scaled to wall.
func row(d done, wall time.Duration) (Fetch, error) {
	if err := d.resp.Err(); err != nil {
		return Fetch{}, view.Wrap(http.StatusBadGateway, "the page answered with an error status; the server's log says which", err)
	}
	started := d.at - d.resp.Elapsed
	return Fetch{
		Index:   d.i,
		Status:  d.resp.StatusCode,
		Bytes:   len(d.resp.Body),
		StartMS: ms(started),
		MS:      ms(d.resp.Elapsed),
		Left:    percent(started, wall),
		Width:   max(percent(d.resp.Elapsed, wall), 0.5),
	}, nil
}

// Index fetches the page N times at once and reports how long each request
// took, how long they all took together, and the speed-up over fetching them
// one after the other.
//
//futures:view GET /{$} template=templates/index.html errortemplate=templates/error.html timeout=30s
func (f *Fetcher) Index(ctx context.Context, req PageRequest) (Report, error) {
	n := req.count()
	// Every Get starts at once, in its own goroutine; Map notes when each
	// one's response is in, and All waits for them all (the first failure
	// cancels the rest).
	start := time.Now()
	results, err := f.fetchAll(ctx, n, start, nil).Await(ctx)
	wall := time.Since(start)
	if ctx.Err() != nil {
		return Report{}, ctx.Err() // the view's timeout (504), or the client left
	}
	if err != nil {
		return Report{}, view.Wrap(http.StatusBadGateway, "fetching the page failed; the server's log says why", err)
	}

	rep := Report{Totals: Totals{URL: f.URL, N: n, WallMS: ms(wall)}, Requests: make([]Fetch, n)}
	var sum time.Duration
	for i, d := range results {
		if rep.Requests[i], err = row(d, wall); err != nil {
			return Report{}, err
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

// Stream fetches the page N times at once, as Index does, and sends each
// request's row as a server-sent event the moment its response is in, in
// the order they finish; then the batch's totals. The page opens it with
// an EventSource, so that the rows appear as the responses come in.
//
//futures:view GET /stream timeout=30s
func (f *Fetcher) Stream(ctx context.Context, req PageRequest) iter.Seq2[Event, error] {
	n := req.count()
	return func(yield func(Event, error) bool) {
		start := time.Now()
		ready := make(chan done, n)
		all := f.fetchAll(ctx, n, start, ready)
		defer all.Cancel() // a client gone cancels the requests still out
		var sum time.Duration
		var bytes int64
		failed := all.Done()
		for got := 0; got < n; {
			select {
			case d := <-ready:
				got++
				// The bar's scale is the wall time so far: the page
				// rescales the rows as later ones come in.
				r, err := row(d, time.Since(start))
				if err != nil {
					yield(Event{}, err)
					return
				}
				sum += d.resp.Elapsed
				bytes += int64(len(d.resp.Body))
				if !yield(Event{Request: &r}, nil) {
					return
				}
			case <-failed:
				if _, err := all.Await(ctx); err != nil {
					if ctx.Err() == nil {
						err = view.Wrap(http.StatusBadGateway, "fetching the page failed; the server's log says why", err)
					}
					yield(Event{}, err)
					return
				}
				failed = nil // every response is in ready
			case <-ctx.Done():
				return
			}
		}
		wall := time.Since(start)
		t := Totals{URL: f.URL, N: n, Bytes: bytes, WallMS: ms(wall), SumMS: ms(sum)}
		if wall > 0 {
			t.Speedup = float64(sum) / float64(wall)
		}
		f.logBatchLater(ctx, n, wall, sum) // once the stream has ended
		yield(Event{Totals: &t}, nil)
	}
}

// logBatch logs a batch's figures. Index schedules it with logBatchLater,
// so the line is written once the page has been sent, on the task loop.
//
//futures:task
func (f *Fetcher) logBatch(ctx context.Context, n int, wall, sum time.Duration) {
	f.Logger.InfoContext(ctx, "fetched the page", "n", n, "wall", wall.Round(time.Microsecond),
		"sum", sum.Round(time.Microsecond), "speedup", fmt.Sprintf("%.1fx", float64(sum)/float64(max(wall, 1))))
}

// humanBytes is n bytes in binary units, to three figures: "512 B",
// "50.0 KiB", "48.8 MiB".
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		if v < 1024 || unit == "TiB" {
			if v < 100 {
				return fmt.Sprintf("%.1f %s", v, unit)
			}
			return fmt.Sprintf("%.0f %s", v, unit)
		}
	}
	return ""
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
