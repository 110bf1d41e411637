package taskloop_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// jsonLogger returns a logger of JSON lines and the buffer it writes to.
func jsonLogger() (*slog.Logger, *testkit.SyncBuffer) {
	buf := new(testkit.SyncBuffer)
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// warnings returns the Warn records of logs that name task.
func warnings(t testing.TB, logs *testkit.SyncBuffer, task string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if r["level"] == "WARN" && r["task"] == task {
			out = append(out, r)
		}
	}
	return out
}

// TestRejectedAfterResponseTaskIsLogged is issue 13's "Reject loses
// silently": under policy Reject and a full queue, the after-response task
// of a request is refused, and the loop says so at Warn, with the task's
// name and the request's X-Request-ID.
func TestRejectedAfterResponseTaskIsLogged(t *testing.T) {
	logger, logs := jsonLogger()
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 1, WhenFull: taskloop.Reject, Logger: logger})
	b := newBlocker(t)
	b.submit(l)
	recv(t, b.started)
	taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "fill"}, ok)

	futures := make(chan *future.Future[string], 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		futures <- taskloop.Later(taskloop.WithLoop(r.Context(), l), taskloop.Spec{Name: "welcome"}, ok)
		w.Write([]byte("answered\n"))
	})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("X-Request-ID", "req-42")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	f := <-futures
	if _, err := await(t, f); !errors.Is(err, taskloop.ErrQueueFull) {
		t.Fatalf("after-response task: %v; want ErrQueueFull", err)
	}
	deadline := time.Now().Add(safety)
	for len(warnings(t, logs, "welcome")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no warning names the rejected task; log:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	w := warnings(t, logs, "welcome")
	if len(w) != 1 || w[0]["request_id"] != "req-42" || !strings.Contains(w[0]["err"].(string), "queue is full") {
		t.Fatalf("warnings %v; want one with request_id req-42 and the queue-full error", w)
	}
	if s := l.Stats(); s.Rejected != 1 {
		t.Fatalf("stats %+v; want 1 rejected", s)
	}
	b.free()
	shutdown(t, l)
	checkIdle(t, l)
}

// dropRecorder is Hooks that implement DropHooks.
type dropRecorder struct {
	hookFuncs
	mu      sync.Mutex
	dropped []string
}

func (d *dropRecorder) TaskDropped(ctx context.Context, e taskloop.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropped = append(d.dropped, fmt.Sprintf("%s attempts=%d request=%q stopped=%v full=%v closed=%v aborted=%v",
		e.Name, e.Attempt, taskloop.RequestID(ctx), errors.Is(e.Err, taskloop.ErrStopped), errors.Is(e.Err, taskloop.ErrQueueFull),
		errors.Is(e.Err, taskloop.ErrClosed), errors.Is(e.Err, taskloop.ErrScopeAborted)))
}

func (d *dropRecorder) events() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.dropped, "\n")
}

// TestDropHooks: every task that does not run, or not to its end, reaches
// DropHooks once, with the request it came from, and is logged at Warn.
func TestDropHooks(t *testing.T) {
	logger, logs := jsonLogger()
	hooks := &dropRecorder{}
	l := startLoop(t, taskloop.Options{Workers: 1, QueueSize: 2, WhenFull: taskloop.Reject, Logger: logger, Hooks: hooks})
	b := newBlocker(t)
	b.submit(l)
	recv(t, b.started)

	// A panicking handler whose after-response task is aborted; a
	// request's scope with a delayed after-response task, then one that
	// the full queue refuses.
	actx, aborted := taskloop.NewScope(taskloop.WithLoop(context.Background(), l))
	taskloop.Later(actx, taskloop.Spec{Name: "aborted"}, ok)
	aborted.Abort(taskloop.ErrScopeAborted)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Request-ID", "r1")
	rctx, scope := taskloop.NewScope(taskloop.WithLoop(req.Context(), l))
	scope.SetRequest(req)
	taskloop.Later(rctx, taskloop.Spec{Name: "delayed", Delay: time.Hour}, ok)
	scope.Close()
	taskloop.Submit(context.Background(), l, taskloop.Spec{Name: "queued"}, ok)
	taskloop.Later(rctx, taskloop.Spec{Name: "refused"}, ok) // the scope is closed: straight to the full loop

	// A hard stop: the running blocker is cut off, the queued task and
	// the delayed one never run.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := l.Shutdown(ctx)
	var se *taskloop.ShutdownError
	if !errors.As(err, &se) || se.NotStarted != 1 || se.Unfinished != 2 {
		t.Fatalf("Shutdown = %v; want 1 not started and 2 unfinished", err)
	}
	b.free()
	<-l.Done()
	got := strings.Split(hooks.events(), "\n")
	slices.Sort(got)
	want := []string{
		`aborted attempts=0 request="" stopped=false full=false closed=false aborted=true`,
		`blocker attempts=1 request="" stopped=true full=false closed=false aborted=false`,
		`delayed attempts=0 request="r1" stopped=true full=false closed=false aborted=false`,
		`queued attempts=0 request="" stopped=true full=false closed=false aborted=false`,
		`refused attempts=0 request="r1" stopped=false full=true closed=false aborted=false`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("dropped:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, name := range []string{"aborted", "blocker", "delayed", "queued", "refused"} {
		if n := len(warnings(t, logs, name)); n != 1 {
			t.Errorf("%d warnings about %s, want 1; log:\n%s", n, name, logs)
		}
	}
	if s := checkIdle(t, l); s.Rejected != 1 || s.Stopped != 3 || s.Failed != 3 {
		t.Fatalf("stats %+v", s)
	}
}
