package socket

import (
	"context"

	"github.com/gofutures/futures/runtime/httpclient"
)

// Dial opens the socket that the request r names, with the client hc, and
// returns the client's end of it, which receives In values and sends Out
// values as any Conn[In, Out] does, encoded as messages says (the
// socket's Spec.Messages): the client of a socket whose function has a
// *Conn[A, B] dials with Dial[B, A].
// The typed clients that futuresgen writes for //futures:client return it
// from the methods of //futures:socket functions.
//
// The handshake is a GET that httpclient.Upgrade sends as the client
// sends any call: under hc's base URL, with its headers (WithHeader) and
// the call's (opts), the request's path, query, header and cookie values
// as the socket's binder reads them, hc's hooks, and its timeout and
// retries for the handshake (a 503 from a server with too many sockets
// open is retried after its Retry-After). No Origin header is sent: the
// server takes a request without one for a program's, which it lets in,
// while a browser's page of another site sends its own; a call that sets
// one (httpclient.Header("Origin", …)) is held to the socket's origins.
//
// Dial blocks until the socket is open, or ctx ends; ctx does not bound
// the socket, which stays open until Close, the server closing it, or
// the connection breaking. A refusal is an *httpclient.Problem, as for a
// view: 400 for the request's values, 403 for an Origin the socket does
// not allow, 503 with Retry-After when the server is full or shutting
// down; a value that cannot be sent is an *httpclient.ParamError, and
// nothing is sent.
//
// Once open, Receive returns the server's messages, and fails once the
// server has closed the socket with a *CloseError (errors.Is(err,
// ErrClosed)) whose Code says why: 1000 when the function returned nil,
// 1001 when the server shuts down, 1011 with a request ID for an
// internal error, and 4000 plus the status of the function's error
// (4404 for view.Error(404, …)), which unwraps to an *httpclient.Problem
// of that status with the error's public message as its Detail. Each
// message may be as large as hc's response limit (WithMaxResponseBytes);
// a larger one closes the socket with 1009. The server pings the client,
// and the Conn's reader, which always runs, answers.
//
// Compiled for a browser (js/wasm), the socket is the browser's
// WebSocket, which sends its own headers (its Origin and cookies): the
// client's and the request's headers and cookies are not sent.
func Dial[In, Out any](ctx context.Context, hc *httpclient.Client, r *httpclient.Request, messages Messages, opts ...httpclient.CallOption) (*Conn[In, Out], error) {
	ws, err := httpclient.Upgrade(ctx, hc, r, handshake, opts...)
	if err != nil {
		return nil, err
	}
	limit := hc.MaxResponseBytes()
	if limit <= 0 {
		limit = -1 // no limit
	}
	ws.SetReadLimit(limit)
	c := &Conn[In, Out]{
		ws:       ws,
		mode:     messages,
		client:   true,
		in:       make(chan received),
		stop:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}
