package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/testkit"
)

// demo runs the demo in-process on a free loopback port for the test and
// returns the address to open. It stops the demo when the test ends and
// checks that it shut down cleanly.
func demo(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs testkit.SyncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard, &logs, func(url string) { ready <- url })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v\nlogs:\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			t.Errorf("run did not return 10s after its context ended")
		}
	})
	select {
	case url := <-ready:
		return url
	case err := <-done:
		t.Fatalf("run returned before serving: %v\nlogs:\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not start serving within 10s")
	}
	return ""
}

// get requests url with the given Accept header and returns the response
// and its body.
func get(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestJSONReport(t *testing.T) {
	base := demo(t)
	for _, c := range []struct {
		query string
		n     int
	}{{"", DefaultN}, {"?n=1", 1}, {"?n=7", 7}, {"?n=25", 25}} {
		t.Run("n="+c.query, func(t *testing.T) {
			resp, body := get(t, base+c.query, "application/json")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %s %q\n%s", c.query, resp.Status, resp.Header.Get("Content-Type"), body)
			}
			var rep Report
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.N != c.n || len(rep.Requests) != c.n {
				t.Fatalf("n = %d with %d requests, want %d", rep.N, len(rep.Requests), c.n)
			}
			var sum float64
			for i, r := range rep.Requests {
				if r.Status != 200 || r.Bytes != pageSize || r.MS <= 0 {
					t.Errorf("request %d: %+v", i, r)
				}
				// The page server waits 20ms before it answers.
				if r.MS < 19 {
					t.Errorf("request %d took %.3f ms, less than the page server's delay", i, r.MS)
				}
				sum += r.MS
			}
			if rep.Bytes != int64(c.n*pageSize) {
				t.Errorf("bytes = %d, want %d", rep.Bytes, c.n*pageSize)
			}
			if rep.WallMS <= 0 || rep.WallMS > rep.SumMS+1 || !near(rep.SumMS, sum, 0.01*float64(c.n)) {
				t.Errorf("wall %.3f ms, sum %.3f ms, but the requests add up to %.3f ms", rep.WallMS, rep.SumMS, sum)
			}
			if !near(rep.Speedup, rep.SumMS/rep.WallMS, 0.01) {
				t.Errorf("speed-up %.3f, want sum/wall = %.3f", rep.Speedup, rep.SumMS/rep.WallMS)
			}
		})
	}
}

