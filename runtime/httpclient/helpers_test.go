package httpclient_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
)

// newServer starts a loopback server that is closed when the test ends.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a client with millisecond backoff whose idle
// connections are closed when the test ends (before its servers, since
// cleanups run last first).
func newClient(t *testing.T, opts ...httpclient.Option) *httpclient.Client {
	t.Helper()
	opts = append([]httpclient.Option{httpclient.WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	c := httpclient.New(opts...)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// await waits for f with a generous bound that only keeps a broken test from
// hanging; no test relies on it.
func await(t *testing.T, f *future.Future[*httpclient.Response]) (*httpclient.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := f.Await(ctx)
	if ctx.Err() != nil {
		t.Fatal("the future did not resolve")
	}
	return resp, err
}

// mustOK awaits f and fails the test unless it resolved with a response.
func mustOK(t *testing.T, f *future.Future[*httpclient.Response]) *httpclient.Response {
	t.Helper()
	resp, err := await(t, f)
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	return resp
}

// echo is what the echo handler reports about the request it received.
type echo struct {
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	Query       string              `json:"query"`
	Header      map[string][]string `json:"header"`
	Body        string              `json:"body"`
	ContentType string              `json:"contentType"`
}

// echoHandler answers with the request it received, as JSON, and in
// X-Echo-* headers for HEAD.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e := echo{
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       r.URL.RawQuery,
		Header:      r.Header,
		Body:        string(body),
		ContentType: r.Header.Get("Content-Type"),
	}
	w.Header().Set("X-Echo-Method", r.Method)
	w.Header().Set("X-Echo-Query", r.URL.RawQuery)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(e)
}

// recorder keeps what a handler saw, safely across handler goroutines.
type recorder struct {
	mu     sync.Mutex
	bodies []string
	header []http.Header
}

func (r *recorder) add(req *http.Request) int {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies = append(r.bodies, string(b))
	r.header = append(r.header, req.Header.Clone())
	return len(r.bodies)
}

func (r *recorder) hits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func (r *recorder) allBodies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

// failFirst answers the first n requests with status (and Retry-After when
// not empty), then 200 "ok".
func failFirst(rec *recorder, n, status int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rec.add(r) <= n {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(status)
			io.WriteString(w, "try later")
			return
		}
		io.WriteString(w, "ok")
	}
}

// hangUp closes the connection of the first n requests without answering,
// then answers 200 "ok".
func hangUp(rec *recorder, n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rec.add(r) <= n {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, "ok")
	}
}

// eventually polls cond until it holds, for states that no channel reports
// (a waiter queued inside the client). It never bounds how long things take.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
