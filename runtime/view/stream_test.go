package view_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// streamWait is how long a stream test waits for something that should happen
// at once: generous, for a loaded machine.
const streamWait = 10 * time.Second

// noLeaks checks, when the test ends, that it left no goroutine behind.
// Call it first, so that its check runs after every other cleanup.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// serveStream registers a stream view made of fn on a real loopback
// server and returns its URL and the views' log.
func serveStream[T any](t *testing.T, spec view.Spec, fn func(context.Context, *http.Request) (iter.Seq2[T, error], error)) (string, *testkit.SyncBuffer) {
	t.Helper()
	logger, logs := newLogger()
	mux := http.NewServeMux()
	if err := view.HandleStream(mux, view.NewConfig(view.WithLogger(logger)), &spec, fn); err != nil {
		t.Fatalf("HandleStream: %v", err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, logs
}

// sseEvent is one event of a stream, or a comment.
type sseEvent struct {
	id, name, data, comment string
}

// sseClient reads a stream's events from a real connection.
type sseClient struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
}

// openStream requests url with header (pairs of name and value) and
// returns the response, whose events the client reads.
func openStream(t *testing.T, url string, header ...string) *sseClient {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sseClient{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next event or comment, failing the test if none comes
// within streamWait; io.EOF when the stream has ended.
func (c *sseClient) next() (sseEvent, error) {
	c.t.Helper()
	type result struct {
		ev  sseEvent
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var ev sseEvent
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				ch <- result{ev, err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				ch <- result{ev, nil}
				return
			}
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "":
				ev.comment = value
			case "id":
				ev.id = value
			case "event":
				ev.name = value
			case "data":
				ev.data = value
			}
		}
	}()
	select {
	case r := <-ch:
		return r.ev, r.err
	case <-time.After(streamWait):
		c.resp.Body.Close()
		c.t.Fatalf("no event within %v", streamWait)
		return sseEvent{}, nil
	}
}

// mustNext is next that fails the test on an error.
func (c *sseClient) mustNext() sseEvent {
	c.t.Helper()
	ev, err := c.next()
	if err != nil {
		c.t.Fatalf("reading the stream: %v", err)
	}
	return ev
}

type evItem struct {
	N int `json:"n"`
}

// TestStreamFlushesEachEvent sees each event before the next one is
// produced: the sequence waits for the client to have event 1 before it
// yields event 2, which only a stream that flushes each event lets happen.
// The events come in order, numbered, and the stream ends with "end".
func TestStreamFlushesEachEvent(t *testing.T) {
	noLeaks(t)
	seen := make(chan int)
	url, _ := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s"}, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
		return func(yield func(evItem, error) bool) {
			for i := 1; i <= 3; i++ {
				if !yield(evItem{i}, nil) {
					return
				}
				select {
				case <-seen: // the client has event i
				case <-ctx.Done():
					return
				}
			}
		}, nil
	})
	c := openStream(t, url+"/s")
	if ct := c.resp.Header.Get("Content-Type"); c.resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%s %q, want 200 text/event-stream", c.resp.Status, ct)
	}
	if cc := c.resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", cc)
	}
	for i := 1; i <= 3; i++ {
		ev := c.mustNext()
		var got evItem
		if err := json.Unmarshal([]byte(ev.data), &got); err != nil || got.N != i || ev.id != string(rune('0'+i)) || ev.name != "" {
			t.Fatalf("event %d: %+v (%v)", i, ev, err)
		}
		select {
		case seen <- i:
		case <-time.After(streamWait):
			t.Fatalf("the sequence did not streamWait for the client after event %d", i)
		}
	}
	if ev := c.mustNext(); ev.name != "end" {
		t.Errorf("last event %+v, want the end event", ev)
	}
	if _, err := c.next(); err != io.EOF {
		t.Errorf("after the end event: %v, want EOF", err)
	}
}

// TestStreamDisconnectStopsSequence closes the client's connection in the
// middle of a stream: the view's context is cancelled, and a sequence that
// does not watch it sees its next yield return false; either way its
// deferred cleanup runs.
func TestStreamDisconnectStopsSequence(t *testing.T) {
	noLeaks(t)
	for _, watches := range []bool{true, false} {
		name := map[bool]string{true: "watches ctx", false: "ignores ctx"}[watches]
		t.Run(name, func(t *testing.T) {
			cleaned := make(chan struct{})
			var cancelled atomic.Bool
			url, _ := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s"}, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
				return func(yield func(evItem, error) bool) {
					defer close(cleaned)
					for i := 1; ; i++ {
						if !yield(evItem{i}, nil) {
							return
						}
						if watches {
							<-ctx.Done()
							cancelled.Store(true)
						} else {
							time.Sleep(5 * time.Millisecond)
						}
					}
				}, nil
			})
			c := openStream(t, url+"/s")
			c.mustNext()
			c.resp.Body.Close()
			select {
			case <-cleaned:
			case <-time.After(streamWait):
				t.Fatal("the sequence's cleanup did not run after the client went away")
			}
			if watches && !cancelled.Load() {
				t.Error("the context was not cancelled")
			}
		})
	}
}

