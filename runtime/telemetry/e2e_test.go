package telemetry_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/taskloop"
	"github.com/gofutures/futures/runtime/telemetry"
	"github.com/gofutures/futures/runtime/telemetry/durabletel"
	"github.com/gofutures/futures/runtime/telemetry/internal/e2eapp"
)

const (
	urlVar     = "FUTURES_TEST_DATABASE_URL"
	requireVar = "FUTURES_REQUIRE_DATABASE"
)

// database returns a pool on a schema of the test database with River's
// tables, dropped when t ends; it skips t without a database (fails it
// under FUTURES_REQUIRE_DATABASE=1).
func database(t *testing.T) (url, schema string, pool *pgxpool.Pool) {
	t.Helper()
	url = os.Getenv(urlVar)
	if url == "" {
		msg := urlVar + " is not set: to run the PostgreSQL test of tracing across processes, run " +
			urlVar + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test ./... in runtime/telemetry"
		if os.Getenv(requireVar) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema = "t_" + hex.EncodeToString(b[:])
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		pool.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		pool.Close()
	})
	if err := durable.Migrate(ctx, pool, schema); err != nil {
		t.Fatal(err)
	}
	return url, schema, pool
}

// workerSpan is a span as internal/e2eworker writes it.
type workerSpan struct {
	Name         string            `json:"name"`
	TraceID      string            `json:"trace_id"`
	SpanID       string            `json:"span_id"`
	ParentSpanID string            `json:"parent_span_id"`
	Attributes   map[string]string `json:"attributes"`
}

// startWorker builds and starts internal/e2eworker, waits until it works
// jobs, and returns the file it writes its spans to. It stops when t ends.
func startWorker(t *testing.T, url, schema string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "e2eworker")
	if out, err := exec.Command("go", "build", "-o", bin, "./internal/e2eworker").CombinedOutput(); err != nil {
		t.Fatalf("building the worker: %v\n%s", err, out)
	}
	spans := filepath.Join(dir, "spans.jsonl")
	cmd := exec.Command(bin, "-database-url", url, "-schema", schema, "-spans", spans)
	var stderr testkit.SyncBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ready <- sc.Scan() && sc.Text() == "ready"
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close() // the worker shuts down gracefully at the end of its input
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("the worker's log:\n%s", stderr.String())
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("the worker did not start:\n%s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the worker did not start in a minute:\n%s", stderr.String())
	}
	return spans
}

