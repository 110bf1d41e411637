package view_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// startLoop starts a task loop that is shut down, and whose workers have
// returned, when the test ends.
func startLoop(t *testing.T) *taskloop.Loop {
	t.Helper()
	logger, _ := newLogger()
	l := taskloop.New(taskloop.Options{Workers: 2, Logger: logger})
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case <-l.Done():
		case <-time.After(10 * time.Second):
			t.Error("loop workers did not return")
		}
	})
	return l
}

// seen is what an after-response task observed.
type seen struct {
	viewDone   bool // when the task started
	clientRead bool // before the task finished, within 5 s
}

// awaitResult is how awaiting an after-response task inside its own view
// ended.
type awaitResult struct {
	err     error
	elapsed time.Duration
}

// TestLaterAfterResponse: a task submitted with taskloop.Later by a view
// starts only after the view has returned, and the client reads the whole
// response while the task waits; awaiting the task inside the view fails at
// once with ErrAwaitInScope.
func TestLaterAfterResponse(t *testing.T) {
	for _, mode := range []string{"WithLoop", "SetDefault"} {
		t.Run(mode, func(t *testing.T) {
			loop := startLoop(t)
			var viewDone atomic.Bool
			clientRead := make(chan struct{})
			futures := make(chan *future.Future[seen], 1)
			awaited := make(chan awaitResult, 1)

			mux, logs := handle(t, view.Spec{Name: "test.Signup", Pattern: "POST /signup", Status: 201},
				func(ctx context.Context, r *http.Request) (user, error) {
					f := taskloop.Later(ctx, taskloop.Spec{Name: "test.welcome"}, func(context.Context) (seen, error) {
						s := seen{viewDone: viewDone.Load()}
						select {
						case <-clientRead:
							s.clientRead = true
						case <-time.After(5 * time.Second):
						}
						return s, nil
					})
					futures <- f
					actx, cancel := context.WithTimeout(ctx, 2*time.Second)
					start := time.Now()
					_, err := f.Await(actx)
					cancel()
					awaited <- awaitResult{err, time.Since(start)}
					viewDone.Store(true)
					return user{ID: 1, Name: "new"}, nil
				})

			srv := httptest.NewUnstartedServer(mux)
			if mode == "WithLoop" {
				srv.Config.BaseContext = func(net.Listener) context.Context {
					return taskloop.WithLoop(context.Background(), loop)
				}
			} else {
				prev := taskloop.SetDefault(loop)
				t.Cleanup(func() { taskloop.SetDefault(prev) })
			}
			srv.Start()
			t.Cleanup(srv.Close)

			resp, err := srv.Client().Post(srv.URL+"/signup", "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			close(clientRead)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 201 || string(body) != `{"id":1,"name":"new"}`+"\n" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("ContentLength %d, body %d bytes", resp.ContentLength, len(body))
			}

			a := <-awaited
			if !errors.Is(a.err, taskloop.ErrAwaitInScope) {
				t.Errorf("Await inside the view: %v, want ErrAwaitInScope", a.err)
			}
			if a.elapsed > time.Second {
				t.Errorf("Await inside the view took %v, want at once", a.elapsed)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := (<-futures).Await(ctx)
			if err != nil {
				t.Fatalf("task: %v; log %s", err, logs)
			}
			if !s.viewDone {
				t.Error("the after-response task started before the view returned")
			}
			if !s.clientRead {
				t.Error("the client had not read the whole response 5 s after the task started")
			}
		})
	}
}

// TestLaterAfterErrorResponse: the same holds when the view fails: the
// problem response reaches the client before the task finishes.
func TestLaterAfterErrorResponse(t *testing.T) {
	loop := startLoop(t)
	clientRead := make(chan struct{})
	futures := make(chan *future.Future[bool], 1)
	mux, _ := handle(t, view.Spec{Name: "test.Fail", Pattern: "GET /x"},
		func(ctx context.Context, r *http.Request) (user, error) {
			futures <- taskloop.Later(taskloop.WithLoop(ctx, loop), taskloop.Spec{Name: "test.audit"}, func(context.Context) (bool, error) {
				select {
				case <-clientRead:
					return true, nil
				case <-time.After(5 * time.Second):
					return false, nil
				}
			})
			return user{}, errors.New("SECRET failure")
		})
	srv := newServer(t, mux)
	resp, body := get(t, srv, "/x", nil)
	close(clientRead)
	checkProblemParts(t, resp.StatusCode, resp.Header, body, 500)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if read, err := (<-futures).Await(ctx); err != nil || !read {
		t.Errorf("task: read %v, err %v; want the client to have read the response", read, err)
	}
}
