package server_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/server/internal/loadviews"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// The hostile input tests send what a hostile or broken client sends to a
// real server (server.Run on loopback, with the generated views of
// loadviews, a task loop, gzip and static files) and check that each
// request gets the right 4xx or is cut off: never a 500, never a hang, and
// never a response that shows internal text (Go error strings, file paths,
// stack traces, the files outside the static directory).

// patience bounds every wait of these tests, so that a hang is a failure.
// It is never a timing assertion.
const patience = 10 * time.Second

// hostileSecret is in every file outside the static directory and in the
// static directory's dot file: no response may contain it.
const hostileSecret = "OUTSIDE-THE-STATIC-DIRECTORY-7f3a"

type hostile struct {
	addr     string
	root     string // the temporary directory: no response may name it
	logs     *testkit.SyncBuffer
	recorded atomic.Int64 // after-response tasks run
}

// startHostile serves loadviews with server.Run until the test ends; tune
// changes the configuration first. The defaults are short timeouts and an
// 8 KiB header limit.
func startHostile(t *testing.T, tune func(*server.Config)) *hostile {
	t.Helper()
	h := &hostile{logs: new(testkit.SyncBuffer)}
	h.root = t.TempDir()
	public := filepath.Join(h.root, "public")
	for name, content := range map[string]string{
		filepath.Join(h.root, "outside.txt"):     hostileSecret,
		filepath.Join(h.root, "go.mod"):          hostileSecret,
		filepath.Join(public, "index.html"):      "<h1>home</h1>",
		filepath.Join(public, "css", "site.css"): "p { margin: 0 }",
		filepath.Join(public, ".env"):            hostileSecret,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Symbolic links inside the static directory that lead out of it.
	if err := os.Symlink(filepath.Join(h.root, "outside.txt"), filepath.Join(public, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(public, "up")); err != nil {
		t.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	loop := taskloop.New(taskloop.Options{Workers: 2, Logger: logger})
	shop := &loadviews.Shop{Sink: func(context.Context, string) error {
		h.recorded.Add(1)
		return nil
	}}
	mux := http.NewServeMux()
	if err := loadviews.RegisterShopViews(mux, shop, view.WithLogger(logger)); err != nil {
		t.Fatal(err)
	}
	if err := loadviews.RegisterViews(mux, view.WithLogger(logger)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		Listeners:         []net.Listener{ln},
		Handler:           mux,
		Loop:              loop,
		Gzip:              true,
		StaticDir:         public,
		ReadHeaderTimeout: 500 * time.Millisecond,
		ReadTimeout:       2 * time.Second,
		WriteTimeout:      5 * time.Second,
		IdleTimeout:       5 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ShutdownTimeout:   5 * time.Second,
		Logger:            logger,
		Signals:           []os.Signal{}, // only the context stops it
	}
	if tune != nil {
		tune(&cfg)
	}
	ready := make(chan []net.Addr, 1)
	cfg.Ready = func(a []net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want a clean shutdown", err)
			}
		case <-time.After(patience):
			t.Errorf("Run did not return after its context ended")
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", testkit.Tail(h.logs.String(), 6000))
		}
	})
	select {
	case a := <-ready:
		h.addr = a[0].String()
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(patience):
		t.Fatal("the server did not start")
	}
	return h
}

// reply is what came back for a raw request.
type reply struct {
	status int // 0: no response, the connection was closed or reset
	header http.Header
	body   []byte
	err    error         // why there is no (complete) response
	took   time.Duration // from the first byte sent to the response or the cut
	// closed says the server closed the connection after its response,
	// closedAfter when (from the first byte sent); only exchangeClose
	// waits for it.
	closed      bool
	closedAfter time.Duration
}

// exchange opens a connection, runs send on it in its own goroutine (so
// that a server that answers before the request is complete is heard),
// and reads one response. It may be called from any goroutine.
func (h *hostile) exchange(t *testing.T, send func(c net.Conn, done <-chan struct{})) reply {
	t.Helper()
	return h.exchangeFull(t, send, false)
}

// exchangeClose is exchange that then waits for the server to close the
// connection.
func (h *hostile) exchangeClose(t *testing.T, send func(c net.Conn, done <-chan struct{})) reply {
	t.Helper()
	return h.exchangeFull(t, send, true)
}

