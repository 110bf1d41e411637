package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/goleak"

	"github.com/gofutures/futures/runtime/taskloop"
)

// TestMain fails the package when a test leaves a goroutine behind: every
// test stops the servers and loops it starts, closes its clients' idle
// connections and releases the handlers it blocked.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// quiet swallows the logs of servers and loops.
var quiet = slog.New(slog.DiscardHandler)

// safety bounds every wait of the tests, so that a bug shows up as a
// failure instead of a hang. It is never a timing assertion.
const safety = 5 * time.Second

// running is a Run in a goroutine of a test.
type running struct {
	t      *testing.T
	addr   string // host:port of the listener
	url    string // http://addr
	addrs  []net.Addr
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, once done is closed
}

// start runs Run with cfg on a fresh listener on 127.0.0.1:0 and returns
// once Ready has been called. The server is stopped when the test ends.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners = []net.Listener{ln}
	return startWith(t, cfg)
}

// startWith runs Run with cfg as given (its Listeners or Addr) and returns
// once Ready has been called.
func startWith(t *testing.T, cfg Config) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	ready := make(chan []net.Addr, 1)
	cfg.Ready = func(addrs []net.Addr) { ready <- addrs }
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = Run(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(safety):
			t.Errorf("Run did not return after its context was cancelled")
		}
	})
	select {
	case r.addrs = <-ready:
	case <-r.done:
		t.Fatalf("Run returned before Ready: %v", r.err)
	case <-time.After(safety):
		t.Fatalf("Ready was not called")
	}
	if len(r.addrs) == 0 {
		t.Fatalf("Ready reported no address")
	}
	r.addr = r.addrs[0].String()
	r.url = "http://" + r.addr
	return r
}

// wait returns Run's result.
func (r *running) wait() error {
	r.t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(safety):
		r.t.Fatalf("Run did not return")
		return nil
	}
}

// stop cancels Run's context and returns Run's result.
func (r *running) stop() error {
	r.t.Helper()
	r.cancel()
	return r.wait()
}

// newClient returns a client that does not decode gzip by itself and whose
// idle connections are closed when the test ends.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 2 * safety}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends one request and reads the whole response.
func do(t *testing.T, c *http.Client, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

// rawRequest sends request-line path exactly as given (no client-side
// cleaning or escaping) and returns the response.
func rawRequest(t *testing.T, addr, method, path string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, safety)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(safety))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method, path)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

// refused reports whether a new connection to addr is refused.
func refused(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, safety)
	if err != nil {
		return true
	}
	conn.Close()
	return false
}

// waitRefused polls until addr refuses connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !refused(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still accepts connections", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(safety):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s %s", r.Method, r.URL.Path)
})

func TestRunServesAndStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	want := ln.Addr().String()
	r := startWith(t, Config{Listeners: []net.Listener{ln}, Handler: hello})
	if len(r.addrs) != 1 || r.addr != want {
		t.Fatalf("Ready reported %v, want [%s]", r.addrs, want)
	}
	c := newClient(t)
	for _, p := range []string{"/", "/a/b"} {
		got := do(t, c, "GET", r.url+p)
		if got.status != 200 || got.body != "hello GET "+p {
			t.Errorf("GET %s = %d %q", p, got.status, got.body)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if !refused(r.addr) {
		t.Errorf("the listener still accepts connections after Run returned")
	}
}

func TestRunWithAddr(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		t.Run(addr, func(t *testing.T) {
			r := startWith(t, Config{Addr: addr, Handler: hello})
			if len(r.addrs) != 1 {
				t.Errorf("Ready reported %v, want one address for port 0", r.addrs)
			}
			got := do(t, newClient(t), "GET", r.url+"/x")
			if got.status != 200 || got.body != "hello GET /x" {
				t.Errorf("GET /x = %d %q", got.status, got.body)
			}
			if err := r.stop(); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if !refused(r.addr) {
				t.Errorf("the listener still accepts connections after Run returned")
			}
		})
	}
}

func TestRunAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), Config{Addr: ln.Addr().String(), Handler: hello, Logger: quiet})
	if err == nil {
		t.Fatal("Run on an address in use returned nil")
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Run = %v, want an error matching EADDRINUSE", err)
	}
}

func TestRunConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no handler", Config{}, "Handler"},
		{"prefix without leading slash", Config{Handler: hello, Static: fstest.MapFS{}, StaticPrefix: "static/"}, "StaticPrefix"},
		{"prefix without trailing slash", Config{Handler: hello, Static: fstest.MapFS{}, StaticPrefix: "/static"}, "StaticPrefix"},
		{"bare prefix", Config{Handler: hello, StaticDir: ".", StaticPrefix: "static"}, "StaticPrefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = quiet
			tt.cfg.Addr = "127.0.0.1:0"
			done := make(chan error, 1)
			go func() { done <- Run(context.Background(), tt.cfg) }()
			err := recv(t, done, "Run to fail")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

// Config.Listeners says "Run closes them": also when Run fails before
// serving.
func TestRunClosesListenersOnConfigError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), Config{Listeners: []net.Listener{ln}, Logger: quiet})
	if err == nil {
		t.Fatal("Run without a Handler returned nil")
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(50 * time.Millisecond))
	_, aerr := ln.Accept()
	if !errors.Is(aerr, net.ErrClosed) {
		t.Errorf("after Run failed (%v), Accept on its listener = %v, want net.ErrClosed: Run did not close Config.Listeners", err, aerr)
	}
}

var errAccept = errors.New("accept failed for good")

// brokenListener fails every Accept with a permanent error.
type brokenListener struct {
	closed atomic.Bool
}

func (b *brokenListener) Accept() (net.Conn, error) { return nil, errAccept }
func (b *brokenListener) Close() error              { b.closed.Store(true); return nil }
func (b *brokenListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
}

func TestRunReturnsServeError(t *testing.T) {
	bl := &brokenListener{}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{Listeners: []net.Listener{bl}, Handler: hello, Logger: quiet})
	}()
	err := recv(t, done, "Run to fail")
	if !errors.Is(err, errAccept) {
		t.Errorf("Run = %v, want an error wrapping %v", err, errAccept)
	}
	if !bl.closed.Load() {
		t.Errorf("Run did not close the listener")
	}
}

