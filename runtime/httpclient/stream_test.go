package httpclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/view"
)

// streamWait bounds what should happen at once, generously for a loaded
// machine: it only keeps a broken test from hanging.
const streamWait = 10 * time.Second

type tick struct {
	N int `json:"n"`
}

// serveStream serves, at GET /ticks, a stream view of the runtime (the
// handler generated code registers) whose sequence fn makes.
func serveStream(t *testing.T, fn func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error)) string {
	t.Helper()
	mux := http.NewServeMux()
	spec := view.Spec{Name: "ticks", Pattern: "GET /ticks"}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := view.HandleStream(mux, view.NewConfig(view.WithLogger(logger)), &spec, fn); err != nil {
		t.Fatal(err)
	}
	return newServer(t, mux.ServeHTTP).URL
}

// ticks is a sequence of n ticks, 1 to n.
func ticks(n int) iter.Seq2[tick, error] {
	return func(yield func(tick, error) bool) {
		for i := 1; i <= n; i++ {
			if !yield(tick{i}, nil) {
				return
			}
		}
	}
}

// collect ranges over seq, bounded by streamWait, and returns its values
// and its error.
func collect[T any](t *testing.T, seq iter.Seq2[T, error]) ([]T, error) {
	t.Helper()
	type result struct {
		vs  []T
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for v, err := range seq {
			if err != nil {
				r.err = err
				break
			}
			r.vs = append(r.vs, v)
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r.vs, r.err
	case <-time.After(streamWait):
		t.Fatal("the stream did not end")
		return nil, nil
	}
}

func ticksRequest() *httpclient.Request { return httpclient.NewRequest("GET", "/ticks") }

func TestStreamEventsInOrder(t *testing.T) {
	var accept, cache atomic.Value
	base := serveStream(t, func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error) {
		accept.Store(r.Header.Get("Accept"))
		cache.Store(r.Header.Get("Cache-Control"))
		return ticks(100), nil
	})
	c := newClient(t, httpclient.WithBaseURL(base))
	got, err := collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	if err != nil {
		t.Fatalf("the stream ended with %v; want no error after its end event", err)
	}
	if len(got) != 100 {
		t.Fatalf("%d values; want 100", len(got))
	}
	for i, v := range got {
		if v.N != i+1 {
			t.Fatalf("value %d is %d", i, v.N)
		}
	}
	if accept.Load() != "text/event-stream" || cache.Load() != "no-cache" {
		t.Errorf("Accept %q, Cache-Control %q; want text/event-stream, no-cache", accept.Load(), cache.Load())
	}
	// Each range sends the request again.
	if got, err := collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest())); err != nil || len(got) != 100 {
		t.Errorf("ranging again: %d values, %v", len(got), err)
	}
}

