package httpclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"unicode/utf8"
)

// Stream sends the request r of a view that streams server-sent events
// (a //futures:view whose result is iter.Seq2[T, error], served by
// view.HandleStream) with c, and returns the sequence of the values of
// its events, each decoded from its event's JSON data into T, in the
// order the server sent them. Generated clients return it from the
// methods of such views.
//
// Nothing is sent until the sequence is ranged over; each range sends the
// request anew, in the goroutine that ranges (Stream starts no goroutine
// of its own). The request asks for text/event-stream and is sent as Send
// sends it: the client's base URL and headers, the call's options, and
// the client's retries before a stream has begun (a 503 of a GET is
// retried, a stream that has begun is never sent again). The client's
// timeout (WithTimeout, Timeout) bounds the wait for the response's
// header, not the stream, which lasts until the server ends it, ctx ends
// or the loop stops; the per-host limit (WithMaxConcurrentPerHost) is
// held until the header too, so that long streams do not starve other
// calls. Each event may be as large as the client's response limit
// (WithMaxResponseBytes).
//
// An error is always the last pair, with T's zero value; the sequence
// ends after it:
//
//   - the view refused the request before streaming (a 400 for its
//     values, a 404 of its own…): the *Problem of its response, as Send
//     reports it, or a *StatusError; a *ParamError before sending; the
//     client's errors when no response came (see Client.Get);
//   - the view's sequence yielded an error: the server ends the stream
//     with an "error" event, reported as a *Problem whose Status is the
//     event's (view.Error's status; 500 with a request ID for other
//     errors; 504 when the view's timeout passed before its first
//     event), although the response itself was a 200;
//   - the stream broke, or ctx ended, or an event's data did not decode
//     into T: a *StreamError, which has the ID of the last event received
//     and unwraps to the cause (io.ErrUnexpectedEOF when the connection
//     closed without the server's "end" event, as when the server shuts
//     down; ctx's error; encoding/json's).
//
// A sequence the view ended itself (its "end" event) just ends, with no
// error. Breaking out of the loop closes the response's body, and with it
// the connection, which the server sees as the client gone away: the
// view's context is cancelled.
//
// The sequence does not reconnect on its own: an event stream's view may
// not resume where it stopped, and a view that does not would send its
// events again. A view that binds the Last-Event-ID header (the event
// numbers, which view.HandleStream continues after it) can be resumed by
// calling it again with the request's Last-Event-ID field set to the
// StreamError's LastEventID.
//
// Comments (the server's heartbeats), events of other names and the
// retry field are ignored. The stream is read as the WHATWG HTML
// standard's EventSource parses it (lines ended by CRLF, LF or CR, a
// byte order mark at the start, fields with and without a value, data of
// several lines joined by line feeds, an unfinished event at the end
// discarded).
func Stream[T any](ctx context.Context, c *Client, r *Request, opts ...CallOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		req, err := r.build(c, "text/event-stream")
		if err != nil {
			yield(zero, err)
			return
		}
		// As an EventSource asks: no cached copy of a stream.
		req.Header["Cache-Control"] = []string{"no-cache"}
		cl := c.newCall(req, callOptions(opts), false)
		cl.stream = true
		resp, err := cl.run(ctx)
		if err != nil {
			yield(zero, err)
			return
		}
		if resp.stream == nil {
			if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
				yield(zero, fmt.Errorf("httpclient: %s %s: %s: the response is %q, not an event stream",
					resp.Method, redacted(resp.URL), resp.Status, resp.Header.Get("Content-Type")))
				return
			}
			yield(zero, responseError(resp))
			return
		}
		defer resp.release(nil)
		defer resp.stream.Close()

		er := newEventReader(resp.stream, c.maxBytes)
		fail := func(err error) {
			if ctx.Err() != nil {
				err = ctx.Err() // the read failed because the call ended
			}
			yield(zero, &StreamError{Method: resp.Method, URL: redacted(resp.URL), LastEventID: er.lastID, Err: err})
		}
		for {
			ev, err := er.next()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				fail(err)
				return
			}
			switch ev.name {
			case "message":
				var v T
				if err := json.Unmarshal(ev.data, &v); err != nil {
					fail(fmt.Errorf("decoding the data of event %q: %w", er.lastID, err))
					return
				}
				if !yield(v, nil) {
					return
				}
			case "error":
				yield(zero, eventProblem(resp, ev.data))
				return
			case "end":
				return
			}
		}
	}
}

// StreamError is the error that ends a Stream that broke: the connection
// closed without the server's "end" event, a read failed, the call's
// context ended, or an event's data did not decode. It unwraps to the
// cause.
type StreamError struct {
	Method string // the request's method
	URL    string // the URL that answered, password redacted
	// LastEventID is the id of the last event received (the last id
	// field, as an EventSource keeps it), "" when there was none: the
	// Last-Event-ID to resume after it.
	LastEventID string
	Err         error
}

func (e *StreamError) Error() string {
	after := "before the first event id"
	if e.LastEventID != "" {
		after = fmt.Sprintf("after event %q", e.LastEventID)
	}
	return fmt.Sprintf("httpclient: the event stream of %s %s ended %s: %v", e.Method, e.URL, after, e.Err)
}

func (e *StreamError) Unwrap() error { return e.Err }

