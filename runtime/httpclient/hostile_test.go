package httpclient_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/httpclient"
)

// The hostile server tests point the client at servers that misbehave on
// the wire, written on raw TCP so that they can break HTTP as net/http's
// server never would. Each call must end with a clear error (or the right
// response) within its timeout, retried only as the retry policy says, and
// leave no goroutine behind: each test checks that with goleak once its
// servers and the client's idle connections are closed. They do not run in
// parallel, so that goleak sees only their own goroutines.
//
// Already covered elsewhere, and not repeated here: an endless body
// (TestEndlessBody), a body that trickles forever (TestSlowBody), a handler
// that never answers (TestTimeout), a redirect loop on one host
// (TestRedirects), a connection closed before any response
// (TestRetryNetworkErrors), cancellation mid-body (TestCancelMidBody).

// leakCheck registers, before anything else, a cleanup that runs after all
// the test's other cleanups and fails the test if a goroutine is left.
func leakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// rawServer is a loopback TCP server whose connections serve handles as
// it likes.
type rawServer struct {
	addr  string
	url   string
	conns atomic.Int32 // connections accepted
	reqs  atomic.Int32 // requests read
	stop  chan struct{}
}

// newRawServer accepts connections until the test ends and calls serve for
// each, numbered from 1, in its own goroutine. The connections are closed
// when the test ends; serve must return then (wait on s.stop).
func newRawServer(t *testing.T, serve func(s *rawServer, n int, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{addr: ln.Addr().String(), stop: make(chan struct{})}
	s.url = "http://" + s.addr + "/"
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		open = map[net.Conn]bool{}
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.conns.Add(1))
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					c.Close()
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
				serve(s, n, c, bufio.NewReader(c))
			})
		}
	})
	t.Cleanup(func() {
		close(s.stop)
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// read reads one request (and its body) from br, and reports whether
// there was one.
func (s *rawServer) read(br *bufio.Reader) bool {
	req, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, req.Body)
	s.reqs.Add(1)
	return true
}

// hold waits until the test ends.
func (s *rawServer) hold() { <-s.stop }

// timed awaits f and returns its result and how long it took.
func timed(t *testing.T, f *future.Future[*httpclient.Response]) (*httpclient.Response, time.Duration, error) {
	t.Helper()
	start := time.Now()
	resp, err := await(t, f)
	return resp, time.Since(start), err
}

// within fails the test when a call took longer than bound: a generous
// bound that only a missing timeout exceeds.
func within(t *testing.T, what string, took, bound time.Duration) {
	t.Helper()
	if took > bound {
		t.Errorf("%s: took %v, want well under %v", what, took, bound)
	}
}

// TestHostileHugeHeaders: response headers that never end. NewTransport
// limits them to 1 MiB (net/http's default is 10 MiB), so the call fails
// once it has read that much, with net/http's error, and is not retried.
// 1xx responses count against the same limit.
func TestHostileHugeHeaders(t *testing.T) {
	leakCheck(t)
	if tr := httpclient.NewTransport(); tr.MaxResponseHeaderBytes != 0 {
		t.Logf("NewTransport sets MaxResponseHeaderBytes to %d", tr.MaxResponseHeaderBytes)
	}
	endless := func(first, line string) func(*rawServer, int, net.Conn, *bufio.Reader) {
		return func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
			if !s.read(br) {
				return
			}
			io.WriteString(c, first)
			chunk := []byte(strings.Repeat(line, 64))
			for {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}
	}
	for _, tt := range []struct {
		name, first, line string
		retry             bool // with the retry policy; else Retry(false), to save time
	}{
		{"endless header lines", "HTTP/1.1 200 OK\r\n", "X-Junk: " + strings.Repeat("j", 1000) + "\r\n", true},
		{"one endless header", "HTTP/1.1 200 OK\r\nX-Endless: ", strings.Repeat("e", 1024), false},
		{"endless 1xx responses", "", "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, endless(tt.first, tt.line))
			c := newClient(t, httpclient.WithTimeout(20*time.Second))
			var opts []httpclient.CallOption
			if !tt.retry {
				opts = append(opts, httpclient.Retry(false))
			}
			_, took, err := timed(t, c.Get(context.Background(), s.url, nil, opts...))
			if err == nil || !strings.Contains(err.Error(), "headers exceeded") {
				t.Errorf("err = %v, want net/http's header limit", err)
			}
			within(t, tt.name, took, 15*time.Second)
			// A retry would only read another 10 MiB of the same headers:
			// the package says that errors a retry would only repeat, the
			// size limits among them, are never retried.
			if n := s.reqs.Load(); tt.retry && n != 1 {
				t.Errorf("%d attempts for response headers over the limit, want 1 (a retry only repeats it); err %v", n, err)
			}
			t.Logf("%s: %v after %v, %d attempt(s)", tt.name, err, took.Round(time.Millisecond), s.reqs.Load())
		})
	}
}

