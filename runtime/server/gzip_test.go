package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofutures/futures/runtime/taskloop"
)

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"Gzip", true},
		{" gzip ", true},
		{"deflate, gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{"gzip;q=1", true},
		{"gzip; q=0.5", true},
		{"gzip;q=0.001", true},
		{"gzip;q=0", false},
		{"gzip; q=0", false},
		{"gzip ;q=0", false},
		{"gzip;q=0.0", false},
		{"gzip;q=0.00", false},
		{"gzip;q=0.000", false},
		{"deflate, gzip;q=0", false},
		{"gzip;Q=0", false}, // RFC 9110 §12.4.2: the weight's parameter name is case-insensitive
		{"deflate", false},
		{"br", false},
		{"identity", false},
		{"x-gzip", false},
		{"gzipx", false},
		{"agzip", false},
		{"deflate;q=0.5", false},
		{"*", false}, // conservative: only an explicit gzip
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestCompressible(t *testing.T) {
	yes := []string{
		"text/plain", "text/html; charset=utf-8", "TEXT/CSS",
		"application/json", "application/json; charset=utf-8", "application/problem+json",
		"application/javascript", "application/xml", "image/svg+xml",
		"application/ld+json", "application/atom+xml",
	}
	no := []string{
		"", "image/png", "image/jpeg", "application/octet-stream", "application/zip",
		"application/gzip", "video/mp4", "font/woff2",
		// Each event must reach the client as it is written.
		"text/event-stream", "text/event-stream; charset=utf-8",
	}
	for _, ct := range yes {
		if !compressible(ct) {
			t.Errorf("compressible(%q) = false, want true", ct)
		}
	}
	for _, ct := range no {
		if compressible(ct) {
			t.Errorf("compressible(%q) = true, want false", ct)
		}
	}
}

// jsonBody is about 2 KiB of JSON.
var jsonBody = func() string {
	var items []map[string]any
	for i := range 40 {
		items = append(items, map[string]any{"id": i, "name": fmt.Sprintf("item number %d", i)})
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	return string(b)
}()

func gunzip(t *testing.T, body string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the body is not gzip: %v (%q…)", err, body[:min(len(body), 40)])
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decoding gzip: %v", err)
	}
	return string(b)
}

// gzipRoutes answers the paths of TestGzip.
func gzipRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, jsonBody)
	})
	mux.HandleFunc("/json-length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(jsonBody)))
		io.WriteString(w, jsonBody)
	})
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, strings.Repeat("s", 100))
	})
	mux.HandleFunc("/png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		io.WriteString(w, strings.Repeat("p", 2048))
	})
	mux.HandleFunc("/sniffed", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!DOCTYPE html><html><body>"+strings.Repeat("<p>hi</p>", 300)+"</body></html>")
	})
	mux.HandleFunc("/encoded", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "br")
		io.WriteString(w, strings.Repeat("b", 2048))
	})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, strings.Repeat("bad ", 500), http.StatusBadRequest)
	})
	return mux
}

