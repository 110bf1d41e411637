package durable_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// benchJobs is how many jobs each side inserts and works per run.
const benchJobs = 2000

// benchWorkers is how many jobs each client works at once, and benchPoll
// its fetch interval and cooldown: River's defaults (100ms, 1s) cap a
// client at MaxWorkers jobs per 100ms, which would measure the cap rather
// than either side.
const (
	benchWorkers = 200
	benchPoll    = 20 * time.Millisecond
)

// benchPayload is the argument of every job: a few fields, as a task that
// sends a message would have.
type benchPayload struct {
	N       int               `json:"n"`
	To      string            `json:"to"`
	Subject string            `json:"subject"`
	Tags    []string          `json:"tags"`
	Meta    map[string]string `json:"meta"`
}

func newPayload(i int) benchPayload {
	return benchPayload{N: i, To: "user@example.com", Subject: "welcome", Tags: []string{"signup", "mail"}, Meta: map[string]string{"lang": "en"}}
}

// riverArgs is the job of River's side: a typed worker, as River's users
// write it.
type riverArgs struct{ benchPayload }

func (riverArgs) Kind() string { return "bench.river" }

type riverWorker struct {
	river.WorkerDefaults[riverArgs]
	worked *atomic.Int64
}

func (w *riverWorker) Work(ctx context.Context, job *river.Job[riverArgs]) error {
	if job.Args.To == "" {
		return nil
	}
	w.worked.Add(1)
	return nil
}

// durableArgs is the job of durable's side as a River JobArgs, for inserts
// with River's InsertMany through Backend.Client.
type durableArgs struct{ benchPayload }

func (durableArgs) Kind() string { return "bench.durable" }

// benchSpec and benchDef are a durable task as futuresgen writes it.
var benchSpec = taskloop.Spec{Name: "bench.durable", Durable: true}

func benchDef(worked *atomic.Int64) taskloop.Definition {
	return taskloop.Definition{Spec: benchSpec, RunJSON: func(ctx context.Context, data []byte) error {
		var a benchPayload
		if err := taskloop.DecodeArgs(data, &a); err != nil {
			return err
		}
		if a.To == "" {
			return nil
		}
		worked.Add(1)
		return nil
	}}
}

// benchPool returns a pool large enough for either side's inserts, which
// the caller closes.
func benchPool(b *testing.B, db *pgtest.DB) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(4*runtime.GOMAXPROCS(0) + 8)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	return pool
}

// waitCompleted waits until n jobs have completed, as River's client
// reports them: worked and marked completed in the database.
func waitCompleted(b *testing.B, events <-chan *river.Event, n int) {
	b.Helper()
	timeout := time.After(2 * time.Minute)
	for done := 0; done < n; {
		select {
		case e := <-events:
			if e.Kind != river.EventKindJobCompleted {
				b.Fatalf("job %d: %s", e.Job.ID, e.Kind)
			}
			done++
		case <-timeout:
			b.Fatalf("%d of %d jobs completed", done, n)
		}
	}
}

// runRiver is River's own API: a client with a typed worker; InsertMany, or
// one Insert per job from as many goroutines as a task loop has workers.
func runRiver(b *testing.B, db *pgtest.DB, batch bool) time.Duration {
	var worked atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &riverWorker{worked: &worked})
	pool := benchPool(b, db)
	defer pool.Close()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:  quiet,
		Schema:  db.Schema,
		Workers: workers,
		Queues:  map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: benchWorkers}},
		// As durable sets them from FetchPollInterval.
		FetchCooldown:     benchPoll,
		FetchPollInterval: benchPoll,
	})
	if err != nil {
		b.Fatal(err)
	}
	return measure(b, client, func(ctx context.Context) {
		if batch {
			params := make([]river.InsertManyParams, benchJobs)
			for i := range params {
				params[i] = river.InsertManyParams{Args: riverArgs{newPayload(i)}}
			}
			if _, err := client.InsertMany(ctx, params); err != nil {
				b.Fatal(err)
			}
			return
		}
		inParallel(b, func(i int) error {
			_, err := client.Insert(ctx, riverArgs{newPayload(i)}, nil)
			return err
		})
	})
}

