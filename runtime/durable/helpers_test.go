package durable_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"go.uber.org/goleak"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
	"github.com/gofutures/futures/runtime/taskloop"
)

// TestMain fails the package when a test leaves a goroutine behind. Every
// test stops the loops (and so the River clients) it starts and closes its
// pools; River's client, once Stop has returned, and pgxpool, once Close has
// returned, leave nothing running, so no goroutine needs to be ignored.
//
// The commands that the process tests build (binary) go in a temporary
// directory removed at the end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if buildDir != "" {
			_ = os.RemoveAll(buildDir)
		}
		os.Exit(code)
	}))
}

// quiet swallows the logs of loops and River clients, which would otherwise
// print every failure the tests provoke.
var quiet = slog.New(slog.DiscardHandler)

// safety bounds every wait of the tests, so that a bug shows up as a
// failure instead of a hang. It is never a timing assertion.
const safety = 30 * time.Second

// poll is the FetchPollInterval of the tests' backends: retries with a short
// backoff become available without a notification, so workers find them on
// the next poll.
const poll = 50 * time.Millisecond

// worker is a started loop with a River backend.
type worker struct {
	Loop    *taskloop.Loop
	Backend *durable.Backend

	mu       sync.Mutex
	shutDown bool
}

// startWorker starts a loop with a backend on db's schema, with defs
// registered through the loop, and shuts it down when the test ends.
// Unset options get test values: db's schema, poll, quiet logs.
func startWorker(t testing.TB, db *pgtest.DB, opts durable.Options, defs ...taskloop.Definition) *worker {
	t.Helper()
	if opts.Schema == "" {
		opts.Schema = db.Schema
	}
	if opts.FetchPollInterval == 0 {
		opts.FetchPollInterval = poll
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	b := durable.New(db.Pool, opts)
	l := taskloop.New(taskloop.Options{Backend: b, Logger: quiet})
	if err := l.Register(defs...); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := &worker{Loop: l, Backend: b}
	t.Cleanup(func() {
		w.mu.Lock()
		done := w.shutDown
		w.mu.Unlock()
		if done {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), safety)
		defer cancel()
		if err := l.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return w
}

// Shutdown shuts the worker's loop down now, instead of at the end of the
// test.
func (w *worker) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	w.shutDown = true
	w.mu.Unlock()
	return w.Loop.Shutdown(ctx)
}

// Ctx returns a context in which generated XxxAsync functions use the
// worker's loop.
func (w *worker) Ctx() context.Context {
	return taskloop.WithLoop(context.Background(), w.Loop)
}

// job returns the job's row as River stores it.
func (w *worker) job(t testing.TB, id int64) *rivertype.JobRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	row, err := w.Backend.Client().JobGet(ctx, id)
	if err != nil {
		t.Fatalf("JobGet(%d): %v", id, err)
	}
	return row
}

// waitJob waits until the job is in state and returns its row.
func (w *worker) waitJob(t testing.TB, id int64, state rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	var row *rivertype.JobRow
	eventually(t, func() bool {
		row = w.job(t, id)
		return row.State == state
	}, "job %d to be %s", id, state)
	return row
}

// eventually waits until cond holds, failing the test after safety.
func eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receive returns the next value from ch, failing the test after safety.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(safety):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// await awaits a future-like Await within safety.
func await[T any](t testing.TB, f interface {
	Await(context.Context) (T, error)
}) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	return f.Await(ctx)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary returns the path of a command of this module built once per test
// run (without -race: they stand for production processes): "migrate" or
// "testworker".
func binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "durable-test-bin-")
		if buildErr != nil {
			return
		}
		buildErr = testkit.Build(buildDir, nil,
			"github.com/gofutures/futures/runtime/durable/cmd/migrate",
			"github.com/gofutures/futures/runtime/durable/internal/testworker")
	})
	if buildErr != nil {
		t.Fatalf("building the test commands: %v", buildErr)
	}
	return filepath.Join(buildDir, name)
}
