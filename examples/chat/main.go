// Command chat is a small room chat over a //futures:socket function: open
// the address it prints in two browsers, choose a name, and what one says
// the other sees at once.
//
//	go run ./examples/chat [-addr 127.0.0.1:8001]
//
// The page (templates/index.html, a //futures:view) connects to
// /rooms/{room}/socket?name=…, a WebSocket served by Hub.Chat (chat.go),
// which relays JSON messages to everyone in the room. It serves until
// Ctrl-C (or SIGTERM), then shuts down gracefully: every socket is closed
// with 1001 (going away).
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/view"
)

// templates are the page's html/templates.
//
//go:embed templates
var templates embed.FS

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run serves the chat until ctx ends or SIGINT or SIGTERM arrives. ready,
// when not nil, is called with the address to open once it accepts
// connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(url string)) error {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8001", "`host:port` to serve the chat on")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", flags.Args())
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	if err := RegisterHubViews(mux, NewHub(), view.WithTemplates(templates), view.WithLogger(logger)); err != nil {
		ln.Close()
		return err
	}
	return server.Run(ctx, server.Config{
		Listeners: []net.Listener{ln},
		Handler:   mux,
		Logger:    logger,
		Ready: func(addrs []net.Addr) {
			open := "http://" + addrs[0].String() + "/"
			fmt.Fprintf(stdout, "chat: open %s in two browsers; Ctrl-C to stop\n", open)
			if ready != nil {
				ready(open)
			}
		},
	})
}
