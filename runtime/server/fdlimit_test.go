package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestIdleConnsAtFileLimit is the idle-connection attack on a server
// process whose open-file limit is 128 (sh's ulimit -n): 300 keep-alive
// connections, all at once, each make one request and then stay open and
// idle. None may wait: each gets a 200, or a 503 or its connection closed
// at once when every connection was busy at that moment (the burst comes
// faster than requests end). Then a new client must be served. Without a
// connection cap, the server ran out of files after some 120
// connections: Accept failed, and the rest, and every new client, waited
// unanswered until the idle connections timed out (IdleTimeout, 120 s).
//
// patience (10 s) bounds every wait so that a hang fails the test; the
// answers come in milliseconds.
func TestIdleConnsAtFileLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a server process; skipped with -short")
	}
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("needs sh and ulimit")
	}
	bin := buildLoadServer(t)
	_, addr := startLoadServer(t, bin, "ulimit -n 128")

	const conns = 300
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		closed   int      // closed with no answer, at once
		failures []string // no answer in patience
		wg       sync.WaitGroup
	)
	open := make([]net.Conn, conns)
	defer func() {
		for _, c := range open {
			if c != nil {
				c.Close()
			}
		}
	}()
	began := time.Now()
	for i := range conns {
		wg.Go(func() {
			status, err := getOn(addr, fmt.Sprintf("/items/idle%d", i), &open[i])
			mu.Lock()
			defer mu.Unlock()
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				failures = append(failures, err.Error())
			case err != nil:
				closed++
			default:
				statuses[status]++
			}
		})
	}
	wg.Wait()
	t.Logf("%d keep-alive connections, one request each, in %v: statuses %v, %d closed at once, %d unanswered after %v",
		conns, time.Since(began).Round(time.Millisecond), statuses, closed, len(failures), patience)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests got no answer; first: %s", len(failures), conns, failures[0])
	}
	if statuses[200] == 0 {
		t.Error("no request was served")
	}
	for status := range statuses {
		if status != 200 && status != 503 {
			t.Errorf("status %d", status)
		}
	}

	// With the idle connections still open: a new client.
	var c net.Conn
	began = time.Now()
	status, err := getOn(addr, "/items/new", &c)
	took := time.Since(began)
	if c != nil {
		c.Close()
	}
	t.Logf("then a new client: status %d, error %v, after %v", status, err, took.Round(time.Microsecond))
	if err != nil || status != 200 {
		t.Errorf("a new client with %d idle connections open: status %d, error %v after %v", conns, status, err, took)
	}
}

// getOn dials addr, sends GET path on the new connection (kept in *c, and
// left open) and returns the response's status.
func getOn(addr, path string, c *net.Conn) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		return 0, err
	}
	*c = conn
	conn.SetDeadline(time.Now().Add(patience))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	conn.SetDeadline(time.Time{})
	if resp.Close {
		// As clients do with Connection: close.
		conn.Close()
		*c = nil
	}
	return resp.StatusCode, nil
}
