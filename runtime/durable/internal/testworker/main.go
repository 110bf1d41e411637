// Command testworker is a durable worker process for the scale-out and
// crash tests of runtime/durable: a task loop with a River backend that
// works one durable task, durabletest.record, which sleeps for as long as
// its arguments say and then records that it ran in the table done of the
// test's schema:
//
//	CREATE TABLE <schema>.done (n bigint, worker text, at timestamptz DEFAULT now())
//
// One row per run, so that a job run twice (at least once, after a crash)
// shows as two rows with the same n. It prints "ready" once working, and
// shuts down gracefully on SIGINT, SIGTERM or the end of its standard
// input (so that it does not outlive a test that died).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/taskloop"
)

// TaskName is the kind of the jobs this worker works.
const TaskName = "durabletest.record"

// recordArgs are the task's arguments as they travel in a job, as
// futuresgen writes them for a durable task.
type recordArgs struct {
	N       int64 `json:"n"`
	SleepMS int   `json:"sleep_ms"`
}

func main() {
	url := flag.String("database-url", "", "PostgreSQL URL")
	schema := flag.String("schema", "", "schema of River's tables and of done")
	name := flag.String("name", "worker", "this worker's name in done")
	maxWorkers := flag.Int("max-workers", 50, "jobs worked at once")
	rescueAfter := flag.Duration("rescue-after", 0, "Options.RescueStuckJobsAfter (0: River's default)")
	poll := flag.Duration("poll", 50*time.Millisecond, "Options.FetchPollInterval")
	flag.Parse()
	if err := run(*url, *schema, *name, *maxWorkers, *rescueAfter, *poll); err != nil {
		fmt.Fprintln(os.Stderr, "testworker:", err)
		os.Exit(1)
	}
}

func run(url, schema, name string, maxWorkers int, rescueAfter, poll time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		stop()
	}()

	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(maxWorkers/4 + 4)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("worker", name)
	backend := durable.New(pool, durable.Options{
		Schema:               schema,
		MaxWorkers:           maxWorkers,
		RescueStuckJobsAfter: rescueAfter,
		FetchPollInterval:    poll,
		Logger:               logger,
	})
	loop := taskloop.New(taskloop.Options{Backend: backend, Logger: logger})
	insert := "INSERT INTO " + schema + ".done (n, worker) VALUES ($1, $2)"
	record := func(ctx context.Context, a recordArgs) error {
		if a.SleepMS > 0 {
			select {
			case <-time.After(time.Duration(a.SleepMS) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		_, err := pool.Exec(ctx, insert, a.N, name)
		return err
	}
	err = loop.Register(taskloop.Definition{
		Spec: taskloop.Spec{Name: TaskName, Retries: 5, Durable: true},
		RunJSON: func(ctx context.Context, data []byte) error {
			var a recordArgs
			if err := taskloop.DecodeArgs(data, &a); err != nil {
				return err
			}
			return record(ctx, a)
		},
	})
	if err != nil {
		return err
	}
	// Not ctx: cancelling Start's context stops the loop hard, and the
	// signal must stop it gracefully, below.
	if err := loop.Start(context.Background()); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return loop.Shutdown(sctx)
}