func (h *hostile) exchangeFull(t *testing.T, send func(c net.Conn, done <-chan struct{}), waitClose bool) (r reply) {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, patience)
	if err != nil {
		t.Errorf("dial: %v", err)
		return reply{err: err}
	}
	c.SetDeadline(time.Now().Add(patience))
	start := time.Now()
	sent, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sent)
		send(c, done)
	}()
	defer func() { close(done); c.Close(); <-sent }()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		r.err, r.took = err, time.Since(start)
		r.closed, r.closedAfter = !isTimeout(err), r.took
		if isTimeout(err) {
			t.Errorf("no response and no close within %v: the server hangs", patience)
		}
		return r
	}
	if waitClose {
		defer func() {
			_, err := br.ReadByte()
			r.closed, r.closedAfter = err != nil && !isTimeout(err), time.Since(start)
		}()
	}
	defer resp.Body.Close()
	r.status, r.header = resp.StatusCode, resp.Header
	r.body, r.err = io.ReadAll(resp.Body)
	r.took = time.Since(start)
	if isTimeout(r.err) {
		t.Errorf("status %d, then the body did not end within %v", r.status, patience)
	}
	if r.err == nil && resp.Header.Get("Content-Encoding") == "gzip" {
		// Look at what the client would see.
		zr, err := gzip.NewReader(bytes.NewReader(r.body))
		if err == nil {
			r.body, err = io.ReadAll(zr)
		}
		if err != nil {
			t.Errorf("status %d with a broken gzip body: %v", r.status, err)
		}
	}
	return r
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// raw sends request bytes as they are.
func (h *hostile) raw(t *testing.T, request string) reply {
	t.Helper()
	return h.exchange(t, func(c net.Conn, _ <-chan struct{}) { io.WriteString(c, request) })
}

// post sends a POST with body and Content-Length.
func (h *hostile) post(t *testing.T, target, body string, header ...string) reply {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", target, len(body))
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return h.raw(t, b.String())
}

// get sends a GET of target with extra header lines.
func (h *hostile) get(t *testing.T, target string, header ...string) reply {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n", target)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("\r\n")
	return h.raw(t, b.String())
}

// internalText is what no response body may contain: Go's error wording,
// stack traces, source positions, the view's internal error, and
// (checked separately) the test's directory and the secret files.
var internalText = []string{
	"goroutine ", ".go:", "panic", "runtime error", "runtime/", "json: ", "strconv.", "invalid character",
	"cannot unmarshal", "Go value", "Go struct", "i/o timeout", "read tcp", "syscall", "os.Root",
	"path escapes", "/var/lib/shop", "on fire", "errors.errorString", "net/http:",
}

