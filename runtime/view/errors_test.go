package view_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// statusError is a user's error type with a status but no public message.
type statusError struct {
	code int
	text string
}

func (e statusError) Error() string   { return e.text }
func (e statusError) StatusCode() int { return e.code }

// publicError is a user's error type that opts in to showing a message.
type publicError struct{ statusError }

func (e publicError) PublicMessage() string { return "public: " + e.text }

// failing registers a view at GET /x that returns err.
func failing(t *testing.T, err error) (*http.ServeMux, *testkit.SyncBuffer) {
	t.Helper()
	return handle(t, view.Spec{Name: "test.Fail", Pattern: "GET /x"}, func(context.Context, *http.Request) (string, error) {
		return "", err
	})
}

func TestErrorStatus(t *testing.T) {
	const secret = "SECRET-internal-text"
	cause := errors.New("cause: " + secret)
	tests := []struct {
		name   string
		err    error
		status int
		detail string
		hasID  bool // a request_id in the body (5xx)
	}{
		{"Error 403", view.Error(403, "you may not"), 403, "you may not", false},
		{"Error 404", view.Error(http.StatusNotFound, "no such item"), 404, "no such item", false},
		{"Error wrapped by fmt", fmt.Errorf("handler: %w", view.Error(410, "gone for good")), 410, "gone for good", false},
		{"Wrap 409", view.Wrap(409, "version conflict", cause), 409, "version conflict", false},
		{"Error 503", view.Error(503, "down for maintenance"), 503, "down for maintenance", true},
		{"custom status", statusError{429, secret}, 429, "Too Many Requests", false},
		{"custom status wrapped", fmt.Errorf("x: %w", statusError{404, secret}), 404, "Not Found", false},
		{"custom 5xx", statusError{502, secret}, 502, "Bad Gateway", true},
		{"custom public", publicError{statusError{422, "name taken"}}, 422, "public: name taken", false},
		{"custom 302", statusError{302, secret}, 500, "internal server error", true},
		{"custom 200", statusError{200, secret}, 500, "internal server error", true},
		{"custom 0", statusError{0, secret}, 500, "internal server error", true},
		{"custom 399", statusError{399, secret}, 500, "internal server error", true},
		{"custom 600", statusError{600, secret}, 500, "internal server error", true},
		{"custom -1", statusError{-1, secret}, 500, "internal server error", true},
		{"custom 400", statusError{400, secret}, 400, "Bad Request", false},
		{"plain", errors.New(secret), 500, "internal server error", true},
		{"plain wrapping", fmt.Errorf("query: %w", cause), 500, "internal server error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux, logs := failing(t, tt.err)
			w := serve(mux, httptest.NewRequest("GET", "/x", nil))
			if tt.status == 400 {
				// A 400 without binding problems lists no errors.
				if w.Code != 400 || !strings.Contains(w.Body.String(), `"detail":"Bad Request"`) {
					t.Fatalf("status %d body %s", w.Code, w.Body)
				}
				return
			}
			p := checkProblem(t, w, tt.status)
			if p.Detail != tt.detail {
				t.Errorf("detail %q, want %q", p.Detail, tt.detail)
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("body leaks the error's text: %s", w.Body)
			}
			if tt.hasID != (p.RequestID != "") {
				t.Errorf("request_id %q, want one: %v", p.RequestID, tt.hasID)
			}
			if !strings.Contains(logs.String(), tt.err.Error()) && !strings.Contains(logs.String(), jsonString(tt.err.Error())) {
				t.Errorf("log lacks the error %q: %s", tt.err, logs)
			}
		})
	}
}

// jsonString is s as it appears inside a JSON log string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestWrap(t *testing.T) {
	cause := errors.New("row locked")
	err := view.Wrap(409, "try again", cause)
	if !errors.Is(err, cause) {
		t.Error("errors.Is(Wrap(…, cause), cause) is false")
	}
	if got := err.Error(); got != "409 try again: row locked" {
		t.Errorf("Error() = %q", got)
	}
	var sc view.StatusCoder
	if !errors.As(err, &sc) || sc.StatusCode() != 409 {
		t.Errorf("Wrap is not a StatusCoder of 409")
	}
	var pe view.PublicError
	if !errors.As(err, &pe) || pe.PublicMessage() != "try again" {
		t.Errorf("Wrap is not a PublicError of its message")
	}
	plain := view.Error(403, "no")
	if got := plain.Error(); got != "403 no" {
		t.Errorf("Error() = %q", got)
	}
	if errors.Unwrap(plain) != nil {
		t.Errorf("Error unwraps to %v", errors.Unwrap(plain))
	}
}

