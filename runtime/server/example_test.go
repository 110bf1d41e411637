package server_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/taskloop"
)

// Run serves until its context ends, then shuts down gracefully and
// returns nil. Here it serves a listener opened by the caller (in
// production, leave Listeners empty and set Addr).
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			Listeners: []net.Listener{ln},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, "hello from %s\n", r.URL.Path)
			}),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready:  func(addrs []net.Addr) { ready <- addrs[0].String() },
		})
	}()
	addr := <-ready

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + addr + "/hi")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.Status, ": ", string(body))

	cancel() // as SIGINT or SIGTERM would
	fmt.Println("Run returned:", <-done)
	// Output:
	// 200 OK: hello from /hi
	// Run returned: <nil>
}

// With a task loop, Run starts it, hands it to every request, and at
// shutdown drains it after the requests in flight: the after-response
// tasks that taskloop.Later scheduled have run when Run returns.
func Example_taskLoop() {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	loop := taskloop.New(taskloop.Options{Logger: quiet}) // Run starts it
	sent := make(chan string, 1)

	signup := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := r.URL.Query().Get("email")
		taskloop.Later(r.Context(), taskloop.Spec{Name: "example.SendWelcome"}, func(context.Context) (struct{}, error) {
			sent <- "welcome mail to " + email
			return struct{}{}, nil
		})
		fmt.Fprintln(w, "signed up", email)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Config{
			Listeners: []net.Listener{ln},
			Handler:   taskloop.Middleware(signup),
			Loop:      loop,
			Logger:    quiet,
		})
	}()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + ln.Addr().String() + "/signup?email=ada@example.com")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))

	cancel()
	fmt.Println("Run returned:", <-done)
	fmt.Println(<-sent)
	// Output:
	// signed up ada@example.com
	// Run returned: <nil>
	// welcome mail to ada@example.com
}

// Gzip is also a middleware of its own, for servers not started by Run.
func ExampleGzip() {
	h := server.Gzip(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "[%s1]", strings.Repeat("1,", 1000))
	}))

	req := httptest.NewRequest("GET", "/numbers", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	fmt.Println("Content-Encoding:", rec.Header().Get("Content-Encoding"))
	fmt.Println("Vary:", rec.Header().Get("Vary"))
	fmt.Println("compressed:", rec.Body.Len() < 2003)
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		panic(err)
	}
	plain, _ := io.ReadAll(zr)
	fmt.Println("decoded bytes:", len(plain))
	// Output:
	// Content-Encoding: gzip
	// Vary: Accept-Encoding
	// compressed: true
	// decoded bytes: 2003
}