// check fails the test if r is a 5xx, a hang, or shows internal text, or
// if its status is not one of want (0 stands for "cut off": no response).
func (h *hostile) check(t *testing.T, what string, r reply, want ...int) {
	t.Helper()
	if !slices.Contains(want, r.status) {
		if r.status == 0 {
			t.Errorf("%s: cut off (%v) after %v, want status %v", what, r.err, r.took, want)
		} else {
			t.Errorf("%s: status %d %q, want %v", what, r.status, clipBody(r.body), want)
		}
	}
	if r.status >= 500 && !slices.Contains(want, r.status) {
		t.Errorf("%s: server error %d: %q", what, r.status, clipBody(r.body))
	}
	if leak := h.leak(r); leak != "" {
		t.Errorf("%s: the response shows %q: %q", what, leak, clipBody(r.body))
	}
	if r.status >= 400 && r.status < 500 && r.header.Get("Content-Type") == "application/problem+json" {
		var p struct {
			Type   string            `json:"type"`
			Title  string            `json:"title"`
			Status int               `json:"status"`
			Detail string            `json:"detail"`
			Errors []view.FieldError `json:"errors"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil || p.Status != r.status || p.Title == "" {
			t.Errorf("%s: problem %q (%v)", what, r.body, err)
		}
		if !utf8.Valid(r.body) {
			t.Errorf("%s: the problem is not valid UTF-8: %q", what, r.body)
		}
	}
}

// leak returns the internal text r shows, or "".
func (h *hostile) leak(r reply) string {
	all := string(r.body)
	for k, vs := range r.header {
		all += "\n" + k + ": " + strings.Join(vs, ", ")
	}
	for _, s := range append(internalText, h.root, hostileSecret) {
		if strings.Contains(all, s) {
			return s
		}
	}
	return ""
}

func clipBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// healthy checks that the server still answers an ordinary request.
func (h *hostile) healthy(t *testing.T) {
	t.Helper()
	r := h.get(t, "/items/ok?n=1")
	if r.status != 200 || !strings.Contains(string(r.body), `"name":"ok"`) {
		t.Fatalf("the server no longer serves: %d %q (%v)", r.status, r.body, r.err)
	}
}

// order is a good order body with item.
func order(item string) string { return `{"item":` + item + `,"qty":2,"price":1.5}` }

// TestHostileBodies sends oversized, deeply nested, numerically absurd,
// duplicated and badly encoded JSON bodies to the generated views.
func TestHostileBodies(t *testing.T) {
	h := startHostile(t, nil)
	const limit = 16 << 10 // PlaceOrder's maxbody

	t.Run("oversized", func(t *testing.T) {
		// Each body starts as a good order would, so that nothing but its
		// size is wrong with it.
		prefix := `{"item":"`
		big := prefix + strings.Repeat("x", 20000) + `","qty":1}`
		h.check(t, "20 KB with Content-Length", h.post(t, "/orders/big", big), 413)

		// Chunked: no Content-Length to refuse by.
		r := h.exchange(t, func(c net.Conn, _ <-chan struct{}) {
			io.WriteString(c, "POST /orders/chunked HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
			fmt.Fprintf(c, "%x\r\n%s\r\n", len(prefix), prefix)
			for range 40 {
				chunk := strings.Repeat("y", 1000)
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			}
			io.WriteString(c, "0\r\n\r\n")
		})
		h.check(t, "40 KB chunked", r, 413)

		// 8 MiB: the server answers without reading it all (or resets the
		// connection while the client still writes).
		r = h.exchange(t, func(c net.Conn, done <-chan struct{}) {
			fmt.Fprintf(c, "POST /orders/huge HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", 8<<20, prefix)
			chunk := bytes.Repeat([]byte("z"), 64<<10)
			for range 128 {
				select {
				case <-done:
					return
				default:
				}
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		})
		h.check(t, "8 MiB body", r, 413, 0)
		t.Logf("8 MiB body: %d after %v", r.status, r.took.Round(time.Millisecond))

		// A body announced as 10 GiB that stops after 20 KB: the answer
		// must not wait for the rest.
		r = h.exchange(t, func(c net.Conn, done <-chan struct{}) {
			fmt.Fprintf(c, "POST /orders/liar HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", int64(10)<<30, prefix)
			c.Write(bytes.Repeat([]byte("w"), 20000))
			<-done
		})
		h.check(t, "10 GiB announced, 20 KB sent", r, 413)

		// At the limit exactly, and one byte over.
		at := order(`"edge"`)
		at += strings.Repeat(" ", limit-len(at))
		h.check(t, "a body of exactly maxbody", h.post(t, "/orders/edge", at), 200)
		h.check(t, "a body of maxbody+1", h.post(t, "/orders/edge", at+" "), 413)
	})

	// DESIGN.md: "Bodies over maxbody → 413." A request whose
	// Content-Length is over the view's maxbody is over it whatever its
	// first bytes are, and the server knows before reading any.
	t.Run("announced oversized body with bad JSON", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			cl   int64
			body string
		}{
			{"Content-Length 8 MiB, junk", 8 << 20, "junk"},
			{"Content-Length 20 KB, malformed JSON", 20000, "{{{{"},
			{"Content-Length 20 KB, a wrong type first", 20000, `{"qty":"many"}`},
		} {
			r := h.exchange(t, func(c net.Conn, done <-chan struct{}) {
				fmt.Fprintf(c, "POST /orders/junk HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", tt.cl, tt.body)
				// More, so that net/http need not wait for ReadTimeout
				// while it discards what the view did not read (it reads
				// up to 256 KiB of it).
				c.Write(bytes.Repeat([]byte(" "), int(min(tt.cl-int64(len(tt.body)), 300<<10))))
				<-done
			})
			h.check(t, tt.name, r, 413)
		}
	})

	t.Run("nesting", func(t *testing.T) {
		doc := func(data string) string { return `{"title":"t","data":` + data + `}` }
		deep := func(open, close string, n int) string {
			return strings.Repeat(open, n) + strings.Repeat(close, n)
		}
		for _, tt := range []struct {
			name   string
			body   string
			status int
		}{
			{"100k nested arrays", doc(deep("[", "]", 100000)), 400},
			{"100k nested objects", doc(strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)), 400},
			{"100k nested arrays as the whole body", deep("[", "]", 100000), 400},
			{"500k unclosed arrays", strings.Repeat("[", 500000), 400},
			{"10001 nested arrays", doc(deep("[", "]", 10001)), 400},
			// view.DefaultMaxDepth is 128, the document itself included.
			{"128 levels", doc(deep("[", "]", 127)), 200},
			{"129 levels", doc(deep("[", "]", 128)), 400},
		} {
			r := h.post(t, "/docs", tt.body)
			h.check(t, tt.name, r, tt.status)
			if tt.status == 200 && !strings.Contains(string(r.body), `"depth":127`) {
				t.Errorf("%s: %q", tt.name, r.body)
			}
			if tt.status == 400 && !strings.Contains(string(r.body), "the JSON nests deeper than 128 levels") {
				t.Errorf("%s: %q", tt.name, r.body)
			}
		}
		// Nesting inside a body field of the 16 KiB view.
		h.check(t, "5000 nested arrays in a map field", h.post(t, "/orders/n1",
			`{"item":"x","qty":1,"meta":{"k":`+deep("[", "]", 5000)+`}}`), 400)
		h.check(t, "125 nested arrays in a map field", h.post(t, "/orders/n1",
			`{"item":"x","qty":1,"meta":{"k":`+deep("[", "]", 125)+`}}`), 200)
	})

	t.Run("numbers", func(t *testing.T) {
		for _, tt := range []struct {
			name, body string
			status     []int
		}{
			{"qty 1e999", `{"item":"x","qty":1e999}`, []int{400}},
			{"qty 20 digits", `{"item":"x","qty":99999999999999999999}`, []int{400}},
			{"qty -20 digits", `{"item":"x","qty":-99999999999999999999}`, []int{400}},
			{"qty 2^63", `{"item":"x","qty":9223372036854775808}`, []int{400}},
			{"qty 1.5", `{"item":"x","qty":1.5}`, []int{400}},
			{"qty 1e2", `{"item":"x","qty":1e2}`, []int{400}},
			{"qty -0", `{"item":"x","qty":-0}`, []int{422}},
			{"price 1e999", `{"item":"x","qty":1,"price":1e999}`, []int{400}},
			{"price -1e999", `{"item":"x","qty":1,"price":-1e999}`, []int{400}},
			{"price 1e-999 (underflows to 0)", `{"item":"x","qty":1,"price":1e-999}`, []int{200}},
			{"price with 10k digits", `{"item":"x","qty":1,"price":` + strings.Repeat("9", 10000) + `}`, []int{400}},
			{"meta 1e999", `{"item":"x","qty":1,"meta":{"n":1e999}}`, []int{400}},
			{"meta leading zeros", `{"item":"x","qty":1,"meta":{"n":0001}}`, []int{400}},
			{"meta NaN", `{"item":"x","qty":1,"meta":{"n":NaN}}`, []int{400}},
			{"meta Infinity", `{"item":"x","qty":1,"meta":{"n":-Infinity}}`, []int{400}},
			{"meta hex", `{"item":"x","qty":1,"meta":{"n":0x10}}`, []int{400}},
		} {
			h.check(t, tt.name, h.post(t, "/orders/num", tt.body), tt.status...)
		}
		// Numbers of any shape in a document of up to 1 MiB.
		h.check(t, "a number of 500k digits", h.post(t, "/docs", `{"data":1`+strings.Repeat("0", 500000)+`}`), 400)
		h.check(t, "a fraction of 500k digits", h.post(t, "/docs", `{"data":0.`+strings.Repeat("0", 500000)+`1}`), 200)
		h.check(t, "an exponent of 500k digits", h.post(t, "/docs", `{"data":1e`+strings.Repeat("9", 500000)+`}`), 400)
	})

	t.Run("duplicate keys", func(t *testing.T) {
		// encoding/json keeps the last of duplicate keys, and matches keys
		// to fields without regard to case: the last match wins.
		for _, tt := range []struct {
			body, item string
			qty        int
		}{
			{`{"item":"first","item":"last","qty":1,"qty":3}`, "last", 3},
			{`{"item":"lower","ITEM":"upper","Qty":4}`, "upper", 4},
			{`{"item":"a","meta":{"k":1,"k":2},"qty":1}`, "a", 1},
		} {
			r := h.post(t, "/orders/dup", tt.body)
			h.check(t, tt.body, r, 200)
			var got loadviews.Receipt
			if json.Unmarshal(r.body, &got) != nil || got.Item != tt.item || got.Qty != tt.qty {
				t.Errorf("%s: %q, want item %q qty %d", tt.body, r.body, tt.item, tt.qty)
			}
		}
	})

	t.Run("utf8", func(t *testing.T) {
		// Invalid UTF-8 inside strings becomes U+FFFD, as encoding/json
		// does; outside strings, or in a key, it is a 400.
		for _, tt := range []struct {
			name, body, item string
		}{
			{"invalid bytes", order("\"\xff\xfe tea\""), "\ufffd\ufffd tea"},
			{"a lone surrogate", order(`"\ud800"`), "\ufffd"},
			{"an overlong encoding", order("\"\xc0\xaf\""), "\ufffd\ufffd"},
			{"an escaped NUL", order(`"a\u0000b"`), "a\x00b"},
		} {
			r := h.post(t, "/orders/u8", tt.body)
			h.check(t, tt.name, r, 200)
			var got loadviews.Receipt
			if json.Unmarshal(r.body, &got) != nil || got.Item != tt.item || !utf8.Valid(r.body) {
				t.Errorf("%s: %q, want item %q", tt.name, r.body, tt.item)
			}
		}
		for _, tt := range []struct{ name, body string }{
			{"invalid bytes in a key", "{\"\xff\xfe\":1,\"qty\":1}"},
			{"invalid bytes outside strings", "{\"qty\":1,\xff}"},
			{"a raw NUL in a string", "{\"item\":\"a\x00b\",\"qty\":1}"},
			{"a raw newline in a string", "{\"item\":\"a\nb\",\"qty\":1}"},
			{"a UTF-16 body", "\xff\xfe{\x00}\x00"},
			{"a UTF-8 byte order mark", "\xef\xbb\xbf" + order(`"bom"`)},
		} {
			h.check(t, tt.name, h.post(t, "/orders/u8", tt.body), 400)
		}
	})

	t.Run("not json", func(t *testing.T) {
		for _, tt := range []struct {
			name, body string
			status     int
		}{
			{"text", "hello", 400},
			{"empty", "", 400},
			{"two values", `{"qty":1} {"qty":2}`, 400},
			{"truncated", `{"item":"x","qty":`, 400},
			{"an array", `[1,2]`, 400},
			{"a string for an int", `{"qty":"1"}`, 400},
			{"an array for a string", `{"item":["a"],"qty":1}`, 400},
			{"a string for a list", `{"notes":"x","qty":1}`, 400},
			{"null", `null`, 422}, // decodes to the zero order: the view refuses qty 0
		} {
			h.check(t, tt.name, h.post(t, "/orders/nj", tt.body), tt.status)
		}
	})

	t.Run("internal error", func(t *testing.T) {
		// Not hostile input, but the one 500 the views make on purpose:
		// its body says nothing of the error.
		h.check(t, "a view's plain error", h.post(t, "/orders/boom", order(`"boom"`)), 500)
	})
	h.healthy(t)
}

