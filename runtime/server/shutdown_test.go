package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/taskloop"
)

// Requests in flight when shutdown begins complete in full; new
// connections are refused; the after-response tasks the requests
// scheduled all run before Run returns, on the loop Run started.
func TestGracefulShutdownInFlight(t *testing.T) {
	const (
		requests     = 5
		tasksPerReq  = 3
		bodyBytes    = 64 << 10
		probeTaskTag = "probe"
	)
	loop := taskloop.New(taskloop.Options{Workers: 2, Logger: quiet})
	t.Cleanup(func() {
		select {
		case <-loop.Done():
		case <-time.After(safety):
			t.Errorf("the loop's workers did not return")
		}
	})

	var ran atomic.Int64
	probe := make(chan struct{}, 1)
	started := make(chan struct{}, requests)
	release := make(chan struct{})
	body := strings.Repeat("0123456789abcdef", bodyBytes/16)
	spec := taskloop.Spec{Name: "server_test.count"}

	handler := taskloop.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.URL.Path == "/probe" {
			taskloop.Later(ctx, spec, func(context.Context) (struct{}, error) {
				probe <- struct{}{}
				return struct{}{}, nil
			})
			fmt.Fprint(w, probeTaskTag)
			return
		}
		for range tasksPerReq {
			taskloop.Later(ctx, spec, func(context.Context) (struct{}, error) {
				time.Sleep(5 * time.Millisecond) // work that takes a little while
				ran.Add(1)
				return struct{}{}, nil
			})
		}
		started <- struct{}{}
		<-release
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	}))

	r := start(t, Config{Handler: handler, Loop: loop, ShutdownTimeout: 2 * safety})
	c := newClient(t)

	// Run started the loop: an after-response task runs while serving.
	if got := do(t, c, "GET", r.url+"/probe"); got.status != 200 || got.body != probeTaskTag {
		t.Fatalf("GET /probe = %d %q", got.status, got.body)
	}
	recv(t, probe, "the after-response task of /probe (was the loop started by Run?)")

	type result struct {
		resp response
		err  error
	}
	results := make(chan result, requests)
	for i := range requests {
		go func() {
			resp, err := c.Get(fmt.Sprintf("%s/slow/%d", r.url, i))
			if err != nil {
				results <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results <- result{response{resp.StatusCode, resp.Header, string(b)}, err}
		}()
	}
	for range requests {
		recv(t, started, "the slow requests to start")
	}

	r.cancel()
	waitRefused(t, r.addr)
	select {
	case <-r.done:
		t.Fatalf("Run returned %v with requests in flight", r.err)
	default:
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("%d after-response task(s) ran before their handlers returned", n)
	}

	close(release)
	for range requests {
		res := recv(t, results, "the slow responses")
		if res.err != nil {
			t.Errorf("request in flight failed: %v", res.err)
			continue
		}
		if res.resp.status != 200 || res.resp.body != body {
			t.Errorf("request in flight = %d with %d bytes, want 200 with %d bytes", res.resp.status, len(res.resp.body), len(body))
		}
	}
	if err := r.wait(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if n := ran.Load(); n != requests*tasksPerReq {
		t.Errorf("after Run returned, %d after-response tasks had run, want %d", n, requests*tasksPerReq)
	}
	s := loop.Stats()
	if s.Failed != 0 || s.Rejected != 0 || s.Succeeded != requests*tasksPerReq+1 {
		t.Errorf("loop stats = %+v, want %d succeeded and none failed or rejected", s, requests*tasksPerReq+1)
	}
	if err := loop.Start(context.Background()); err == nil {
		t.Errorf("loop.Start after Run succeeded: Run did not start (or shut down) the loop")
	}
}

// A handler that outlives the shutdown deadline is cut off and counted.
func TestShutdownDeadlineCutsOffRequests(t *testing.T) {
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	finished := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(finished)
		started <- struct{}{}
		<-release // ignores its context: only the test ends it
		io.WriteString(w, "too late")
	})
	r := start(t, Config{Handler: handler, ShutdownTimeout: 200 * time.Millisecond})
	c := newClient(t)
	clientErr := make(chan error, 1)
	go func() {
		resp, err := c.Get(r.url + "/stuck")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		clientErr <- err
	}()
	recv(t, started, "the handler to start")

	err := r.stop()
	close(release)
	recv(t, finished, "the handler to return")
	if err == nil {
		t.Fatal("Run = nil, want a *ShutdownError")
	}
	var se *ShutdownError
	if !errors.As(err, &se) {
		t.Fatalf("Run = %v (%T), want a *ShutdownError", err, err)
	}
	if se.Requests < 1 {
		t.Errorf("ShutdownError.Requests = %d, want ≥ 1", se.Requests)
	}
	if se.Tasks != nil {
		t.Errorf("ShutdownError.Tasks = %v, want nil (no loop)", se.Tasks)
	}
	if !strings.Contains(err.Error(), "request") {
		t.Errorf("error %q does not mention the requests", err)
	}
	if cerr := recv(t, clientErr, "the client"); cerr == nil {
		t.Errorf("the client of the cut-off request got a complete response")
	}
}