// reset closes c so that the peer sees a reset, not an orderly end.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// TestHostileResetMidBody: the connection is reset after the headers and
// half the body. GET is retried (and succeeds once the server behaves);
// POST is not.
func TestHostileResetMidBody(t *testing.T) {
	leakCheck(t)
	body := strings.Repeat("b", 2048)
	// The first `bad` connections are reset mid-body.
	server := func(t *testing.T, bad int) *rawServer {
		return newRawServer(t, func(s *rawServer, n int, c net.Conn, br *bufio.Reader) {
			for s.read(br) {
				if n <= bad {
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:1024])
					time.Sleep(10 * time.Millisecond) // the client has the headers
					reset(c)
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			}
		})
	}
	ctx := context.Background()
	isReset := func(err error) bool {
		return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
	}

	t.Run("GET retried", func(t *testing.T) {
		s := server(t, 2)
		resp, took, err := timed(t, newClient(t).Get(ctx, s.url, nil))
		if err != nil || resp.Text() != body || resp.Attempts != 3 || s.reqs.Load() != 3 {
			t.Errorf("err %v, %d attempts, %d requests on the server", err, attempts(resp), s.reqs.Load())
		}
		within(t, "GET", took, 10*time.Second)
	})
	t.Run("GET reset every time", func(t *testing.T) {
		s := server(t, 100)
		_, took, err := timed(t, newClient(t).Get(ctx, s.url, nil))
		if !isReset(err) || !strings.Contains(err.Error(), "after 3 attempts") || s.reqs.Load() != 3 {
			t.Errorf("err %v, %d requests on the server", err, s.reqs.Load())
		}
		within(t, "GET", took, 10*time.Second)
		t.Logf("reset every time: %v", err)
	})
	t.Run("POST not retried", func(t *testing.T) {
		s := server(t, 100)
		_, _, err := timed(t, newClient(t).Post(ctx, s.url, httpclient.Body{Data: []byte("order")}, nil))
		if !isReset(err) || s.reqs.Load() != 1 {
			t.Errorf("err %v, %d requests on the server", err, s.reqs.Load())
		}
	})
}

func attempts(r *httpclient.Response) int {
	if r == nil {
		return 0
	}
	return r.Attempts
}

