package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofutures/futures/runtime/socket"
	"github.com/gofutures/futures/runtime/view"
)

//go:generate go run ../../cmd/futuresgen

// Hub holds the rooms. Its methods are the demo's views and socket: a
// struct holds their state instead of globals.
type Hub struct {
	mu    sync.Mutex
	rooms map[string]map[*member]struct{}
}

// NewHub returns a hub with no rooms.
func NewHub() *Hub { return &Hub{rooms: map[string]map[*member]struct{}{}} }

// backlog is how many messages a member may have waiting to be sent
// before it is dropped from its room: a client that stops reading must
// not slow the others, nor grow the server's memory.
const backlog = 64

// member is one socket in a room.
type member struct {
	out  chan Message
	gone chan struct{} // closed when the member fell behind
	once sync.Once
}

// Message is what the sockets send: something said, or someone coming or
// going.
type Message struct {
	Kind string    `json:"kind"` // "say", "join" or "leave"
	From string    `json:"from"`
	Text string    `json:"text,omitempty"`
	At   time.Time `json:"at"`
}

// Say is what a client sends: a line to say.
type Say struct {
	Text string `json:"text"`
}

// maxText is the length limit of a line, in characters.
const maxText = 500

// RoomRequest names the room and who joins it.
type RoomRequest struct {
	Room string `path:"room" validate:"min=1,max=32,alphanum"`
	Name string `query:"name" validate:"required,min=1,max=24"`
}

// Chat is a room's socket: what a member says goes to everyone in the
// room, the member included. It runs for as long as the socket is open.
//
//futures:socket GET /rooms/{room}/socket
func (h *Hub) Chat(ctx context.Context, req RoomRequest, conn *socket.Conn[Say, Message]) error {
	m := h.join(req.Room, req.Name)
	defer h.leave(req.Room, req.Name, m)

	// Sending runs beside receiving, and ends with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sent := make(chan error, 1)
	go func() {
		for {
			select {
			case msg := <-m.out:
				if err := conn.Send(ctx, msg); err != nil {
					sent <- err
					return
				}
			case <-m.gone:
				sent <- view.Error(http.StatusServiceUnavailable, "you fell behind the room; reconnect")
				return
			case <-ctx.Done():
				sent <- nil
				return
			}
		}
	}()
	for {
		say, err := conn.Receive(ctx)
		if err != nil {
			cancel()
			if sendErr := <-sent; sendErr != nil && !errors.Is(sendErr, context.Canceled) {
				return sendErr
			}
			if errors.Is(err, socket.ErrClosed) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err // a bad message: closes with 4400
		}
		text := strings.TrimSpace(say.Text)
		if text == "" {
			continue
		}
		if utf8.RuneCountInString(text) > maxText {
			cancel()
			<-sent
			return view.Error(http.StatusRequestEntityTooLarge, "a line is at most 500 characters")
		}
		h.broadcast(req.Room, Message{Kind: "say", From: req.Name, Text: text, At: time.Now().UTC()})
	}
}

// Page is what the chat page shows before its script connects.
type Page struct {
	Room string `json:"room"`
	Name string `json:"name"`
}

// PageRequest is the page's query: the room and name to join with, both
// optional (the page asks for them).
type PageRequest struct {
	Room string `query:"room" validate:"omitempty,max=32,alphanum"`
	Name string `query:"name" validate:"omitempty,max=24"`
}

// Index is the chat page.
//
//futures:view GET /{$} template=templates/index.html
func (h *Hub) Index(req PageRequest) (Page, error) {
	if req.Room == "" {
		req.Room = "lobby"
	}
	return Page(req), nil
}

func (h *Hub) join(room, name string) *member {
	m := &member{out: make(chan Message, backlog), gone: make(chan struct{})}
	h.mu.Lock()
	if h.rooms[room] == nil {
		h.rooms[room] = map[*member]struct{}{}
	}
	h.rooms[room][m] = struct{}{}
	h.mu.Unlock()
	h.broadcast(room, Message{Kind: "join", From: name, At: time.Now().UTC()})
	return m
}

func (h *Hub) leave(room, name string, m *member) {
	h.mu.Lock()
	delete(h.rooms[room], m)
	if len(h.rooms[room]) == 0 {
		delete(h.rooms, room)
	}
	h.mu.Unlock()
	h.broadcast(room, Message{Kind: "leave", From: name, At: time.Now().UTC()})
}

// broadcast queues msg for every member of room; one whose backlog is
// full is dropped (its socket closes with 4503).
func (h *Hub) broadcast(room string, msg Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.rooms[room] {
		select {
		case m.out <- msg:
		default:
			m.once.Do(func() { close(m.gone) })
		}
	}
}