// A signal in Config.Signals shuts the server down cleanly.
func TestSignalStops(t *testing.T) {
	r := start(t, Config{Handler: hello, Signals: []os.Signal{syscall.SIGUSR1}})
	if got := do(t, newClient(t), "GET", r.url+"/"); got.status != 200 {
		t.Fatalf("GET / = %d", got.status)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(); err != nil {
		t.Fatalf("Run after SIGUSR1 = %v, want nil", err)
	}
	if !refused(r.addr) {
		t.Errorf("the listener still accepts connections after Run returned")
	}
}

// An empty, non-nil Config.Signals cannot mean "every signal": the server
// would stop on SIGURG (which the Go runtime sends itself to preempt
// goroutines), SIGCHLD, SIGWINCH, SIGPIPE...
func TestEmptySignalsIgnoreUnrelatedSignals(t *testing.T) {
	r := start(t, Config{Handler: hello, Signals: []os.Signal{}})
	if err := syscall.Kill(os.Getpid(), syscall.SIGURG); err != nil {
		t.Fatal(err)
	}
	// Not a timing assertion: a server that wrongly stops usually does so
	// at once, and one that does not stop passes however long we wait.
	select {
	case <-r.done:
		t.Fatalf("Run returned %v after a SIGURG with Config.Signals = []os.Signal{}: signal.NotifyContext with no signals relays every signal", r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if got := do(t, newClient(t), "GET", r.url+"/"); got.status != 200 {
		t.Fatalf("GET / = %d", got.status)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

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

// A loop the caller started is used as is and drained at shutdown.
func TestRunWithStartedLoop(t *testing.T) {
	loop := taskloop.New(taskloop.Options{Workers: 1, Logger: quiet})
	if err := loop.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int64
	handler := taskloop.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		taskloop.Later(r.Context(), taskloop.Spec{Name: "server_test.after"}, func(context.Context) (struct{}, error) {
			ran.Add(1)
			return struct{}{}, nil
		})
		io.WriteString(w, "ok")
	}))
	r := start(t, Config{Handler: handler, Loop: loop})
	c := newClient(t)
	for range 3 {
		if got := do(t, c, "GET", r.url+"/"); got.status != 200 || got.body != "ok" {
			t.Fatalf("GET / = %d %q", got.status, got.body)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if n := ran.Load(); n != 3 {
		t.Errorf("%d after-response tasks ran, want 3", n)
	}
	recv(t, loop.Done(), "the loop's workers to return")
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

// readUntilClosed reads conn until the server closes it and reports the
// read's final error; a timeout of the safety deadline is a failure.
func readUntilClosed(t *testing.T, conn net.Conn) []byte {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(safety))
	b, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server did not close the connection (read %q)", b)
	}
	return b
}

// A client that never finishes its headers is disconnected.
func TestReadHeaderTimeout(t *testing.T) {
	r := start(t, Config{Handler: hello, ReadHeaderTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	if b := readUntilClosed(t, conn); strings.Contains(string(b), "hello") {
		t.Errorf("the incomplete request was served: %q", b)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// A client that drips its body is cut off by ReadTimeout.
func TestReadTimeoutSlowBody(t *testing.T) {
	type readResult struct {
		n   int
		err error
	}
	bodyRead := make(chan readResult, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		bodyRead <- readResult{len(b), err}
		if err != nil {
			http.Error(w, "slow body", http.StatusRequestTimeout)
			return
		}
		io.WriteString(w, "got it all")
	})
	r := start(t, Config{Handler: handler, ReadTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	stopDrip := make(chan struct{})
	dripped := make(chan struct{})
	go func() {
		defer close(dripped)
		for range 1000 {
			select {
			case <-stopDrip:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	res := recv(t, bodyRead, "the handler to finish reading")
	if res.err == nil || res.n >= 1000 {
		t.Errorf("the handler read %d bytes, err %v: want the read cut off before the end", res.n, res.err)
	}
	if b := readUntilClosed(t, conn); strings.Contains(string(b), "got it all") {
		t.Errorf("the slow request was served: %q", b)
	}
	close(stopDrip)
	<-dripped
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestMaxHeaderBytes(t *testing.T) {
	r := start(t, Config{Handler: hello, MaxHeaderBytes: 1024})
	c := newClient(t)
	if got := do(t, c, "GET", r.url+"/", "X-Small", strings.Repeat("a", 100)); got.status != 200 {
		t.Errorf("GET with small headers = %d, want 200", got.status)
	}
	// net/http allows 4 KiB of slack above MaxHeaderBytes.
	got := do(t, c, "GET", r.url+"/", "X-Big", strings.Repeat("a", 16<<10))
	if got.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET with 16 KiB of headers = %d, want 431", got.status)
	}
}

func TestTrackActive(t *testing.T) {
	var n atomic.Int64
	track := trackActive(&n)
	a, b := &net.TCPConn{}, &net.TCPConn{}
	steps := []struct {
		c     net.Conn
		state http.ConnState
		want  int64
	}{
		{a, http.StateNew, 0},
		{a, http.StateActive, 1},
		{b, http.StateNew, 1},
		{b, http.StateActive, 2},
		{a, http.StateIdle, 1},
		{a, http.StateActive, 2},
		{b, http.StateHijacked, 1},
		{a, http.StateClosed, 0},
	}
	for i, s := range steps {
		track(s.c, s.state)
		if got := n.Load(); got != s.want {
			t.Fatalf("step %d (%v): %d active, want %d", i, s.state, got, s.want)
		}
	}
}

// --- static files ---

var staticFS = fstest.MapFS{
	"index.html":       {Data: []byte("<h1>home</h1>")},
	"css/site.css":     {Data: []byte("body { color: red }")},
	"secret/.env":      {Data: []byte("TOKEN=abc")},
	"empty/readme.txt": {Data: []byte("nothing to see")},
	"docs/index.html":  {Data: []byte("<h1>docs</h1>")},
}

// fallback answers what the static files do not take.
var fallback = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Handler", "yes")
	fmt.Fprintf(w, "handler %s %s", r.Method, r.URL.Path)
})

func TestStaticFS(t *testing.T) {
	r := start(t, Config{Handler: fallback, Static: staticFS})
	c := newClient(t)

	tests := []struct {
		method, path string
		status       int
		body         string // exact, when status is 200
	}{
		{"GET", "/static/css/site.css", 200, "body { color: red }"},
		{"GET", "/static/", 200, "<h1>home</h1>"},
		{"GET", "/static/docs/", 200, "<h1>docs</h1>"},
		{"GET", "/static/empty/", 404, ""},
		{"GET", "/static/empty", 404, ""},
		{"GET", "/static/css/", 404, ""},
		{"GET", "/static/missing.js", 404, ""},
		{"GET", "/other", 200, "handler GET /other"},
		{"GET", "/static", 200, "handler GET /static"},
		{"POST", "/static/x", 200, "handler POST /static/x"},
		{"POST", "/static/css/site.css", 200, "handler POST /static/css/site.css"},
		{"PUT", "/static/css/site.css", 200, "handler PUT /static/css/site.css"},
	}
	for _, tt := range tests {
		got := do(t, c, tt.method, r.url+tt.path)
		if got.status != tt.status {
			t.Errorf("%s %s = %d %q, want %d", tt.method, tt.path, got.status, got.body, tt.status)
			continue
		}
		if tt.status == 200 && got.body != tt.body {
			t.Errorf("%s %s = %q, want %q", tt.method, tt.path, got.body, tt.body)
		}
		if tt.status == 404 && (strings.Contains(got.body, "readme.txt") || strings.Contains(got.body, "site.css")) {
			t.Errorf("%s %s lists the directory: %q", tt.method, tt.path, got.body)
		}
	}

	got := do(t, c, "GET", r.url+"/static/css/site.css")
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("site.css Content-Type = %q, want text/css", ct)
	}
	if got.header.Get("X-Handler") != "" {
		t.Errorf("site.css was answered by the Handler")
	}

	head := do(t, c, "HEAD", r.url+"/static/css/site.css")
	if head.status != 200 || head.body != "" || head.header.Get("Content-Length") != strconv.Itoa(len("body { color: red }")) {
		t.Errorf("HEAD site.css = %d, Content-Length %q, body %q", head.status, head.header.Get("Content-Length"), head.body)
	}

	// A directory with index.html is redirected to its slash form, relative
	// to the prefix.
	noFollow := &http.Client{Transport: c.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	red := do(t, noFollow, "GET", r.url+"/static/docs")
	if red.status != http.StatusMovedPermanently || red.header.Get("Location") != "docs/" {
		t.Errorf("GET /static/docs = %d Location %q, want 301 docs/", red.status, red.header.Get("Location"))
	}

	if got := do(t, c, "GET", r.url+"/static/secret/.env"); got.status == 200 {
		t.Logf("note: dot files are served: GET /static/secret/.env = 200 %q", got.body)
	}
}

func TestStaticCustomPrefix(t *testing.T) {
	r := start(t, Config{Handler: fallback, Static: staticFS, StaticPrefix: "/assets/"})
	c := newClient(t)
	if got := do(t, c, "GET", r.url+"/assets/css/site.css"); got.status != 200 || got.body != "body { color: red }" {
		t.Errorf("GET /assets/css/site.css = %d %q", got.status, got.body)
	}
	if got := do(t, c, "GET", r.url+"/static/css/site.css"); got.body != "handler GET /static/css/site.css" {
		t.Errorf("GET /static/css/site.css = %d %q, want the Handler", got.status, got.body)
	}
}

// staticTree makes root/outside.txt, root/go.mod and root/public/... and
// returns root/public.
func staticTree(t *testing.T) (public string, secret string) {
	t.Helper()
	root := t.TempDir()
	secret = "TOP SECRET OUTSIDE THE STATIC DIRECTORY"
	public = filepath.Join(root, "public")
	files := map[string]string{
		filepath.Join(root, "go.mod"):                 secret,
		filepath.Join(root, "outside.txt"):            secret,
		filepath.Join(public, "index.html"):           "<h1>public home</h1>",
		filepath.Join(public, "css", "site.css"):      "p { margin: 0 }",
		filepath.Join(public, "empty", "readme.txt"):  "nothing",
		filepath.Join(public, "sub", "deep", "a.txt"): "deep file",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return public, secret
}

func TestStaticDir(t *testing.T) {
	public, _ := staticTree(t)
	r := start(t, Config{Handler: fallback, StaticDir: public})
	c := newClient(t)
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/static/", 200, "<h1>public home</h1>"},
		{"GET", "/static/css/site.css", 200, "p { margin: 0 }"},
		{"GET", "/static/sub/deep/a.txt", 200, "deep file"},
		{"HEAD", "/static/sub/deep/a.txt", 200, ""},
		{"GET", "/static/empty/", 404, ""},
		{"GET", "/static/sub/", 404, ""},
		{"GET", "/static/nope.txt", 404, ""},
		{"POST", "/static/css/site.css", 200, "handler POST /static/css/site.css"},
	}
	for _, tt := range tests {
		got := do(t, c, tt.method, r.url+tt.path)
		if got.status != tt.status || (tt.status == 200 && got.body != tt.body) {
			t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, got.status, got.body, tt.status, tt.body)
		}
	}
}

// No request path reaches a file outside the static directory, and none
// makes the server fail.
func TestStaticPathTricks(t *testing.T) {
	public, secret := staticTree(t)
	r := start(t, Config{Handler: fallback, StaticDir: public})
	paths := []string{
		"/static/../go.mod",
		"/static/../outside.txt",
		"/static/../../outside.txt",
		"/static/./../outside.txt",
		"/static/css/../../outside.txt",
		"/static/%2e%2e/go.mod",
		"/static/%2E%2E/outside.txt",
		"/static/..%2fgo.mod",
		"/static/..%2Foutside.txt",
		"/static/%2e%2e%2foutside.txt",
		"/static/..%5coutside.txt",
		"/static/..\\outside.txt",
		"/static/%252e%252e/outside.txt",
		"/static/..;/outside.txt",
		"/static/....//outside.txt",
		"/static//etc/passwd",
		"/static///etc/passwd",
		"/static/%2fetc%2fpasswd",
		"/static/..",
		"/static/%00",
		"/static/css/site.css%00.txt",
	}
	for _, method := range []string{"GET", "HEAD"} {
		for _, p := range paths {
			got := rawRequest(t, r.addr, method, p)
			if got.status >= 500 {
				t.Errorf("%s %s = %d %q, want no server error", method, p, got.status, got.body)
			}
			if strings.Contains(got.body, secret) {
				t.Errorf("%s %s served the file outside the static directory: %d %q", method, p, got.status, got.body)
			}
			if strings.Contains(got.body, "root:") {
				t.Errorf("%s %s served /etc/passwd: %d %q", method, p, got.status, got.body)
			}
			if method == "HEAD" && got.status == 200 {
				if cl := got.header.Get("Content-Length"); cl == strconv.Itoa(len(secret)) {
					t.Errorf("HEAD %s = 200 with the length of the outside file", p)
				}
			}
		}
	}
}

// --- listen ---

// freePortBoth returns a port free on 127.0.0.1 and, when v6, on [::1].
func freePortBoth(t *testing.T, v6 bool) string {
	t.Helper()
	for range 20 {
		l4, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(l4.Addr().(*net.TCPAddr).Port)
		if !v6 {
			l4.Close()
			return port
		}
		l6, err := net.Listen("tcp", "[::1]:"+port)
		l4.Close()
		if err == nil {
			l6.Close()
			return port
		}
	}
	t.Fatal("no port free on both 127.0.0.1 and [::1]")
	return ""
}

func hasIPv6Loopback() (bool, error) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false, err
	}
	ln.Close()
	return true, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

func TestListenLocalhostBothFamilies(t *testing.T) {
	v6, v6err := hasIPv6Loopback()
	port := freePortBoth(t, v6)
	lns, err := listen(context.Background(), "localhost:"+port)
	if err != nil {
		t.Fatalf("listen(localhost:%s) = %v", port, err)
	}
	defer closeAll(lns)
	got := map[string]bool{}
	for _, ln := range lns {
		got[ln.Addr().String()] = true
	}
	if !got["127.0.0.1:"+port] {
		t.Errorf("listen(localhost:%s) opened %v, want 127.0.0.1:%s among them", port, got, port)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, safety); err != nil {
		t.Errorf("dial 127.0.0.1:%s: %v", port, err)
	} else {
		c.Close()
	}
	if !v6 {
		t.Skipf("IPv6 half skipped: cannot listen on [::1]: %v", v6err)
	}
	if !got["[::1]:"+port] || len(lns) != 2 {
		t.Errorf("listen(localhost:%s) opened %v, want 127.0.0.1:%s and [::1]:%s", port, got, port, port)
	}
	if c, err := net.DialTimeout("tcp", "[::1]:"+port, safety); err != nil {
		t.Errorf("dial [::1]:%s: %v", port, err)
	} else {
		c.Close()
	}
}

// "localhost:port" serves both families through Run.
func TestRunLocalhostBothFamilies(t *testing.T) {
	v6, v6err := hasIPv6Loopback()
	if !v6 {
		t.Skipf("cannot listen on [::1]: %v", v6err)
	}
	port := freePortBoth(t, true)
	r := startWith(t, Config{Addr: "localhost:" + port, Handler: hello})
	if len(r.addrs) != 2 {
		t.Fatalf("Ready reported %v, want two addresses", r.addrs)
	}
	c := newClient(t)
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		if got := do(t, c, "GET", "http://"+host+":"+port+"/v"); got.status != 200 || got.body != "hello GET /v" {
			t.Errorf("GET via %s = %d %q", host, got.status, got.body)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		if !refused(host + ":" + port) {
			t.Errorf("%s:%s still accepts connections after Run returned", host, port)
		}
	}
}

func TestListenOneListener(t *testing.T) {
	for _, addr := range []string{"localhost:0", "127.0.0.1:0", ":0"} {
		lns, err := listen(context.Background(), addr)
		if err != nil {
			t.Errorf("listen(%q) = %v", addr, err)
			continue
		}
		if len(lns) != 1 {
			t.Errorf("listen(%q) opened %d listeners, want 1", addr, len(lns))
		}
		if addr == "localhost:0" && len(lns) > 0 {
			if ip := lns[0].Addr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("listen(localhost:0) opened %v, want 127.0.0.1", ip)
			}
		}
		closeAll(lns)
	}
}

func TestListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	for _, addr := range []string{"no-port", "127.0.0.1:" + port, "localhost:" + port, "127.0.0.1:notaport"} {
		lns, err := listen(context.Background(), addr)
		if err == nil {
			closeAll(lns)
			t.Errorf("listen(%q) = %v, want an error", addr, lns)
		}
	}
}

// The request context carries the loop, and does not end at shutdown
// (a request in flight finishes its work).
func TestRequestContext(t *testing.T) {
	loop := taskloop.New(taskloop.Options{Workers: 1, Logger: quiet})
	type seen struct {
		loop *taskloop.Loop
	}
	got := make(chan seen, 1)
	var once sync.Once
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { got <- seen{taskloop.From(r.Context())} })
		io.WriteString(w, "ok")
	})
	r := start(t, Config{Handler: handler, Loop: loop})
	do(t, newClient(t), "GET", r.url+"/")
	if s := recv(t, got, "the handler"); s.loop != loop {
		t.Errorf("taskloop.From(request context) = %p, want the Config.Loop %p", s.loop, loop)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	recv(t, loop.Done(), "the loop's workers to return")
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
