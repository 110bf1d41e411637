package view

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofutures/futures/runtime/internal/runctx"
	"github.com/gofutures/futures/runtime/internal/streams"
	"github.com/gofutures/futures/runtime/taskloop"
)

// DefaultHeartbeat is the heartbeat interval of an event stream whose
// view sets none: comment lines at this interval keep proxies, which close
// connections silent for a minute or so, from closing the stream.
const DefaultHeartbeat = 15 * time.Second

// defaultStreamWriteTimeout bounds one write of an event stream when the
// server has not said its WriteTimeout (a server of your own): a client
// that reads nothing for this long is cut off.
const defaultStreamWriteTimeout = 60 * time.Second

// HandleStream registers on mux, at spec.Pattern, the handler of a view
// whose result is a sequence of values, served as server-sent events
// (text/event-stream): each value as one event, its data the value's JSON
// on one line and its id the event's number, written and flushed as soon
// as the sequence yields it. fn binds the request and calls the user's
// function; the error it returns (a binding problem, the function
// refusing the request) is answered like a view's, with a status.
//
// Once fn has returned a sequence the response is 200 and the stream
// runs until the sequence ends, which the stream marks with an event
// named "end" (so that a browser's EventSource, which reconnects when a
// stream just stops, can close instead); until the sequence yields an
// error, which ends the stream with an event named "error" whose data is
// the problem JSON a view would answer (no internal text: a 500 says
// "internal server error" and a request ID); until the client goes away;
// or until the server shuts down. In the last two cases the context the
// function got is cancelled and the sequence's next yield returns false,
// so that its deferred cleanup runs; a sequence that blocks without
// watching its context keeps the handler until it yields.
//
// The event numbers start at 1, or after the request's Last-Event-ID when
// it is a number, as a browser sends it when it reconnects: a view that
// binds header:"Last-Event-ID" and resumes after that event keeps the
// numbers of the events the same across reconnects.
//
// spec.Timeout bounds the time to the first event, not the stream:
// without an event by then, the context is cancelled and the stream ends
// with an error event for status 504. While no event is due, a comment
// line goes out every spec.Heartbeat. Each write may take as long as the
// server's WriteTimeout (server.Run), counted from the write, so that the
// server's WriteTimeout does not cut a long stream. After-response tasks (Later) run when the stream ends.
// Responses to HEAD have the headers and no events.
func HandleStream[T any](mux *http.ServeMux, c *Config, spec *Spec, fn func(ctx context.Context, r *http.Request) (iter.Seq2[T, error], error)) error {
	h := &streamHandler[T]{core: core{c: c, spec: *spec}, fn: fn}
	if h.spec.MaxBody <= 0 {
		h.spec.MaxBody = DefaultMaxBody
	}
	h.limits = resolveLimits(jsonLimits{depth: spec.MaxDepth, values: spec.MaxValues}, c.limits)
	if h.spec.Heartbeat <= 0 {
		h.spec.Heartbeat = DefaultHeartbeat
	}
	if spec.Template != "" {
		return fmt.Errorf("view %s streams events; it has no result to render with %s", spec.Name, spec.Template)
	}
	if err := h.parseErrorTemplate(); err != nil {
		return err
	}
	return handle(mux, spec, h)
}

type streamHandler[T any] struct {
	core
	limits jsonLimits
	fn     func(context.Context, *http.Request) (iter.Seq2[T, error], error)
}

// streamState is one stream's context and what ended it.
type streamState struct {
	runctx.Context
	// first is waiting until the first event or the timeout, whichever
	// comes first, moves it on to lifted or timedOut.
	first   atomic.Int32
	stopped atomic.Bool // the server is shutting down
}

const (
	waiting int32 = iota
	lifted
	timedOut
)

func (st *streamState) timedOut() bool { return st.first.Load() == timedOut }

