package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/taskloop"
)

// durableJobs is how many jobs one op inserts and works to completion, and
// durableInserters how many goroutines insert them, as request handlers
// would.
const (
	durableJobs      = 500
	durableInserters = 8
	durableWorkers   = 100
	durablePoll      = 20 * time.Millisecond
)

// mailArgs is a job's arguments: what a task sending a message takes.
type mailArgs struct {
	N       int    `json:"n"`
	To      string `json:"to"`
	Subject string `json:"subject"`
}

func (mailArgs) Kind() string { return "bench.mail" }

type mailWorker struct {
	river.WorkerDefaults[mailArgs]
	worked *atomic.Int64
}

func (w *mailWorker) Work(context.Context, *river.Job[mailArgs]) error {
	w.worked.Add(1)
	return nil
}

// freshSchema makes a schema with River's tables for one contender, and
// drops it when the benchmark ends.
func freshSchema(b *testing.B, pool *pgxpool.Pool) string {
	var r [4]byte
	rand.Read(r[:])
	schema := "bench_" + hex.EncodeToString(r[:])
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	if err := durable.Migrate(ctx, pool, schema); err != nil {
		b.Fatal(err)
	}
	return schema
}

// insertAll inserts durableJobs jobs from durableInserters goroutines.
func insertAll(b *testing.B, insert func(i int) error) {
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, durableInserters)
	for range durableInserters {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= durableJobs; i = int(next.Add(1)) {
				if err := insert(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

func waitWorked(b *testing.B, worked *atomic.Int64, want int64) {
	deadline := time.Now().Add(2 * time.Minute)
	for worked.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d jobs worked after 2 minutes", worked.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkDurable inserts durableJobs jobs from several goroutines and
// works them to completion: through generated-style durable tasks on a
// task loop with runtime/durable (impl=futures), and through River's own
// API with a typed worker (impl=river), on the same PostgreSQL with the
// same River settings. It skips without FUTURES_TEST_DATABASE_URL.
func BenchmarkDurable(b *testing.B) {
	url := os.Getenv("FUTURES_TEST_DATABASE_URL")
	if url == "" {
		b.Skip("set FUTURES_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to compare runtime/durable with River")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	name := fmt.Sprintf("insert-%dx%d-and-work", durableInserters, durableJobs/durableInserters)

	b.Run(name+"/impl=futures", func(b *testing.B) {
		schema := freshSchema(b, pool)
		var worked atomic.Int64
		spec := taskloop.Spec{Name: "bench.mail", Durable: true}
		backend := durable.New(pool, durable.Options{Schema: schema, MaxWorkers: durableWorkers, FetchPollInterval: durablePoll, Logger: quiet})
		loop := taskloop.New(taskloop.Options{Backend: backend, Logger: quiet})
		err := loop.Register(taskloop.Definition{Spec: spec, RunJSON: func(ctx context.Context, data []byte) error {
			var a mailArgs
			if err := taskloop.DecodeArgs(data, &a); err != nil {
				return err
			}
			worked.Add(1)
			return nil
		}})
		if err != nil {
			b.Fatal(err)
		}
		if err := loop.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { loop.Shutdown(context.Background()) })
		lctx := taskloop.WithLoop(ctx, loop)
		cpu := startCPU()
		b.ResetTimer()
		for n := range b.N {
			insertAll(b, func(i int) error {
				a := mailArgs{N: i, To: "user@example.com", Subject: "welcome"}
				_, err := taskloop.AsyncDurable(lctx, spec, a, func(context.Context) error { return nil }).Await(lctx)
				return err
			})
			waitWorked(b, &worked, int64((n+1)*durableJobs))
		}
		b.StopTimer()
		cpu.report(b)
		b.ReportMetric(float64(b.N*durableJobs)/b.Elapsed().Seconds(), "jobs/s")
	})

	b.Run(name+"/impl=river", func(b *testing.B) {
		schema := freshSchema(b, pool)
		var worked atomic.Int64
		workers := river.NewWorkers()
		river.AddWorker(workers, &mailWorker{worked: &worked})
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
			Logger: quiet, Schema: schema, Workers: workers,
			Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: durableWorkers}},
			FetchPollInterval: durablePoll, FetchCooldown: durablePoll,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := client.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { client.Stop(context.Background()) })
		cpu := startCPU()
		b.ResetTimer()
		for n := range b.N {
			insertAll(b, func(i int) error {
				_, err := client.Insert(ctx, mailArgs{N: i, To: "user@example.com", Subject: "welcome"}, &river.InsertOpts{MaxAttempts: 1})
				return err
			})
			waitWorked(b, &worked, int64((n+1)*durableJobs))
		}
		b.StopTimer()
		cpu.report(b)
		b.ReportMetric(float64(b.N*durableJobs)/b.Elapsed().Seconds(), "jobs/s")
	})
	// Unique inserts (unique=args): each op inserts durableJobs jobs whose
	// arguments come in pairs, so that half are stored and half are
	// duplicates that River finds by its unique key, with no worker, to
	// measure the insert alone.
	unique := fmt.Sprintf("unique-insert-%dx%d", durableInserters, durableJobs/durableInserters)
	b.Run(unique+"/impl=futures", func(b *testing.B) {
		schema := freshSchema(b, pool)
		spec := taskloop.Spec{Name: "bench.mail", Durable: true, Unique: &taskloop.Unique{ByArgs: true}}
		backend := durable.New(pool, durable.Options{Schema: schema, InsertOnly: true, Logger: quiet})
		loop := taskloop.New(taskloop.Options{Backend: backend, Logger: quiet})
		if err := loop.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { loop.Shutdown(context.Background()) })
		lctx := taskloop.WithLoop(ctx, loop)
		var dups atomic.Int64
		cpu := startCPU()
		b.ResetTimer()
		for n := range b.N {
			insertAll(b, func(i int) error {
				a := mailArgs{N: n*durableJobs + i/2, To: "user@example.com", Subject: "welcome"}
				r, err := taskloop.AsyncDurable(lctx, spec, a, func(context.Context) error { return nil }).Await(lctx)
				if r.Duplicate {
					dups.Add(1)
				}
				return err
			})
		}
		b.StopTimer()
		cpu.report(b)
		checkDuplicates(b, dups.Load())
		b.ReportMetric(float64(b.N*durableJobs)/b.Elapsed().Seconds(), "inserts/s")
	})
	b.Run(unique+"/impl=river", func(b *testing.B) {
		schema := freshSchema(b, pool)
		client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quiet, Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
		var dups atomic.Int64
		cpu := startCPU()
		b.ResetTimer()
		for n := range b.N {
			insertAll(b, func(i int) error {
				// Bounded as futures bounds its inserts (30s), as anything
				// but a test would: a hung database must not hang a request.
				ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				res, err := client.Insert(ictx, mailArgs{N: n*durableJobs + i/2, To: "user@example.com", Subject: "welcome"}, opts)
				if err == nil && res.UniqueSkippedAsDuplicate {
					dups.Add(1)
				}
				return err
			})
		}
		b.StopTimer()
		cpu.report(b)
		checkDuplicates(b, dups.Load())
		b.ReportMetric(float64(b.N*durableJobs)/b.Elapsed().Seconds(), "inserts/s")
	})
}

// checkDuplicates fails a unique benchmark whose inserts did not find the
// duplicates they were given: jobs numbered 1 to durableJobs come in pairs
// but for the first and the last.
func checkDuplicates(b *testing.B, dups int64) {
	if want := int64(b.N * (durableJobs/2 - 1)); dups < want {
		b.Fatalf("%d inserts were duplicates; want at least %d", dups, want)
	}
}
