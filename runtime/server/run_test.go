package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofutures/futures/runtime/taskloop"
)

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

func (b *brokenListener) Close() error { b.closed.Store(true); return nil }

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
