// Package streams has event-stream views and sockets of every accepted
// shape.
package streams

import (
	"context"
	"iter"
	"time"

	"github.com/gofutures/futures/runtime/socket"
)

// Tick is one event.
type Tick struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
}

// TicksRequest binds the stream's request, Last-Event-ID included.
type TicksRequest struct {
	Every  time.Duration `query:"every" validate:"omitempty,min=1ms"`
	LastID *int64        `header:"Last-Event-ID"`
}

// Ticks streams a tick at an interval.
//
//futures:view GET /ticks timeout=5s heartbeat=10s
func Ticks(ctx context.Context, req TicksRequest) iter.Seq2[Tick, error] {
	return func(yield func(Tick, error) bool) {}
}

// Refusing may refuse before it streams.
//
//futures:view GET /refusing/{id} errortemplate=error.html
func Refusing(ctx context.Context, req struct {
	ID int `path:"id"`
}) (iter.Seq2[string, error], error) {
	return nil, nil
}

// Message is what the chat sockets exchange.
type Message struct {
	Text string `json:"text"`
}

// RoomRequest names the room.
type RoomRequest struct {
	Room string `path:"room" validate:"min=1,max=32"`
}

// Chat is a socket with a request.
//
//futures:socket GET /chat/{room} maxmsg=4KiB origins=app.example.com,*.example.org ping=20s
func Chat(ctx context.Context, req RoomRequest, conn *socket.Conn[Message, Message]) error {
	return nil
}

// Echo is a socket of text messages without a request.
//
//futures:socket GET /echo messages=text
func Echo(ctx context.Context, conn *socket.Conn[string, string]) error { return nil }

// Hub holds its sockets' dependencies.
type Hub struct{}

// Raw is a method socket of binary messages.
//
//futures:socket GET /raw messages=binary
func (h *Hub) Raw(ctx context.Context, conn *socket.Conn[[]byte, []byte]) error { return nil }

// Feed is a method stream.
//
//futures:view GET /feed
func (h *Hub) Feed(ctx context.Context) (iter.Seq2[Message, error], error) { return nil, nil }
