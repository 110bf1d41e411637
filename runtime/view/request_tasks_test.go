package view_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// wait is how long the tests below give a task to see what they expect;
// it bounds a hang, it is never a timing assertion.
const wait = 10 * time.Second

// taskEnd is how a task started by a view ended.
type taskEnd struct {
	cancelled bool // its context was cancelled
	cause     error
}

// waitForCancel is a task that runs until its context is cancelled or
// release is closed.
func waitForCancel(release <-chan struct{}) func(context.Context) (taskEnd, error) {
	return func(ctx context.Context) (taskEnd, error) {
		select {
		case <-ctx.Done():
			return taskEnd{cancelled: true, cause: context.Cause(ctx)}, nil
		case <-release:
			return taskEnd{}, nil
		case <-time.After(wait):
			return taskEnd{}, errors.New("neither cancelled nor released")
		}
	}
}

// TestAsyncEndsWithTimedOutView: a task that a view started with Async
// belongs to its request: when the view's timeout passes (504) while it
// awaits the task, the task's context is cancelled. An after-response task
// of the same view still runs after the 504.
func TestAsyncEndsWithTimedOutView(t *testing.T) {
	loop := startLoop(t)
	release := make(chan struct{})
	defer close(release)
	started := make(chan *future.Future[taskEnd], 1)
	after := make(chan *future.Future[string], 1)
	mux, _ := handle(t, view.Spec{Name: "test.Slow", Pattern: "GET /slow", Timeout: 50 * time.Millisecond},
		func(ctx context.Context, r *http.Request) (user, error) {
			ctx = taskloop.WithLoop(ctx, loop)
			after <- taskloop.Later(ctx, taskloop.Spec{Name: "test.audit"}, func(context.Context) (string, error) { return "audited", nil })
			f := taskloop.Async(ctx, taskloop.Spec{Name: "test.slow"}, waitForCancel(release))
			started <- f
			_, err := f.Await(ctx) // the view's deadline ends this
			return user{}, err
		})
	srv := newServer(t, mux)
	resp, body := get(t, srv, "/slow", nil)
	checkProblemParts(t, resp.StatusCode, resp.Header, body, http.StatusGatewayTimeout)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	end, err := (<-started).Await(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("task: %v", err)
	}
	if err == nil && !end.cancelled {
		t.Fatal("the task of a view that timed out was not cancelled")
	}
	if v, err := (<-after).Await(ctx); v != "audited" || err != nil {
		t.Fatalf("after-response task of the timed-out view: %q, %v", v, err)
	}
}

// TestAsyncOutlivesAnsweredView: a view that answers without awaiting a
// task it started leaves it running: only a request abandoned before the
// view returned takes its tasks with it.
func TestAsyncOutlivesAnsweredView(t *testing.T) {
	loop := startLoop(t)
	release := make(chan struct{})
	started := make(chan *future.Future[taskEnd], 1)
	mux, _ := handle(t, view.Spec{Name: "test.Fire", Pattern: "GET /fire", Timeout: time.Minute},
		func(ctx context.Context, r *http.Request) (user, error) {
			started <- taskloop.Async(taskloop.WithLoop(ctx, loop), taskloop.Spec{Name: "test.fire"}, waitForCancel(release))
			return user{ID: 1}, nil
		})
	srv := newServer(t, mux)
	if resp, body := get(t, srv, "/fire", nil); resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	f := <-started
	if r, done := f.Peek(); done {
		t.Fatalf("the task ended with its view's response: %+v", r)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if end, err := f.Await(ctx); err != nil || end.cancelled {
		t.Fatalf("task: %+v, %v; want it released, not cancelled", end, err)
	}
}

// logRecord is one line of a JSON slog log.
type logRecord map[string]any

// records parses the log lines of logs.
func records(t *testing.T, logs *testkit.SyncBuffer) []logRecord {
	t.Helper()
	var out []logRecord
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var r logRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestRejectedLaterIsLogged: under policy Reject, an after-response task
// that finds the queue full is not lost silently: the loop logs it at Warn
// with the task's name and the request ID that the view's own 500 carries.
func TestRejectedLaterIsLogged(t *testing.T) {
	logger, logs := newLogger()
	loop := taskloop.New(taskloop.Options{Workers: 1, QueueSize: 1, WhenFull: taskloop.Reject, Logger: logger})
	if err := loop.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	running := make(chan struct{})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := loop.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		<-loop.Done()
	}()
	defer close(release)
	ctx := taskloop.WithLoop(context.Background(), loop)
	taskloop.Async(ctx, taskloop.Spec{Name: "test.hold"}, func(context.Context) (int, error) {
		close(running)
		<-release
		return 0, nil
	})
	<-running
	taskloop.Async(ctx, taskloop.Spec{Name: "test.fill"}, func(context.Context) (int, error) { return 0, nil })

	mux := http.NewServeMux()
	spec := view.Spec{Name: "test.Fail", Pattern: "GET /fail"}
	if err := view.Handle(mux, view.NewConfig(view.WithLogger(logger)), &spec, func(ctx context.Context, r *http.Request) (user, error) {
		taskloop.Later(taskloop.WithLoop(ctx, loop), taskloop.Spec{Name: "test.welcome"}, func(context.Context) (int, error) { return 0, nil })
		return user{}, errors.New("SECRET")
	}); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, mux)
	resp, body := get(t, srv, "/fail", nil) // no X-Request-ID: the view makes one up
	p := checkProblemParts(t, resp.StatusCode, resp.Header, body, 500)
	if !hexID.MatchString(p.RequestID) {
		t.Fatalf("request_id %q", p.RequestID)
	}
	deadline := time.Now().Add(wait)
	for {
		for _, r := range records(t, logs) {
			if r["level"] == "WARN" && r["task"] == "test.welcome" {
				if r["request_id"] != p.RequestID {
					t.Fatalf("rejected task logged with request_id %v; the view's 500 says %q; log:\n%s", r["request_id"], p.RequestID, logs)
				}
				if s := loop.Stats(); s.Rejected != 1 {
					t.Errorf("stats %+v; want 1 rejected", s)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the rejected after-response task; log:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
