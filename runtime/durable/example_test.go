package durable_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// How these examples are checked: go test runs an example only when it has
// an Output comment, and compares what it prints. An example that needs
// PostgreSQL cannot have one (go test has no database to give it, and an
// example cannot skip), so Example and ExampleWithTx have none: they are
// compiled, so they stay true to the API, but not run; the package's tests
// run the same calls against a real database (FUTURES_TEST_DATABASE_URL).
// The examples that need no database have an Output and run.

// sendWelcome is a task marked //futures:task durable retries=5
// backoff=1s timeout=30s. futuresgen writes what follows it.
func sendWelcome(ctx context.Context, to string) error {
	log.Printf("welcome, %s", to)
	return nil
}

var sendWelcomeSpec = taskloop.Spec{Name: "example.com/app.sendWelcome", Retries: 5, Backoff: time.Second, Timeout: 30 * time.Second, Durable: true}

// sendWelcomeArgs are sendWelcome's arguments as they travel in a job.
type sendWelcomeArgs struct {
	To string `json:"to"`
}

// sendWelcomeAsync inserts a job for sendWelcome, on a loop with a durable
// backend; its future resolves with the job's ID once the insert commits.
func sendWelcomeAsync(ctx context.Context, to string) *future.Future[taskloop.Receipt] {
	return taskloop.AsyncDurable(ctx, sendWelcomeSpec, sendWelcomeArgs{To: to}, func(ctx context.Context) error {
		return sendWelcome(ctx, to)
	})
}

// sendWelcomeTask is what the generated RegisterTasks hands the loop: how
// a worker process runs a job of sendWelcome.
func sendWelcomeTask() taskloop.Definition {
	return taskloop.Definition{
		Spec: sendWelcomeSpec,
		RunJSON: func(ctx context.Context, data []byte) error {
			var a sendWelcomeArgs
			if err := taskloop.DecodeArgs(data, &a); err != nil {
				return err
			}
			return sendWelcome(ctx, a.To)
		},
	}
}

// A process that both inserts and works jobs. Needs PostgreSQL: compiled,
// not run (see above).
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := durable.Migrate(ctx, pool, ""); err != nil { // River's tables, once
		log.Fatal(err)
	}
	loop := taskloop.New(taskloop.Options{Backend: durable.New(pool, durable.Options{})})
	if err := loop.Register(sendWelcomeTask()); err != nil { // generated: app.RegisterTasks(loop)
		log.Fatal(err)
	}
	if err := loop.Start(ctx); err != nil { // starts River's client too
		log.Fatal(err)
	}
	defer loop.Shutdown(ctx) // drains the loop, then stops River gracefully

	receipt, err := sendWelcomeAsync(taskloop.WithLoop(ctx, loop), "ada@example.com").Await(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored job", receipt.JobID)
}

// The job of a durable task started in a transaction exists if and only if
// the transaction commits. Needs PostgreSQL: compiled, not run.
func ExampleWithTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	loop := taskloop.New(taskloop.Options{Backend: durable.New(pool, durable.Options{InsertOnly: true})})
	if err := loop.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer loop.Shutdown(ctx)

	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "INSERT INTO users (email) VALUES ($1)", "ada@example.com"); err != nil {
		log.Fatal(err)
	}
	// The insert happens now, in this goroutine, inside tx.
	if _, err := sendWelcomeAsync(durable.WithTx(taskloop.WithLoop(ctx, loop), tx), "ada@example.com").Await(ctx); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil { // the user and the job, or neither
		log.Fatal(err)
	}
}

// New connects to nothing: a backend that has not started (its loop has
// not) refuses to insert with ErrNotStarted, and Register refuses what a
// worker could not run. No database needed: pgxpool.New connects lazily.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	backend := durable.New(pool, durable.Options{})

	_, err = backend.Enqueue(ctx, sendWelcomeSpec, []byte(`{"to":"ada@example.com"}`))
	fmt.Println(errors.Is(err, durable.ErrNotStarted))

	fmt.Println(backend.Register(sendWelcomeTask()))
	notDurable := taskloop.Definition{Spec: taskloop.Spec{Name: "example.com/app.resize"}}
	fmt.Println(backend.Register(sendWelcomeTask(), notDurable)) // all or nothing
	// Output:
	// true
	// <nil>
	// durable: task example.com/app.sendWelcome is already registered
	// durable: task example.com/app.resize has no RunJSON function (is it marked durable?)
}
