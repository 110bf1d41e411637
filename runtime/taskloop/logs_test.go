package taskloop_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gofutures/futures/runtime/taskloop"
)

type attemptKey struct{}

// spanHooks puts a value in each attempt's context, as a tracing hook
// puts its span there.
type spanHooks struct{}

func (spanHooks) TaskStarted(ctx context.Context, e taskloop.Event) context.Context {
	return context.WithValue(ctx, attemptKey{}, e.Name+" attempt")
}
func (spanHooks) TaskFinished(context.Context, taskloop.Event) {}

type recordingHandler struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(ctx context.Context, r slog.Record) error {
	line := map[string]any{"msg": r.Message, "span": ctx.Value(attemptKey{})}
	r.Attrs(func(a slog.Attr) bool { line[a.Key] = a.Value.Any(); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, line)
	return nil
}

func (h *recordingHandler) find(msg, task string) map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines {
		if l["msg"] == msg && l["task"] == task {
			return l
		}
	}
	return nil
}

// TestLogLinesCarryAttemptContextAndRequest: the loop's lines about an
// attempt are logged with the attempt's context (where a tracing hook put
// its span) and the ID of the request that scheduled the task.
func TestLogLinesCarryAttemptContextAndRequest(t *testing.T) {
	h := &recordingHandler{}
	l := startLoop(t, taskloop.Options{Hooks: spanHooks{}, Logger: slog.New(h)})
	ctx, scope := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Request-ID", "req-9")
	scope.SetRequest(req)
	fails := taskloop.Async(ctx, taskloop.Spec{Name: "fails", Retries: 1, Backoff: 1},
		func(context.Context) (int, error) { return 0, errors.New("no") })
	panics := taskloop.Async(ctx, taskloop.Spec{Name: "panics"},
		func(context.Context) (int, error) { panic("oops") })
	scope.Close()
	await(t, fails)
	await(t, panics)
	for _, want := range []struct{ msg, task string }{
		{"task failed, retrying", "fails"},
		{"task failed", "fails"},
		{"task panicked", "panics"},
		{"task failed", "panics"},
	} {
		line := h.find(want.msg, want.task)
		if line == nil || line["span"] != want.task+" attempt" || line["request_id"] != "req-9" {
			t.Errorf("%q about %s: %v; want it logged with the attempt's context and request_id req-9", want.msg, want.task, line)
		}
	}
	shutdown(t, l)
}