// TestHostileContentLength: a Content-Length longer than the body is an
// unexpected EOF (retried for GET); shorter, the bytes after it are not
// part of the body, and must not become the response of the next request
// on the connection.
func TestHostileContentLength(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()

	t.Run("longer than the body", func(t *testing.T) {
		s := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
			if s.read(br) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n%s", strings.Repeat("s", 500))
			}
		})
		_, took, err := timed(t, newClient(t).Get(ctx, s.url, nil))
		if !errors.Is(err, io.ErrUnexpectedEOF) || s.reqs.Load() != 3 {
			t.Errorf("err %v after %d requests, want unexpected EOF after 3", err, s.reqs.Load())
		}
		within(t, "GET", took, 10*time.Second)
		_, _, err = timed(t, newClient(t).Post(ctx, s.url, httpclient.Body{}, nil))
		if !errors.Is(err, io.ErrUnexpectedEOF) || s.reqs.Load() != 4 {
			t.Errorf("POST: err %v, %d requests in all, want 4", err, s.reqs.Load())
		}
		t.Logf("Content-Length 1000, 500 bytes sent: %v", err)
	})

	// The bytes after the body are a whole response. net/http's transport
	// returns the connection to its idle pool as soon as it has read
	// Content-Length bytes, and only then looks for unsolicited bytes; a
	// request that takes the connection in between reads them as its
	// response.
	t.Run("shorter than the body", func(t *testing.T) {
		// net/http logs each connection it closes for unsolicited bytes.
		var logs testkit.SyncBuffer
		log.SetOutput(&logs)
		t.Cleanup(func() { log.SetOutput(stderr) })

		const smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: yes\r\n\r\nsmuggled"
		s := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
			for s.read(br) {
				if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"+smuggled); err != nil {
					return
				}
			}
		})
		c := newClient(t)
		// Up to 4000 calls; enough to show the race, which a few in a
		// thousand lose, and no more once 5 have.
		const calls, workers, enough = 4000, 16, 5
		var hello, wrong, failed, sent atomic.Int32
		var firstErr atomic.Value
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for sent.Add(1) <= calls && wrong.Load() < enough {
					resp, err := c.Get(ctx, s.url, nil).Await(ctx)
					switch {
					case err != nil:
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					case resp.Text() == "hello":
						hello.Add(1)
					default:
						wrong.Add(1)
					}
				}
			})
		}
		wg.Wait()
		done := hello.Load() + wrong.Load() + failed.Load()
		t.Logf("%d calls from %d goroutines: %d read \"hello\", %d read the smuggled response, %d failed (first: %v); %d connections, net/http logged %d unsolicited responses",
			done, workers, hello.Load(), wrong.Load(), failed.Load(), firstErr.Load(), s.conns.Load(), strings.Count(logs.String(), "Unsolicited response"))
		if failed.Load() > 0 {
			t.Errorf("%d calls failed: %v", failed.Load(), firstErr.Load())
		}
		if n := wrong.Load(); n > 0 {
			// A known race in net/http's Transport, which no client built
			// on it can see: counted in RELIABILITY.md, not asserted.
			t.Logf("%d of %d calls returned the bytes after the previous response's body as their own response (response desync in net/http's Transport; see golang/go#31259)", n, done)
		}
	})
}

// stderr is where the standard logger writes by default.
var stderr io.Writer = log.Writer()

// TestHostileNeverAnswers: servers that accept the connection and then
// stall: without reading, after reading, after the status line, or
// dripping headers. Each call times out after its per-attempt timeout,
// and is retried as a network error is.
func TestHostileNeverAnswers(t *testing.T) {
	leakCheck(t)
	const timeout = 200 * time.Millisecond
	for _, tt := range []struct {
		name  string
		serve func(*rawServer, int, net.Conn, *bufio.Reader)
	}{
		{"never reads", func(s *rawServer, _ int, _ net.Conn, _ *bufio.Reader) { s.reqs.Add(1); s.hold() }},
		{"reads, never answers", func(s *rawServer, _ int, _ net.Conn, br *bufio.Reader) { s.read(br); s.hold() }},
		{"status line only", func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
			if s.read(br) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			}
			s.hold()
		}},
		{"drips headers", func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
			if !s.read(br) {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			for {
				select {
				case <-s.stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := io.WriteString(c, "X: y\r\n"); err != nil {
					return
				}
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, tt.serve)
			c := newClient(t, httpclient.WithTimeout(timeout))
			_, took, err := timed(t, c.Get(context.Background(), s.url, nil))
			var ne net.Error
			if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("err = %v, want a timeout", err)
			}
			if n := s.conns.Load(); n != 3 {
				t.Errorf("%d connections, want 3 (a timeout is retried twice)", n)
			}
			within(t, tt.name, took, 3*timeout+5*time.Second)
		})
	}
}