// TestHostileUTF8 puts invalid UTF-8, NUL bytes and absurd numbers in the
// path, the query, the headers and the cookies of a generated view.
func TestHostileUTF8(t *testing.T) {
	h := startHostile(t, nil)
	for _, tt := range []struct {
		name, target string
		header       []string
		status       []int
		echo         string // a fragment of the 200 body
	}{
		{"escaped invalid bytes in the path", "/items/%FF%FE", nil, []int{200}, `"name":"\ufffd\ufffd"`},
		{"raw invalid bytes in the path", "/items/\xff\xfe", nil, []int{200, 400}, `"name":"\ufffd\ufffd"`},
		{"an escaped NUL in the path", "/items/a%00b", nil, []int{200, 400}, `"name":"a\u0000b"`},
		{"a raw NUL in the path", "/items/a\x00b", nil, []int{400}, ""},
		{"an escaped slash in the path", "/items/a%2Fb", nil, []int{200}, `"name":"a/b"`},
		{"dot segments in the path", "/items/..%2F..%2Fetc%2Fpasswd", nil, []int{200}, `"name":"../../etc/passwd"`},
		{"invalid bytes in a string query", "/items/q?q=%FF", nil, []int{200}, `"q":"\ufffd"`},
		{"raw invalid bytes in a string query", "/items/q?q=\xff", nil, []int{200, 400}, `"q":"\ufffd"`},
		{"a bad escape in the query", "/items/q?q=%zz&n=1", nil, []int{200, 400}, ""},
		{"invalid bytes in an int query", "/items/q?n=%FF", nil, []int{400}, ""},
		{"invalid bytes in a time query", "/items/q?t=%FF%00", nil, []int{400}, ""},
		{"invalid bytes in a duration query", "/items/q?d=%C0%AF", nil, []int{400}, ""},
		{"invalid bytes in a float query", "/items/q?f=%FF", nil, []int{400}, ""},
		{"invalid bytes in a bool query", "/items/q?b=%FF", nil, []int{400}, ""},
		{"invalid bytes in a list query", "/items/q?num=1&num=%FF", nil, []int{400}, ""},
		{"a 20-digit int query", "/items/q?n=99999999999999999999", nil, []int{400}, ""},
		{"an int query 1e999", "/items/q?n=1e999", nil, []int{400}, ""},
		{"a float query 1e999", "/items/q?f=1e999", nil, []int{400}, ""},
		{"a float query NaN", "/items/q?f=NaN", nil, []int{400}, ""},
		{"a float query of 5000 digits", "/items/q?f=" + strings.Repeat("9", 5000), nil, []int{400}, ""},
		{"a uint16 query 65536", "/items/q?u=65536", nil, []int{400}, ""},
		{"a list query with 20 digits", "/items/q?num=1&num=99999999999999999999", nil, []int{400}, ""},
		{"1000 list values", "/items/q?" + strings.Repeat("num=1&", 1000), nil, []int{200}, ""},
		{"invalid bytes in a string header", "/items/h", []string{"X-Token", "\xff\xfe"}, []int{200, 400}, `"token":"\ufffd\ufffd"`},
		{"invalid bytes in a uint header", "/items/h", []string{"X-Count", "\xff"}, []int{400}, ""},
		{"a 25-digit uint header", "/items/h", []string{"X-Count", "9999999999999999999999999"}, []int{400}, ""},
		{"a NUL in a header", "/items/h", []string{"X-Token", "a\x00b"}, []int{400}, ""},
		{"invalid bytes in a header name", "/items/h", []string{"X-\xff", "1"}, []int{400}, ""},
		{"invalid bytes in a cookie", "/items/c", []string{"Cookie", "session=\xff\xfe"}, []int{200, 400}, ""},
		{"a NUL in a cookie", "/items/c", []string{"Cookie", "session=a\x00b"}, []int{200, 400}, ""},
	} {
		r := h.get(t, tt.target, tt.header...)
		h.check(t, tt.name, r, tt.status...)
		if r.status == 200 {
			if !utf8.Valid(r.body) {
				t.Errorf("%s: a 200 that is not valid UTF-8: %q", tt.name, r.body)
			}
			if tt.echo != "" && !strings.Contains(string(r.body), tt.echo) {
				t.Errorf("%s: %q, want it to contain %s", tt.name, r.body, tt.echo)
			}
		}
		if testing.Verbose() {
			t.Logf("%-40s → %d", tt.name, r.status)
		}
	}
	h.healthy(t)
}