// readSpans waits until the file holds a span named name, and returns
// its spans.
func readSpans(t *testing.T, file, name string) []workerSpan {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(file)
		var spans []workerSpan
		found := false
		for _, line := range strings.Split(string(data), "\n") {
			var s workerSpan
			if json.Unmarshal([]byte(line), &s) == nil {
				spans = append(spans, s)
				found = found || s.Name == name
			}
		}
		if found {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker ended no span %q in a minute; its spans: %+v", name, spans)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOneTraceAcrossProcesses: a request to a view that schedules an
// after-response task, which stores a durable job, which a second process
// works, gives one trace: the view's span, the task's, the job's insert,
// and in the worker River's work span and the task's, each the child of
// the one before.
func TestOneTraceAcrossProcesses(t *testing.T) {
	url, schema, pool := database(t)
	workerSpans := startWorker(t, url, schema)

	r := newRig(t)
	backend := durable.New(pool, durable.Options{Schema: schema, InsertOnly: true, Middleware: durabletel.Middleware(r.tel)})
	loop := startLoop(t, taskloop.Options{Hooks: r.tel, Backend: backend})
	srv := serve(t, r, loop)
	post(t, srv.URL+"/orders/7", nil)

	here := r.waitSpans(t, "enqueue "+e2eapp.ShipName)
	there := readSpans(t, workerSpans, e2eapp.ShipName)

	view, _ := find(here, "POST /orders/{id}")
	confirm, _ := find(here, e2eapp.ConfirmName)
	enqueue, _ := find(here, "enqueue "+e2eapp.ShipName)
	insert, ok := find(here, "river.insert_many")
	if !ok {
		t.Fatalf("no insert span; spans here: %v", names(here))
	}
	trace := view.SpanContext.TraceID().String()
	chain := []struct {
		name           string
		trace, parent  string
		id             string
		wantParentName string
	}{
		{confirm.Name, confirm.SpanContext.TraceID().String(), confirm.Parent.SpanID().String(), confirm.SpanContext.SpanID().String(), view.Name},
		{enqueue.Name, enqueue.SpanContext.TraceID().String(), enqueue.Parent.SpanID().String(), enqueue.SpanContext.SpanID().String(), confirm.Name},
		{insert.Name, insert.SpanContext.TraceID().String(), insert.Parent.SpanID().String(), insert.SpanContext.SpanID().String(), enqueue.Name},
	}
	for _, name := range []string{"river.work/" + e2eapp.ShipName, e2eapp.ShipName} {
		var s workerSpan
		for _, w := range there {
			if w.Name == name {
				s = w
			}
		}
		if s.Name == "" {
			t.Fatalf("no span %q in the worker; its spans: %+v", name, there)
		}
		chain = append(chain, struct {
			name           string
			trace, parent  string
			id             string
			wantParentName string
		}{s.Name, s.TraceID, s.ParentSpanID, s.SpanID, chain[len(chain)-1].name})
	}
	parentID := view.SpanContext.SpanID().String()
	for _, c := range chain {
		if c.trace != trace {
			t.Errorf("%s is in trace %s, not the view's %s", c.name, c.trace, trace)
		}
		if c.parent != parentID {
			t.Errorf("%s's parent is %s, want %s's %s", c.name, c.parent, c.wantParentName, parentID)
		}
		parentID = c.id
	}
	ship := chain[len(chain)-1]
	for _, w := range there {
		if w.Name == ship.name && (w.Attributes["futures.task.durable"] != "true" || w.Attributes["futures.task.outcome"] != "success") {
			t.Errorf("the worker's task span has attributes %v", w.Attributes)
		}
	}
}

// TestSnoozedJobIsNotAnAttempt: a job of a task with limit= that finds as
// many running in its worker process is snoozed, which is no attempt of
// the task: its span says "snoozed", not an error, and it counts neither
// as a retry nor in the durations of attempts.
func TestSnoozedJobIsNotAnAttempt(t *testing.T) {
	_, schema, pool := database(t)
	r := newRig(t)
	backend := durable.New(pool, durable.Options{
		Schema: schema, MaxWorkers: 4, LimitWait: 20 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		Middleware: durabletel.Middleware(r.tel), Logger: slog.New(slog.DiscardHandler),
	})
	loop := taskloop.New(taskloop.Options{Hooks: r.tel, Backend: backend, Logger: slog.New(slog.DiscardHandler)})
	spec := taskloop.Spec{Name: "limited", Durable: true, Limit: 1}
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	err := loop.Register(taskloop.Definition{Spec: spec, RunJSON: func(ctx context.Context, data []byte) error {
		started <- struct{}{}
		<-release
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loop.Shutdown(context.Background()) })
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the shutdown, which waits for the jobs
	ctx := taskloop.WithLoop(context.Background(), loop)
	for i := range 2 {
		if _, err := taskloop.AsyncDurable(ctx, spec, struct{ N int }{i}, nil).Await(ctx); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	outcomes := func() map[string]int {
		n := map[string]int{}
		for _, s := range r.spans.GetSpans() {
			if s.Name == spec.Name {
				n[attr(s, telemetry.AttrTaskOutcome).AsString()]++
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for outcomes()["snoozed"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no snoozed span in 30s; outcomes %v", outcomes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	unblock()
	for outcomes()["success"] < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the two jobs did not end in 30s; outcomes %v", outcomes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, s := range r.spans.GetSpans() {
		if s.Name == spec.Name && s.Status.Code == codes.Error {
			t.Errorf("a span of the limited task is an error: %+v", s)
		}
	}
	if o := outcomes(); len(o) != 2 {
		t.Errorf("outcomes %v, want only success and snoozed", o)
	}
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case "futures.task.retries":
				for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
					if name, _ := dp.Attributes.Value(telemetry.AttrTaskName); name.AsString() == spec.Name {
						t.Errorf("%d retries of the limited task counted", dp.Value)
					}
				}
			case "futures.task.duration":
				for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
					name, _ := dp.Attributes.Value(telemetry.AttrTaskName)
					o, _ := dp.Attributes.Value(telemetry.AttrTaskOutcome)
					if name.AsString() == spec.Name && o.AsString() != "success" {
						t.Errorf("%d attempts of the limited task with outcome %s", dp.Count, o.AsString())
					}
				}
			}
		}
	}
}