// eventProblem is the *Problem of an error event's data: the problem JSON
// that view.HandleStream writes. Its status is the problem's own (the
// response was a 200), which is 500 when it has none that an error may
// have.
func eventProblem(resp *Response, data []byte) error {
	p := new(Problem)
	if err := json.Unmarshal(data, p); err != nil {
		return &StreamError{Method: resp.Method, URL: redacted(resp.URL),
			Err: fmt.Errorf("an error event whose data is not a problem (%w): %s", err, oneLine(data, 160))}
	}
	if p.Status < 400 || p.Status > 599 {
		p.Status = http.StatusInternalServerError
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	p.Header = resp.Header
	p.status = &StatusError{
		StatusCode: p.Status,
		Status:     fmt.Sprintf("%d %s", p.Status, http.StatusText(p.Status)),
		Method:     resp.Method,
		URL:        redacted(resp.URL),
		Body:       append([]byte(nil), data[:min(len(data), maxSnippet)]...),
	}
	return p
}

// isEventStream reports whether a Content-Type is text/event-stream.
func isEventStream(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "text/event-stream"
}

// event is one event of an event stream, as an EventSource dispatches it.
type event struct {
	name string // "message" when the stream named none
	data []byte // the data lines, joined by line feeds
}

// eventReader parses an event stream as the WHATWG HTML standard says an
// EventSource does (9.2.6, "Interpreting an event stream"), but for the
// reconnection time, which Stream has no use for.
type eventReader struct {
	r     *bufio.Reader
	max   int64 // the longest line and the most data of one event; <= 0: no limit
	first bool  // no line read yet: a byte order mark may start it
	cr    bool  // the last line ended with CR: an LF next belongs to it

	line   []byte
	data   []byte // the data buffer
	name   []byte // the event type buffer
	idBuf  string // the last event ID buffer
	lastID string // the last event ID string
}

func newEventReader(r io.Reader, limit int64) *eventReader {
	return &eventReader{r: bufio.NewReader(r), max: limit, first: true}
}

// tooLarge is the error of a line or an event over the limit.
func (er *eventReader) tooLarge() error {
	return fmt.Errorf("%w: an event over %s", ErrResponseTooLarge, formatBytes(er.max))
}

// next returns the next event dispatched, or the error that ended the
// stream (io.EOF at its end; an unfinished event is discarded).
func (er *eventReader) next() (event, error) {
	for {
		line, err := er.readLine()
		if err != nil {
			return event{}, err
		}
		if len(line) == 0 {
			if ev, ok := er.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // a comment
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			er.name = append(er.name[:0], value...)
		case "data":
			if er.max > 0 && int64(len(er.data)+len(value)+1) > er.max {
				return event{}, er.tooLarge()
			}
			er.data = append(er.data, value...)
			er.data = append(er.data, '\n')
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				er.idBuf = string(value)
			}
		}
		// retry, and fields of other names, are ignored.
	}
}

// dispatch ends the event being read: it returns it unless it has no
// data, and resets the buffers.
func (er *eventReader) dispatch() (event, bool) {
	er.lastID = er.idBuf
	if len(er.data) == 0 {
		er.name = er.name[:0]
		return event{}, false
	}
	ev := event{name: "message", data: bytes.Clone(er.data[:len(er.data)-1])}
	if len(er.name) > 0 {
		ev.name = string(er.name)
	}
	er.data, er.name = er.data[:0], er.name[:0]
	return ev, true
}

// readLine returns the next line without its end (CRLF, LF or CR), valid
// UTF-8 (the stream's bytes decoded as UTF-8, each bad byte a U+FFFD), the
// byte order mark that may start the stream removed. The line is valid
// until the next call. A line that the stream's end cuts short is not
// returned: the error is io.EOF.
func (er *eventReader) readLine() ([]byte, error) {
	er.line = er.line[:0]
	for {
		if er.r.Buffered() == 0 {
			if _, err := er.r.Peek(1); err != nil {
				return nil, err
			}
		}
		buf, _ := er.r.Peek(er.r.Buffered())
		if er.cr {
			// The LF of a CRLF may come in a read of its own: the CR
			// ended the line already, and must not end it twice.
			er.cr = false
			if buf[0] == '\n' {
				er.r.Discard(1)
				continue
			}
		}
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		if er.max > 0 && int64(len(er.line)+n) > er.max {
			return nil, er.tooLarge()
		}
		er.line = append(er.line, buf[:n]...)
		if i < 0 {
			er.r.Discard(n)
			continue
		}
		er.cr = buf[i] == '\r'
		er.r.Discard(i + 1)
		break
	}
	line := er.line
	if er.first {
		er.first = false
		line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	}
	if !utf8.Valid(line) {
		line = decodeUTF8(line)
	}
	return line, nil
}

// decodeUTF8 decodes b as the WHATWG Encoding standard's UTF-8 decoder
// does: each maximal subpart of an invalid sequence (the bytes that
// begin one well, up to the byte that breaks it) becomes one U+FFFD, and
// the byte that broke it is decoded anew. (utf8.DecodeRune and
// bytes.ToValidUTF8 count bad bytes otherwise.)
func decodeUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		need, lower, upper := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need = 1
		case c >= 0xE0 && c <= 0xEF:
			need = 2
			if c == 0xE0 {
				lower = 0xA0
			} else if c == 0xED {
				upper = 0x9F // no surrogates
			}
		case c >= 0xF0 && c <= 0xF4:
			need = 3
			if c == 0xF0 {
				lower = 0x90
			} else if c == 0xF4 {
				upper = 0x8F // nothing past U+10FFFF
			}
		default:
			out = utf8.AppendRune(out, utf8.RuneError)
			i++
			continue
		}
		j := i + 1
		for ; need > 0; need-- {
			if j >= len(b) || b[j] < lower || b[j] > upper {
				break
			}
			lower, upper = 0x80, 0xBF
			j++
		}
		if need > 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:j]...)
		}
		i = j
	}
	return out
}
