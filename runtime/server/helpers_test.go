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
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
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