func TestGzip(t *testing.T) {
	r := start(t, Config{Handler: gzipRoutes(), Gzip: true})
	c := newClient(t)
	tests := []struct {
		name, method, path, accept string
		gzipped                    bool
		want                       string
		status                     int
	}{
		{"2 KiB JSON", "GET", "/json", "gzip", true, jsonBody, 200},
		{"2 KiB JSON with Content-Length", "GET", "/json-length", "gzip", true, jsonBody, 200},
		{"q-values", "GET", "/json", "br;q=1.0, gzip;q=0.8", true, jsonBody, 200},
		{"sniffed HTML", "GET", "/sniffed", "gzip", true, "", 200},
		{"large error", "GET", "/error", "gzip", true, strings.Repeat("bad ", 500) + "\n", 400},
		{"100 bytes with Content-Length", "GET", "/small", "gzip", false, strings.Repeat("s", 100), 200},
		{"image/png", "GET", "/png", "gzip", false, strings.Repeat("p", 2048), 200},
		{"already encoded", "GET", "/encoded", "gzip", false, strings.Repeat("b", 2048), 200},
		{"no Accept-Encoding", "GET", "/json", "", false, jsonBody, 200},
		{"gzip;q=0", "GET", "/json", "gzip;q=0", false, jsonBody, 200},
		{"only deflate", "GET", "/json", "deflate", false, jsonBody, 200},
		{"HEAD", "HEAD", "/json", "gzip", false, "", 200},
		{"204", "GET", "/nocontent", "gzip", false, "", 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.accept != "" {
				hdr = []string{"Accept-Encoding", tt.accept}
			}
			got := do(t, c, tt.method, r.url+tt.path, hdr...)
			if got.status != tt.status {
				t.Fatalf("status = %d, want %d", got.status, tt.status)
			}
			if v := got.header.Values("Vary"); !contains(v, "Accept-Encoding") {
				t.Errorf("Vary = %q, want Accept-Encoding", v)
			}
			ce := got.header.Get("Content-Encoding")
			body := got.body
			if tt.gzipped {
				if ce != "gzip" {
					t.Fatalf("Content-Encoding = %q, want gzip", ce)
				}
				if got.header.Get("Accept-Ranges") != "" {
					t.Errorf("a compressed response has Accept-Ranges %q", got.header.Get("Accept-Ranges"))
				}
				if cl := got.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(got.body)) {
					t.Errorf("Content-Length = %s for %d compressed bytes", cl, len(got.body))
				}
				body = gunzip(t, got.body)
			} else if ce == "gzip" {
				t.Fatalf("Content-Encoding = gzip, want the response uncompressed")
			}
			if tt.want != "" && body != tt.want {
				t.Errorf("body = %q…, want %q…", body[:min(len(body), 40)], tt.want[:min(len(tt.want), 40)])
			}
			if tt.method == "HEAD" && got.body != "" {
				t.Errorf("HEAD has a body of %d bytes", len(got.body))
			}
		})
	}
}

func contains(values []string, want string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), want) {
				return true
			}
		}
	}
	return false
}

// A handler that flushes streams through gzip: the client decodes the
// first part while the handler still waits.
func TestGzipStreamsFlushes(t *testing.T) {
	first := strings.Repeat("first part. ", 20)
	second := strings.Repeat("second part. ", 20)
	cont := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, first)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-cont
		io.WriteString(w, second)
	})
	r := start(t, Config{Handler: handler, Gzip: true})
	defer func() {
		select {
		case <-cont:
		default:
			close(cont)
		}
	}()
	req, _ := http.NewRequest("GET", r.url+"/stream", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	type part struct {
		s   string
		err error
	}
	parts := make(chan part, 1)
	var zr *gzip.Reader
	go func() {
		var err error
		zr, err = gzip.NewReader(resp.Body)
		if err != nil {
			parts <- part{err: err}
			return
		}
		buf := make([]byte, len(first))
		_, err = io.ReadFull(zr, buf)
		parts <- part{string(buf), err}
	}()
	p := recv(t, parts, "the first part while the handler waits (Flush did not reach the client)")
	if p.err != nil || p.s != first {
		t.Fatalf("first part = %q, %v; want %q", p.s, p.err, first)
	}
	close(cont)
	rest, err := io.ReadAll(zr)
	if err != nil || string(rest) != second {
		t.Fatalf("rest = %q, %v; want %q", rest, err, second)
	}
}

// A handler that flushes before writing anything (server-sent events do
// so to send their headers) must not get a compressed body under headers
// that do not say so.
func TestGzipFlushBeforeWrite(t *testing.T) {
	const body = "data: hello\n\n"
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		http.NewResponseController(w).Flush()
		io.WriteString(w, strings.Repeat(body, 100))
	})
	r := start(t, Config{Handler: handler, Gzip: true})
	got := do(t, newClient(t), "GET", r.url+"/events", "Accept-Encoding", "gzip")
	want := strings.Repeat(body, 100)
	switch ce := got.header.Get("Content-Encoding"); ce {
	case "gzip":
		if b := gunzip(t, got.body); b != want {
			t.Errorf("decoded body = %q…, want %q…", b[:min(len(b), 40)], want[:40])
		}
	case "":
		if got.body != want {
			t.Errorf("Gzip: Flush before the first Write sent the headers without Content-Encoding, then a body of %d bytes starting %q, want the plain body %q…", len(got.body), got.body[:min(len(got.body), 12)], want[:40])
		}
	default:
		t.Errorf("Content-Encoding = %q", ce)
	}
}

