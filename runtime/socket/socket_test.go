package socket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/socket"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait of the tests: generous, for a loaded machine;
// never a timing assertion.
const wait = 10 * time.Second

// noLeaks checks, when the test ends, that it left no goroutine behind.
// Call it first, so that its check runs after every other cleanup.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

type msg struct {
	Text string `json:"text"`
}

// mux registers a socket whose function is fn, with no request struct.
func mux[In, Out any](t *testing.T, spec socket.Spec, fn func(context.Context, *http.Request, *socket.Conn[In, Out]) error) (*http.ServeMux, *testkit.SyncBuffer) {
	t.Helper()
	logs := new(testkit.SyncBuffer)
	m := http.NewServeMux()
	c := view.NewConfig(view.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	err := socket.Handle(m, c, &spec, func(ctx context.Context, r *http.Request) (func(context.Context, *socket.Conn[In, Out]) error, error) {
		if r.URL.Query().Get("bad") != "" {
			var p view.Problems
			var n int
			p.Add(view.Query, "bad", view.Int(r.URL.Query().Get("bad"), &n))
			if err := p.Err(); err != nil {
				return nil, err
			}
		}
		return func(ctx context.Context, conn *socket.Conn[In, Out]) error { return fn(ctx, r, conn) }, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, logs
}

// serve runs h on a loopback httptest server.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	opts.HTTPClient = &http.Client{Transport: tr}
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = resp.Status + " " + string(b)
		}
		t.Fatalf("dial %s: %v %s", url, err, body)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// readClose reads until the socket closes and returns the close frame.
func readClose(t *testing.T, c *websocket.Conn) websocket.CloseError {
	t.Helper()
	ce, err := closeOf(c)
	if err != nil {
		t.Fatal(err)
	}
	return ce
}

// closeOf reads until the socket closes and returns the close frame, or
// an error if none came.
func closeOf(c *websocket.Conn) (websocket.CloseError, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			return ce, fmt.Errorf("the socket ended without a close frame: %w", err)
		}
		return ce, nil
	}
}

