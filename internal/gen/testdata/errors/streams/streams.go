package streams

import (
	"context"
	"iter"

	"github.com/gofutures/futures/runtime/socket"
)

type Tick struct{ N int }

//futures:view GET /a template=a.html
func Templated(ctx context.Context) iter.Seq2[Tick, error] { return nil }

//futures:view GET /b heartbeat=5s
func NotAStream(ctx context.Context) (Tick, error) { return Tick{}, nil }

//futures:view GET /c
func BadItem(ctx context.Context) iter.Seq2[chan int, error] { return nil }

//futures:view GET /d status=201
func StreamStatus(ctx context.Context) iter.Seq2[Tick, error] { return nil }

//futures:socket POST /e
func PostSocket(ctx context.Context, conn *socket.Conn[Tick, Tick]) error { return nil }

//futures:socket GET /f
func NoCtx(conn *socket.Conn[Tick, Tick]) error { return nil }

//futures:socket GET /g
func NoConn(ctx context.Context) error { return nil }

//futures:socket GET /h
func NoError(ctx context.Context, conn *socket.Conn[Tick, Tick]) {}

//futures:socket GET /i messages=text
func TextStructs(ctx context.Context, conn *socket.Conn[Tick, string]) error { return nil }

//futures:socket GET /j messages=xml
func BadMessages(ctx context.Context, conn *socket.Conn[Tick, Tick]) error { return nil }

//futures:socket GET /k/{id}
func Unbound(ctx context.Context, conn *socket.Conn[Tick, Tick]) error { return nil }

//futures:socket GET /l
func WithBody(ctx context.Context, req struct {
	Body Tick
}, conn *socket.Conn[Tick, Tick]) error {
	return nil
}

//futures:socket GET /m timeout=5s
func SocketTimeout(ctx context.Context, conn *socket.Conn[Tick, Tick]) error { return nil }

//futures:socket GET /n
func BadIn(ctx context.Context, conn *socket.Conn[func(), Tick]) error { return nil }
