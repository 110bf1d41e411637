package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gofutures/futures/runtime/httpclient"
	"github.com/gofutures/futures/runtime/socket"

	"example.com/e2e/views"
	"example.com/e2e/views/client"
)

// collect ranges over a stream of the client and returns the numbers of
// its ticks and the error that ended it, if any.
func collect(seq func(func(views.Tick, error) bool)) ([]int, error) {
	var ns []int
	for t, err := range seq {
		if err != nil {
			return ns, err
		}
		ns = append(ns, t.N)
	}
	return ns, nil
}

// count returns 1..n, or nil for none.
func count(from, to int) []int {
	var ns []int
	for n := from; n <= to; n++ {
		ns = append(ns, n)
	}
	return ns
}

// streamProblem checks that err is a *httpclient.Problem of status.
func streamProblem(what string, err error, status int) *httpclient.Problem {
	p, ok := errors.AsType[*httpclient.Problem](err)
	switch {
	case !ok:
		fail("%s: %v (%T); want a *httpclient.Problem %d", what, err, err, status)
		return &httpclient.Problem{}
	case p.Status != status || httpclient.StatusOf(err) != status:
		fail("%s: status %d (StatusOf %d); want %d", what, p.Status, httpclient.StatusOf(err), status)
	}
	if strings.Contains(err.Error(), views.Secret) {
		fail("%s: the error shows the secret: %v", what, err)
	}
	return p
}

// checkStreams calls the view that streams server-sent events through
// the generated client's iter.Seq2: events in order, refusals before the
// stream, error events, resuming, and the end of the loop or of the
// context, which the view sees as its context cancelled.
func checkStreams(ctx context.Context, c *client.Client) {
	before := attempts.Load()
	if got, err := collect(c.Ticks(ctx, views.TicksRequest{N: 50})); err != nil || !reflect.DeepEqual(got, count(1, 50)) {
		fail("50 ticks: %v, %v", got, err)
	}
	if n := attempts.Load() - before; n != 1 {
		fail("50 ticks: %d requests; want 1", n)
	}
	// Nothing is sent until the loop starts; each loop sends anew.
	seq := c.Ticks(ctx, views.TicksRequest{N: 2})
	if n := attempts.Load() - before; n != 1 {
		fail("a sequence not ranged over sent %d requests", n-1)
	}
	for range 2 {
		if got, err := collect(seq); err != nil || !reflect.DeepEqual(got, []int{1, 2}) {
			fail("ranging twice: %v, %v", got, err)
		}
	}

	// Refused before streaming: the first pair is the problem.
	got, err := collect(c.Ticks(ctx, views.TicksRequest{N: 5, Missing: true}))
	if p := streamProblem("a missing feed", err, 404); len(got) != 0 || p.Detail != "no such feed" {
		fail("a missing feed: %v, detail %q", got, p.Detail)
	}
	got, err = collect(c.Ticks(ctx, views.TicksRequest{N: 2000}))
	if p := streamProblem("n over max=1000", err, 400); len(got) != 0 || !reflect.DeepEqual(p.Errors, []httpclient.FieldError{fe("query", "n", "must be at most 1000")}) {
		fail("n over max=1000: %v, errors %+v", got, p.Errors)
	}

	// An error the sequence yields ends the stream with an error event.
	got, err = collect(c.Ticks(ctx, views.TicksRequest{N: 3, Then: "conflict"}))
	if p := streamProblem("error event 409", err, 409); !reflect.DeepEqual(got, count(1, 3)) || p.Detail != "the feed moved" {
		fail("error event 409: %v, detail %q", got, p.Detail)
	}
	got, err = collect(c.Ticks(ctx, views.TicksRequest{N: 1, Then: "leak"}))
	if p := streamProblem("error event 500", err, 500); !reflect.DeepEqual(got, []int{1}) || p.Detail != "internal server error" || p.RequestID == "" {
		fail("error event 500: %v, detail %q, request_id %q", got, p.Detail, p.RequestID)
	}

	// Resuming after an event: the view binds Last-Event-ID.
	two := int64(2)
	if got, err := collect(c.Ticks(ctx, views.TicksRequest{N: 5, LastID: &two})); err != nil || !reflect.DeepEqual(got, count(3, 5)) {
		fail("resumed after event 2: %v, %v", got, err)
	}

	// Breaking out of the loop closes the connection: the view's
	// context ends.
	held := views.Held()
	n := 0
	for _, err := range c.Ticks(ctx, views.TicksRequest{N: 5, Then: "hold"}) {
		if err != nil {
			fail("break: %v", err)
			break
		}
		if n++; n == 5 {
			break
		}
	}
	waitHeld("breaking out of the loop", held+1)

	// The context ends the stream with its error, after the last event.
	cctx, cancel := context.WithCancel(ctx)
	got = nil
	for t, err := range c.Ticks(cctx, views.TicksRequest{N: 2, Then: "hold"}) {
		if err != nil {
			se, ok := errors.AsType[*httpclient.StreamError](err)
			if !ok || !errors.Is(err, context.Canceled) || se.LastEventID != "2" {
				fail("a cancelled stream: %v; want a StreamError after event 2 that is context.Canceled", err)
			}
			break
		}
		got = append(got, t.N)
		if t.N == 2 {
			cancel()
		}
	}
	cancel()
	if !reflect.DeepEqual(got, []int{1, 2}) {
		fail("a cancelled stream: %v", got)
	}
	waitHeld("a cancelled context", held+2)
}

