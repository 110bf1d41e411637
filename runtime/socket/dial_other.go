//go:build !js

package socket

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

// handshake is coder/websocket's client handshake of req with hc.
func handshake(ctx context.Context, hc *http.Client, req *http.Request) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, req.URL.String(), &websocket.DialOptions{HTTPClient: hc, HTTPHeader: req.Header, Host: req.Host})
}
