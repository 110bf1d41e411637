package server

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// bigReply is a view result of a few KiB, so that Gzip compresses it.
type bigReply struct {
	N      int    `json:"n"`
	Filler string `json:"filler"`
}

var filler = strings.Repeat("after-response tasks wait for the response ", 64)

// readGzipMember reads one whole gzip member from resp's body and checks
// its trailer, without waiting for the end of the HTTP body: the client
// then has the whole response even if the server's last chunk is not sent
// yet.
func readGzipMember(resp *http.Response) (string, error) {
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		return "", fmt.Errorf("Content-Encoding %q, want gzip", ce)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		return "", err
	}
	zr.Multistream(false)
	b, err := io.ReadAll(zr) // verifies the CRC and length in the trailer
	return string(b), err
}

// TestGzipTrailerBeforeSyncAfterResponseTask: with gzip on and no loop, an
// after-response task runs synchronously, as in Django Futures, but only
// once the compressed response is whole on the wire: the task here waits
// until the client has decoded it, trailer included.
func TestGzipTrailerBeforeSyncAfterResponseTask(t *testing.T) {
	clientRead := make(chan struct{})
	result := make(chan bool, 1)
	mux := http.NewServeMux()
	spec := view.Spec{Name: "server_test.Big", Pattern: "GET /big"}
	if err := view.Handle(mux, view.NewConfig(view.WithLogger(quiet)), &spec, func(ctx context.Context, r *http.Request) (bigReply, error) {
		taskloop.Later(taskloop.WithLoop(ctx, nil), taskloop.Spec{Name: "server_test.after"}, func(context.Context) (struct{}, error) {
			select {
			case <-clientRead:
				result <- true
			case <-time.After(safety):
				result <- false
			}
			return struct{}{}, nil
		})
		return bigReply{N: 1, Filler: filler}, nil
	}); err != nil {
		t.Fatal(err)
	}
	r := start(t, Config{Handler: mux, Gzip: true})
	c := newClient(t)
	req, _ := http.NewRequest("GET", r.url+"/big", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := readGzipMember(resp)
	if err != nil {
		t.Fatalf("reading the compressed response: %v", err)
	}
	close(clientRead)
	var got bigReply
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.Filler != filler {
		t.Fatalf("body %q: %v", body, err)
	}
	if !recv(t, result, "the after-response task") {
		t.Fatal("the after-response task ran before the client had the whole compressed response")
	}
}

// TestDispatchNeverHoldsConnection: handing after-response tasks to a loop
// that is full (policy Block) never holds the response or its connection:
// the client reads the whole gzipped response, and gets an answer to its
// next request on the same connection, while the loop is still full.
func TestDispatchNeverHoldsConnection(t *testing.T) {
	loop := taskloop.New(taskloop.Options{Workers: 1, QueueSize: 1, Logger: quiet})
	laterCalled := make(chan struct{})
	filled := make(chan struct{})
	var ran atomic.Int64
	mux := http.NewServeMux()
	spec := view.Spec{Name: "server_test.Big", Pattern: "GET /big"}
	if err := view.Handle(mux, view.NewConfig(view.WithLogger(quiet)), &spec, func(ctx context.Context, r *http.Request) (bigReply, error) {
		if r.URL.Query().Has("later") {
			taskloop.Later(ctx, taskloop.Spec{Name: "server_test.after"}, func(context.Context) (struct{}, error) {
				ran.Add(1)
				return struct{}{}, nil
			})
			close(laterCalled)
			<-filled
		}
		return bigReply{N: 1, Filler: filler}, nil
	}); err != nil {
		t.Fatal(err)
	}
	r := start(t, Config{Handler: mux, Loop: loop, Gzip: true})
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()

	c := newClient(t)
	var conns atomic.Int64
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !info.Reused {
			conns.Add(1)
		}
	}}
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", r.url+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		return c.Do(req)
	}
	go func() {
		<-laterCalled
		// Fill the loop: one task holds the only worker, one waits in the
		// queue of one.
		started := make(chan struct{})
		taskloop.Submit(context.Background(), loop, taskloop.Spec{Name: "server_test.hold"}, func(context.Context) (struct{}, error) {
			close(started)
			<-release
			return struct{}{}, nil
		})
		<-started
		taskloop.Submit(context.Background(), loop, taskloop.Spec{Name: "server_test.fill"}, func(context.Context) (struct{}, error) { return struct{}{}, nil })
		close(filled)
	}()

	for i, path := range []string{"/big?later", "/big"} {
		resp, err := get(path)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		body, err := readGzipMember(resp)
		if err != nil {
			resp.Body.Close()
			t.Fatalf("request %d: reading the compressed response: %v", i+1, err)
		}
		// The rest of the HTTP body (its last chunk) must follow too.
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
			t.Fatalf("request %d: after the gzip member: %q, %v", i+1, rest, err)
		}
		resp.Body.Close()
		if !strings.Contains(body, filler) {
			t.Fatalf("request %d: body %q", i+1, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for two requests; want the first one reused", n)
	}
	if s := loop.Stats(); ran.Load() != 0 || s.Running != 1 {
		t.Fatalf("the loop is not full any more (stats %+v, %d ran): the test proves nothing", s, ran.Load())
	}
	free()
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	recv(t, loop.Done(), "the loop's workers to return")
	if ran.Load() != 1 {
		t.Fatalf("%d after-response tasks ran, want 1", ran.Load())
	}
}

