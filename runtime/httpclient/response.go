package httpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrResponseTooLarge is matched (errors.Is) by the error of a call whose
// response body is larger than the client's limit (WithMaxResponseBytes).
var ErrResponseTooLarge = errors.New("httpclient: response body too large")

// ErrTooManyRedirects is matched (errors.Is) by the error of a call that was
// redirected more often than the client allows (WithRedirects).
var ErrTooManyRedirects = errors.New("httpclient: too many redirects")

// Response is a response whose body has been read in full. A Response is not
// modified by the client once its future has resolved; treat it as read-only
// and it may be shared between goroutines.
type Response struct {
	StatusCode int         // 200
	Status     string      // "200 OK"
	Proto      string      // "HTTP/1.1"
	Header     http.Header // canonical keys
	Body       []byte      // the whole body, decompressed; empty for HEAD
	Method     string      // the request's method
	URL        *url.URL    // the URL that answered, after redirects
	// Elapsed is how long the attempt that produced this response took, from
	// handing the request to the transport (after the wait for a per-host
	// slot) to having read the body. Earlier attempts and the waits between
	// them are not included.
	Elapsed time.Duration
	// Attempts is how many attempts the call made: 1 when it was not retried.
	Attempts int

	// A response of Stream: its body, unread, and what ends the
	// attempt's context once the stream is done.
	stream  io.ReadCloser
	release context.CancelCauseFunc
	// A response of Upgrade: whether the protocol was switched, and to
	// what the handshake made of the connection.
	switched bool
	upgraded any
}

// Text returns the body as a string. It assumes UTF-8 (or ASCII), whatever
// the Content-Type's charset.
func (r *Response) Text() string { return string(r.Body) }

// JSON decodes the body into v with encoding/json. It does not look at the
// status code or the Content-Type: check Err first when an error status may
// carry a body of another shape.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("httpclient: decoding the JSON body of %s %s: %w", r.Method, redacted(r.URL), err)
	}
	return nil
}

// Err returns a *StatusError when the status code is 400 or more (4xx and
// 5xx), and nil otherwise: Python requests' raise_for_status. Match it with
// errors.As.
func (r *Response) Err() error {
	if r.StatusCode < 400 {
		return nil
	}
	snippet := r.Body[:min(len(r.Body), maxSnippet)]
	return &StatusError{
		StatusCode: r.StatusCode,
		Status:     r.Status,
		Method:     r.Method,
		URL:        redacted(r.URL),
		Body:       append([]byte(nil), snippet...),
	}
}

// maxSnippet bounds the body kept by a StatusError.
const maxSnippet = 512

// StatusError is the error Response.Err returns for a 4xx or 5xx response.
type StatusError struct {
	StatusCode int    // 404
	Status     string // "404 Not Found"
	Method     string // "GET"
	URL        string // the URL that answered, password redacted
	Body       []byte // the first bytes of the body, at most 512
}

// Error returns the method, URL, status, and the start of the body on one
// line, for example
// `httpclient: GET https://api.example.com/users/7: 404 Not Found: no such user`.
func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "httpclient: %s %s: ", e.Method, e.URL)
	if e.Status != "" {
		b.WriteString(e.Status)
	} else {
		fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if s := oneLine(e.Body, 160); s != "" {
		b.WriteString(": ")
		b.WriteString(s)
	}
	return b.String()
}

// oneLine returns the start of body as printable text on one line, at most
// n bytes of it, with "…" when cut.
func oneLine(body []byte, n int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == utf8.RuneError || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func redacted(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}

// readBody reads r to its end, but no more than limit+1 bytes (limit <= 0:
// no limit). size is the Content-Length, or -1 when unknown: when known the
// buffer is allocated once, at the right size.
func readBody(r io.Reader, limit, size int64) ([]byte, error) {
	if limit > 0 && size > limit {
		return nil, tooLarge(limit)
	}
	var b []byte
	switch {
	case size == 0:
		// Usually an empty body; if it is not, the loop below grows b.
	case size > 0 && size <= 1<<20:
		b = make([]byte, 0, size+1) // +1: room to see io.EOF without growing
	default:
		b = make([]byte, 0, 4096)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		buf := b[len(b):cap(b)]
		if limit > 0 {
			if room := limit + 1 - int64(len(b)); int64(len(buf)) > room {
				buf = buf[:room]
			}
		}
		n, err := r.Read(buf)
		b = b[:len(b)+n]
		if limit > 0 && int64(len(b)) > limit {
			return nil, tooLarge(limit)
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w: over %s", ErrResponseTooLarge, formatBytes(limit))
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