func (h *streamHandler[T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scopeCtx, scope := taskloop.NewScope(r.Context())
	scope.SetRequest(r)
	st := &streamState{}
	// A context of our own rather than context.WithTimeout: the timeout
	// is lifted at the first event, and the server's shutdown cancels it.
	st.Init(scopeCtx, r.Context())
	defer st.Cancel(context.Canceled)
	ctx := context.Context(&st.Context)
	set := streams.From(r.Context())
	if set != nil {
		stop := context.AfterFunc(set.Stopping(), func() {
			st.stopped.Store(true)
			st.Cancel(context.Canceled)
		})
		defer stop()
	}
	var deadline *time.Timer
	if h.spec.Timeout > 0 {
		deadline = time.AfterFunc(h.spec.Timeout, func() {
			if st.first.CompareAndSwap(waiting, timedOut) {
				st.Cancel(context.DeadlineExceeded)
			}
		})
		defer deadline.Stop()
	}

	ew := &eventWriter{w: w, rc: http.NewResponseController(w), writeTimeout: defaultStreamWriteTimeout, heartbeat: h.spec.Heartbeat}
	if set != nil && set.WriteTimeout() > 0 {
		ew.writeTimeout = set.WriteTimeout()
	}
	done := false
	defer func() {
		defer ew.close()
		if done {
			return
		}
		p := recover()
		scope.Abort(taskloop.ErrScopeAborted)
		if p == nil {
			return // runtime.Goexit
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
		id := idOf(ctx, r)
		h.c.logger.Error("view panicked", "view", h.spec.Name, "request_id", id, "panic", p, "stack", string(debug.Stack()))
		if !ew.started {
			h.problem(w, r, http.StatusInternalServerError, "internal server error", id, nil)
			return
		}
		ew.event("error", problemJSON(http.StatusInternalServerError, "internal server error", id))
	}()

	seq, err := h.open(ctx, w, r)
	if err != nil || seq == nil {
		if st.Err() != nil {
			scope.CancelTasks()
		}
		if err == nil {
			err = errors.New("the view returned a nil sequence")
		}
		h.fail(ctx, w, r, err)
		done = true
		scope.Close()
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	hdr.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		done = true
		scope.Close()
		return
	}
	ew.start()

	id := firstEventID(r)
	ended := false // by an error event
	for v, err := range seq {
		if !st.first.CompareAndSwap(waiting, lifted) && st.timedOut() {
			break // the value came too late: the 504 below
		}
		if st.Err() != nil {
			break // the client went away or the server is stopping
		}
		if err != nil {
			ended = h.errorEvent(ctx, ew, r, st, err)
			break
		}
		data, err := json.Marshal(v)
		if err != nil {
			rid := idOf(ctx, r)
			h.c.logger.Error("stream value is not JSON", "view", h.spec.Name, "request_id", rid, "err", err)
			ended = ew.event("error", problemJSON(http.StatusInternalServerError, "internal server error", rid))
			break
		}
		if ew.data(id, data) != nil {
			break // the client went away
		}
		id++
	}
	switch {
	case ended, ew.failed(), st.stopped.Load(), r.Context().Err() != nil:
		// Nothing more to say, or nobody to say it to. A stream cut by
		// the shutdown has no end event: the client reconnects, to this
		// server's successor.
	case st.timedOut():
		rid := idOf(ctx, r)
		h.c.logger.Warn("view timed out before its first event", "view", h.spec.Name, "timeout", h.spec.Timeout, "request_id", rid)
		ew.event("error", problemJSON(http.StatusGatewayTimeout, "the request took too long", rid))
	default:
		ew.event("end", nil)
	}
	if st.Err() != nil {
		scope.CancelTasks()
	}
	done = true
	ew.close()
	scope.Close()
}

// open binds the request and calls the view's function, with its body
// limited and reserved in the server's body budget while it reads it:
// the stream that follows may last hours and holds no body.
func (h *streamHandler[T]) open(ctx context.Context, w http.ResponseWriter, r *http.Request) (iter.Seq2[T, error], error) {
	if h.spec.ReadsBody && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > h.spec.MaxBody {
			w.Header().Set("Connection", "close")
			return nil, &BindError{Status: http.StatusRequestEntityTooLarge, Limit: h.spec.MaxBody}
		}
		body := newRequestBody(ctx, w, r, h.spec.MaxBody, h.limits)
		defer body.release()
		r.Body = body
	}
	return h.fn(ctx, r)
}

// errorEvent ends the stream for the error the sequence yielded, and
// reports whether it wrote an event.
func (h *streamHandler[T]) errorEvent(ctx context.Context, ew *eventWriter, r *http.Request, st *streamState, err error) bool {
	if sc, ok := errors.AsType[StatusCoder](err); ok {
		status := sc.StatusCode()
		detail := http.StatusText(status)
		if pub, ok := errors.AsType[PublicError](err); ok {
			detail = pub.PublicMessage()
		}
		if status < 400 || status > 599 {
			status, detail = http.StatusInternalServerError, "internal server error"
		}
		id := ""
		if status >= 500 {
			id = idOf(ctx, r)
			h.c.logger.Error("stream failed", "view", h.spec.Name, "status", status, "request_id", id, "err", err)
		} else {
			h.c.logger.Debug("stream refused", "view", h.spec.Name, "status", status, "err", err)
		}
		return ew.event("error", problemJSON(status, detail, id))
	}
	switch {
	case st.stopped.Load() || r.Context().Err() != nil:
		h.c.logger.Debug("stream ended with its request", "view", h.spec.Name, "err", err)
		return false
	case st.timedOut() || errors.Is(err, context.DeadlineExceeded):
		id := idOf(ctx, r)
		h.c.logger.Warn("stream timed out", "view", h.spec.Name, "timeout", h.spec.Timeout, "request_id", id, "err", err)
		return ew.event("error", problemJSON(http.StatusGatewayTimeout, "the request took too long", id))
	}
	id := idOf(ctx, r)
	h.c.logger.Error("stream failed", "view", h.spec.Name, "request_id", id, "err", err)
	return ew.event("error", problemJSON(http.StatusInternalServerError, "internal server error", id))
}

// firstEventID is the number of a stream's first event: 1, or the one
// after the request's Last-Event-ID when that is a number.
func firstEventID(r *http.Request) uint64 {
	if n, err := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64); err == nil && n < 1<<63 {
		return n + 1
	}
	return 1
}

