package view

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// buffers hold responses while they are encoded, so that each response
// goes out with a Content-Length: the client then knows it has the whole
// response before after-response tasks start.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled keeps a rare huge response from pinning its buffer.
const maxPooled = 64 << 10

func getBuffer() *bytes.Buffer { return buffers.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		b.Reset()
		buffers.Put(b)
	}
}

// render writes a successful result: through the view's template when the
// client prefers HTML, else as JSON; nothing at all for 204 and 304.
func (h *handler[T]) render(ctx context.Context, w http.ResponseWriter, r *http.Request, v T) {
	status := h.spec.Status
	if hs, ok := any(v).(HeaderSetter); ok {
		hs.SetResponseHeaders(w.Header())
	}
	if _, empty := any(v).(noContent); empty || status == http.StatusNoContent || status == http.StatusNotModified {
		if status != http.StatusNoContent && status != http.StatusNotModified {
			w.Header().Set("Content-Length", "0")
		}
		w.WriteHeader(status)
		return
	}
	if h.tmpl != nil {
		// The same URL answers HTML or JSON: caches must keep both.
		w.Header().Add("Vary", "Accept")
	}
	buf := getBuffer()
	defer putBuffer(buf)
	contentType := "application/json"
	if h.tmpl != nil && prefersHTML(r.Header.Get("Accept")) {
		if err := h.tmpl.Execute(buf, v); err != nil {
			id := idOf(ctx, r)
			h.log(ctx, r, slog.LevelError, "view template failed", "view", h.spec.Name, "template", h.spec.Template, "err", err)
			writeProblem(w, http.StatusInternalServerError, "internal server error", id, nil)
			return
		}
		contentType = "text/html; charset=utf-8"
	} else if err := json.NewEncoder(buf).Encode(v); err != nil {
		id := idOf(ctx, r)
		h.log(ctx, r, slog.LevelError, "view result is not JSON", "view", h.spec.Name, "err", err)
		writeProblem(w, http.StatusInternalServerError, "internal server error", id, nil)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// problem is an RFC 9457 problem details object.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// writeProblem writes an application/problem+json response.
func writeProblem(w http.ResponseWriter, status int, detail, requestID string, fields []FieldError) {
	buf := getBuffer()
	defer putBuffer(buf)
	title := http.StatusText(status)
	if title == "" {
		title = "Error"
	}
	json.NewEncoder(buf).Encode(problem{
		Type:      "about:blank",
		Title:     title,
		Status:    status,
		Detail:    detail,
		RequestID: requestID,
		Errors:    fields,
	})
	hdr := w.Header()
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	hdr.Set("X-Content-Type-Options", "nosniff")
	if requestID != "" {
		hdr.Set("X-Request-ID", requestID)
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// prefersHTML reports whether an Accept header ranks text/html above
// application/json. A browser's Accept does; curl's */* and an API client's
// application/json do not, and neither does an absent header. As RFC 9110
// says, the most specific range that matches a type gives its weight.
func prefersHTML(accept string) bool {
	if accept == "" {
		return false
	}
	var html, xhtml, js weight
	for part := range strings.SplitSeq(strings.ToLower(accept), ",") {
		mediaType, params, _ := strings.Cut(part, ";")
		mediaType = strings.TrimSpace(mediaType)
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch mediaType {
		case "text/html":
			html.offer(3, q)
		case "application/xhtml+xml":
			xhtml.offer(3, q)
		case "application/json", "application/problem+json":
			js.offer(3, q)
		case "text/*":
			html.offer(2, q)
		case "application/*":
			xhtml.offer(2, q)
			js.offer(2, q)
		case "*/*":
			html.offer(1, q)
			xhtml.offer(1, q)
			js.offer(1, q)
		}
	}
	best := html
	if xhtml.q > best.q || (xhtml.q == best.q && xhtml.specificity > best.specificity) {
		best = xhtml
	}
	if best.specificity == 0 || best.q <= 0 {
		return false
	}
	return best.q > js.q || (best.q == js.q && best.specificity > js.specificity)
}

// weight is the q of a media type from the most specific range naming it.
type weight struct {
	specificity int // 0 when no range matched
	q           float64
}

func (w *weight) offer(specificity int, q float64) {
	if specificity > w.specificity {
		w.specificity, w.q = specificity, q
	}
}