// A loop task that outlives the deadline makes Run's error wrap the loop's
// *taskloop.ShutdownError.
func TestShutdownDeadlineTasks(t *testing.T) {
	loop := taskloop.New(taskloop.Options{Workers: 1, Logger: quiet})
	taskStarted := make(chan struct{}, 1)
	release := make(chan struct{})
	handler := taskloop.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		taskloop.Later(r.Context(), taskloop.Spec{Name: "server_test.slow"}, func(context.Context) (struct{}, error) {
			taskStarted <- struct{}{}
			<-release // ignores its context: only the test ends it
			return struct{}{}, nil
		})
		io.WriteString(w, "ok")
	}))
	r := start(t, Config{Handler: handler, Loop: loop, ShutdownTimeout: 200 * time.Millisecond})
	if got := do(t, newClient(t), "GET", r.url+"/"); got.status != 200 || got.body != "ok" {
		t.Fatalf("GET / = %d %q", got.status, got.body)
	}
	recv(t, taskStarted, "the after-response task to start")

	err := r.stop()
	close(release)
	recv(t, loop.Done(), "the loop's workers to return")

	var se *ShutdownError
	if !errors.As(err, &se) {
		t.Fatalf("Run = %v (%T), want a *ShutdownError", err, err)
	}
	if se.Requests != 0 {
		t.Errorf("ShutdownError.Requests = %d, want 0", se.Requests)
	}
	var te *taskloop.ShutdownError
	if !errors.As(err, &te) {
		t.Fatalf("Run = %v: does not wrap a *taskloop.ShutdownError", err)
	}
	if te.Unfinished != 1 {
		t.Errorf("taskloop.ShutdownError.Unfinished = %d, want 1", te.Unfinished)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v: does not match context.DeadlineExceeded", err)
	}
	if !errors.As(se.Tasks, &te) {
		t.Errorf("ShutdownError.Tasks = %v, want the loop's *taskloop.ShutdownError", se.Tasks)
	}
}

func TestShutdownErrorMessage(t *testing.T) {
	tasks := &taskloop.ShutdownError{Unfinished: 2, Cause: context.DeadlineExceeded}
	err := error(&ShutdownError{Requests: 3, Tasks: tasks})
	msg := err.Error()
	for _, want := range []string{"3 request(s)", "2 task(s)", "deadline"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, want it to mention %q", msg, want)
		}
	}
	var te *taskloop.ShutdownError
	if !errors.As(err, &te) || te != tasks {
		t.Errorf("errors.As through ShutdownError did not find the loop's error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, DeadlineExceeded) = false")
	}
	if msg := (&ShutdownError{Requests: 1}).Error(); !strings.Contains(msg, "1 request(s)") || strings.Contains(msg, "task") {
		t.Errorf("Error() with requests only = %q", msg)
	}
}
