package view_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/view"
)

// Every test of the package ends with no goroutine left behind: servers,
// loops and their connections are closed by the tests that start them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newLogger returns a logger that writes JSON at Debug level into a buffer
// the test can read.
func newLogger() (*slog.Logger, *testkit.SyncBuffer) {
	buf := new(testkit.SyncBuffer)
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// handle registers fn at spec.Pattern on a new mux with a logger whose
// output the test gets back.
func handle[T any](t *testing.T, spec view.Spec, fn func(context.Context, *http.Request) (T, error), opts ...view.Option) (*http.ServeMux, *testkit.SyncBuffer) {
	t.Helper()
	logger, logs := newLogger()
	mux := http.NewServeMux()
	if err := view.Handle(mux, view.NewConfig(append([]view.Option{view.WithLogger(logger)}, opts...)...), &spec, fn); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	return mux, logs
}

// serve runs r through h in-process.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// problemDoc is an RFC 9457 problem as the views write it.
type problemDoc struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	RequestID string            `json:"request_id"`
	Errors    []view.FieldError `json:"errors"`
}

var hexID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// checkProblem asserts that w is an application/problem+json response with
// status and the members RFC 9457 and the view runtime promise, and returns
// it decoded.
func checkProblem(t *testing.T, w *httptest.ResponseRecorder, status int) problemDoc {
	t.Helper()
	return checkProblemParts(t, w.Code, w.Header(), w.Body.Bytes(), status)
}

func checkProblemParts(t *testing.T, code int, hdr http.Header, body []byte, status int) problemDoc {
	t.Helper()
	if code != status {
		t.Fatalf("status %d, want %d; body %s", code, status, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if cl := hdr.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q, body has %d bytes", cl, len(body))
	}
	if n := hdr.Get("X-Content-Type-Options"); n != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", n)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		t.Fatalf("problem is not a JSON object: %v; body %q", err, body)
	}
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := members[k]; !ok {
			t.Errorf("problem has no %q member: %s", k, body)
		}
	}
	var p problemDoc
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem does not decode: %v; body %s", err, body)
	}
	if p.Type != "about:blank" {
		t.Errorf("type %q, want about:blank", p.Type)
	}
	if p.Status != status {
		t.Errorf("status member %d, want %d", p.Status, status)
	}
	if p.Title != http.StatusText(status) {
		t.Errorf("title %q, want %q", p.Title, http.StatusText(status))
	}
	if status == http.StatusBadRequest {
		if _, ok := members["errors"]; !ok || len(p.Errors) == 0 {
			t.Errorf("400 problem lists no errors: %s", body)
		}
		var raw struct {
			Errors []map[string]json.RawMessage `json:"errors"`
		}
		json.Unmarshal(body, &raw)
		for i, e := range raw.Errors {
			for _, k := range []string{"in", "name", "detail"} {
				if _, ok := e[k]; !ok {
					t.Errorf("errors[%d] has no %q member: %s", i, k, body)
				}
			}
		}
	}
	if p.RequestID != "" && hdr.Get("X-Request-ID") != p.RequestID {
		t.Errorf("X-Request-ID header %q, body request_id %q", hdr.Get("X-Request-ID"), p.RequestID)
	}
	return p
}

// hasField reports whether errs holds a problem from in about name whose
// detail contains detail.
func hasField(errs []view.FieldError, in view.In, name, detail string) bool {
	for _, e := range errs {
		if e.In == in && e.Name == name && strings.Contains(e.Detail, detail) {
			return true
		}
	}
	return false
}

// recordingWriter is a ResponseWriter that records every call, to assert
// that nothing was written.
type recordingWriter struct {
	header  http.Header
	calls   []string
	written bytes.Buffer
}

func (w *recordingWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *recordingWriter) WriteHeader(status int) {
	w.calls = append(w.calls, "WriteHeader("+strconv.Itoa(status)+")")
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.calls = append(w.calls, "Write("+strconv.Quote(string(b))+")")
	return w.written.Write(b)
}

func (w *recordingWriter) Flush() { w.calls = append(w.calls, "Flush") }

// newServer serves h on loopback until the test ends; net/http's own log
// (of re-panicked handlers) is discarded.
func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// get does a GET through srv's client and returns the response with its
// body read.
func get(t *testing.T, srv *httptest.Server, path string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
