package view_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gofutures/futures/runtime/view"
)

type ctxKey struct{}

// ctxHandler records every line with the value of ctxKey in the context
// it was logged with, as a tracing handler reads the span there.
type ctxHandler struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (h *ctxHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *ctxHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *ctxHandler) WithGroup(string) slog.Handler            { return h }
func (h *ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	line := map[string]any{"msg": r.Message, "ctx": ctx.Value(ctxKey{})}
	r.Attrs(func(a slog.Attr) bool { line[a.Key] = a.Value.Any(); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, line)
	return nil
}

// TestEveryLogLineCarriesRequestAndContext: each of a view's log lines,
// debug ones included, has the request's ID and is logged with the
// request's context, so that a handler can add its trace.
func TestEveryLogLineCarriesRequestAndContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		msg  string
	}{
		{"refused", view.Error(http.StatusConflict, "taken"), "view refused a request"},
		{"failed", errors.New("db down"), "view failed"},
		{"panicked", nil, "view panicked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &ctxHandler{}
			mux := http.NewServeMux()
			err := view.Handle(mux, view.NewConfig(view.WithLogger(slog.New(h))), &view.Spec{Name: "v", Pattern: "GET /x"},
				func(ctx context.Context, r *http.Request) (int, error) {
					if tc.err == nil {
						panic("boom")
					}
					return 0, tc.err
				})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", "/x", nil)
			req.Header.Set("X-Request-ID", "req-42")
			req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, "the request's"))
			mux.ServeHTTP(httptest.NewRecorder(), req)
			if len(h.lines) != 1 {
				t.Fatalf("lines %v", h.lines)
			}
			l := h.lines[0]
			if l["msg"] != tc.msg || l["request_id"] != "req-42" || l["ctx"] != "the request's" {
				t.Fatalf("line %v: want %q with request_id req-42, logged with the request's context", l, tc.msg)
			}
		})
	}
}