// echo sends back what it receives, upper-cased, until the client closes.
func echo(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
	for {
		m, err := conn.Receive(ctx)
		if errors.Is(err, socket.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := conn.Send(ctx, msg{strings.ToUpper(m.Text)}); err != nil {
			return err
		}
	}
}

func TestEchoInOrder(t *testing.T) {
	noLeaks(t)
	m, _ := mux(t, socket.Spec{Name: "echo", Pattern: "GET /ws"}, echo)
	c := dial(t, serve(t, m)+"/ws", nil)
	ctx := t.Context()
	for i := range 50 {
		text := strings.Repeat("x", i)
		b, _ := json.Marshal(msg{text})
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != `{"text":"`+strings.ToUpper(text)+`"}` {
			t.Fatalf("message %d: %s %v", i, got, err)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// TestCloseCodes: the function's return closes the socket with 1000 for
// nil, 4000+status with the public text for a view.Error, 1011 with no
// internal text (but a request ID that the log has with the error) for
// anything else and for a panic; and the server goes on.
func TestCloseCodes(t *testing.T) {
	noLeaks(t)
	m, logs := mux(t, socket.Spec{Name: "codes", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		switch r.URL.Query().Get("ret") {
		case "nil":
			return nil
		case "status":
			return view.Wrap(http.StatusConflict, "the room is full", errors.New("room 7 has 50 members"))
		case "panic":
			panic("boom at line 7")
		}
		return errors.New("db password hunter2")
	})
	url := serve(t, m)
	for _, c := range []struct {
		ret    string
		code   websocket.StatusCode
		reason string
	}{
		{"nil", 1000, ""},
		{"status", 4409, "the room is full"},
		{"error", 1011, "internal error; request "},
		{"panic", 1011, "internal error; request "},
		{"nil", 1000, ""},
	} {
		ce := readClose(t, dial(t, url+"/ws?ret="+c.ret, nil))
		if ce.Code != c.code || !strings.HasPrefix(ce.Reason, c.reason) || (c.reason == "" && ce.Reason != "") {
			t.Errorf("%s: closed with %d %q, want %d %q", c.ret, ce.Code, ce.Reason, c.code, c.reason)
		}
		if strings.Contains(ce.Reason, "hunter2") || strings.Contains(ce.Reason, "boom") || strings.Contains(ce.Reason, "room 7") {
			t.Errorf("%s: internal text in the close reason %q", c.ret, ce.Reason)
		}
		if c.code == 1011 {
			id := strings.TrimPrefix(ce.Reason, c.reason)
			if id == "" || !strings.Contains(logs.String(), id) {
				t.Errorf("%s: request ID %q not in the log:\n%s", c.ret, id, logs.String())
			}
		}
	}
	for _, want := range []string{"hunter2", "boom at line 7", "goroutine"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestRefusedBeforeUpgrade: requests that cannot become sockets are
// answered with problem JSON and no upgrade: not a WebSocket handshake
// (426), another origin (403) unless allowed, values that do not bind
// (400).
func TestRefusedBeforeUpgrade(t *testing.T) {
	noLeaks(t)
	var calls atomic.Int32
	m, _ := mux(t, socket.Spec{Name: "o", Pattern: "GET /ws", Origins: []string{"friend.example", "https://*.partner.example"}}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		calls.Add(1)
		return nil
	})
	url := serve(t, m)
	httpURL := "http" + strings.TrimPrefix(url, "ws")

	resp, err := http.Get(httpURL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 426 || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Upgrade") != "websocket" {
		t.Errorf("plain GET: %s %q %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}

	for _, c := range []struct {
		origin, query string
		status        int
	}{
		{"http://evil.example", "", 403},
		{"https://friend.example.evil.example", "", 403},
		{"http://x.partner.example", "", 403}, // the pattern wants https
		{"http://friend.example", "?bad=x", 400},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		tr := &http.Transport{}
		_, resp, err := websocket.Dial(ctx, url+"/ws"+c.query, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}, HTTPHeader: http.Header{"Origin": {c.origin}}})
		cancel()
		if err == nil || resp == nil || resp.StatusCode != c.status {
			t.Errorf("origin %s%s: %v %v, want a %d", c.origin, c.query, err, resp, c.status)
		}
		tr.CloseIdleConnections()
	}
	for _, origin := range []string{"http://friend.example", "https://a.partner.example", "http://" + strings.TrimPrefix(url, "ws://")} {
		c := dial(t, url+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if ce := readClose(t, c); ce.Code != 1000 {
			t.Errorf("origin %s: %v", origin, ce)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("the function ran %d times, want 3 (the refused requests never reach it)", n)
	}
}

// TestMaxMessage closes a socket whose client sends more than maxmsg with
// 1009; the function's Receive fails with ErrClosed.
func TestMaxMessage(t *testing.T) {
	noLeaks(t)
	got := make(chan error, 1)
	m, _ := mux(t, socket.Spec{Name: "big", Pattern: "GET /ws", MaxMessage: 1024}, func(ctx context.Context, r *http.Request, conn *socket.Conn[string, string]) error {
		if _, err := conn.Receive(ctx); err != nil {
			return err
		}
		_, err := conn.Receive(ctx)
		got <- err
		return err
	})
	c := dial(t, serve(t, m)+"/ws", nil)
	ctx := t.Context()
	c.Write(ctx, websocket.MessageText, []byte(`"`+strings.Repeat("a", 1000)+`"`))
	c.Write(ctx, websocket.MessageText, []byte(`"`+strings.Repeat("a", 2000)+`"`))
	if ce := readClose(t, c); ce.Code != websocket.StatusMessageTooBig {
		t.Errorf("closed with %v, want 1009", ce)
	}
	select {
	case err := <-got:
		if !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Receive: %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Receive did not return")
	}
}

// TestClientGoneCancels: the client's close cancels the function's
// context, even while it only sends, and its Receive says how the client
// closed.
func TestClientGoneCancels(t *testing.T) {
	noLeaks(t)
	for _, how := range []string{"close frame", "dropped connection"} {
		t.Run(how, func(t *testing.T) {
			done := make(chan error, 1)
			started := make(chan struct{})
			m, _ := mux(t, socket.Spec{Name: "gone", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
				defer func() { done <- ctx.Err() }()
				close(started)
				<-ctx.Done()
				_, err := conn.Receive(context.Background())
				if how == "close frame" {
					var ce *socket.CloseError
					if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye" {
						t.Errorf("Receive: %v, want the client's close 4001 bye", err)
					}
				}
				if err := conn.Send(context.Background(), msg{"late"}); !errors.Is(err, socket.ErrClosed) {
					t.Errorf("Send after the close: %v, want ErrClosed", err)
				}
				return nil
			})
			c := dial(t, serve(t, m)+"/ws", nil)
			<-started
			if how == "close frame" {
				c.Close(4001, "bye")
			} else {
				c.CloseNow()
			}
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("ctx.Err() = %v", err)
				}
			case <-time.After(wait):
				t.Fatal("the function's context was not cancelled")
			}
		})
	}
}

// TestPingClosesDeadPeer: a client that never reads never answers pings;
// the server closes its socket after an interval without a pong, which
// cancels the function's context. One that reads stays open past several
// intervals.
func TestPingClosesDeadPeer(t *testing.T) {
	noLeaks(t)
	const ping = 50 * time.Millisecond
	ended := make(chan string, 2)
	m, _ := mux(t, socket.Spec{Name: "ping", Pattern: "GET /ws", Ping: ping}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		<-ctx.Done()
		ended <- r.URL.Query().Get("who")
		return nil
	})
	url := serve(t, m)
	live := dial(t, url+"/ws?who=live", nil)
	liveCtx := live.CloseRead(t.Context()) // reads, so pongs go out
	dial(t, url+"/ws?who=dead", nil)       // never reads
	select {
	case who := <-ended:
		if who != "dead" {
			t.Fatalf("%s ended first", who)
		}
	case <-time.After(wait):
		t.Fatal("the silent client's socket was not closed")
	}
	select {
	case who := <-ended:
		t.Fatalf("%s ended too", who)
	case <-time.After(10 * ping):
	}
	if liveCtx.Err() != nil {
		t.Fatal("the live client's socket closed")
	}
	live.Close(websocket.StatusNormalClosure, "")
	<-ended
}

// TestLaterRunsAtClose: a task the function schedules with Later runs
// once the socket has closed.
func TestLaterRunsAtClose(t *testing.T) {
	noLeaks(t)
	var ran, closed atomic.Bool
	scheduled := make(chan struct{})
	m, _ := mux(t, socket.Spec{Name: "later", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		taskloop.Later(ctx, taskloop.Spec{Name: "after"}, func(context.Context) (struct{}, error) {
			ran.Store(closed.Load())
			return struct{}{}, nil
		})
		close(scheduled)
		conn.Receive(ctx)
		closed.Store(true)
		return nil
	})
	c := dial(t, serve(t, m)+"/ws", nil)
	<-scheduled
	time.Sleep(20 * time.Millisecond)
	if ran.Load() {
		t.Fatal("the task ran while the socket was open")
	}
	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(wait)
	for !ran.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !ran.Load() {
		t.Error("the task did not run after the socket closed")
	}
}

// runServer runs server.Run with cfg on a loopback listener and returns
// the socket URL and a function that stops it and returns Run's error.
func runServer(t *testing.T, cfg server.Config) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners = []net.Listener{ln}
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Signals = []os.Signal{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(wait):
			t.Fatal("Run did not return")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return "ws://" + ln.Addr().String(), stop
}

// TestServerCapAndShutdown: server.Run refuses a socket over MaxSockets
// with a 503; at shutdown every socket gets 1001, its function's context
// is cancelled, and Run waits for the functions and returns nil.
func TestServerCapAndShutdown(t *testing.T) {
	noLeaks(t)
	var running, returned atomic.Int32
	m, _ := mux(t, socket.Spec{Name: "cap", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		running.Add(1)
		defer returned.Add(1)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // some cleanup, which Run waits for
		return ctx.Err()
	})
	url, stop := runServer(t, server.Config{Handler: m, MaxSockets: 2, ShutdownTimeout: wait})
	a, b := dial(t, url+"/ws", nil), dial(t, url+"/ws", nil)
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	_, resp, err := websocket.Dial(ctx, url+"/ws", &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err == nil || resp == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third socket: %v %v, want a 503 with Retry-After", err, resp)
	}
	for running.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	closes := make(chan websocket.CloseError, 2)
	for _, c := range []*websocket.Conn{a, b} {
		go func() {
			ce, err := closeOf(c)
			if err != nil {
				t.Error(err)
			}
			closes <- ce
		}()
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := returned.Load(); n != 2 {
		t.Errorf("Run returned with %d of 2 functions returned", n)
	}
	for range 2 {
		if ce := <-closes; ce.Code != websocket.StatusGoingAway {
			t.Errorf("closed with %v, want 1001", ce)
		}
	}
}

// TestShutdownDeadlineCutsSockets: a function that ignores its context
// is cut off at the shutdown deadline: its connection closed, Run's error
// a *server.ShutdownError that counts it.
func TestShutdownDeadlineCutsSockets(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	started := make(chan struct{})
	m, _ := mux(t, socket.Spec{Name: "stuck", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		close(started)
		<-release // ignores ctx
		return nil
	})
	url, stop := runServer(t, server.Config{Handler: m, ShutdownTimeout: 200 * time.Millisecond})
	c := dial(t, url+"/ws", nil)
	<-started
	err := stop()
	var sd *server.ShutdownError
	if !errors.As(err, &sd) || sd.Sockets != 1 {
		t.Errorf("Run: %v, want a ShutdownError with 1 socket cut off", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	if _, _, err := c.Read(ctx); err == nil {
		t.Error("the socket is still open")
	}
	close(release)
}
