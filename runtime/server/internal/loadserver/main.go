// Command loadserver is the server of the load-with-shutdown test
// (runtime/server/load_test.go): runtime/server.Run serving the generated
// views of package loadviews, with a task loop for their after-response
// tasks. Each task appends its order's id to the file named by -out. The
// program prints "listening ADDR" once it accepts connections and, when Run
// has returned, one JSON line of figures; it exits 0 after a clean
// shutdown, 1 otherwise.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofutures/futures/runtime/server"
	"github.com/gofutures/futures/runtime/server/internal/loadviews"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/view"
)

// Summary is the JSON line printed at exit.
type Summary struct {
	TasksRecorded int64             `json:"tasks_recorded"`
	AtSignal      *taskloop.Stats   `json:"at_signal,omitempty"` // the loop when SIGTERM arrived
	Final         taskloop.Stats    `json:"final"`
	ShutdownMS    float64           `json:"shutdown_ms"` // from SIGTERM to Run's return
	RunErr        string            `json:"run_err,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	out := flag.String("out", "", "file that each after-response task appends its order id to")
	workers := flag.Int("workers", 8, "task loop workers")
	queue := flag.Int("queue", 512, "task loop queue size")
	shutdown := flag.Duration("shutdown-timeout", 10*time.Second, "server.Config.ShutdownTimeout")
	flag.Parse()

	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadserver:", err)
		os.Exit(2)
	}
	var (
		mu       sync.Mutex
		recorded atomic.Int64
	)
	shop := &loadviews.Shop{
		Sink: func(ctx context.Context, id string) error {
			mu.Lock()
			defer mu.Unlock()
			if _, err := f.WriteString(id + "\n"); err != nil {
				return err
			}
			recorded.Add(1)
			return nil
		},
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	loop := taskloop.New(taskloop.Options{Workers: *workers, QueueSize: *queue, Logger: logger})
	if err := loadviews.RegisterShopTasks(loop, shop); err != nil {
		fmt.Fprintln(os.Stderr, "loadserver:", err)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	if err := loadviews.RegisterShopViews(mux, shop, view.WithLogger(logger)); err != nil {
		fmt.Fprintln(os.Stderr, "loadserver:", err)
		os.Exit(2)
	}
	if err := loadviews.RegisterViews(mux, view.WithLogger(logger)); err != nil {
		fmt.Fprintln(os.Stderr, "loadserver:", err)
		os.Exit(2)
	}

	// A second receiver of SIGTERM (signal.Notify delivers to every
	// channel) takes the loop's figures and the time when it arrived.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	var (
		sigMu    sync.Mutex
		sigAt    time.Time
		atSignal *taskloop.Stats
	)
	go func() {
		<-sig
		st := loop.Stats()
		sigMu.Lock()
		sigAt, atSignal = time.Now(), &st
		sigMu.Unlock()
	}()

	runErr := server.Run(context.Background(), server.Config{
		Addr:              *addr,
		Handler:           mux,
		Loop:              loop,
		Gzip:              true,
		ShutdownTimeout:   *shutdown,
		ReadHeaderTimeout: 5 * time.Second,
		Logger:            logger,
		Ready: func(addrs []net.Addr) {
			fmt.Printf("listening %s\n", addrs[0])
		},
	})
	ended := time.Now()

	mu.Lock()
	syncErr := f.Sync()
	closeErr := f.Close()
	mu.Unlock()

	sigMu.Lock()
	s := Summary{TasksRecorded: recorded.Load(), AtSignal: atSignal, Final: loop.Stats()}
	if !sigAt.IsZero() {
		s.ShutdownMS = float64(ended.Sub(sigAt).Microseconds()) / 1000
	}
	sigMu.Unlock()
	if runErr != nil {
		s.RunErr = runErr.Error()
	}
	if syncErr != nil || closeErr != nil {
		s.Extra = map[string]string{"file": fmt.Sprint(syncErr, closeErr)}
	}
	b, _ := json.Marshal(s)
	fmt.Printf("%s\n", b)
	if runErr != nil || syncErr != nil || closeErr != nil {
		os.Exit(1)
	}
}
