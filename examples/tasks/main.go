// Command tasks is a tour of futures without a server to install: a task
// loop fanning out to a slow backend, retries, and an HTTP handler whose
// email goes out after its response.
//
//	go run ./examples/tasks
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	loop := taskloop.New(taskloop.Options{
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err := loop.Start(ctx); err != nil {
		return err
	}
	taskloop.SetDefault(loop)
	defer taskloop.SetDefault(nil)

	// 1. Fan out: five slow calls at once, awaited together.
	fmt.Println("1. fan-out: five quotes from a 20-60 ms backend")
	start := time.Now()
	var quotes []*future.Future[Quote]
	for _, s := range []string{"ACME", "GLOBEX", "INITECH", "HOOLI", "UMBRELLA"} {
		quotes = append(quotes, FetchQuoteAsync(ctx, s))
	}
	all, err := future.All(quotes...).Await(ctx)
	if err != nil {
		return err
	}
	var sum time.Duration
	for _, q := range all {
		fmt.Printf("   %-8s %7.2f  (%v)\n", q.Symbol, q.Price, q.Took)
		sum += q.Took
	}
	fmt.Printf("   one after the other: %v; together: %v\n\n", sum, time.Since(start).Round(time.Millisecond))

	// 2. Retries with backoff.
	fmt.Println("2. retries: a task that fails twice")
	msg, err := FlakyAsync(ctx).Await(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("   %s\n\n", msg)

	// 3. After-response tasks in a handler.
	fmt.Println("3. a handler that answers first and sends the welcome email after")
	if err := serveOnce(ctx); err != nil {
		return err
	}

	if err := loop.Shutdown(ctx); err != nil {
		return err
	}
	st := loop.Stats()
	fmt.Printf("\nloop stats: %d submitted, %d succeeded, %d failed, %d retried\n", st.Submitted, st.Succeeded, st.Failed, st.Retried)
	return nil
}

func serveOnce(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
		SendWelcomeLater(r.Context(), "ada@example.com")
		w.Header().Set("Content-Length", "9")
		io.WriteString(w, "welcome!\n")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: taskloop.Middleware(mux), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)

	resp, err := http.Post("http://"+ln.Addr().String()+"/signup", "text/plain", nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	fmt.Printf("   client got %d %q\n", resp.StatusCode, body)
	select {
	case to := <-welcomes:
		fmt.Printf("   then the task loop sent the welcome email to %s\n", to)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("the welcome email was never sent")
	}
	return nil
}
