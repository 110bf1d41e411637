package server

import (
	"container/list"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The connection cap (Config.MaxConns).
//
// Without one, a process at its open-file limit cannot accept: net/http
// retries Accept with a backoff while new clients wait in the kernel's
// backlog, answered by nobody until idle connections time out. 1,013 idle
// keep-alive connections at a limit of 1,024 blocked every new request for
// 15 s. So Run keeps the connections it holds below the limit, and at the
// cap makes room by closing the connection that costs its client least: the
// one idle longest between two requests, or else one that has sent nothing
// for newGrace. When every connection is busy, the new client is answered
// at once with a 503 and Retry-After, never left waiting.

// newGrace is how long a new connection that has not sent its first
// request is safe from being closed to make room: a browser sends its
// request at once (or keeps a spare connection, which it can open again).
const newGrace = time.Second

// maxRefusing bounds the connections being refused at once (each is held
// for up to refuseLinger); beyond it a connection is closed unanswered.
const maxRefusing = 32

// refuseLinger bounds how long a refused connection is kept to read what
// its client sends, so that closing it does not reset the connection
// before the client has read the 503.
const refuseLinger = time.Second

// refusal is what a connection over the cap gets, before its request is
// read.
var refusal = func() []byte {
	body := `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"the server has too many connections; retry later"}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\n" +
		"Content-Type: application/problem+json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Retry-After: 1\r\n" +
		"Connection: close\r\n" +
		"\r\n" + body)
}()

// defaultMaxConns is Config.MaxConns's default: the open-file limit less
// a quarter of it (at least 64 files, half of a small limit) for the
// process's other files: the listeners, logs, a database pool, the HTTP
// client's connections, static files being served.
func defaultMaxConns() int {
	n, ok := openFileLimit()
	if !ok {
		return 10_000
	}
	headroom := max(n/4, min(64, n/2))
	return max(n-headroom, 1)
}

// connLimiter caps the connections of one server across its listeners.
// Its listeners count each connection they accept; http.Server's ConnState
// hook tells it which are idle and when they close. Hijacked connections
// leave the count: their owner bounds them.
type connLimiter struct {
	max    int
	logger *slog.Logger
	// extra, when set, counts connections held outside net/http: the
	// server's sockets, hijacked but open.
	extra func() int

	mu    sync.Mutex
	conns map[net.Conn]*connEntry
	idle  list.List // of *connEntry in StateIdle, longest idle first
	fresh list.List // of *connEntry in StateNew, oldest first
	// shed and refused count since the last log line, lastLog says when
	// that was: under a flood, one line every logEvery.
	shed, refused int
	lastLog       time.Time

	refusing sync.WaitGroup
	refusers chan struct{}
	// totalShed and totalRefused count since the start, for tests.
	totalShed, totalRefused int
}

type connEntry struct {
	conn  net.Conn
	state http.ConnState
	since time.Time     // when it entered state
	elem  *list.Element // in idle or fresh, or nil
}

const logEvery = 10 * time.Second

func newConnLimiter(max int, logger *slog.Logger) *connLimiter {
	return &connLimiter{
		max:      max,
		logger:   logger,
		conns:    make(map[net.Conn]*connEntry),
		refusers: make(chan struct{}, maxRefusing),
	}
}

// listener wraps ln so that its connections count against the cap.
func (l *connLimiter) listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, l: l}
}

type limitListener struct {
	net.Listener
	l *connLimiter
}

// Accept returns the next connection that fits under the cap; those that
// do not are refused (in a goroutine of their own) and Accept goes on.
func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ln.l.admit(c) {
			return c, nil
		}
	}
}

// admit counts c, closing a connection to make room if needed, and reports
// whether c may be served; if not, c is being refused.
func (l *connLimiter) admit(c net.Conn) bool {
	now := time.Now()
	l.mu.Lock()
	var victim net.Conn
	if l.countLocked() >= l.max {
		if victim = l.victimLocked(now); victim == nil {
			l.refused++
			l.totalRefused++
			l.logLocked(now)
			l.mu.Unlock()
			l.refuse(c)
			return false
		}
		l.shed++
		l.totalShed++
		l.logLocked(now)
	}
	e := &connEntry{conn: c, state: http.StateNew, since: now}
	e.elem = l.fresh.PushBack(e)
	l.conns[c] = e
	l.mu.Unlock()
	if victim != nil {
		// Its server goroutine sees the read fail and ends; its ConnState
		// StateClosed finds it already gone from the count.
		victim.Close()
	}
	return true
}

// victimLocked removes from the count and returns the connection to close
// for room: the longest idle, else the oldest new one past newGrace; nil
// when every connection is busy.
func (l *connLimiter) victimLocked(now time.Time) net.Conn {
	front := l.idle.Front()
	if front == nil {
		if f := l.fresh.Front(); f != nil && now.Sub(f.Value.(*connEntry).since) >= newGrace {
			front = f
		}
	}
	if front == nil {
		return nil
	}
	e := front.Value.(*connEntry)
	l.forgetLocked(e)
	return e.conn
}

func (l *connLimiter) forgetLocked(e *connEntry) {
	l.unlistLocked(e)
	delete(l.conns, e.conn)
}

func (l *connLimiter) unlistLocked(e *connEntry) {
	if e.elem == nil {
		return
	}
	if e.state == http.StateIdle {
		l.idle.Remove(e.elem)
	} else {
		l.fresh.Remove(e.elem)
	}
	e.elem = nil
}

// connState is http.Server's ConnState hook.
func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.conns[c]
	if e == nil || state == http.StateNew {
		return // closed to make room, or counted by admit already
	}
	switch state {
	case http.StateClosed, http.StateHijacked:
		l.forgetLocked(e)
		return
	}
	l.unlistLocked(e)
	e.state, e.since = state, time.Now()
	if state == http.StateIdle {
		e.elem = l.idle.PushBack(e)
	}
}

// refuse answers c with a 503 and closes it. The answer is written at
// once: a new connection's send buffer is empty, so that the write does
// not wait. The close waits, in a goroutine that wait waits for, until the
// client has closed its side (as it does after a Connection: close
// response) or refuseLinger: closing with the client's request unread
// would reset the connection, and the client could lose the 503. Beyond
// maxRefusing such goroutines the connection is closed at once.
func (l *connLimiter) refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(refuseLinger))
	if _, err := c.Write(refusal); err != nil {
		c.Close()
		return
	}
	select {
	case l.refusers <- struct{}{}:
	default:
		c.Close()
		return
	}
	l.refusing.Go(func() {
		defer func() { <-l.refusers }()
		c.SetDeadline(time.Now().Add(refuseLinger))
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
		c.Close()
	})
}

// logLocked logs what the cap did, at most once every logEvery.
func (l *connLimiter) logLocked(now time.Time) {
	if now.Sub(l.lastLog) < logEvery {
		return
	}
	// The counts are those since the previous line (or the start).
	l.logger.Warn("server: connection cap reached", "max_conns", l.max,
		"closed_to_make_room", l.shed, "refused", l.refused)
	l.shed, l.refused, l.lastLog = 0, 0, now
}

// wait waits for the refusals in progress, at most refuseLinger each.
func (l *connLimiter) wait() { l.refusing.Wait() }

// open returns the number of connections counted.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.countLocked()
}

func (l *connLimiter) countLocked() int {
	n := len(l.conns)
	if l.extra != nil {
		n += l.extra()
	}
	return n
}
