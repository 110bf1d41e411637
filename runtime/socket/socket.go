// Package socket serves WebSockets from plain Go functions: what the
// handlers that futuresgen writes for //futures:socket functions call. The
// protocol is github.com/coder/websocket's; this package adds what a view
// has: binding before the upgrade (a bad request is a 400 problem, never a
// socket), typed messages, limits, a request scope, panic recovery, error
// mapping, and the server's shutdown.
//
// A socket function
//
//	//futures:socket GET /rooms/{room}
//	func Chat(ctx context.Context, req ChatRequest, conn *socket.Conn[In, Out]) error
//
// runs once per connection, in the connection's own goroutine, for as
// long as the socket is open. It receives with conn.Receive and sends with
// conn.Send (from any goroutine). Its return closes the socket, with the
// close code its error chooses:
//
//   - nil: 1000 (normal closure);
//   - an error with a StatusCode() int method (view.Error, view.Wrap):
//     4000 plus the status (4404, 4409, 4500…), with the error's public
//     message (view.PublicError) or the status's text as the reason;
//   - any other error, or a panic: 1011 (internal error) with the reason
//     "internal error" and a request ID; the error, or the panic and its
//     stack, go to the log with that ID.
//
// When the client closes the socket, or its connection breaks, or it does
// not answer the pings that keep the socket alive, ctx is cancelled and
// Receive and Send fail with an error that matches ErrClosed; when the
// server shuts down, the socket is closed with 1001 (going away) and ctx
// is cancelled. Tasks the function schedules with Later (the generated
// FLater) run when the socket has closed.
//
// # Before the upgrade
//
// A request is answered, before it becomes a socket, with problem JSON as
// a view answers: 426 when it is not a WebSocket handshake; 403 when its
// Origin is another site's (a browser on another site could otherwise
// open the socket with the user's cookies) and not allowed by
// Spec.Origins; 503 with Retry-After when the server has Config.MaxSockets
// sockets open already (server.Run), or is shutting down; 400 when the
// request's values do not bind.
//
// # For generated code
//
// The handlers and registration functions that futuresgen writes use only
// these names of this package, a contract with generated code like
// runtime/view's: [Spec], with [Spec.Name], [Spec.Pattern],
// [Spec.MaxMessage], [Spec.Origins], [Spec.Messages] and [Spec.Ping];
// [Text] and [Binary]; [Conn]; and [Handle].
package socket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/gofutures/futures/runtime/internal/runctx"
	"github.com/gofutures/futures/runtime/internal/streams"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// DefaultMaxMessage is the size limit of one message a socket receives
// when its Spec sets none: 64 KiB. A larger message closes the socket
// with 1009 (message too big).
const DefaultMaxMessage = 64 << 10

// DefaultPing is the keepalive interval of a socket whose Spec sets none:
// the server pings the client after this long without a ping, and closes
// the socket when no pong comes within another interval. Proxies close
// WebSockets that are silent for a minute or so.
const DefaultPing = 30 * time.Second

// Messages says how a socket's messages encode its values.
type Messages int

const (
	// JSON messages (the default): each value is one text message of
	// its JSON; a received message is decoded into In, and one that does
	// not decode makes Receive fail with a *MessageError.
	JSON Messages = iota
	// Text messages: In and Out are string or []byte, sent as text
	// messages as they are.
	Text
	// Binary messages: In and Out are []byte or string, sent as binary
	// messages as they are.
	Binary
)

// Spec describes one socket. Generated code keeps one per socket in a
// package variable; Handle reads it once.
type Spec struct {
	// Name identifies the socket in logs: importpath.Func by default.
	Name string
	// Pattern is the ServeMux pattern, method included: "GET /chat".
	Pattern string
	// MaxMessage limits the size of a received message; 0 means
	// DefaultMaxMessage.
	MaxMessage int64
	// Origins lists the other origins whose pages may open the socket,
	// as host patterns ("app.example.com", "*.example.com") or, with a
	// scheme, origin patterns ("https://*.example.com"), matched with
	// path.Match. The request's own host is always allowed, and so are
	// clients that send no Origin (programs rather than browsers).
	Origins []string
	// Messages is the encoding of messages; the zero value is JSON.
	Messages Messages
	// Ping is the keepalive interval; 0 means DefaultPing.
	Ping time.Duration
}

