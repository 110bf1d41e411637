//go:build js

package socket

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

// handshake opens the browser's WebSocket at req's URL: the browser
// sends its own headers, and no others can be set.
func handshake(ctx context.Context, _ *http.Client, req *http.Request) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, req.URL.String(), nil)
}
