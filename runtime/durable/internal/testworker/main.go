// Command testworker is a durable worker process for the scale-out and
// crash tests of runtime/durable: a task loop with a River backend that
// works one durable task, durabletest.record, which sleeps for as long as
// its arguments say and then records that it ran in the table done of the
// test's schema:
//
//	CREATE TABLE <schema>.done (n bigint, worker text, running int, at timestamptz DEFAULT now())
//
// One row per run, so that a job run twice (at least once, after a crash)
// shows as two rows with the same n; running is how many runs of the task
// this process had going when the row was written, this one included. A job whose arguments say crash is a
// poison job: once recorded, it kills its own process (SIGKILL on Unix),
// as a task that crashes every worker would. The task has the retries that
// -retries gives (0 by default, as //futures:task durable without
// options), the limit that -limit gives, and the queue that -queue gives.
// With -cron, the worker also registers durabletest.tick, a durable task
// on that cron schedule that records a row with n = 0. The worker prints
// "ready" once working, and
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gofutures/futures/runtime/cron"
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
	Crash   bool  `json:"crash,omitempty"`
}

// config is the worker's command line.
type config struct {
	url, schema, name string
	maxWorkers        int
	retries           int
	maxRescues        int
	rescueAfter, poll time.Duration
	limit             int
	queue, cron       string
}

func main() {
	var c config
	flag.StringVar(&c.url, "database-url", "", "PostgreSQL URL")
	flag.StringVar(&c.schema, "schema", "", "schema of River's tables and of done")
	flag.StringVar(&c.name, "name", "worker", "this worker's name in done")
	flag.IntVar(&c.maxWorkers, "max-workers", 50, "jobs worked at once")
	flag.IntVar(&c.retries, "retries", 0, "the task's Spec.Retries")
	flag.IntVar(&c.maxRescues, "max-rescues", 0, "Options.MaxRescues (0: the default)")
	flag.DurationVar(&c.rescueAfter, "rescue-after", 0, "Options.RescueStuckJobsAfter (0: River's default)")
	flag.DurationVar(&c.poll, "poll", 50*time.Millisecond, "Options.FetchPollInterval")
	flag.IntVar(&c.limit, "limit", 0, "the task's Spec.Limit")
	flag.StringVar(&c.queue, "queue", "", "the task's Spec.Queue")
	flag.StringVar(&c.cron, "cron", "", "a cron schedule for durabletest.tick")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "testworker:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		stop()
	}()

	cfg, err := pgxpool.ParseConfig(c.url)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(c.maxWorkers/4 + 4)
	// The tests find this worker's sessions in pg_stat_activity by name,
	// to wait until PostgreSQL is done with those of a killed worker.
	cfg.ConnConfig.RuntimeParams["application_name"] = "testworker " + c.schema + " " + c.name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("worker", c.name)
	backend := durable.New(pool, durable.Options{
		Schema:               c.schema,
		MaxWorkers:           c.maxWorkers,
		MaxRescues:           c.maxRescues,
		RescueStuckJobsAfter: c.rescueAfter,
		FetchPollInterval:    c.poll,
		Logger:               logger,
	})
	loop := taskloop.New(taskloop.Options{Backend: backend, Logger: logger})
	insert := "INSERT INTO " + c.schema + ".done (n, worker, running) VALUES ($1, $2, $3)"
	var running atomic.Int32
	record := func(ctx context.Context, a recordArgs) error {
		n := running.Add(1)
		defer running.Add(-1)
		if a.SleepMS > 0 {
			select {
			case <-time.After(time.Duration(a.SleepMS) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if _, err := pool.Exec(ctx, insert, a.N, c.name, n); err != nil {
			return err
		}
		if a.Crash {
			self, err := os.FindProcess(os.Getpid())
			if err == nil {
				err = self.Kill()
			}
			if err == nil {
				select {} // the signal is on its way; nothing of this run may be recorded
			}
			return fmt.Errorf("a poison job could not kill its worker: %w", err)
		}
		return nil
	}
	defs := []taskloop.Definition{{
		Spec: taskloop.Spec{Name: TaskName, Retries: c.retries, Durable: true, Limit: c.limit, Queue: c.queue},
		RunJSON: func(ctx context.Context, data []byte) error {
			var a recordArgs
			if err := taskloop.DecodeArgs(data, &a); err != nil {
				return err
			}
			return record(ctx, a)
		},
	}}
	if c.cron != "" {
		expr, err := cron.Parse(c.cron)
		if err != nil {
			return err
		}
		tick := func(ctx context.Context) error {
			_, err := pool.Exec(ctx, insert, 0, c.name, 1)
			return err
		}
		defs = append(defs, taskloop.Definition{
			Spec:    taskloop.Spec{Name: "durabletest.tick", Durable: true, Cron: expr},
			Run:     tick,
			RunJSON: func(ctx context.Context, _ []byte) error { return tick(ctx) },
		})
	}
	if err := loop.Register(defs...); err != nil {
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