// TestHostileGzip: a gzip bomb (a small body that inflates to 64 MiB)
// counts against the size limit as decoded; a body that claims gzip and is
// not fails clearly.
func TestHostileGzip(t *testing.T) {
	leakCheck(t)
	// 64 gzip members of 1 MiB of zeros each: gzip readers read them as
	// one stream.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	bomb := bytes.Repeat(member.Bytes(), 64)
	serve := func(body []byte) func(*rawServer, int, net.Conn, *bufio.Reader) {
		return func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
			for s.read(br) {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", len(body))
				if _, err := c.Write(body); err != nil {
					return
				}
			}
		}
	}
	ctx := context.Background()

	s := newRawServer(t, serve(bomb))
	_, took, err := timed(t, newClient(t, httpclient.WithMaxResponseBytes(1<<20)).Get(ctx, s.url, nil))
	if !errors.Is(err, httpclient.ErrResponseTooLarge) || s.reqs.Load() != 1 {
		t.Errorf("a gzip bomb of %d bytes: err %v after %d requests, want ErrResponseTooLarge at once", len(bomb), err, s.reqs.Load())
	}
	within(t, "gzip bomb", took, 10*time.Second)
	t.Logf("gzip bomb (%d bytes, 64 MiB inflated): %v after %v", len(bomb), err, took.Round(time.Millisecond))

	s = newRawServer(t, serve([]byte("this is not gzip at all")))
	_, took, err = timed(t, newClient(t).Get(ctx, s.url, nil))
	if err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("a body that is not gzip: %v", err)
	}
	within(t, "not gzip", took, 10*time.Second)
	t.Logf("not gzip: %v, %d attempts", err, s.reqs.Load())
}

// TestHostileNotHTTP: a server that answers with something that is not
// HTTP fails the call clearly and soon.
func TestHostileNotHTTP(t *testing.T) {
	leakCheck(t)
	for _, tt := range []struct{ name, reply string }{
		{"ssh banner", "SSH-2.0-OpenSSH_9.6\r\n"},
		{"binary", "\x00\x01\x02\xff\xfe\r\n\r\n"},
		{"bad status code", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"},
		{"bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"},
		{"two Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newRawServer(t, func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
				if s.read(br) {
					io.WriteString(c, tt.reply)
				}
			})
			resp, took, err := timed(t, newClient(t).Get(context.Background(), s.url, nil))
			if err == nil {
				t.Errorf("resolved with %d %q", resp.StatusCode, resp.Body)
			}
			within(t, tt.name, took, 10*time.Second)
			t.Logf("%s: %v (%d attempts)", tt.name, err, s.reqs.Load())
		})
	}
}

// TestHostileRedirects adds to TestRedirects: a loop between two hosts
// under the default limit, and redirects to where no request can go.
func TestHostileRedirects(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	var a, b *rawServer
	redirect := func(to func() string) func(*rawServer, int, net.Conn, *bufio.Reader) {
		return func(s *rawServer, _ int, c net.Conn, br *bufio.Reader) {
			for s.read(br) {
				fmt.Fprintf(c, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", to())
			}
		}
	}
	a = newRawServer(t, redirect(func() string { return b.url }))
	b = newRawServer(t, redirect(func() string { return a.url }))
	_, _, err := timed(t, newClient(t).Get(ctx, a.url, nil))
	if !errors.Is(err, httpclient.ErrTooManyRedirects) {
		t.Errorf("ping-pong: %v", err)
	}
	if n := a.reqs.Load() + b.reqs.Load(); n != httpclient.DefaultRedirects+1 {
		t.Errorf("ping-pong: %d requests, want %d", n, httpclient.DefaultRedirects+1)
	}

	for _, tt := range []struct{ name, location string }{
		{"another scheme", "ftp://example.com/file"},
		{"a file URL", "file:///etc/passwd"},
		{"a malformed URL", "http://[::1"},
	} {
		s := newRawServer(t, redirect(func() string { return tt.location }))
		resp, took, err := timed(t, newClient(t).Get(ctx, s.url, nil))
		if err == nil && resp.StatusCode != 302 {
			t.Errorf("%s: %d", tt.name, resp.StatusCode)
		}
		within(t, tt.name, took, 10*time.Second)
		t.Logf("redirect to %s: %v (%d attempts)", tt.name, err, s.reqs.Load())
	}
}