// TestHostileHeaders sends headers over server.Config.MaxHeaderBytes.
func TestHostileHeaders(t *testing.T) {
	h := startHostile(t, nil) // MaxHeaderBytes: 8 KiB (net/http allows 4 KiB more)
	h.check(t, "6 KiB of headers", h.get(t, "/items/ok", "X-Pad", strings.Repeat("a", 6<<10)), 200)
	h.check(t, "one 64 KiB header", h.get(t, "/items/ok", "X-Pad", strings.Repeat("a", 64<<10)), 431)
	var many []string
	for i := range 2000 {
		many = append(many, "X-H"+strconv.Itoa(i), "v")
	}
	h.check(t, "2000 headers", h.get(t, "/items/ok", many...), 431)
	h.check(t, "a 64 KiB request line", h.get(t, "/items/ok?q="+strings.Repeat("a", 64<<10)), 431, 414)
	h.check(t, "64 KiB of cookies", h.get(t, "/items/ok", "Cookie", "session="+strings.Repeat("c", 64<<10)), 431)
	h.check(t, "64 KiB of headers on a view with a body", h.post(t, "/orders/big", order(`"x"`), "X-Pad", strings.Repeat("a", 64<<10)), 431)
	// A header that never ends: the server stops reading at its limit and
	// answers (or resets the connection while the client still writes).
	r := h.exchange(t, func(c net.Conn, _ <-chan struct{}) {
		io.WriteString(c, "GET /items/ok HTTP/1.1\r\nHost: x\r\nX-Endless: ")
		chunk := bytes.Repeat([]byte("e"), 32<<10)
		for range 64 { // 2 MiB
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	h.check(t, "a 2 MiB header", r, 431, 0)
	t.Logf("a 2 MiB header: status %d (0: reset) after %v", r.status, r.took.Round(time.Millisecond))
	h.healthy(t)
}

// TestHostileSlowloris holds connections open with slow headers and slow
// bodies: ReadHeaderTimeout and ReadTimeout must cut them off while the
// server goes on serving others.
func TestHostileSlowloris(t *testing.T) {
	const (
		headerTimeout = 300 * time.Millisecond
		readTimeout   = time.Second
		// The cuts must come within this much: generous, so that a slow
		// machine does not fail the test; a missing timeout still does.
		bound = 5 * time.Second
	)
	h := startHostile(t, func(c *server.Config) {
		c.ReadHeaderTimeout = headerTimeout
		c.ReadTimeout = readTimeout
	})

	// drip sends head, then one byte of more every interval until the
	// server closes the connection; it returns the response, if any.
	drip := func(t *testing.T, head, more string, interval time.Duration) reply {
		return h.exchangeClose(t, func(c net.Conn, _ <-chan struct{}) {
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			for i := 0; ; i++ {
				time.Sleep(interval)
				if _, err := c.Write([]byte{more[i%len(more)]}); err != nil {
					return
				}
			}
		})
	}

	t.Run("many slow headers while others are served", func(t *testing.T) {
		const lorises = 32
		var wg sync.WaitGroup
		replies := make([]reply, lorises)
		for i := range lorises {
			wg.Go(func() {
				replies[i] = drip(t, "GET /items/slow HTTP/1.1\r\nHost: x\r\n", "X-Slow: still coming\r\n", 50*time.Millisecond)
			})
		}
		// While they hold their connections, ordinary clients are served.
		for range 10 {
			h.healthy(t)
		}
		wg.Wait()
		var slowest time.Duration
		statuses := map[int]int{}
		for i, r := range replies {
			statuses[r.status]++
			if r.status == 200 {
				t.Errorf("slow headers %d were served", i)
			}
			h.check(t, "slow headers", r, 0, 408, 400)
			if !r.closed {
				t.Errorf("slow headers %d: the connection was not closed", i)
			}
			slowest = max(slowest, r.closedAfter)
		}
		if slowest > bound {
			t.Errorf("the slowest of %d slow-header connections was cut off after %v; ReadHeaderTimeout is %v", lorises, slowest, headerTimeout)
		}
		t.Logf("%d slow-header connections cut off within %v (ReadHeaderTimeout %v); statuses (0: closed without a response): %v", lorises, slowest.Round(time.Millisecond), headerTimeout, statuses)
	})

	t.Run("silent connection", func(t *testing.T) {
		r := h.exchange(t, func(net.Conn, <-chan struct{}) {})
		h.check(t, "a connection that sends nothing", r, 0, 408)
		if r.took > bound {
			t.Errorf("a silent connection was closed after %v", r.took)
		}
	})

	t.Run("slow headers after a kept-alive request", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", h.addr, patience)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(patience))
		br := bufio.NewReader(c)
		io.WriteString(c, "GET /items/first HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("first request: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		start := time.Now()
		io.WriteString(c, "GET /items/second HTTP/1.1\r\n")
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := io.WriteString(c, "X: y\r\n"); err != nil {
					return
				}
			}
		}()
		resp, err = http.ReadResponse(br, nil)
		close(stop)
		took := time.Since(start)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 || resp.StatusCode >= 500 {
				t.Errorf("slow second request: %d", resp.StatusCode)
			}
		} else if isTimeout(err) {
			t.Fatalf("the slow second request was not cut off within %v", patience)
		}
		if took > bound {
			t.Errorf("the slow second request was cut off after %v", took)
		}
	})

	t.Run("slow bodies while others are served", func(t *testing.T) {
		cases := []struct{ name, head, more string }{
			{"slow body", "POST /orders/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", `{"item":"` + strings.Repeat("s", 1000)},
			{"slow chunked body", "POST /orders/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\n \r\n"},
			{"slow body on a bodyless view", "GET /items/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n", "x"},
		}
		replies := make([]reply, len(cases))
		var wg sync.WaitGroup
		for i, tt := range cases {
			wg.Go(func() { replies[i] = drip(t, tt.head, tt.more, 50*time.Millisecond) })
		}
		for range 10 {
			h.healthy(t)
		}
		wg.Wait()
		for i, tt := range cases {
			r := replies[i]
			// The view answers when its read fails, or the connection is
			// closed; either way never a 500, and soon. (A GET view that
			// does not read the body answers 200 once net/http has given
			// up discarding it.)
			h.check(t, tt.name, r, 0, 400, 408, 200)
			if r.status == 200 && tt.head[0] == 'P' {
				t.Errorf("%s: a body cut off by ReadTimeout was accepted", tt.name)
			}
			if r.took > bound {
				t.Errorf("%s: answered after %v; ReadTimeout is %v", tt.name, r.took, readTimeout)
			}
			if !r.closed || r.closedAfter > bound {
				t.Errorf("%s: the connection was not closed within %v (closed %v after %v)", tt.name, bound, r.closed, r.closedAfter)
			}
			t.Logf("%s: status %d after %v, connection closed after %v: %s", tt.name, r.status, r.took.Round(time.Millisecond), r.closedAfter.Round(time.Millisecond), clipBody(r.body))
		}
	})
	h.healthy(t)
}

