package views

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/gofutures/futures/runtime/socket"
	"github.com/gofutures/futures/runtime/view"
)

// Tick is one event of Ticks.
type Tick struct {
	N int `json:"n"`
}

// TicksRequest says how Ticks streams: how many events, how it ends, and
// after which event it resumes.
type TicksRequest struct {
	// N is the number of events.
	N int `query:"n" validate:"omitempty,max=1000"`
	// Then is how the stream ends after its events: "" (its end event),
	// "conflict" (an error event for view.Error 409), "leak" (an error
	// event for an error whose text must not reach the client), "hold"
	// (until the client goes away).
	Then string `query:"then" validate:"omitempty,oneof=conflict leak hold"`
	// Missing refuses the request before streaming, with a 404.
	Missing bool `query:"missing"`
	// LastID is the number of the last event the client had, when it
	// resumes: the events go on after it.
	LastID *int64 `header:"Last-Event-ID"`
}

var held atomic.Int64

// Held counts the streams of Ticks with then=hold whose context ended
// while they waited: the client went away.
func Held() int64 { return held.Load() }

// Ticks streams N ticks as server-sent events, numbered from 1 or after
// the Last-Event-ID the client sends.
//
//futures:view GET /ticks errors=404,409
func Ticks(ctx context.Context, req TicksRequest) (iter.Seq2[Tick, error], error) {
	if req.Missing {
		return nil, view.Error(http.StatusNotFound, "no such feed")
	}
	first := 1
	if req.LastID != nil {
		first = int(*req.LastID) + 1
	}
	return func(yield func(Tick, error) bool) {
		for n := first; n <= req.N; n++ {
			if !yield(Tick{N: n}, nil) {
				return
			}
		}
		switch req.Then {
		case "conflict":
			yield(Tick{}, view.Error(http.StatusConflict, "the feed moved"))
		case "leak":
			yield(Tick{}, errors.New("stream failed: "+Secret))
		case "hold":
			<-ctx.Done()
			held.Add(1)
		}
	}, nil
}

// ChatRequest names a chat room and the member who joins it.
type ChatRequest struct {
	Room string `path:"room" validate:"alphanum,max=16"`
	Name string `query:"name" validate:"required"`
	// Token is a header a client sends (WithHeader): it comes back in
	// the welcome line.
	Token string `header:"X-Token"`
}

// ChatLine is a message of Chat, both ways.
type ChatLine struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// Chat is a socket: a welcome line, then each line back from the room,
// signed. A line "bye" closes the socket normally, "full" with 4409
// (view.Error 409), "crash" with 1011 (an error whose text must not reach
// the client).
//
//futures:socket GET /rooms/{room}
func Chat(ctx context.Context, req ChatRequest, conn *socket.Conn[ChatLine, ChatLine]) error {
	if err := conn.Send(ctx, ChatLine{From: req.Room, Text: "welcome " + req.Name + " " + req.Token}); err != nil {
		return err
	}
	for {
		line, err := conn.Receive(ctx)
		if errors.Is(err, socket.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		switch line.Text {
		case "bye":
			return nil
		case "full":
			return view.Error(http.StatusConflict, "the room is full")
		case "crash":
			return errors.New("chat crashed: " + Secret)
		}
		if err := conn.Send(ctx, ChatLine{From: req.Name, Text: line.Text}); err != nil {
			return err
		}
	}
}

// Shout is a socket of text messages: each comes back in capitals.
//
//futures:socket GET /shout messages=text
func Shout(ctx context.Context, conn *socket.Conn[string, string]) error {
	for {
		s, err := conn.Receive(ctx)
		if err != nil {
			return nil
		}
		if err := conn.Send(ctx, strings.ToUpper(s)); err != nil {
			return err
		}
	}
}
