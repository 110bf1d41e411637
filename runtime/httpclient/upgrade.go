package httpclient

import (
	"context"
	"fmt"
	"net/http"
)

// Upgrade sends the request r with c to open a connection of another
// protocol (a WebSocket), and returns what handshake made of it.
// runtime/socket's Dial calls it, with coder/websocket's handshake, for
// the sockets of a generated client; this package does not know the
// protocol.
//
// handshake sends the request req, which it must not modify, with hc,
// the client's *http.Client (its transport and redirect policy), as a
// handshake of its protocol: it returns the connection and the
// 101 Switching Protocols response; or, when the server refused,
// an error and the response, whose body handshake leaves readable; or an
// error and no response when none came. It must return when ctx ends.
//
// The request is built and sent as Send sends it (the base URL, the
// client's and the call's headers, the request's values), with no Accept
// header, and under the client's rules for each attempt: hooks, the
// per-host limit (held for the handshake only), the timeout (for the
// handshake only), and retries (a 503 or a network error of a GET
// handshake is tried again). Upgrade blocks until the handshake is done,
// or ctx ends; ctx does not bound the connection afterwards.
//
// A refusal fails as Send's calls fail: with the *Problem of the response
// (a 403 for a page of another origin, a 400 for the request's values, a
// 503 when the server has too many connections), or a *StatusError; a
// 2xx response that switched nothing fails with an error that says so.
func Upgrade[T any](ctx context.Context, c *Client, r *Request, handshake func(ctx context.Context, hc *http.Client, req *http.Request) (T, *http.Response, error), opts ...CallOption) (T, error) {
	var zero T
	req, err := r.build(c, "")
	if err != nil {
		return zero, err
	}
	cl := c.newCall(req, callOptions(opts), false)
	cl.handshake = func(ctx context.Context, hc *http.Client, req *http.Request) (any, *http.Response, error) {
		return handshake(ctx, hc, req)
	}
	resp, err := cl.run(ctx)
	switch {
	case err != nil:
		return zero, err
	case resp.switched:
		v, _ := resp.upgraded.(T)
		return v, nil
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return zero, fmt.Errorf("httpclient: %s %s: %s: the server did not switch protocols (no 101 response)", resp.Method, redacted(resp.URL), resp.Status)
	}
	return zero, responseError(resp)
}

// MaxResponseBytes returns the client's response limit
// (WithMaxResponseBytes; <= 0 for none), which a client of another
// protocol, such as runtime/socket's Dial, applies to each message.
func (c *Client) MaxResponseBytes() int64 { return c.maxBytes }