// TestHostileStaticPaths tries to reach files outside server.Config.StaticDir
// and its dot files: never a 200 for them, never a 5xx.
func TestHostileStaticPaths(t *testing.T) {
	h := startHostile(t, nil)
	targets := []string{
		"/static/../outside.txt",
		"/static/../../outside.txt",
		"/static/css/../../outside.txt",
		"/static/./.././outside.txt",
		"/static//../outside.txt",
		"//static/../outside.txt",
		"/static/%2e%2e/outside.txt",
		"/static/%2E%2E/go.mod",
		"/static/%2e%2e%2foutside.txt",
		"/static/..%2foutside.txt",
		"/static/..%2Fgo.mod",
		"/static/css/%2e%2e/%2e%2e/outside.txt",
		"/static/%2e%2e%2f%2e%2e%2foutside.txt",
		"/static/..%5coutside.txt",
		"/static/..\\outside.txt",
		"/static/%252e%252e/outside.txt",
		"/static/%252e%252e%252foutside.txt",
		"/static/%c0%ae%c0%ae/outside.txt",
		"/static/%e0%80%ae%e0%80%ae/outside.txt",
		"/static/\uff0e\uff0e/outside.txt",
		"/static/%ef%bc%8e%ef%bc%8e/outside.txt",
		"/static/..;/outside.txt",
		"/static/....//outside.txt",
		"/static/" + strings.Repeat("../", 500) + "outside.txt",
		"/static/" + strings.Repeat("%2e%2e%2f", 300) + "outside.txt",
		"/static/%2foutside.txt",
		"/static//etc/passwd",
		"/static/%2fetc%2fpasswd",
		"/static/..",
		"/static/%2e%2e",
		"/static/%00",
		"/static/index.html%00",
		"/static/%00/../outside.txt",
		"/static/.env",
		"/static/%2eenv",
		"/static/css/../.env",
		"/static/./.env",
		"/static/link-out",
		"/static/up/outside.txt",
		"/static/up/public/index.html",
		"/static/up/",
		"http://x/static/../outside.txt",
		"http://x/static/%2e%2e/outside.txt",
		"/static/" + strings.Repeat("a/", 3000),
	}
	statuses := map[int]int{}
	for _, method := range []string{"GET", "HEAD"} {
		for _, target := range targets {
			r := h.raw(t, method+" "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\n")
			statuses[r.status]++
			what := method + " " + target
			if len(what) > 80 {
				what = what[:80] + "…"
			}
			h.check(t, what, r, 400, 404, 403, 301, 307, 308)
			if testing.Verbose() && method == "GET" {
				t.Logf("%-50s → %d %s", what, r.status, r.header.Get("Location"))
			}
			// Redirects: follow them, they must not lead out either.
			for hop := 0; (r.status == 301 || r.status == 307 || r.status == 308) && hop < 3; hop++ {
				loc := r.header.Get("Location")
				if !strings.HasPrefix(loc, "/") {
					loc = "/static/" + loc // relative to the prefix
				}
				r = h.raw(t, method+" "+loc+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				h.check(t, what+" → "+loc, r, 400, 404, 403, 301, 307, 308, 200)
				if r.status == 200 && !strings.HasPrefix(loc, "/static/") {
					t.Errorf("%s was redirected out of the static prefix to %s", what, loc)
				}
			}
			if method == "HEAD" && r.header.Get("Content-Length") == strconv.Itoa(len(hostileSecret)) && r.status == 200 {
				t.Errorf("%s: 200 with the length of an outside file", what)
			}
		}
	}
	t.Logf("statuses of %d hostile static paths (GET and HEAD): %v", len(targets), statuses)

	// What may be served still is.
	h.check(t, "a static file", h.get(t, "/static/css/site.css"), 200)
	h.healthy(t)
}