// ErrClosed matches the errors of Receive and Send once the socket is
// closed, by either side or by a broken connection: errors.Is(err,
// socket.ErrClosed). A *CloseError says more when the client sent a close
// code.
var ErrClosed = errors.New("socket: closed")

// CloseError is the error of Receive and Send after the client closed the
// socket with a close frame. It matches ErrClosed.
type CloseError struct {
	Code   int    // 1000 normal, 1001 going away (a page closed)…
	Reason string // the client's text, maybe empty
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("socket: closed by the client with %d", e.Code)
	}
	return fmt.Sprintf("socket: closed by the client with %d %q", e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrClosed) true.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// MessageError is the error of Receive for a message that does not decode
// into In. The socket stays open: the function decides. Returned from the
// function, it closes the socket with 4400 and its public message.
type MessageError struct {
	Err error // encoding/json's
}

func (e *MessageError) Error() string         { return "socket: bad message: " + e.Err.Error() }
func (e *MessageError) Unwrap() error         { return e.Err }
func (e *MessageError) StatusCode() int       { return http.StatusBadRequest }
func (e *MessageError) PublicMessage() string { return "a message was not valid JSON for this socket" }

// Conn is one open socket, as its function sees it: it receives In values
// and sends Out values. Receive may be called from one goroutine at a
// time; Send from any number at once, and concurrently with Receive.
type Conn[In, Out any] struct {
	ws   *websocket.Conn
	mode Messages

	in       chan received // hands a read message to Receive
	stop     chan struct{} // closed when the function has returned
	readDone chan struct{} // closed when the reader has stopped
	readErr  error         // why it stopped, once readDone is closed
	waiting  atomic.Bool   // the reader holds a message nobody receives yet
	onClosed func()        // cancels the function's context
	// Send needs no lock of its own: websocket.Conn.Write may be called
	// concurrently, one whole message at a time.
}

type received struct {
	typ  websocket.MessageType
	data []byte
}

// Receive waits for the next message and decodes it, until ctx ends or
// the socket closes (an error that matches ErrClosed). A message that does
// not decode fails with a *MessageError, and the next Receive goes on.
func (c *Conn[In, Out]) Receive(ctx context.Context) (In, error) {
	var v In
	select {
	case m := <-c.in:
		return v, c.decode(m, &v)
	case <-c.readDone:
		// A message handed over just before the end is still Receive's.
		select {
		case m := <-c.in:
			return v, c.decode(m, &v)
		default:
		}
		return v, c.closedErr()
	case <-ctx.Done():
		select {
		case <-c.readDone:
			return v, c.closedErr() // the socket's end cancelled ctx
		default:
		}
		return v, ctx.Err()
	}
}

func (c *Conn[In, Out]) decode(m received, v *In) error {
	switch p := any(v).(type) {
	case *string:
		if c.mode != JSON {
			*p = string(m.data)
			return nil
		}
	case *[]byte:
		if c.mode != JSON {
			*p = m.data
			return nil
		}
	}
	if c.mode != JSON {
		return fmt.Errorf("socket: %v messages need In to be string or []byte, not %T", c.mode, *v)
	}
	if err := json.Unmarshal(m.data, v); err != nil {
		return &MessageError{Err: err}
	}
	return nil
}

// Send sends v as one message. It blocks until the message is written or
// ctx ends; a ctx that ends in the middle of a message closes the socket
// (a half-written message cannot be taken back). It fails with an error
// that matches ErrClosed once the socket is closed.
func (c *Conn[In, Out]) Send(ctx context.Context, v Out) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-c.readDone:
		return c.closedErr()
	default:
	}
	typ := websocket.MessageText
	var data []byte
	raw := true
	switch x := any(v).(type) {
	case string:
		data = []byte(x)
	case []byte:
		data = x
	default:
		raw = false
	}
	switch {
	case c.mode == JSON:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("socket: encoding a message: %w", err)
		}
		data = b
	case !raw:
		return fmt.Errorf("socket: %v messages need Out to be string or []byte, not %T", c.mode, v)
	case c.mode == Binary:
		typ = websocket.MessageBinary
	}
	if err := c.ws.Write(ctx, typ, data); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-c.readDone:
			return c.closedErr()
		default:
		}
		return fmt.Errorf("%w: sending: %w", ErrClosed, err)
	}
	return nil
}

