// Command signup is Django Futures' send_signup_confirmation in Go: a view
// that stores a signup and answers at once, a task that emails the
// confirmation after the response has gone out, a view that shows whether
// it has, and a periodic task that cleans up.
//
//	go run ./examples/signup
//
// then open http://127.0.0.1:8080/ and sign up, or from a shell:
//
//	curl --json '{"email":"ada@example.com","name":"Ada"}' http://127.0.0.1:8080/signups
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
// With PostgreSQL, the same code keeps signups in the database and runs its
// durable tasks (SendConfirmation, and Cleanup once across all processes)
// on River, so that a confirmation survives a crash and any number of
// worker processes share the work:
//
//	go run ./examples/signup -database-url postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//	go run ./examples/signup -database-url … -worker    # a worker-only process, as many as you like
//
// SendConfirmation is unique per confirmation (signing up twice in a row
// stores one job), limited to 10 at once in each process, and Cleanup runs
// on a cron schedule; futures.lock.json locks SendConfirmation's arguments,
// so that futuresgen refuses a change to Confirmation that would break the
// confirmations already queued.
//
// To watch the jobs, run River's own UI on the same database (and the
// schema given to -schema, public by default), then open
// http://localhost:8081/:
//
//	DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable PORT=8081 \
//	  go run riverqueue.com/riverui/cmd/riverui@v0.22.0 -schema public
//
// Flags:
//
//	-addr HOST:PORT        where to listen (default 127.0.0.1:8080)
//	-mail-delay DURATION   how long the pretend mailer takes (default 2s)
//	-database-url URL      PostgreSQL for signups and durable tasks (default $DATABASE_URL; none: in memory)
//	-schema NAME           PostgreSQL schema for the signups table and River's (default: the search_path's)
//	-worker                work durable tasks only, without serving HTTP (needs -database-url)
//	-insert-only           serve HTTP and store durable jobs, leaving their work to -worker processes
//	-trace                 trace views, tasks and durable jobs with OpenTelemetry: spans to stdout as JSON,
//	                       or over OTLP to $OTEL_EXPORTER_OTLP_ENDPOINT when set (which turns tracing on too)
//
// With tracing, one trace runs from a signup's request through its
// after-response task to the durable job on whichever -worker process
// runs it, and every log line carries trace_id and span_id.
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
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/rivertype"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/telemetry"
	"github.com/gofutures/futures/runtime/telemetry/durabletel"
	"github.com/gofutures/futures/runtime/view"
)

// templates are the views' html/templates.
//
//go:embed templates
var templates embed.FS

// work runs a worker-only process: the durable tasks' jobs, no HTTP, until
// ctx ends or SIGINT or SIGTERM arrives.
func work(ctx context.Context, loop *taskloop.Loop, svc *Service, stdout io.Writer, ready func(*Service, string)) error {
	if err := RegisterServiceTasks(loop, svc); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The loop stops with Shutdown below, not with ctx.
	if err := loop.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "signup: working durable tasks; Ctrl-C to stop")
	if ready != nil {
		ready(svc, "")
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return loop.Shutdown(shutdown)
}

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
	databaseURL := flags.String("database-url", os.Getenv("DATABASE_URL"), "PostgreSQL `URL` for signups and durable tasks (default $DATABASE_URL; none: in memory)")
	schema := flags.String("schema", "", "PostgreSQL `schema` for the signups table and River's tables")
	worker := flags.Bool("worker", false, "work durable tasks only, without serving HTTP (needs -database-url)")
	insertOnly := flags.Bool("insert-only", false, "serve HTTP and store durable tasks' jobs, but leave their work to -worker processes (needs -database-url)")
	tracing := flags.Bool("trace", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "", "trace with OpenTelemetry: spans to stdout, or over OTLP to $OTEL_EXPORTER_OTLP_ENDPOINT when set")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", flags.Args())
	}
	if (*worker || *insertOnly) && *databaseURL == "" {
		return errors.New("-worker and -insert-only need -database-url: without PostgreSQL, tasks run in the serving process")
	}

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	var tel *telemetry.Telemetry
	if *tracing {
		var flush func(context.Context) error
		var err error
		if tel, flush, err = setupTracing(ctx, stdout); err != nil {
			return err
		}
		defer flush(context.WithoutCancel(ctx))
		logger = slog.New(telemetry.LogHandler(logger.Handler())) // trace_id and span_id on every line
	}
	svc := &Service{
		Store:  NewStore(),
		Mailer: &LogMailer{Logger: logger, Delay: *mailDelay},
		Logger: logger,
	}
	loopOpts := taskloop.Options{Logger: logger}
	var middleware []rivertype.Middleware
	if tel != nil {
		loopOpts.Hooks = tel                    // a span per task attempt
		middleware = durabletel.Middleware(tel) // the trace goes along with durable jobs
	}
	if *databaseURL != "" {
		pool, err := pgxpool.New(ctx, *databaseURL)
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := durable.Migrate(ctx, pool, *schema); err != nil {
			return err
		}
		if svc.Store, err = NewPGStore(ctx, pool, *schema); err != nil {
			return err
		}
		loopOpts.Backend = durable.New(pool, durable.Options{Schema: *schema, Logger: logger, InsertOnly: *insertOnly, Middleware: middleware})
	}
	loop := taskloop.New(loopOpts)
	if *worker {
		return work(ctx, loop, svc, stdout, ready)
	}
	// Names the tasks for the loop and starts Cleanup's schedule.
	if err := RegisterServiceTasks(loop, svc); err != nil {
		return err
	}
	mux := http.NewServeMux()
	if err := RegisterServiceViews(mux, svc, view.WithTemplates(templates), view.WithLogger(logger)); err != nil {
		return err
	}
	// The OpenAPI document of the views, which futuresgen writes beside
	// futures_gen.go (//futures:api in signup.go).
	mux.Handle("GET /openapi.json", view.ServeOpenAPI(OpenAPI()))

	var handler http.Handler = mux
	if tel != nil {
		handler = tel.Handler(mux) // a span per request, named after its view's pattern
	}
	return server.Run(ctx, server.Config{
		Addr:    *addr,
		Handler: handler,
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