// runDurable is runtime/durable: a loop with a backend working a durable
// task; River's InsertMany through Backend.Client, or one AsyncDurable per
// job (the loop's workers insert them).
func runDurable(b *testing.B, db *pgtest.DB, batch bool) time.Duration {
	var worked atomic.Int64
	pool := benchPool(b, db)
	defer pool.Close()
	backend := durable.New(pool, durable.Options{
		Schema:            db.Schema,
		MaxWorkers:        benchWorkers,
		FetchPollInterval: benchPoll,
		Logger:            quiet,
	})
	loop := taskloop.New(taskloop.Options{Backend: backend, Logger: quiet})
	if err := loop.Register(benchDef(&worked)); err != nil {
		b.Fatal(err)
	}
	if err := loop.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), safety)
		defer cancel()
		if err := loop.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	}()
	return measure(b, backend.Client(), func(ctx context.Context) {
		if batch {
			params := make([]river.InsertManyParams, benchJobs)
			for i := range params {
				params[i] = river.InsertManyParams{Args: durableArgs{newPayload(i)}}
			}
			if _, err := backend.Client().InsertMany(ctx, params); err != nil {
				b.Fatal(err)
			}
			return
		}
		lctx := taskloop.WithLoop(ctx, loop)
		fs := make([]*future.Future[taskloop.Receipt], benchJobs)
		for i := range fs {
			fs[i] = taskloop.AsyncDurable(lctx, benchSpec, newPayload(i), func(context.Context) error { return nil })
		}
		if _, err := future.All(fs...).Await(ctx); err != nil {
			b.Fatal(err)
		}
	})
}

// measure starts client if needed, then times insert and the work of every
// job it inserted, to completion; it stops client.
func measure(b *testing.B, client *river.Client[pgx.Tx], insert func(context.Context)) time.Duration {
	ctx := context.Background()
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed},
		ChanSize: benchJobs,
	})
	defer cancel()
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, safety)
		defer cancel()
		if err := client.Stop(sctx); err != nil {
			b.Error(err)
		}
	}()
	// Let the client settle (leader election, first fetch) before timing.
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	insert(ctx)
	waitCompleted(b, events, benchJobs)
	return time.Since(start)
}

// inParallel calls insert(i) for every job from as many goroutines as a
// task loop has workers by default.
func inParallel(b *testing.B, insert func(i int) error) {
	workers := 4 * runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= benchJobs {
					return
				}
				if err := insert(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkThroughput inserts benchJobs jobs and works them to completion,
// with River's own API and through runtime/durable, each on a fresh schema
// of the same database, one after the other (in turn first), once per
// iteration. It reports jobs per second of each side over all iterations,
// and ratio, the median over iterations of durable's rate divided by
// River's (the target is at least 0.9); the median of pairs resists the
// bursts of load of a shared machine better than a ratio of totals:
//
//	FUTURES_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench Throughput -benchtime 10x ./runtime/durable
//
// insert=many inserts with River's InsertMany (through Backend.Client on
// durable's side); insert=each inserts each job alone (River's Insert from
// 4×GOMAXPROCS goroutines, AsyncDurable on a loop with as many workers).
func BenchmarkThroughput(b *testing.B) {
	for _, batch := range []bool{true, false} {
		name := "insert=each"
		if batch {
			name = "insert=many"
		}
		b.Run(name, func(b *testing.B) {
			var riverTime, durableTime time.Duration
			var ratios []float64
			for i := range b.N {
				var r, d time.Duration
				if i%2 == 0 {
					r = runRiver(b, pgtest.New(b), batch)
					d = runDurable(b, pgtest.New(b), batch)
				} else {
					d = runDurable(b, pgtest.New(b), batch)
					r = runRiver(b, pgtest.New(b), batch)
				}
				riverTime += r
				durableTime += d
				ratios = append(ratios, r.Seconds()/d.Seconds())
			}
			slices.Sort(ratios)
			median := ratios[len(ratios)/2]
			if len(ratios)%2 == 0 {
				median = (ratios[len(ratios)/2-1] + median) / 2
			}
			b.ReportMetric(float64(b.N*benchJobs)/riverTime.Seconds(), "river-jobs/s")
			b.ReportMetric(float64(b.N*benchJobs)/durableTime.Seconds(), "durable-jobs/s")
			b.ReportMetric(median, "ratio")
		})
	}
}
