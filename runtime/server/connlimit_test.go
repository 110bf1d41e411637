package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// capServer serves h through a connLimiter of max connections on
// loopback until the test ends.
func capServer(t *testing.T, max int, h http.Handler) (*connLimiter, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimiter(max, quiet)
	srv := &http.Server{Handler: h, ConnState: l.connState, ReadHeaderTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l.listener(ln))
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
		l.wait()
	})
	return l, ln.Addr().String()
}

// keepAlive is a client connection that sends requests one after another.
type keepAlive struct {
	conn net.Conn
	br   *bufio.Reader
}

func dial(t *testing.T, addr string) *keepAlive {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, safety)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAlive{conn: c, br: bufio.NewReader(c)}
}

// get sends GET path and returns the response with its body read, or the
// error that ended the exchange.
func (k *keepAlive) get(path string) (*http.Response, string, error) {
	k.conn.SetDeadline(time.Now().Add(2 * safety))
	if _, err := fmt.Fprintf(k.conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

func mustGet(t *testing.T, k *keepAlive, path string) {
	t.Helper()
	resp, body, err := k.get(path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
	}
}

// waitFor polls cond until it holds, failing the test after safety.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (l *connLimiter) idleCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.idle.Len()
}

// closedByServer reports whether the server closed k: a read sees EOF (or
// a reset) rather than waiting.
func closedByServer(k *keepAlive) bool {
	k.conn.SetReadDeadline(time.Now().Add(safety))
	_, err := k.br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestConnCapClosesLongestIdle: at the cap, a new client is served, and
// the connection idle longest is closed to make room; the others stay.
func TestConnCapClosesLongestIdle(t *testing.T) {
	l, addr := capServer(t, 3, hello)
	var ks []*keepAlive
	for i := range 3 {
		k := dial(t, addr)
		mustGet(t, k, "/warm")
		ks = append(ks, k)
		// The server marks a connection idle after the client has its
		// response: wait, so that they become idle in this order.
		waitFor(t, "the connection idle", func() bool { return l.idleCount() == i+1 })
	}

	began := time.Now()
	mustGet(t, dial(t, addr), "/new")
	t.Logf("a new client at the cap of 3 idle connections was answered in %v", time.Since(began))
	if !closedByServer(ks[0]) {
		t.Error("the connection idle longest is still open")
	}
	mustGet(t, ks[1], "/again")
	mustGet(t, ks[2], "/again")
	if got := l.open(); got != 3 {
		t.Errorf("%d connections counted, want 3", got)
	}
}

// TestConnCapRefusesWhenBusy: with every connection serving a request, a
// new client gets a 503 at once, and the busy requests are unharmed.
func TestConnCapRefusesWhenBusy(t *testing.T) {
	entered, release := make(chan struct{}, 2), make(chan struct{})
	l, addr := capServer(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		fmt.Fprint(w, "done")
	}))
	var wg sync.WaitGroup
	for range 2 {
		k := dial(t, addr)
		wg.Go(func() {
			resp, body, err := k.get("/slow")
			if err != nil || resp.StatusCode != 200 || body != "done" {
				t.Errorf("busy request: %v %v %q", resp, err, body)
			}
		})
	}
	recv(t, entered, "the first request")
	recv(t, entered, "the second request")

	// A new client, while both are busy: an answer, not a wait.
	began := time.Now()
	resp, body, err := dial(t, addr).get("/new")
	took := time.Since(began)
	if err != nil {
		t.Fatalf("a client over the cap: %v after %v", err, took)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!resp.Close || !strings.Contains(body, `"status":503`) {
		t.Errorf("a client over the cap got %d %v %q", resp.StatusCode, resp.Header, body)
	}
	t.Logf("a client over the cap of 2 busy connections got %d in %v", resp.StatusCode, took)
	close(release)
	wg.Wait()
	l.mu.Lock()
	refused := l.totalRefused
	l.mu.Unlock()
	if refused != 1 {
		t.Errorf("%d refused, want 1", refused)
	}
}

// TestConnCapClosesSilentNew: connections that have sent nothing hold the
// cap only for newGrace; then they make room as idle ones do.
func TestConnCapClosesSilentNew(t *testing.T) {
	l, addr := capServer(t, 2, hello)
	silent := []*keepAlive{dial(t, addr), dial(t, addr)}
	waitFor(t, "two connections counted", func() bool { return l.open() == 2 })

	// Within newGrace a new client may be refused; after it, it is served.
	deadline := time.Now().Add(safety + newGrace)
	refused := 0
	for {
		resp, _, err := dial(t, addr).get("/new")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		refused++
		if time.Now().After(deadline) {
			t.Fatal("silent connections held the cap past newGrace")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("refused %d clients while the silent connections were new", refused)
	if !closedByServer(silent[0]) {
		t.Error("the oldest silent connection is still open")
	}
}

// TestConnCapCount: the count follows connections that close, from either
// side, and that are hijacked.
func TestConnCapCount(t *testing.T) {
	hijacked := make(chan net.Conn, 1)
	mux := http.NewServeMux()
	mux.Handle("/", hello)
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		hijacked <- c
	})
	l, addr := capServer(t, 100, mux)
	var ks []*keepAlive
	for range 10 {
		k := dial(t, addr)
		mustGet(t, k, "/")
		ks = append(ks, k)
	}
	waitFor(t, "ten connections", func() bool { return l.open() == 10 })
	for _, k := range ks[:5] {
		k.conn.Close()
	}
	waitFor(t, "five connections after five closed", func() bool { return l.open() == 5 })
	k := dial(t, addr)
	fmt.Fprintf(k.conn, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
	c := recv(t, hijacked, "the hijacked connection")
	defer c.Close()
	waitFor(t, "the hijacked connection out of the count", func() bool { return l.open() == 5 })
}

// TestRunConnCap: Run caps connections with Config.MaxConns.
func TestRunConnCap(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	r := start(t, Config{MaxConns: 1, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})})
	busy := dial(t, r.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		busy.get("/")
	}()
	recv(t, entered, "the request")
	resp, _, err := dial(t, r.addr).get("/")
	if err != nil || resp.StatusCode != 503 {
		t.Errorf("over MaxConns: %v %v", resp, err)
	}
	close(release)
	<-done
}

func TestDefaultMaxConns(t *testing.T) {
	n, ok := openFileLimit()
	got := defaultMaxConns()
	if !ok {
		if got != 10_000 {
			t.Errorf("defaultMaxConns() = %d with no file limit", got)
		}
		return
	}
	if got <= 0 || got >= n {
		t.Errorf("defaultMaxConns() = %d with an open-file limit of %d", got, n)
	}
	if n >= 256 && n-got < 64 {
		t.Errorf("defaultMaxConns() = %d leaves %d of %d files", got, n-got, n)
	}
	t.Logf("open-file limit %d: MaxConns %d", n, got)
}
