package server

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

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