// TestStreamErrorEvent ends streams with errors: a view.Error's status
// and text reach the client in an error event, a plain error's text does
// not (only a request ID, which the log has with the error).
func TestStreamErrorEvent(t *testing.T) {
	noLeaks(t)
	errs := map[string]error{
		"/conflict": view.Error(http.StatusConflict, "the room is full"),
		"/internal": errors.New("db password is hunter2"),
	}
	logger, logs := newLogger()
	mux := http.NewServeMux()
	for path, e := range errs {
		spec := view.Spec{Name: "s" + path, Pattern: "GET " + path}
		err := view.HandleStream(mux, view.NewConfig(view.WithLogger(logger)), &spec, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
			return func(yield func(evItem, error) bool) {
				if yield(evItem{1}, nil) {
					yield(evItem{}, e)
				}
			}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for path, want := range map[string]struct {
		status int
		detail string
	}{"/conflict": {409, "the room is full"}, "/internal": {500, "internal server error"}} {
		c := openStream(t, srv.URL+path)
		c.mustNext()
		ev := c.mustNext()
		var p problemDoc
		if err := json.Unmarshal([]byte(ev.data), &p); err != nil || ev.name != "error" || p.Status != want.status || p.Detail != want.detail {
			t.Errorf("%s: %+v (%v), want an error event for %d %q", path, ev, err, want.status, want.detail)
		}
		if strings.Contains(ev.data, "hunter2") {
			t.Errorf("%s: the error's text reached the client: %s", path, ev.data)
		}
		if want.status == 500 && (p.RequestID == "" || !strings.Contains(logs.String(), p.RequestID) || !strings.Contains(logs.String(), "hunter2")) {
			t.Errorf("%s: request ID %q, log:\n%s", path, p.RequestID, logs.String())
		}
		if _, err := c.next(); err != io.EOF {
			t.Errorf("%s: after the error event: %v, want EOF", path, err)
		}
		c.resp.Body.Close()
	}
}

// TestStreamRefused answers a view that refuses before streaming with its
// status, as a view does, not with a stream.
func TestStreamRefused(t *testing.T) {
	noLeaks(t)
	url, _ := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s"}, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
		return nil, view.Error(http.StatusNotFound, "no such room")
	})
	resp, body := getBody(t, url+"/s")
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, "no such room") {
		t.Errorf("%s %q %s, want a 404 problem", resp.Status, resp.Header.Get("Content-Type"), body)
	}
}

func getBody(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: streamWait}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestStreamTimeoutIsToFirstEvent: timeout= bounds the time to the first
// event (a sequence that yields nothing in time ends with a 504 error
// event), not the stream (one that yields at once runs past it).
func TestStreamTimeoutIsToFirstEvent(t *testing.T) {
	noLeaks(t)
	const timeout = 100 * time.Millisecond
	var ctxErr atomic.Value
	url, _ := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s", Timeout: timeout}, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
		late := r.URL.Query().Get("late") != ""
		return func(yield func(evItem, error) bool) {
			if late {
				<-ctx.Done()
				ctxErr.Store(ctx.Err())
				return
			}
			for i := 1; i <= 3; i++ {
				if !yield(evItem{i}, nil) {
					return
				}
				// Three times the timeout, in all, after the first event.
				select {
				case <-time.After(timeout):
				case <-ctx.Done():
					return
				}
			}
		}, nil
	})

	c := openStream(t, url+"/s?late=1")
	ev := c.mustNext()
	var p problemDoc
	if err := json.Unmarshal([]byte(ev.data), &p); err != nil || ev.name != "error" || p.Status != 504 {
		t.Errorf("late stream: %+v, want a 504 error event", ev)
	}
	if err, _ := ctxErr.Load().(error); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the view's ctx.Err() = %v, want context.DeadlineExceeded", err)
	}

	c = openStream(t, url+"/s")
	for i := 1; i <= 3; i++ {
		if ev := c.mustNext(); ev.name != "" || ev.id != string(rune('0'+i)) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if ev := c.mustNext(); ev.name != "end" {
		t.Errorf("%+v, want the end event: the timeout cut the stream", ev)
	}
}

// TestStreamHeartbeat sees comment lines while the sequence has nothing
// to say.
func TestStreamHeartbeat(t *testing.T) {
	noLeaks(t)
	url, _ := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s", Heartbeat: 20 * time.Millisecond}, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
		return func(yield func(evItem, error) bool) { <-ctx.Done() }, nil
	})
	c := openStream(t, url+"/s")
	for range 2 {
		if ev := c.mustNext(); ev.comment != "heartbeat" {
			t.Fatalf("%+v, want a heartbeat comment", ev)
		}
	}
}

