package socket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/socket"
	"github.com/gofutures/futures/runtime/view"
)

// client returns an httpclient for the server at url (ws://…), whose idle
// connections are closed when the test ends.
func client(t *testing.T, url string, opts ...httpclient.Option) *httpclient.Client {
	t.Helper()
	opts = append([]httpclient.Option{
		httpclient.WithBaseURL("http" + strings.TrimPrefix(url, "ws")),
		httpclient.WithBackoff(time.Millisecond, 5*time.Millisecond),
	}, opts...)
	hc := httpclient.New(opts...)
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// dialConn opens the socket at path with hc, failing the test if it
// cannot, and closes it when the test ends.
func dialConn[In, Out any](t *testing.T, hc *httpclient.Client, path string, mode socket.Messages, opts ...httpclient.CallOption) *socket.Conn[In, Out] {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	path, query, _ := strings.Cut(path, "?")
	r := httpclient.NewRequest("GET", path)
	if k, v, ok := strings.Cut(query, "="); ok {
		httpclient.Param(r, httpclient.InQuery, k, v, httpclient.FormatString[string])
	}
	c, err := socket.Dial[In, Out](ctx, hc, r, mode, opts...)
	if err != nil {
		t.Fatalf("Dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDialEchoBothWays(t *testing.T) {
	noLeaks(t)
	serverErr := make(chan error, 1)
	m, _ := mux(t, socket.Spec{Name: "echo", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		for {
			m, err := conn.Receive(ctx)
			if err != nil {
				serverErr <- err
				return nil
			}
			if err := conn.Send(ctx, msg{strings.ToUpper(m.Text)}); err != nil {
				return err
			}
		}
	})
	hc := client(t, serve(t, m))
	// The context bounds the handshake only: the socket outlives it.
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	c, err := socket.Dial[msg, msg](ctx, hc, httpclient.NewRequest("GET", "/ws"), socket.JSON)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		text := fmt.Sprintf("message %d", i)
		if err := c.Send(t.Context(), msg{text}); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		got, err := c.Receive(t.Context())
		if err != nil || got.Text != strings.ToUpper(text) {
			t.Fatalf("Receive %d: %+v, %v", i, got, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-serverErr:
		var ce *socket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1000 {
			t.Errorf("the function's Receive after the client's Close: %v; want a CloseError 1000", err)
		}
	case <-time.After(wait):
		t.Fatal("the function never saw the client close")
	}
	if _, err := c.Receive(t.Context()); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Receive after Close: %v; want ErrClosed", err)
	}
	if err := c.Send(t.Context(), msg{"late"}); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Send after Close: %v; want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func TestDialTextAndBinary(t *testing.T) {
	noLeaks(t)
	text, _ := mux(t, socket.Spec{Name: "text", Pattern: "GET /text", Messages: socket.Text}, func(ctx context.Context, r *http.Request, conn *socket.Conn[string, string]) error {
		s, err := conn.Receive(ctx)
		if err != nil {
			return err
		}
		return conn.Send(ctx, s+"!")
	})
	binary, _ := mux(t, socket.Spec{Name: "binary", Pattern: "GET /binary", Messages: socket.Binary}, func(ctx context.Context, r *http.Request, conn *socket.Conn[[]byte, []byte]) error {
		b, err := conn.Receive(ctx)
		if err != nil {
			return err
		}
		return conn.Send(ctx, append(b, 0xff))
	})
	all := http.NewServeMux()
	all.Handle("/text", text)
	all.Handle("/binary", binary)
	hc := client(t, serve(t, all))

	tc := dialConn[string, string](t, hc, "/text", socket.Text)
	if err := tc.Send(t.Context(), `not "JSON"`); err != nil {
		t.Fatal(err)
	}
	if got, err := tc.Receive(t.Context()); err != nil || got != `not "JSON"!` {
		t.Errorf("text: %q, %v", got, err)
	}
	bc := dialConn[[]byte, []byte](t, hc, "/binary", socket.Binary)
	if err := bc.Send(t.Context(), []byte{0, 1}); err != nil {
		t.Fatal(err)
	}
	if got, err := bc.Receive(t.Context()); err != nil || string(got) != "\x00\x01\xff" {
		t.Errorf("binary: %q, %v", got, err)
	}
}

// The close code the function's return chose reaches the client as an
// error: 1000 for nil; 4000+status, an *httpclient.Problem of that status
// with the public text, for a view.Error; 1011 with a request ID and no
// internal text for anything else.
func TestDialCloseCodes(t *testing.T) {
	noLeaks(t)
	m, _ := mux(t, socket.Spec{Name: "codes", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		switch r.URL.Query().Get("ret") {
		case "nil":
			return nil
		case "status":
			return view.Wrap(http.StatusConflict, "the room is full", errors.New("room 7 has 50 members"))
		}
		return errors.New("db password hunter2")
	})
	hc := client(t, serve(t, m))
	for _, c := range []struct {
		ret    string
		code   int
		reason string
		status int
	}{
		{"nil", 1000, "", 0},
		{"status", 4409, "the room is full", 409},
		{"error", 1011, "internal error; request ", 0},
	} {
		conn := dialConn[msg, msg](t, hc, "/ws?ret="+c.ret, socket.JSON)
		_, err := conn.Receive(t.Context())
		var ce *socket.CloseError
		if !errors.As(err, &ce) || !errors.Is(err, socket.ErrClosed) || ce.Code != c.code || !strings.HasPrefix(ce.Reason, c.reason) {
			t.Errorf("%s: %v; want a CloseError %d %q", c.ret, err, c.code, c.reason)
			continue
		}
		if !strings.Contains(err.Error(), "closed by the server") || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "room 7") {
			t.Errorf("%s: error text %q", c.ret, err)
		}
		p, isProblem := errors.AsType[*httpclient.Problem](err)
		if httpclient.StatusOf(err) != c.status || isProblem != (c.status != 0) {
			t.Errorf("%s: StatusOf %d, problem %v; want status %d", c.ret, httpclient.StatusOf(err), p, c.status)
		}
		if isProblem && (p.Status != c.status || p.Detail != c.reason || p.Title != http.StatusText(c.status)) {
			t.Errorf("%s: problem %+v", c.ret, p)
		}
		if err := conn.Close(); err != nil {
			t.Errorf("%s: Close after the server closed: %v", c.ret, err)
		}
	}
}

// A request the server refuses before the upgrade fails Dial with its
// problem, as a view's call would: another origin (403), values that do
// not bind (400); a value that cannot be sent fails before anything is.
func TestDialRefused(t *testing.T) {
	noLeaks(t)
	var calls atomic.Int32
	m, _ := mux(t, socket.Spec{Name: "o", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		calls.Add(1)
		return nil
	})
	var sent atomic.Int32
	hc := client(t, serve(t, m), httpclient.WithHooks(httpclient.Hooks{BeforeRequest: func(*http.Request, httpclient.Attempt) { sent.Add(1) }}))
	dialErr := func(r *httpclient.Request, opts ...httpclient.CallOption) error {
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		c, err := socket.Dial[msg, msg](ctx, hc, r, socket.JSON, opts...)
		if err == nil {
			c.Close()
		}
		return err
	}

	err := dialErr(httpclient.NewRequest("GET", "/ws"), httpclient.Header("Origin", "https://evil.example"))
	if p, ok := errors.AsType[*httpclient.Problem](err); !ok || p.Status != 403 || p.Detail != "pages of another origin may not open this socket" {
		t.Errorf("another origin: %v; want a 403 problem", err)
	}
	r := httpclient.NewRequest("GET", "/ws")
	httpclient.Param(r, httpclient.InQuery, "bad", "x", httpclient.FormatString[string])
	err = dialErr(r)
	if p, ok := errors.AsType[*httpclient.Problem](err); !ok || p.Status != 400 || len(p.Errors) != 1 || p.Errors[0].Name != "bad" {
		t.Errorf("a value that does not bind: %v; want a 400 problem naming it", err)
	}
	before := sent.Load()
	r = httpclient.NewRequest("GET", "/ws/{id}")
	httpclient.PathParam(r, "id", "..", httpclient.FormatString[string])
	if err := dialErr(r); !errors.As(err, new(*httpclient.ParamError)) || sent.Load() != before {
		t.Errorf("a value that cannot be sent: %v, %d requests; want a ParamError and none", err, sent.Load()-before)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the function ran %d times for refused requests", n)
	}
	// No Origin at all: a program's request, which the socket lets in.
	if err := dialErr(httpclient.NewRequest("GET", "/ws")); err != nil {
		t.Errorf("no Origin: %v", err)
	}
	// Not a socket: a plain handler's answer.
	if err := dialErr(httpclient.NewRequest("GET", "/nothing")); httpclient.StatusOf(err) != 404 {
		t.Errorf("no socket there: %v; want the 404", err)
	}
}

// The handshake goes under the client's base URL, with its headers and
// the call's, and is retried as a GET: a server at its socket cap answers
// 503 with a Retry-After, which a client whose patience is shorter
// reports as a problem.
func TestDialUnderServerRun(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	m, _ := mux(t, socket.Spec{Name: "hold", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		if err := conn.Send(ctx, msg{r.Header.Get("X-Token") + " " + r.Header.Get("X-Call")}); err != nil {
			return err
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	prefixed := http.NewServeMux()
	prefixed.Handle("/api/", http.StripPrefix("/api", m))
	url, stop := runServer(t, server.Config{Handler: prefixed, MaxSockets: 1, ShutdownTimeout: wait})
	hc := client(t, url, httpclient.WithBaseURL("http"+strings.TrimPrefix(url, "ws")+"/api"), httpclient.WithHeader("X-Token", "client"))
	c := dialConn[msg, msg](t, hc, "/ws", socket.JSON, httpclient.Header("X-Call", "call"))
	if got, err := c.Receive(t.Context()); err != nil || got.Text != "client call" {
		t.Fatalf("headers: %+v, %v", got, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	_, err := socket.Dial[msg, msg](ctx, hc, httpclient.NewRequest("GET", "/ws"), socket.JSON)
	p, ok := errors.AsType[*httpclient.Problem](err)
	if !ok || p.Status != 503 || p.Header.Get("Retry-After") == "" {
		t.Fatalf("a second socket over MaxSockets 1: %v; want a 503 problem with Retry-After", err)
	}
	close(release)
	if _, err := c.Receive(t.Context()); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("after the function returned: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

// The server's shutdown closes a client's socket with 1001.
func TestDialServerShutdown(t *testing.T) {
	noLeaks(t)
	m, _ := mux(t, socket.Spec{Name: "wait", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[msg, msg]) error {
		<-ctx.Done()
		return ctx.Err()
	})
	url, stop := runServer(t, server.Config{Handler: m, ShutdownTimeout: wait})
	c := dialConn[msg, msg](t, client(t, url), "/ws", socket.JSON)
	got := make(chan error, 1)
	go func() {
		_, err := c.Receive(context.Background())
		got <- err
	}()
	if err := stop(); err != nil {
		t.Errorf("Run: %v", err)
	}
	select {
	case err := <-got:
		var ce *socket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1001 || httpclient.StatusOf(err) != 0 {
			t.Errorf("Receive at shutdown: %v; want a CloseError 1001", err)
		}
	case <-time.After(wait):
		t.Fatal("Receive did not return at shutdown")
	}
}

// A message over the client's response limit closes the socket with 1009.
func TestDialMessageLimit(t *testing.T) {
	noLeaks(t)
	closed := make(chan error, 1)
	m, _ := mux(t, socket.Spec{Name: "big", Pattern: "GET /ws"}, func(ctx context.Context, r *http.Request, conn *socket.Conn[string, string]) error {
		if err := conn.Send(ctx, strings.Repeat("a", 2000)); err != nil {
			return err
		}
		_, err := conn.Receive(ctx)
		closed <- err
		return nil
	})
	c := dialConn[string, string](t, client(t, serve(t, m), httpclient.WithMaxResponseBytes(1024)), "/ws", socket.JSON)
	if _, err := c.Receive(t.Context()); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("a message over the limit: %v; want ErrClosed", err)
	}
	select {
	case err := <-closed:
		var ce *socket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1009 {
			t.Errorf("the server saw %v; want a close 1009", err)
		}
	case <-time.After(wait):
		t.Fatal("the server never saw the close")
	}
}
