package server

import (
	"context"
	"net"
	"strconv"
	"testing"
)

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