// TestStreamPanic: a panic before the stream is a 500 problem, one in the
// middle ends the stream with a 500 error event; the server goes on.
func TestStreamPanic(t *testing.T) {
	noLeaks(t)
	url, logs := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s"}, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
		if r.URL.Query().Get("early") != "" {
			panic("early boom")
		}
		return func(yield func(evItem, error) bool) {
			yield(evItem{1}, nil)
			panic("late boom")
		}, nil
	})
	resp, body := getBody(t, url+"/s?early=1")
	if resp.StatusCode != 500 || !strings.Contains(body, "internal server error") || strings.Contains(body, "boom") {
		t.Errorf("early panic: %s %s", resp.Status, body)
	}
	c := openStream(t, url+"/s")
	c.mustNext()
	ev := c.mustNext()
	if ev.name != "error" || !strings.Contains(ev.data, `"status":500`) || strings.Contains(ev.data, "boom") {
		t.Errorf("late panic: %+v, want a 500 error event without the panic's text", ev)
	}
	if !strings.Contains(logs.String(), "late boom") {
		t.Errorf("the panic is not in the log:\n%s", logs.String())
	}
}

// TestStreamLastEventID numbers events after the Last-Event-ID that a
// reconnecting EventSource sends, which the view binds like a header.
func TestStreamLastEventID(t *testing.T) {
	noLeaks(t)
	url, _ := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s"}, func(ctx context.Context, r *http.Request) (iter.Seq2[string, error], error) {
		// As generated code binds header:"Last-Event-ID" into a *int64.
		var last *int64
		var p view.Problems
		p.Add(view.Header, "Last-Event-ID", view.Optional(r.Header.Get("Last-Event-ID"), &last, view.Int[int64]))
		if err := p.Err(); err != nil {
			return nil, err
		}
		return func(yield func(string, error) bool) {
			yield("after "+r.Header.Get("Last-Event-ID"), nil)
		}, nil
	})
	c := openStream(t, url+"/s", "Last-Event-ID", "41")
	if ev := c.mustNext(); ev.id != "42" || ev.data != `"after 41"` {
		t.Errorf("%+v, want id 42 with the bound Last-Event-ID", ev)
	}
	resp, body := getBodyWith(t, url+"/s", "Last-Event-ID", "x")
	if resp.StatusCode != 400 || !strings.Contains(body, "Last-Event-ID") {
		t.Errorf("a bad Last-Event-ID: %s %s, want a 400 that names it", resp.Status, body)
	}
}

func getBodyWith(t *testing.T, url, name, value string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	req.Header.Set(name, value)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: streamWait}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestStreamLaterRunsAtEnd: a task the view schedules with Later runs when
// the stream ends, not when it starts.
func TestStreamLaterRunsAtEnd(t *testing.T) {
	noLeaks(t)
	var ran atomic.Bool
	release := make(chan struct{})
	url, _ := serveStream(t, view.Spec{Name: "s", Pattern: "GET /s"}, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
		taskloop.Later(ctx, taskloop.Spec{Name: "after"}, func(context.Context) (struct{}, error) {
			ran.Store(true)
			return struct{}{}, nil
		})
		return func(yield func(evItem, error) bool) {
			if yield(evItem{1}, nil) {
				<-release
			}
		}, nil
	})
	c := openStream(t, url+"/s")
	c.mustNext()
	if ran.Load() {
		t.Fatal("the after-response task ran while the stream was open")
	}
	close(release)
	if ev := c.mustNext(); ev.name != "end" {
		t.Fatalf("%+v, want end", ev)
	}
	deadline := time.Now().Add(streamWait)
	for !ran.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !ran.Load() {
		t.Error("the after-response task did not run when the stream ended")
	}
}

// TestStreamOutlivesServerTimeouts runs a stream three times as long as the
// server's WriteTimeout and ReadTimeout on a plain http.Server: each
// write gets its own deadline, and the read deadline no longer ends the
// request's context.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	noLeaks(t)
	const timeout = 200 * time.Millisecond
	logger, _ := newLogger()
	mux := http.NewServeMux()
	spec := view.Spec{Name: "s", Pattern: "GET /s"}
	view.HandleStream(mux, view.NewConfig(view.WithLogger(logger)), &spec, func(ctx context.Context, r *http.Request) (iter.Seq2[evItem, error], error) {
		return func(yield func(evItem, error) bool) {
			for i := 1; i <= 6; i++ {
				if !yield(evItem{i}, nil) {
					return
				}
				select {
				case <-time.After(timeout / 2):
				case <-ctx.Done():
					yield(evItem{}, ctx.Err())
					return
				}
			}
		}, nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadTimeout: timeout, WriteTimeout: timeout}
	go srv.Serve(ln)
	defer srv.Close()
	c := openStream(t, "http://"+ln.Addr().String()+"/s")
	for i := 1; i <= 6; i++ {
		if ev := c.mustNext(); ev.name != "" {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if ev := c.mustNext(); ev.name != "end" {
		t.Errorf("%+v, want end", ev)
	}
}