func TestPlainErrorHidesDetails(t *testing.T) {
	const dsn = "postgres://shop:hunter2@db.internal:5432/shop?sslmode=disable"
	mux, logs := failing(t, fmt.Errorf("connect %s: connection refused", dsn))
	w := serve(mux, httptest.NewRequest("GET", "/x", nil))
	p := checkProblem(t, w, 500)
	body := w.Body.String()
	if !strings.Contains(body, "internal server error") {
		t.Errorf("body %s", body)
	}
	if !hexID.MatchString(p.RequestID) {
		t.Errorf("request_id %q is not 16 hex digits", p.RequestID)
	}
	for _, leak := range []string{"hunter2", "db.internal", "postgres", "connection refused"} {
		if strings.Contains(body, leak) {
			t.Errorf("body leaks %q: %s", leak, body)
		}
	}
	var entry struct {
		Level     string `json:"level"`
		Msg       string `json:"msg"`
		View      string `json:"view"`
		RequestID string `json:"request_id"`
		Err       string `json:"err"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &entry); err != nil {
		t.Fatalf("log %q: %v", logs, err)
	}
	if entry.Level != "ERROR" || entry.View != "test.Fail" || entry.RequestID != p.RequestID || !strings.Contains(entry.Err, "hunter2") {
		t.Errorf("log entry %+v; want ERROR for test.Fail with request_id %s and the DSN", entry, p.RequestID)
	}
}

func TestRequestID(t *testing.T) {
	max := strings.Repeat("a", 64)
	tests := []struct {
		name, header string
		reused       bool
	}{
		{"sane", "req-123_abc.DEF", true},
		{"64 bytes", max, true},
		{"absent", "", false},
		{"65 bytes", max + "b", false},
		{"space", "abc def", false},
		{"leading space", " abc", false},
		{"markup", "<script>", false},
		{"colon", "a:b", false},
		{"non-ASCII", "réq", false},
		{"newline", "a\nb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux, logs := failing(t, errors.New("boom"))
			r := httptest.NewRequest("GET", "/x", nil)
			if tt.header != "" {
				r.Header.Set("X-Request-ID", tt.header)
			}
			w := serve(mux, r)
			p := checkProblem(t, w, 500)
			if tt.reused {
				if p.RequestID != tt.header {
					t.Errorf("request_id %q, want the request's %q", p.RequestID, tt.header)
				}
			} else if !hexID.MatchString(p.RequestID) {
				t.Errorf("request_id %q, want a new 16-hex-digit one", p.RequestID)
			}
			if w.Header().Get("X-Request-ID") != p.RequestID {
				t.Errorf("X-Request-ID %q, body %q", w.Header().Get("X-Request-ID"), p.RequestID)
			}
			if !strings.Contains(logs.String(), `"request_id":"`+p.RequestID+`"`) {
				t.Errorf("log lacks the request_id: %s", logs)
			}
		})
	}
	// New IDs differ.
	mux, _ := failing(t, errors.New("boom"))
	a := checkProblem(t, serve(mux, httptest.NewRequest("GET", "/x", nil)), 500).RequestID
	b := checkProblem(t, serve(mux, httptest.NewRequest("GET", "/x", nil)), 500).RequestID
	if a == b {
		t.Errorf("two requests got the same new ID %q", a)
	}
}

func TestTimeout(t *testing.T) {
	mux, logs := handle(t, view.Spec{Name: "test.Slow", Pattern: "GET /slow", Timeout: 20 * time.Millisecond},
		func(ctx context.Context, r *http.Request) (string, error) {
			if _, ok := ctx.Deadline(); !ok {
				return "", view.Error(418, "no deadline")
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(5 * time.Second):
				return "too late", nil
			}
		})
	start := time.Now()
	w := serve(mux, httptest.NewRequest("GET", "/slow", nil))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	p := checkProblem(t, w, 504)
	if p.Detail != "the request took too long" || !hexID.MatchString(p.RequestID) {
		t.Errorf("problem %+v", p)
	}
	if !strings.Contains(logs.String(), "view timed out") {
		t.Errorf("log %s", logs)
	}
}

// TestTimeoutAnyError: after the deadline even a plain error means 504.
func TestTimeoutAnyError(t *testing.T) {
	mux, _ := handle(t, view.Spec{Name: "test.Slow", Pattern: "GET /slow", Timeout: time.Millisecond},
		func(ctx context.Context, r *http.Request) (string, error) {
			<-ctx.Done()
			return "", fmt.Errorf("query: %w", errors.New("i/o timeout"))
		})
	checkProblem(t, serve(mux, httptest.NewRequest("GET", "/slow", nil)), 504)
}

func TestClientGone(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  func(ctx context.Context) error
	}{
		{"ctx.Err", func(ctx context.Context) error { return ctx.Err() }},
		{"plain", func(context.Context) error { return errors.New("write: broken pipe") }},
		{"wrapped", func(ctx context.Context) error { return fmt.Errorf("fetch: %w", ctx.Err()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mux, logs := handle(t, view.Spec{Name: "test.Gone", Pattern: "GET /x", Timeout: time.Minute},
				func(ctx context.Context, r *http.Request) (string, error) {
					<-ctx.Done() // the view's context ends with the request's
					return "", tt.err(ctx)
				})
			ctx, cancel := context.WithCancel(context.Background())
			r := httptest.NewRequest("GET", "/x", nil).WithContext(ctx)
			w := &recordingWriter{}
			go func() {
				time.Sleep(5 * time.Millisecond)
				cancel()
			}()
			mux.ServeHTTP(w, r)
			if len(w.calls) != 0 {
				t.Errorf("wrote to a client that went away: %v", w.calls)
			}
			if !strings.Contains(logs.String(), "client went away") {
				t.Errorf("log %s", logs)
			}
		})
	}
}

// TestParentDeadlineIsNotClientGone: a request whose context has a
// deadline set by a middleware (not the view's Timeout) is not a client
// that went away: the client is still there and must get an error
// response. The handler writes nothing, so net/http answers 200 OK with an
// empty body, reporting a failed request as a success.
func TestParentDeadlineIsNotClientGone(t *testing.T) {
	mux, _ := handle(t, view.Spec{Name: "test.Slow", Pattern: "GET /slow"},
		func(ctx context.Context, r *http.Request) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		})
	deadline := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Millisecond)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	srv := newServer(t, deadline(mux))
	resp, body := get(t, srv, "/slow", nil)
	if resp.StatusCode < 500 {
		t.Errorf("middleware deadline passed: status %d, body %q; want 504 (or another 5xx), not a silent success", resp.StatusCode, body)
	}
}

func TestPanic(t *testing.T) {
	var calls atomic.Int64
	laterErrs := make(chan error, 1)
	mux, logs := handle(t, view.Spec{Name: "test.Panicky", Pattern: "GET /p/{mode}"},
		func(ctx context.Context, r *http.Request) (string, error) {
			calls.Add(1)
			switch r.PathValue("mode") {
			case "panic":
				f := taskloop.Later(ctx, taskloop.Spec{Name: "never"}, func(context.Context) (int, error) {
					laterErrs <- errors.New("after-response task of a panicking view ran")
					return 0, nil
				})
				go func() {
					_, err := f.Await(context.Background())
					laterErrs <- err
				}()
				panic("kaboom: SECRET password=hunter2")
			case "nil":
				panic(nil)
			case "error":
				panic(fmt.Errorf("SECRET wrapped: %w", errors.New("inner")))
			}
			return "fine", nil
		})
	srv := newServer(t, mux)

	for _, mode := range []string{"panic", "nil", "error"} {
		resp, body := get(t, srv, "/p/"+mode, http.Header{"X-Request-Id": {"trace-" + mode}})
		p := checkProblemParts(t, resp.StatusCode, resp.Header, body, 500)
		if p.Detail != "internal server error" || p.RequestID != "trace-"+mode {
			t.Errorf("%s: problem %+v", mode, p)
		}
		if strings.Contains(string(body), "SECRET") || strings.Contains(string(body), "goroutine") {
			t.Errorf("%s: body leaks the panic: %s", mode, body)
		}
		resp, body = get(t, srv, "/p/ok", nil)
		if resp.StatusCode != 200 || string(body) != "\"fine\"\n" {
			t.Errorf("after a panic (%s): status %d body %q", mode, resp.StatusCode, body)
		}
	}
	select {
	case err := <-laterErrs:
		if !errors.Is(err, taskloop.ErrScopeAborted) {
			t.Errorf("after-response task of a panicking view: %v, want ErrScopeAborted", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("after-response task of a panicking view never resolved")
	}
	if calls.Load() != 6 {
		t.Errorf("%d calls, want 6", calls.Load())
	}

	var entries []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e["msg"] == "view panicked" {
			entries = append(entries, e)
		}
	}
	if len(entries) != 3 {
		t.Fatalf("%d 'view panicked' log entries, want 3: %s", len(entries), logs)
	}
	e := entries[0]
	if e["level"] != "ERROR" || e["request_id"] != "trace-panic" || !strings.Contains(fmt.Sprint(e["panic"]), "kaboom") {
		t.Errorf("log entry %v", e)
	}
	if stack := fmt.Sprint(e["stack"]); !strings.Contains(stack, "goroutine") || !strings.Contains(stack, "TestPanic") {
		t.Errorf("log entry has no stack of the view: %q", stack)
	}
}

func TestPanicAbortHandler(t *testing.T) {
	mux, logs := handle(t, view.Spec{Name: "test.Abort", Pattern: "GET /x"},
		func(ctx context.Context, r *http.Request) (string, error) {
			panic(http.ErrAbortHandler)
		})
	w := &recordingWriter{}
	var got any
	func() {
		defer func() { got = recover() }()
		mux.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	}()
	if got != http.ErrAbortHandler {
		t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", got)
	}
	if len(w.calls) != 0 {
		t.Errorf("wrote %v", w.calls)
	}
	if strings.Contains(logs.String(), "view panicked") {
		t.Errorf("logged ErrAbortHandler as a panic: %s", logs)
	}

	// Over HTTP the client sees the connection end, and the server goes on.
	srv := newServer(t, mux)
	resp, err := srv.Client().Get(srv.URL + "/x")
	if err == nil {
		resp.Body.Close()
		t.Errorf("ErrAbortHandler: got a response, status %d", resp.StatusCode)
	}
}

// TestGoexit: a view that calls runtime.Goexit (t.FailNow in a test
// server, say) must end its goroutine as Goexit does. ServeHTTP's deferred
// function sees recover() == nil and calls panic(nil), which since Go 1.21
// starts a new panic (*runtime.PanicNilError) instead of letting Goexit go
// on, as its comment says it does.
func TestGoexit(t *testing.T) {
	mux, _ := handle(t, view.Spec{Name: "test.Goexit", Pattern: "GET /x"},
		func(ctx context.Context, r *http.Request) (string, error) {
			runtime.Goexit()
			return "", nil
		})
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		mux.ServeHTTP(&recordingWriter{}, httptest.NewRequest("GET", "/x", nil))
	}()
	select {
	case p := <-recovered:
		if p != nil {
			t.Errorf("Goexit in a view became a panic: %T %v", p, p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeHTTP did not end")
	}
}

// TestLaterOnError: after-response tasks of a view that fails still run:
// only a panic aborts them.
func TestLaterOnError(t *testing.T) {
	futures := make(chan *future.Future[int], 1)
	mux, _ := handle(t, view.Spec{Name: "test.Later", Pattern: "GET /x"},
		func(ctx context.Context, r *http.Request) (string, error) {
			futures <- taskloop.Later(taskloop.WithLoop(ctx, nil), taskloop.Spec{Name: "audit"}, func(context.Context) (int, error) {
				return 7, nil
			})
			return "", view.Error(409, "conflict")
		})
	checkProblem(t, serve(mux, httptest.NewRequest("GET", "/x", nil)), 409)
	f := <-futures
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if v, err := f.Await(ctx); v != 7 || err != nil {
		t.Errorf("task: %v, %v", v, err)
	}
}