func (c *Conn[In, Out]) closedErr() error {
	var ce websocket.CloseError
	if errors.As(c.readErr, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return fmt.Errorf("%w: %w", ErrClosed, c.readErr)
}

// readLoop reads the socket for as long as it is open, so that pings,
// pongs and the client's close are handled whenever they come, and hands
// each message to Receive.
func (c *Conn[In, Out]) readLoop() {
	// readDone first: a Receive that sees the context end then finds
	// the socket closed, and says so.
	defer c.onClosed()
	defer close(c.readDone)
	for {
		// Never a context that ends: coder/websocket closes the
		// connection when a read's context ends.
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.readErr = err
			// A read that fails leaves nothing to talk to (coder/websocket
			// has answered a close frame already).
			c.ws.CloseNow()
			return
		}
		c.waiting.Store(true)
		select {
		case c.in <- received{typ, data}:
			c.waiting.Store(false)
		case <-c.stop:
			c.readErr = errFunctionReturned
			return
		}
	}
}

// errFunctionReturned is the reader's error when the function has returned.
var errFunctionReturned = errors.New("the socket's function returned")

func (m Messages) String() string {
	switch m {
	case JSON:
		return "JSON"
	case Text:
		return "text"
	case Binary:
		return "binary"
	}
	return fmt.Sprintf("Messages(%d)", int(m))
}

// Handle registers on mux, at spec.Pattern, the handler of a socket whose
// generated function bind binds the request and returns the function to
// run on the socket (the user's, with the bound request), or the binding
// problems, which are answered with a 400 before any upgrade. A pattern
// that conflicts with one registered before fails with a
// *view.ConflictError.
func Handle[In, Out any](mux *http.ServeMux, c *view.Config, spec *Spec, bind func(ctx context.Context, r *http.Request) (func(ctx context.Context, conn *Conn[In, Out]) error, error)) error {
	h := &handler[In, Out]{c: c, spec: *spec, bind: bind}
	if h.spec.MaxMessage <= 0 {
		h.spec.MaxMessage = DefaultMaxMessage
	}
	if h.spec.Ping <= 0 {
		h.spec.Ping = DefaultPing
	}
	for _, p := range spec.Origins {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("socket %s: origin pattern %q: %w", spec.Name, p, err)
		}
	}
	return view.HandleHTTP(mux, spec.Name, spec.Pattern, h)
}

type handler[In, Out any] struct {
	c    *view.Config
	spec Spec
	bind func(context.Context, *http.Request) (func(context.Context, *Conn[In, Out]) error, error)
}

// errPanicked stands for a panic in the close code and the log.
var errPanicked = errors.New("socket function panicked")

func (h *handler[In, Out]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		h.c.WriteError(w, r, h.spec.Name, view.Error(http.StatusUpgradeRequired, "this address is a WebSocket: open it with a WebSocket client"))
		return
	}
	if !originAllowed(r, h.spec.Origins) {
		h.c.Logger().Debug("socket refused a cross-origin request", "socket", h.spec.Name, "origin", r.Header.Get("Origin"), "host", r.Host)
		h.c.WriteError(w, r, h.spec.Name, view.Error(http.StatusForbidden, "pages of another origin may not open this socket"))
		return
	}

	ctx0, scope := taskloop.NewScope(r.Context())
	scope.SetRequest(r)
	fctx := &runctx.Context{}
	fctx.Init(ctx0, r.Context())
	defer fctx.Cancel(context.Canceled)

	var ws atomic.Pointer[websocket.Conn]
	set := streams.From(r.Context())
	var slot *streams.Socket
	if set != nil {
		slot = set.AddSocket(func() {
			fctx.Cancel(context.Canceled)
			if c := ws.Load(); c != nil {
				c.CloseNow()
			}
		})
		if slot == nil {
			w.Header().Set("Retry-After", "1")
			h.c.WriteError(w, r, h.spec.Name, view.Error(http.StatusServiceUnavailable, "the server has too many sockets open; retry later"))
			scope.Close()
			return
		}
		defer slot.Done()
	}

	run, err := h.bind(fctx, r)
	if err != nil {
		h.c.WriteError(w, r, h.spec.Name, err)
		scope.Close()
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.spec.Origins})
	if err != nil {
		// Accept has answered.
		h.c.Logger().Debug("socket handshake failed", "socket", h.spec.Name, "err", err)
		scope.Close()
		return
	}
	conn.SetReadLimit(h.spec.MaxMessage)
	ws.Store(conn)
	c := &Conn[In, Out]{
		ws:       conn,
		mode:     h.spec.Messages,
		in:       make(chan received),
		stop:     make(chan struct{}),
		readDone: make(chan struct{}),
		onClosed: func() { fctx.Cancel(context.Canceled) },
	}
	go c.readLoop()
	p := newPinger(conn, h.spec.Ping, &c.waiting)
	if set != nil {
		stop := context.AfterFunc(set.Stopping(), func() {
			fctx.Cancel(context.Canceled)
			conn.Close(websocket.StatusGoingAway, "the server is shutting down")
		})
		defer stop()
	}

	err = h.call(run, fctx, c)
	close(c.stop)
	p.stop()
	code, reason := h.closeCode(fctx, err)
	if err != nil && errors.Is(err, errPanicked) {
		scope.Abort(taskloop.ErrScopeAborted)
	}
	conn.Close(code, reason)
	<-c.readDone
	p.wait()
	scope.Close()
}

