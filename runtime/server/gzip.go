package server

import (
	"bufio"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gofutures/futures/runtime/taskloop"
)

// gzipMinSize is the smallest response worth compressing when its length
// is known.
const gzipMinSize = 1024

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

// Gzip compresses the responses of next for clients that accept gzip:
// text, JSON, JavaScript, XML and SVG of at least 1 KiB, or of unknown
// length. Responses that are already encoded, partial (206) or without a
// body pass through, and so do event streams (text/event-stream), whose
// events must reach the client as they are written. It supports Flush.
//
// A compressed response ends with the gzip trailer, which Gzip writes
// after next has returned. So that after-response tasks (taskloop.Later)
// start only once the client can have the whole response, Gzip wraps next
// in a request scope (taskloop.Middleware) that holds them, those of the
// views inside included, until the trailer is written and flushed.
func Gzip(next http.Handler) http.Handler {
	compressed := taskloop.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		compressed.ServeHTTP(w, r)
	})
}

func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}

// gzipWriter decides at WriteHeader whether to compress.
type gzipWriter struct {
	http.ResponseWriter
	zw          *gzip.Writer
	wroteHeader bool
}

func compressible(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	switch {
	case ct == "text/event-stream":
		// Each event must reach the client when it is written; a
		// compressor holds bytes back until it has enough to compress.
		return false
	case strings.HasPrefix(ct, "text/"),
		ct == "application/json", ct == "application/problem+json",
		ct == "application/javascript", ct == "application/xml",
		ct == "image/svg+xml", strings.HasSuffix(ct, "+json"), strings.HasSuffix(ct, "+xml"):
		return true
	}
	return false
}

func (g *gzipWriter) WriteHeader(status int) {
	if g.wroteHeader || status < 200 {
		// Informational responses (103 Early Hints) come before the real
		// one, which decides about compression.
		g.ResponseWriter.WriteHeader(status)
		return
	}
	g.wroteHeader = true
	h := g.Header()
	small := false
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		small = err != nil || n < gzipMinSize
	}
	if status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified &&
		status != http.StatusPartialContent && h.Get("Content-Encoding") == "" && !small &&
		compressible(h.Get("Content-Type")) {
		h.Del("Content-Length")
		h.Del("Accept-Ranges")
		h.Set("Content-Encoding", "gzip")
		g.zw = gzipWriters.Get().(*gzip.Writer)
		g.zw.Reset(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(status)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.wroteHeader {
		if g.Header().Get("Content-Type") == "" {
			g.Header().Set("Content-Type", http.DetectContentType(b))
		}
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

// Flush sends what is compressed so far, then flushes the connection.
func (g *gzipWriter) Flush() { g.FlushError() }

// FlushError is Flush that reports failure, for http.ResponseController.
// Flushing before anything was written sends the headers, compression
// decided.
func (g *gzipWriter) FlushError() error {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		if err := g.zw.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Hijack lets a handler take the connection, as without Gzip.
func (g *gzipWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(g.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the underlying writer.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *gzipWriter) close() {
	if g.zw == nil {
		return
	}
	g.zw.Close()
	g.zw.Reset(io.Discard)
	gzipWriters.Put(g.zw)
	g.zw = nil
}