// The client hands each event over as it arrives: the server produces
// event 2 only once the loop has seen event 1, so a client that waits for
// more bytes, or for the end, deadlocks.
func TestStreamEventsArriveAsSent(t *testing.T) {
	seen := make(chan int)
	base := serveStream(t, func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error) {
		return func(yield func(tick, error) bool) {
			for i := 1; i <= 3; i++ {
				if !yield(tick{i}, nil) {
					return
				}
				select {
				case n := <-seen:
					if n != i {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}, nil
	})
	c := newClient(t, httpclient.WithBaseURL(base))
	ctx, cancel := context.WithTimeout(t.Context(), streamWait)
	defer cancel()
	n := 0
	for v, err := range httpclient.Stream[tick](ctx, c, ticksRequest()) {
		if err != nil {
			t.Fatalf("after %d events: %v", n, err)
		}
		n++
		if v.N != n {
			t.Fatalf("event %d is %d", n, v.N)
		}
		seen <- v.N
	}
	if n != 3 {
		t.Fatalf("%d events; want 3", n)
	}
}

func TestStreamRefusedBeforeStreaming(t *testing.T) {
	base := serveStream(t, func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error) {
		return nil, view.Error(http.StatusNotFound, "no such feed")
	})
	c := newClient(t, httpclient.WithBaseURL(base))
	got, err := collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	p, ok := errors.AsType[*httpclient.Problem](err)
	if len(got) != 0 || !ok || p.Status != 404 || p.Detail != "no such feed" || httpclient.StatusOf(err) != 404 {
		t.Fatalf("got %v, %v (%T); want a 404 problem first", got, err, err)
	}
}

func TestStreamErrorEvent(t *testing.T) {
	var fail atomic.Pointer[error]
	base := serveStream(t, func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error) {
		return func(yield func(tick, error) bool) {
			if yield(tick{1}, nil) && yield(tick{2}, nil) {
				yield(tick{}, *fail.Load())
			}
		}, nil
	})
	c := newClient(t, httpclient.WithBaseURL(base))

	fail.Store(new(view.Error(http.StatusConflict, "the feed moved")))
	got, err := collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	p, ok := errors.AsType[*httpclient.Problem](err)
	if len(got) != 2 || !ok || p.Status != 409 || p.Detail != "the feed moved" || httpclient.StatusOf(err) != 409 {
		t.Fatalf("got %v, %v; want 2 values and a 409 problem", got, err)
	}
	if !strings.Contains(err.Error(), "GET "+base+"/ticks: 409 Conflict: the feed moved") {
		t.Errorf("error text %q", err)
	}

	fail.Store(new(errors.New("disk on fire")))
	_, err = collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	p, ok = errors.AsType[*httpclient.Problem](err)
	if !ok || p.Status != 500 || p.Detail != "internal server error" || p.RequestID == "" || strings.Contains(err.Error(), "fire") {
		t.Fatalf("a plain error: %v; want a 500 problem with a request ID and no internal text", err)
	}
}

// Breaking out of the loop closes the connection: the view's context is
// cancelled and its sequence's cleanup runs.
func TestStreamBreakClosesConnection(t *testing.T) {
	cleaned := make(chan struct{})
	base := serveStream(t, func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error) {
		return func(yield func(tick, error) bool) {
			defer close(cleaned)
			for i := 1; ; i++ {
				if !yield(tick{i}, nil) {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Millisecond):
				}
			}
		}, nil
	})
	c := newClient(t, httpclient.WithBaseURL(base))
	n := 0
	for _, err := range httpclient.Stream[tick](t.Context(), c, ticksRequest()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	select {
	case <-cleaned:
	case <-time.After(streamWait):
		t.Fatal("the view's sequence went on after the client broke out of its loop")
	}
}

// A stream cut without its end event fails with the last event's ID, from
// which a view that binds Last-Event-ID resumes.
func TestStreamBrokenWithoutEnd(t *testing.T) {
	var (
		mu      sync.Mutex
		lastIDs []string
	)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		if r.Header.Get("Last-Event-ID") == "" {
			fmt.Fprint(w, "id: 1\ndata: {\"n\":1}\n\nid: 2\ndata: {\"n\":2}\n\nid: 3\ndata: {\"n\":") // cut
			return
		}
		fmt.Fprint(w, "id: 3\ndata: {\"n\":3}\n\nevent: end\ndata:\n\n")
	})
	c := newClient(t, httpclient.WithBaseURL(srv.URL))
	got, err := collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	se, ok := errors.AsType[*httpclient.StreamError](err)
	if len(got) != 2 || !ok || se.LastEventID != "2" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, %v; want 2 values and a StreamError after event 2 that is io.ErrUnexpectedEOF", got, err)
	}
	r := ticksRequest()
	httpclient.Param(r, httpclient.InHeader, "Last-Event-ID", se.LastEventID, httpclient.FormatString[string])
	got, err = collect(t, httpclient.Stream[tick](t.Context(), c, r))
	if err != nil || len(got) != 1 || got[0].N != 3 {
		t.Fatalf("resumed: %v, %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(lastIDs) != "[ 2]" {
		t.Errorf("Last-Event-ID headers %q; want none, then 2", lastIDs)
	}
}