// waitHeld waits until views.Held() reaches n: the view has seen its
// client go away.
func waitHeld(what string, n int64) {
	deadline := time.Now().Add(wait)
	for views.Held() < n {
		if time.Now().After(deadline) {
			fail("%s: the view's context did not end (held %d; want %d)", what, views.Held(), n)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkSockets opens the sockets of the views package through the
// generated client: messages both ways, the close codes coming back as
// errors, refusals before the upgrade as problems.
func checkSockets(ctx context.Context, base string) {
	hc := httpclient.New(httpclient.WithBaseURL(base), httpclient.WithTransport(recording(&http.Transport{})),
		httpclient.WithHeader("X-Token", "tok"),
		httpclient.WithHooks(httpclient.Hooks{BeforeRequest: func(*http.Request, httpclient.Attempt) { attempts.Add(1) }}))
	defer hc.CloseIdleConnections()
	c := client.NewClient(hc)

	// The context bounds the handshake, not the socket.
	dctx, cancel := context.WithTimeout(ctx, wait)
	conn, err := c.Chat(dctx, views.ChatRequest{Room: "lobby", Name: "ada"})
	cancel()
	if err != nil {
		fail("chat: %v", err)
		return
	}
	if l, err := conn.Receive(ctx); err != nil || l != (views.ChatLine{From: "lobby", Text: "welcome ada tok"}) {
		fail("chat welcome: %+v, %v", l, err)
	}
	for i := range 20 {
		text := fmt.Sprintf("line %d: ünïcode & <b>", i)
		if err := conn.Send(ctx, views.ChatLine{Text: text}); err != nil {
			fail("chat send %d: %v", i, err)
			break
		}
		if l, err := conn.Receive(ctx); err != nil || l != (views.ChatLine{From: "ada", Text: text}) {
			fail("chat line %d: %+v, %v", i, l, err)
			break
		}
	}
	closedWith := func(what, line string, code, status int, reason string) {
		conn, err := c.Chat(ctx, views.ChatRequest{Room: "lobby", Name: "bob"})
		if err != nil {
			fail("%s: %v", what, err)
			return
		}
		defer conn.Close()
		conn.Receive(ctx) // the welcome
		if err := conn.Send(ctx, views.ChatLine{Text: line}); err != nil {
			fail("%s: send: %v", what, err)
		}
		_, err = conn.Receive(ctx)
		ce, ok := errors.AsType[*socket.CloseError](err)
		switch {
		case !ok || !errors.Is(err, socket.ErrClosed):
			fail("%s: %v (%T); want a *socket.CloseError", what, err, err)
		case ce.Code != code || !strings.HasPrefix(ce.Reason, reason) || httpclient.StatusOf(err) != status:
			fail("%s: closed with %d %q, StatusOf %d; want %d %q, %d", what, ce.Code, ce.Reason, httpclient.StatusOf(err), code, reason, status)
		case strings.Contains(err.Error(), views.Secret):
			fail("%s: the error shows the secret: %v", what, err)
		}
		if p, ok := errors.AsType[*httpclient.Problem](err); status != 0 && (!ok || p.Detail != reason) {
			fail("%s: problem %+v; want the reason as its detail", what, p)
		}
	}
	closedWith("bye", "bye", 1000, 0, "")
	closedWith("view.Error 409", "full", 4409, 409, "the room is full")
	closedWith("a plain error", "crash", 1011, 0, "internal error; request ")
	if err := conn.Close(); err != nil {
		fail("chat: Close: %v", err)
	}
	if err := conn.Send(ctx, views.ChatLine{Text: "late"}); !errors.Is(err, socket.ErrClosed) {
		fail("chat: Send after Close: %v; want socket.ErrClosed", err)
	}

	// Refused before the upgrade: the problem of the response.
	_, err = c.Chat(ctx, views.ChatRequest{Room: "no way", Name: ""})
	if p := streamProblem("a bad room and no name", err, 400); !reflect.DeepEqual(p.Errors, []httpclient.FieldError{
		fe("path", "room", "must contain only ASCII letters and digits"),
		fe("query", "name", "is required"),
	}) {
		fail("a bad room and no name: errors %+v", p.Errors)
	}
	_, err = c.Chat(ctx, views.ChatRequest{Room: "lobby", Name: "eve"}, httpclient.Header("Origin", "https://evil.example"))
	if p := streamProblem("another origin", err, 403); p.Detail != "pages of another origin may not open this socket" {
		fail("another origin: detail %q", p.Detail)
	}
	before := attempts.Load()
	if _, err := c.Chat(ctx, views.ChatRequest{Room: "..", Name: "x"}); !errors.As(err, new(*httpclient.ParamError)) || attempts.Load() != before {
		fail("a dot segment as the room: %v, %d requests; want a ParamError and none sent", err, attempts.Load()-before)
	}

	// Text messages.
	shout, err := c.Shout(ctx)
	if err != nil {
		fail("shout: %v", err)
		return
	}
	defer shout.Close()
	if err := shout.Send(ctx, `hello "world"`); err != nil {
		fail("shout: send: %v", err)
	}
	if s, err := shout.Receive(ctx); err != nil || s != `HELLO "WORLD"` {
		fail("shout: %q, %v", s, err)
	}
}