// call runs the socket's function, turning a panic into errPanicked
// after logging it.
func (h *handler[In, Out]) call(run func(context.Context, *Conn[In, Out]) error, ctx context.Context, c *Conn[In, Out]) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.c.Logger().Error("socket panicked", "socket", h.spec.Name, "request_id", taskloop.RequestID(ctx), "panic", p, "stack", string(debug.Stack()))
			err = errPanicked
		}
	}()
	return run(ctx, c)
}

// closeCode is the close code and reason for the function's error.
func (h *handler[In, Out]) closeCode(ctx context.Context, err error) (websocket.StatusCode, string) {
	if err == nil {
		return websocket.StatusNormalClosure, ""
	}
	if sc, ok := errors.AsType[view.StatusCoder](err); ok {
		status := sc.StatusCode()
		if status >= 400 && status <= 599 {
			reason := http.StatusText(status)
			if pub, ok := errors.AsType[view.PublicError](err); ok {
				reason = pub.PublicMessage()
			}
			h.c.Logger().Debug("socket closed with an error status", "socket", h.spec.Name, "status", status, "err", err)
			return websocket.StatusCode(4000 + status), truncate(reason, 123)
		}
	}
	if ctx.Err() != nil && (errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled)) {
		// The client left, or the server or the request's context ended
		// the socket: the function only says so. (At shutdown the 1001
		// is on its way already.)
		return websocket.StatusGoingAway, ""
	}
	id := taskloop.RequestID(ctx)
	if !errors.Is(err, errPanicked) {
		h.c.Logger().Error("socket failed", "socket", h.spec.Name, "request_id", id, "err", err)
	}
	return websocket.StatusInternalError, truncate("internal error; request "+id, 123)
}

// truncate cuts s to at most n bytes, on a rune boundary: a close reason
// has room for 123.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// originAllowed is coder/websocket's origin check (which Accept makes
// again), done before binding so that a refusal is a problem response: no
// Origin (not a browser), the request's own host, or one of patterns.
func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(r.Host, u.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// pinger pings a socket at an interval and closes it when no pong comes
// within another. It skips a ping while the socket's reader holds a
// message that the function has not received: the pong would wait behind
// it, and the client is not to blame.
type pinger struct {
	conn     *websocket.Conn
	interval time.Duration
	waiting  *atomic.Bool

	mu      sync.Mutex
	stopped bool
	timer   *time.Timer
	wg      sync.WaitGroup
}

func newPinger(conn *websocket.Conn, interval time.Duration, waiting *atomic.Bool) *pinger {
	p := &pinger{conn: conn, interval: interval, waiting: waiting}
	p.mu.Lock()
	p.timer = time.AfterFunc(interval, p.ping)
	p.mu.Unlock()
	return p
}

func (p *pinger) ping() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	if !p.waiting.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), p.interval)
		err := p.conn.Ping(ctx)
		cancel()
		if err != nil && !p.waiting.Load() {
			p.conn.CloseNow() // no pong: the client or the path to it is gone
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.timer.Reset(p.interval)
	}
}

func (p *pinger) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.timer.Stop()
}

// wait waits for a ping in flight, which ends when the socket closes.
func (p *pinger) wait() { p.wg.Wait() }