// The context ends the stream, while it waits for an event, with its
// error.
func TestStreamContextEnds(t *testing.T) {
	base := serveStream(t, func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error) {
		return func(yield func(tick, error) bool) {
			if yield(tick{1}, nil) {
				<-ctx.Done()
			}
		}, nil
	})
	c := newClient(t, httpclient.WithBaseURL(base))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []tick
	var err error
	for v, e := range httpclient.Stream[tick](ctx, c, ticksRequest()) {
		if e != nil {
			err = e
			break
		}
		got = append(got, v)
		cancel()
	}
	se, ok := errors.AsType[*httpclient.StreamError](err)
	if len(got) != 1 || !ok || !errors.Is(err, context.Canceled) || se.LastEventID != "1" {
		t.Fatalf("got %v, %v; want one value, then context.Canceled after event 1", got, err)
	}
}

// The client's timeout bounds the wait for the response's header, not the
// stream.
func TestStreamTimeoutIsToHeader(t *testing.T) {
	const timeout = 200 * time.Millisecond
	base := serveStream(t, func(ctx context.Context, r *http.Request) (iter.Seq2[tick, error], error) {
		return func(yield func(tick, error) bool) {
			if !yield(tick{1}, nil) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(3 * timeout):
			}
			yield(tick{2}, nil)
		}, nil
	})
	c := newClient(t, httpclient.WithBaseURL(base), httpclient.WithTimeout(timeout))
	start := time.Now()
	got, err := collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	if err != nil || len(got) != 2 {
		t.Fatalf("a stream of %v with a timeout of %v: %v, %v; want both events", time.Since(start), timeout, got, err)
	}

	release := make(chan struct{})
	defer close(release)
	slow := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c = newClient(t, httpclient.WithBaseURL(slow.URL), httpclient.WithTimeout(timeout), httpclient.WithRetries(0))
	_, err = collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no header: %v; want a timeout", err)
	}
}

// Before a stream has begun, a GET is retried as any call.
func TestStreamRetried(t *testing.T) {
	var calls atomic.Int32
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"n\":7}\n\nevent: end\ndata:\n\n")
	})
	c := newClient(t, httpclient.WithBaseURL(srv.URL))
	got, err := collect(t, httpclient.Stream[tick](t.Context(), c, ticksRequest()))
	if err != nil || len(got) != 1 || got[0].N != 7 || calls.Load() != 2 {
		t.Fatalf("got %v, %v after %d calls; want the stream of the second", got, err, calls.Load())
	}
}

func TestStreamFailures(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"n":1}`)
		case "/big":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"n\":1}\n\ndata: %q\n\n", strings.Repeat("x", 4096))
		case "/bad":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "id: 5\ndata: {\"n\":\"five\"}\n\n")
		case "/plain":
			http.Error(w, "teapot", http.StatusTeapot)
		}
	})
	c := newClient(t, httpclient.WithBaseURL(srv.URL), httpclient.WithMaxResponseBytes(1024))
	stream := func(path string) ([]tick, error) {
		return collect(t, httpclient.Stream[tick](t.Context(), c, httpclient.NewRequest("GET", path)))
	}
	if _, err := stream("/json"); err == nil || !strings.Contains(err.Error(), `"application/json", not an event stream`) {
		t.Errorf("a JSON response: %v", err)
	}
	if got, err := stream("/big"); len(got) != 1 || !errors.Is(err, httpclient.ErrResponseTooLarge) {
		t.Errorf("an event over the limit: %v, %v", got, err)
	}
	var se *httpclient.StreamError
	var syntax *json.UnmarshalTypeError
	if _, err := stream("/bad"); !errors.As(err, &se) || !errors.As(err, &syntax) || se.LastEventID != "5" {
		t.Errorf("data that is not a tick: %v", err)
	}
	if _, err := stream("/plain"); httpclient.StatusOf(err) != http.StatusTeapot {
		t.Errorf("a plain error status: %v", err)
	}
	// A value that cannot be sent: nothing is sent.
	r := httpclient.NewRequest("GET", "/ticks/{id}")
	httpclient.PathParam(r, "id", "..", httpclient.FormatString[string])
	if _, err := collect(t, httpclient.Stream[tick](t.Context(), c, r)); !errors.As(err, new(*httpclient.ParamError)) {
		t.Errorf("a bad path value: %v", err)
	}
}