// Range requests to a compressible static file are answered 206 without
// compression; whole requests are compressed.
func TestGzipStaticFiles(t *testing.T) {
	css := strings.Repeat("body { color: red }\n", 100)
	files := fstest.MapFS{"site.css": {Data: []byte(css)}}
	r := start(t, Config{Handler: fallback, Static: files, Gzip: true})
	c := newClient(t)

	got := do(t, c, "GET", r.url+"/static/site.css", "Accept-Encoding", "gzip")
	if got.status != 200 || got.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET site.css = %d Content-Encoding %q, want 200 gzip", got.status, got.header.Get("Content-Encoding"))
	}
	if b := gunzip(t, got.body); b != css {
		t.Errorf("decoded site.css differs")
	}

	got = do(t, c, "GET", r.url+"/static/site.css", "Accept-Encoding", "gzip", "Range", "bytes=0-9")
	if got.status != http.StatusPartialContent || got.header.Get("Content-Encoding") != "" || got.body != css[:10] {
		t.Errorf("range of site.css = %d Content-Encoding %q body %q, want 206 plain %q", got.status, got.header.Get("Content-Encoding"), got.body, css[:10])
	}

	got = do(t, c, "HEAD", r.url+"/static/site.css", "Accept-Encoding", "gzip")
	if got.status != 200 || got.header.Get("Content-Encoding") != "" || got.header.Get("Content-Length") != strconv.Itoa(len(css)) {
		t.Errorf("HEAD site.css = %d Content-Encoding %q Content-Length %q", got.status, got.header.Get("Content-Encoding"), got.header.Get("Content-Length"))
	}
}

// Middleware inside Gzip: the response is whole and compressed, and the
// after-response tasks run.
func TestGzipWithMiddleware(t *testing.T) {
	loop := taskloop.New(taskloop.Options{Workers: 1, Logger: quiet})
	var ran atomic.Int64
	handler := taskloop.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		taskloop.Later(r.Context(), taskloop.Spec{Name: "server_test.after"}, func(context.Context) (struct{}, error) {
			ran.Add(1)
			return struct{}{}, nil
		})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, jsonBody)
	}))
	r := start(t, Config{Handler: handler, Loop: loop, Gzip: true})
	got := do(t, newClient(t), "GET", r.url+"/", "Accept-Encoding", "gzip")
	if got.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", got.header.Get("Content-Encoding"))
	}
	if b := gunzip(t, got.body); b != jsonBody {
		t.Errorf("decoded body differs")
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	recv(t, loop.Done(), "the loop's workers to return")
	if ran.Load() != 1 {
		t.Errorf("%d after-response tasks ran, want 1", ran.Load())
	}
}

// ResponseController reaches the connection through Gzip.
func TestGzipResponseController(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through Gzip: %v", err)
		}
		if r.URL.Path != "/hijack" {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "ok")
			return
		}
		conn, brw, err := rc.Hijack()
		if err != nil {
			t.Errorf("Hijack through Gzip: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})
	r := start(t, Config{Handler: handler, Gzip: true})
	c := newClient(t)
	if got := do(t, c, "GET", r.url+"/plain", "Accept-Encoding", "gzip"); got.status != 200 {
		t.Errorf("GET /plain = %d", got.status)
	}
	if got := do(t, c, "GET", r.url+"/hijack", "Accept-Encoding", "gzip"); got.status != 200 || got.body != "hijacked" {
		t.Errorf("GET /hijack = %d %q", got.status, got.body)
	}
}

// Gzip works as a plain middleware too, and does not decode bodies for
// clients that did not ask.
func TestGzipMiddlewareRecorder(t *testing.T) {
	h := Gzip(gzipRoutes())
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/json", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", rec.Header().Get("Content-Encoding"))
	}
	if got := gunzip(t, rec.Body.String()); got != jsonBody {
		t.Errorf("decoded body differs")
	}

	// Writers come from a pool: a second response is whole too.
	for range 3 {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := gunzip(t, rec.Body.String()); got != jsonBody {
			t.Errorf("decoded body differs on reuse")
		}
	}
}

// An informational response (103 Early Hints) before the final one must
// not keep the final one from being compressed (or corrupt it).
func TestGzipAfterEarlyHints(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</static/site.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, jsonBody)
	})
	r := start(t, Config{Handler: handler, Gzip: true})
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(safety))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusEarlyHints {
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		body = []byte(gunzip(t, string(body)))
	} else {
		t.Logf("note: the response after 103 Early Hints is not compressed")
	}
	if !bytes.Equal(body, []byte(jsonBody)) {
		t.Errorf("body after 103 differs from the JSON")
	}
}
