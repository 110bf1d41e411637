package main

import (
	"context"
	"testing"
	"time"

	"github.com/gofutures/futures/internal/cdp"
)

// TestBrowsers opens the chat page in two browser contexts of one headless
// Chromium (two users, as two browsers would be), lets each join the room
// by the page's own form and script, and has them exchange messages: each
// sees what the other said, typed into the page and sent over its
// WebSocket.
func TestBrowsers(t *testing.T) {
	browser := cdp.Start(t)
	base := demo(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	open := func(name string) *cdp.Page {
		t.Helper()
		p, err := browser.NewPage(ctx, base)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Join with the page's form, as a person would.
		js := `document.getElementById("name").value = ` + quote(name) + `;
			document.getElementById("roomname").value = "garden";
			document.getElementById("join").requestSubmit();`
		if err := p.Eval(ctx, js, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, `document.getElementById("status").textContent === "connected as `+name+`"`); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return p
	}
	sayIn := func(p *cdp.Page, text string) {
		t.Helper()
		js := `document.getElementById("text").value = ` + quote(text) + `;
			document.getElementById("say").requestSubmit();`
		if err := p.Eval(ctx, js, nil); err != nil {
			t.Fatal(err)
		}
	}
	heard := func(p *cdp.Page, from, text string) {
		t.Helper()
		expr := `[...document.querySelectorAll("#log li.say")].some(li => li.textContent === ` + quote(from+text) + `)`
		if err := p.WaitFor(ctx, expr); err != nil {
			var log string
			p.Eval(ctx, `document.getElementById("log").innerText`, &log)
			t.Fatalf("%s: %v\nthe page's log:\n%s", text, err, log)
		}
	}

	alice := open("alice")
	bob := open("bob")
	if err := alice.WaitFor(ctx, `[...document.querySelectorAll("#log li.notice")].some(li => li.textContent === "bob joined")`); err != nil {
		t.Fatal(err)
	}
	sayIn(alice, "hello from alice")
	heard(bob, "alice", "hello from alice")
	heard(alice, "alice", "hello from alice")
	sayIn(bob, "hi alice, bob here")
	heard(alice, "bob", "hi alice, bob here")

	// Each context has its own URL state: the page put the room and name
	// in its address.
	var href string
	if err := bob.Eval(ctx, `location.search`, &href); err != nil || href != "?room=garden&name=bob" {
		t.Errorf("bob's page is at %q (%v)", href, err)
	}
}

func quote(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		switch r {
		case '"', '\\':
			b = append(b, '\\', byte(r))
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}