// problemJSON is the problem object for an error event's data, on one
// line.
func problemJSON(status int, detail, requestID string) []byte {
	title := http.StatusText(status)
	if title == "" {
		title = "Error"
	}
	b, _ := json.Marshal(problem{Type: "about:blank", Title: title, Status: status, Detail: detail, RequestID: requestID})
	return b
}

// eventWriter writes one stream's events and heartbeats: the handler
// writes events, a timer heartbeats, so writes take a lock. Each write
// gets its own write deadline and is flushed at once.
type eventWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	writeTimeout time.Duration
	heartbeat    time.Duration

	mu      sync.Mutex
	started bool // the headers are out
	closed  bool
	err     error     // the first failed write: the client is gone
	last    time.Time // of the last write
	timer   *time.Timer
	buf     []byte
}

// start flushes the headers and starts the heartbeat.
func (e *eventWriter) start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.started = true
	e.flushLocked()
	e.timer = time.AfterFunc(e.heartbeat, e.beat)
}

// beat writes a heartbeat comment if nothing was written for an interval.
func (e *eventWriter) beat() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.err != nil {
		return
	}
	next := e.heartbeat - time.Since(e.last)
	if next <= 0 {
		e.writeLocked([]byte(": heartbeat\n\n"))
		next = e.heartbeat
	}
	e.timer.Reset(next)
}

// data writes an event of data with id.
func (e *eventWriter) data(id uint64, data []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	b := append(e.buf[:0], "id: "...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	e.buf = b
	e.writeLocked(b)
	if cap(e.buf) > 64<<10 {
		e.buf = nil // a rare huge event does not stay pinned
	}
	return e.err
}

// event writes an event named name, and reports whether it went out.
func (e *eventWriter) event(name string, data []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started {
		return false
	}
	b := make([]byte, 0, len(name)+len(data)+20)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata:"...)
	if len(data) > 0 {
		b = append(b, ' ')
		b = append(b, data...)
	}
	b = append(b, "\n\n"...)
	e.writeLocked(b)
	return e.err == nil
}

func (e *eventWriter) writeLocked(b []byte) {
	if e.closed || e.err != nil {
		return
	}
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.writeTimeout))
	if _, err := e.w.Write(b); err != nil {
		e.err = err
		return
	}
	e.flushLocked()
}

func (e *eventWriter) flushLocked() {
	if err := e.rc.Flush(); err != nil && e.err == nil {
		e.err = err
	}
	e.last = time.Now()
}

func (e *eventWriter) failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err != nil
}

// close stops the heartbeat; nothing is written after it.
func (e *eventWriter) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.timer != nil {
		e.timer.Stop()
	}
}