// fanOut starts two tasks of depth-1 below it, down to depth 0, counting
// each run in ran. With wait, each task awaits its children and returns
// the number of leaves below it.
func fanOut(ctx context.Context, depth int, wait bool, ran *atomic.Int64) (int, error) {
	ran.Add(1)
	if depth == 0 {
		return 1, nil
	}
	spec := taskloop.Spec{Name: "server_test.spread"}
	var children [2]interface {
		Await(context.Context) (int, error)
	}
	for i := range children {
		children[i] = taskloop.Async(ctx, spec, func(ctx context.Context) (int, error) { return fanOut(ctx, depth-1, wait, ran) })
	}
	if !wait {
		return 0, nil
	}
	n := 0
	for _, c := range children {
		v, err := c.Await(ctx)
		if err != nil {
			return 0, err
		}
		n += v
	}
	return n, nil
}

// TestTaskFanOutUnderLoad runs issue 13's Spread scenario behind a real
// server under load: many keep-alive clients at once ask views to start
// fan-outs of tasks on a loop of 8 workers and a queue of 16 (policy
// Block). Half the views await their fan-out (each task awaits its two
// children), half only start it; every view also schedules an
// after-response task. Every request must be answered, every task must
// run, and nothing may be rejected.
func TestTaskFanOutUnderLoad(t *testing.T) {
	conns, perConn, depth := 16, 25, 7
	if testing.Short() {
		perConn = 10
	}
	if v, err := strconv.Atoi(os.Getenv("FUTURES_FANOUT_REQUESTS")); err == nil && v > 0 {
		perConn = max(1, v/conns)
	}
	requests := conns * perConn
	perTree := int64(1)<<(depth+1) - 1

	loop := taskloop.New(taskloop.Options{Workers: 8, QueueSize: 16, Logger: quiet})
	var ran, after atomic.Int64
	mux := http.NewServeMux()
	spec := view.Spec{Name: "server_test.Spread", Pattern: "GET /spread/{mode}", Timeout: time.Minute}
	if err := view.Handle(mux, view.NewConfig(view.WithLogger(quiet)), &spec, func(ctx context.Context, r *http.Request) (bigReply, error) {
		taskloop.Later(ctx, taskloop.Spec{Name: "server_test.after"}, func(context.Context) (struct{}, error) {
			after.Add(1)
			return struct{}{}, nil
		})
		wait := r.PathValue("mode") == "await"
		f := taskloop.Async(ctx, taskloop.Spec{Name: "server_test.spread"}, func(ctx context.Context) (int, error) { return fanOut(ctx, depth, wait, &ran) })
		if !wait {
			return bigReply{N: -1, Filler: filler}, nil
		}
		n, err := f.Await(ctx)
		return bigReply{N: n, Filler: filler}, err
	}); err != nil {
		t.Fatal(err)
	}
	srv := start(t, Config{Handler: mux, Loop: loop, Gzip: true})

	tr := &http.Transport{MaxIdleConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	var answered, bad atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	started := time.Now()
	for c := range conns {
		wg.Go(func() {
			for i := range perConn {
				mode := "await"
				if (c+i)%2 == 1 {
					mode = "start"
				}
				resp, err := client.Get(srv.url + "/spread/" + mode)
				if err != nil {
					bad.Add(1)
					firstErr.Do(func() { t.Errorf("request: %v", err) })
					continue
				}
				var got bigReply
				err = json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				want := 1 << depth
				if mode == "start" {
					want = -1
				}
				if resp.StatusCode != 200 || err != nil || got.N != want || got.Filler != filler {
					bad.Add(1)
					firstErr.Do(func() { t.Errorf("%s: status %d, n %d (want %d), %v", mode, resp.StatusCode, got.N, want, err) })
					continue
				}
				answered.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	watchLoop(t, loop, done)
	took := time.Since(started)
	// A connection the client dialed but never used counts for
	// http.Server.Shutdown as busy for 5 s: close them first.
	tr.CloseIdleConnections()
	if err := srv.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	recv(t, loop.Done(), "the loop's workers to return")
	s := loop.Stats()
	t.Logf("%d requests over %d connections in %v, %d answered, %d bad; %d tasks run of %d; %d after-response tasks; loop %+v",
		requests, conns, took.Round(time.Millisecond), answered.Load(), bad.Load(), ran.Load(), int64(requests)*perTree, after.Load(), s)
	if answered.Load() != int64(requests) {
		t.Errorf("%d of %d requests answered", answered.Load(), requests)
	}
	if ran.Load() != int64(requests)*perTree {
		t.Errorf("%d of %d tasks ran", ran.Load(), int64(requests)*perTree)
	}
	if after.Load() != int64(requests) {
		t.Errorf("%d of %d after-response tasks ran", after.Load(), requests)
	}
	if s.Rejected != 0 || s.Failed != 0 {
		t.Errorf("loop stats %+v: want nothing rejected or failed", s)
	}
}

// watchLoop waits for done, failing the test when the loop finishes no
// task for 20 s: a wedged loop fails the test instead of hanging it.
func watchLoop(t *testing.T, loop *taskloop.Loop, done <-chan struct{}) {
	t.Helper()
	const stall = 20 * time.Second
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	finished := func() int64 { s := loop.Stats(); return s.Succeeded + s.Failed + s.Canceled + s.Rejected }
	last, lastChange := finished(), time.Now()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if n := finished(); n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > stall {
			t.Fatalf("the loop is wedged: no task finished for %v; stats %+v", stall, loop.Stats())
		}
	}
}