func TestHTMLForBrowsers(t *testing.T) {
	base := demo(t)
	resp, body := get(t, base+"?n=5", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s %q\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	for _, want := range []string{`id="n" min="1" max="1000" step="1" required value="5"`, `id="wall"`, `id="sum"`, `id="speedup"`, `<span id="bytes">250 KiB</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s:\n%s", want, body)
		}
	}
	if got := strings.Count(body, `<tr class="request">`); got != 5 {
		t.Errorf("%d request rows, want 5", got)
	}
}

// TestBadN: n is any integer from 1 to 1000; 0, out of range and not a
// number are a 400 that says so: problem JSON for API clients, and for a
// browser the page with the error and the form holding the bad value.
func TestBadN(t *testing.T) {
	base := demo(t)
	for _, c := range []struct{ query, detail string }{
		{"?n=0", "must be at least 1"},
		{"?n=2000", "must be at most 1000"},
		{"?n=-1", "must be at least 1"},
		{"?n=ten", `want an integer, got \"ten\"`},
	} {
		resp, body := get(t, base+c.query, "")
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, c.detail) {
			t.Errorf("%s: %s %q %s, want a 400 problem saying %s", c.query, resp.Status, resp.Header.Get("Content-Type"), body, c.detail)
		}
		resp, body = get(t, base+c.query, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		value := strings.TrimPrefix(c.query, "?n=")
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, `id="error"`) || !strings.Contains(body, `value="`+value+`"`) || !strings.Contains(body, strings.ReplaceAll(c.detail, `\"`, "&#34;")) {
			t.Errorf("%s in a browser: %s %q, want the page with the error and the form:\n%s", c.query, resp.Status, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestStream reads the event stream: one event per request, each with its
// own index, then the totals, then the end event.
func TestStream(t *testing.T) {
	base := demo(t)
	resp, body := get(t, base+"stream?n=25", "text/event-stream")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%s %q\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	events := strings.Split(strings.TrimSpace(body), "\n\n")
	if len(events) != 25+2 {
		t.Fatalf("%d events, want 25 rows, the totals and the end:\n%s", len(events), body)
	}
	seen := map[int]bool{}
	for i, ev := range events[:25] {
		var e Event
		data, ok := strings.CutPrefix(strings.Split(ev, "\n")[1], "data: ")
		if !ok || json.Unmarshal([]byte(data), &e) != nil || e.Request == nil || e.Totals != nil {
			t.Fatalf("event %d: %q", i, ev)
		}
		if r := e.Request; r.Status != 200 || r.Bytes != pageSize || r.MS < 19 || seen[r.Index] {
			t.Errorf("event %d: %+v", i, r)
		}
		seen[e.Request.Index] = true
	}
	var e Event
	data, _ := strings.CutPrefix(strings.Split(events[25], "\n")[1], "data: ")
	if json.Unmarshal([]byte(data), &e) != nil || e.Totals == nil || e.Totals.N != 25 || e.Totals.Bytes != 25*pageSize || e.Totals.Speedup <= 1 {
		t.Errorf("totals: %q", events[25])
	}
	if events[26] != "event: end\ndata:" {
		t.Errorf("last event %q, want the end", events[26])
	}
	resp, body = get(t, base+"stream?n=0", "text/event-stream")
	if resp.StatusCode != 400 || !strings.Contains(body, "must be at least 1") {
		t.Errorf("n=0: %s %s, want a 400 before any stream", resp.Status, body)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 51200: "50.0 KiB",
		51200000: "48.8 MiB", 512 << 20: "512 MiB", 3 << 40: "3.0 TiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestOtherURL points the demo at another server with -url, and at one that
// answers with an error status, which the client sees as a 502 that says no
// more than that.
func TestOtherURL(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "a small page")
	}))
	defer other.Close()

	base := demo(t, "-url", other.URL+"/ok")
	_, body := get(t, base+"?n=5", "")
	var rep Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.URL != other.URL+"/ok" || len(rep.Requests) != 5 || rep.Bytes != 5*12 {
		t.Errorf("report %s (%v), want 5 requests of 12 bytes from %s/ok", body, err, other.URL)
	}

	base = demo(t, "-url", other.URL+"/missing")
	resp, body := get(t, base+"?n=5", "")
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(body, "404") || !strings.Contains(body, "the server's log says") {
		t.Errorf("%s %s, want a 502 that does not pass on the page's own error", resp.Status, body)
	}
}

// TestListenFallsBack holds a port and asks listen for it: as the default
// address it gives way to a free port, as the user's choice it fails.
func TestListenFallsBack(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var out strings.Builder
	ln, err := listen(held.Addr().String(), false, &out)
	if err != nil {
		t.Fatalf("as the default: %v", err)
	}
	ln.Close()
	if ln.Addr().String() == held.Addr().String() || !strings.Contains(out.String(), "instead") {
		t.Errorf("as the default: listening on %v, said %q", ln.Addr(), out.String())
	}
	if ln, err := listen(held.Addr().String(), true, io.Discard); err == nil {
		ln.Close()
		t.Errorf("as the user's choice: listening on %v, want an error", ln.Addr())
	}
}

func near(a, b, tolerance float64) bool { return a-b <= tolerance && b-a <= tolerance }

func TestMakePage(t *testing.T) {
	for _, size := range []int{200, 1000, pageSize} {
		if got := len(makePage(size)); got != size {
			t.Errorf("makePage(%d) is %d bytes", size, got)
		}
	}
}
