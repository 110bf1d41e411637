package server

import (
	"bufio"
	"context"
	"iter"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/view"
)

// TestStreamsThroughGzipAndShutdown serves an event stream with Gzip on
// to a client that accepts gzip: each event arrives uncompressed as soon
// as it is written (the sequence waits for the client to have event 1
// before it yields event 2). Then the server shuts down: the stream ends
// at once (without its end event, so that a browser reconnects), the
// sequence's cleanup runs, and Run returns nil long before the shutdown
// deadline, which a stream that nobody told about the shutdown would hold
// it to.
func TestStreamsThroughGzipAndShutdown(t *testing.T) {
	seen := make(chan struct{})
	cleaned := make(chan struct{})
	mux := http.NewServeMux()
	spec := view.Spec{Name: "s", Pattern: "GET /s"}
	err := view.HandleStream(mux, view.NewConfig(view.WithLogger(quiet)), &spec, func(ctx context.Context, r *http.Request) (iter.Seq2[string, error], error) {
		return func(yield func(string, error) bool) {
			defer close(cleaned)
			if !yield(strings.Repeat("a", 2000), nil) {
				return
			}
			select {
			case <-seen:
			case <-ctx.Done():
				return
			}
			if !yield("two", nil) {
				return
			}
			<-ctx.Done()
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := start(t, Config{Handler: mux, Gzip: true, ShutdownTimeout: 30 * time.Second})
	req, _ := http.NewRequest("GET", srv.url+"/s", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ce := resp.Header.Get("Content-Encoding"); ce != "" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Encoding %q, Content-Type %q: an event stream must pass through uncompressed", ce, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") || strings.HasPrefix(sc.Text(), "event: ") {
				lines <- sc.Text()
			}
		}
	}()
	next := func() (string, bool) {
		select {
		case l, ok := <-lines:
			return l, ok
		case <-time.After(safety):
			t.Fatal("no line from the stream")
			return "", false
		}
	}
	if l, _ := next(); !strings.HasPrefix(l, `data: "aaa`) {
		t.Fatalf("first line %q", l)
	}
	close(seen)
	if l, _ := next(); l != `data: "two"` {
		t.Fatalf("second line %q", l)
	}

	started := time.Now()
	if err := srv.stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if took := time.Since(started); took > 10*time.Second {
		t.Errorf("shutdown took %v: the stream held it", took)
	}
	if l, ok := next(); ok {
		t.Errorf("after the shutdown the stream said %q, want its end without an end event", l)
	}
	select {
	case <-cleaned:
	case <-time.After(safety):
		t.Error("the sequence's cleanup did not run")
	}
}
