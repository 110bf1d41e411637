// Command signup is Django Futures' send_signup_confirmation in Go: a view
// that stores a signup and answers at once, a task that emails the
// confirmation after the response has gone out, a view that shows whether
// it has, and a periodic task that cleans up.
//
//	go run ./examples/signup
//
// then open http://127.0.0.1:8080/ and sign up, or from a shell:
//
//	curl -d '{"email":"ada@example.com","name":"Ada"}' http://127.0.0.1:8080/signups
//	curl http://127.0.0.1:8080/signups/<id>
//
// The signup is "pending" until its confirmation email has gone out (the
// pretend mailer takes -mail-delay, 2s), then "confirmed". Signups live in
// memory and the tasks run on the in-process task loop; it serves until
// Ctrl-C (or SIGTERM), then finishes the requests in flight and the tasks
// they scheduled before it exits.
//
// The views and tasks are methods of Service (signup.go), so that they
// reach the store and the mailer through its fields rather than globals;
// futuresgen writes RegisterServiceViews and RegisterServiceTasks for them.
//
// Flags:
//
//	-addr HOST:PORT        where to listen (default 127.0.0.1:8080)
//	-mail-delay DURATION   how long the pretend mailer takes (default 2s)
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
	"time"

	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// templates are the views' html/templates.
//
//go:embed templates
var templates embed.FS

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "signup:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends or SIGINT or SIGTERM arrives, then shuts down
// gracefully. It prints the address to open on stdout and logs on stderr;
// ready, when not nil, is called with the service and that address once it
// accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(svc *Service, url string)) error {
	flags := flag.NewFlagSet("signup", flag.ContinueOnError)
	flags.SetOutput(stderr)
	addr := flags.String("addr", "127.0.0.1:8080", "`host:port` to listen on")
	mailDelay := flags.Duration("mail-delay", 2*time.Second, "how long the pretend mailer takes to send an email")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", flags.Args())
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	svc := &Service{
		Store:  NewStore(),
		Mailer: &LogMailer{Logger: logger, Delay: *mailDelay},
		Logger: logger,
	}

	loop := taskloop.New(taskloop.Options{Logger: logger})
	// Names the tasks for the loop and starts Cleanup's schedule.
	if err := RegisterServiceTasks(loop, svc); err != nil {
		return err
	}
	mux := http.NewServeMux()
	if err := RegisterServiceViews(mux, svc, view.WithTemplates(templates), view.WithLogger(logger)); err != nil {
		return err
	}

	return server.Run(ctx, server.Config{
		Addr:    *addr,
		Handler: mux,
		Loop:    loop, // Run starts it, and drains it after the last request
		Logger:  logger,
		Ready: func(addrs []net.Addr) {
			open := "http://" + addrs[0].String() + "/"
			fmt.Fprintf(stdout, "signup: open %s in a browser; Ctrl-C to stop\n", open)
			if ready != nil {
				ready(svc, open)
			}
		},
	})
}
