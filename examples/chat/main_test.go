package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gofutures/futures/internal/testkit"
)

// demo runs the chat in-process on a free loopback port and returns the
// address to open; it stops it when the test ends and checks that it shut
// down cleanly.
func demo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var logs testkit.SyncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, io.Discard, &logs, func(url string) { ready <- url })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v\nlogs:\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("run did not return 30s after its context ended")
		}
	})
	select {
	case url := <-ready:
		return url
	case err := <-done:
		t.Fatalf("run returned before serving: %v\nlogs:\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("the chat did not start serving within 10s")
	}
	return ""
}

func join(t *testing.T, base, room, name string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(base, "http") + "rooms/" + room + "/socket?name=" + name
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("%s joining %s: %v", name, room, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// next reads messages until one of kind, skipping others.
func next(t *testing.T, c *websocket.Conn, kind string) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a %s message: %v", kind, err)
		}
		var m Message
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if m.Kind == kind {
			return m
		}
	}
}

func say(t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	b, _ := json.Marshal(Say{Text: text})
	if err := c.Write(t.Context(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// TestRoom: two members of a room hear each other, and each other's
// comings and goings; a member of another room hears nothing of it.
func TestRoom(t *testing.T) {
	base := demo(t)
	alice := join(t, base, "tea", "alice")
	next(t, alice, "join")
	bob := join(t, base, "tea", "bob")
	if m := next(t, alice, "join"); m.From != "bob" {
		t.Errorf("alice saw %+v join, want bob", m)
	}
	other := join(t, base, "coffee", "carol")
	next(t, other, "join")

	say(t, alice, "  hello bob ")
	for _, c := range []*websocket.Conn{bob, alice} {
		if m := next(t, c, "say"); m.From != "alice" || m.Text != "hello bob" {
			t.Errorf("got %+v", m)
		}
	}
	say(t, bob, "hi alice")
	if m := next(t, alice, "say"); m.From != "bob" || m.Text != "hi alice" {
		t.Errorf("alice got %+v", m)
	}
	bob.Close(websocket.StatusNormalClosure, "")
	if m := next(t, alice, "leave"); m.From != "bob" {
		t.Errorf("alice got %+v, want bob leaving", m)
	}
	say(t, other, "anyone?")
	if m := next(t, other, "say"); m.Text != "anyone?" {
		t.Errorf("carol got %+v", m)
	}
	// alice's next message is hers, not carol's.
	say(t, alice, "still here")
	if m := next(t, alice, "say"); m.Text != "still here" {
		t.Errorf("alice got %+v: another room's message", m)
	}
}

// TestRefusals: a socket request without a name is a 400 before the
// upgrade, another site's page a 403; a line too long closes the socket
// with 4413, a message that is not JSON with 4400.
func TestRefusals(t *testing.T) {
	base := demo(t)
	ws := "ws" + strings.TrimPrefix(base, "http")
	for _, c := range []struct {
		url, origin string
		status      int
	}{
		{ws + "rooms/tea/socket", "", 400},
		{ws + "rooms/te-a/socket?name=x", "", 400},
		{ws + "rooms/tea/socket?name=x", "http://evil.example", 403},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		_, resp, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {c.origin}}})
		cancel()
		if err == nil || resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s from %q: %v %v, want %d", c.url, c.origin, err, resp, c.status)
		}
	}

	for _, c := range []struct {
		msg  string
		code websocket.StatusCode
	}{
		{`{"text":"` + strings.Repeat("é", 501) + `"}`, 4413},
		{`not json`, 4400},
	} {
		conn := join(t, base, "tea", "dave")
		conn.Write(t.Context(), websocket.MessageText, []byte(c.msg))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		var err error
		for err == nil {
			_, _, err = conn.Read(ctx)
		}
		cancel()
		if got := websocket.CloseStatus(err); got != c.code {
			t.Errorf("%.20s…: closed with %v (%v), want %d", c.msg, got, err, c.code)
		}
	}
}
