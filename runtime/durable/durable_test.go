package durable_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
	"github.com/gofutures/futures/runtime/future"
	"github.com/gofutures/futures/runtime/taskloop"
)

// The task below and its wrappers are written as futuresgen writes them
// for
//
//	//futures:task durable retries=3 name=durabletest.send
//	func Send(ctx context.Context, msg Message, ids []int64, meta map[string]string) error
//
// (see testdata/gen/ok/options), with the body of Send left to each test.

// Message travels as JSON in the job's arguments.
type Message struct {
	Subject string `json:"subject"`
	Body    string
	Sent    time.Time `json:"sent"`
}

var futuresSpec_Send = taskloop.Spec{
	Name:    "durabletest.send",
	Retries: 3,
	Durable: true,
}

type futuresArgs_Send struct {
	Msg  Message           `json:"msg"`
	Ids  []int64           `json:"ids"`
	Meta map[string]string `json:"meta"`
}

// sendTask returns Send's definition, as RegisterTasks gives it, and
// SendAsync, SendLater, for a body.
func sendTask(send func(ctx context.Context, msg Message, ids []int64, meta map[string]string) error) (
	def taskloop.Definition,
	async func(ctx context.Context, msg Message, ids []int64, meta map[string]string) *future.Future[taskloop.Receipt],
	later func(ctx context.Context, msg Message, ids []int64, meta map[string]string) *future.Future[taskloop.Receipt],
) {
	def = taskloop.Definition{
		Spec: futuresSpec_Send,
		RunJSON: func(ctx context.Context, data []byte) error {
			var a futuresArgs_Send
			if err := taskloop.DecodeArgs(data, &a); err != nil {
				return err
			}
			return send(ctx, a.Msg, a.Ids, a.Meta)
		},
	}
	async = func(ctx context.Context, msg Message, ids []int64, meta map[string]string) *future.Future[taskloop.Receipt] {
		return taskloop.AsyncDurable(ctx, futuresSpec_Send, futuresArgs_Send{Msg: msg, Ids: ids, Meta: meta}, func(ctx context.Context) error {
			return send(ctx, msg, ids, meta)
		})
	}
	later = func(ctx context.Context, msg Message, ids []int64, meta map[string]string) *future.Future[taskloop.Receipt] {
		return taskloop.LaterDurable(ctx, futuresSpec_Send, futuresArgs_Send{Msg: msg, Ids: ids, Meta: meta}, func(ctx context.Context) error {
			return send(ctx, msg, ids, meta)
		})
	}
	return def, async, later
}

// sent is one run of Send.
type sent struct {
	Msg  Message
	Ids  []int64
	Meta map[string]string
}

// recordingSend returns Send's definition and wrappers with a body that
// reports each run on the channel it returns.
func recordingSend() (
	taskloop.Definition,
	func(ctx context.Context, msg Message, ids []int64, meta map[string]string) *future.Future[taskloop.Receipt],
	func(ctx context.Context, msg Message, ids []int64, meta map[string]string) *future.Future[taskloop.Receipt],
	<-chan sent,
) {
	runs := make(chan sent, 100)
	def, async, later := sendTask(func(ctx context.Context, msg Message, ids []int64, meta map[string]string) error {
		runs <- sent{msg, ids, meta}
		return nil
	})
	return def, async, later, runs
}

// countJobs counts the rows of river_job in db's schema.
func countJobs(t testing.TB, db *pgtest.DB) int64 {
	t.Helper()
	return db.Int("SELECT count(*) FROM " + db.Table("river_job"))
}

// TestInsertAndWork: with a backend, a generated XxxAsync inserts a job,
// its future resolves with the job's ID, and a worker runs the task with
// the arguments decoded from the job's JSON.
func TestInsertAndWork(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	def, sendAsync, _, runs := recordingSend()
	w := startWorker(t, db, durable.Options{}, def)

	msg := Message{Subject: "welcome", Body: "hello, world", Sent: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	ids := []int64{1, 2, 3}
	meta := map[string]string{"lang": "en"}
	receipt, err := await(t, sendAsync(w.Ctx(), msg, ids, meta))
	if err != nil {
		t.Fatalf("SendAsync: %v", err)
	}
	if receipt.JobID <= 0 {
		t.Fatalf("receipt %+v: want a job ID", receipt)
	}

	got := receive(t, runs, "the task to run")
	if want := (sent{msg, ids, meta}); !reflect.DeepEqual(got, want) {
		t.Errorf("the task ran with %+v, want %+v", got, want)
	}
	row := w.waitJob(t, receipt.JobID, rivertype.JobStateCompleted)
	// MaxAttempts: the task's 3 retries and first attempt, the default 10
	// rescues after a crash, and one (see Options.MaxRescues).
	if row.Kind != futuresSpec_Send.Name || row.Queue != "default" || row.Attempt != 1 || row.MaxAttempts != 15 {
		t.Errorf("job: kind %q queue %q attempt %d max attempts %d, want %q default 1 15",
			row.Kind, row.Queue, row.Attempt, row.MaxAttempts, futuresSpec_Send.Name)
	}
	// The arguments are stored as AsyncDurable encoded them.
	var stored futuresArgs_Send
	if err := json.Unmarshal(row.EncodedArgs, &stored); err != nil || !reflect.DeepEqual(stored, futuresArgs_Send{msg, ids, meta}) {
		t.Errorf("stored arguments %s (%v), want %+v", row.EncodedArgs, err, futuresArgs_Send{msg, ids, meta})
	}
	select {
	case again := <-runs:
		t.Errorf("the task ran twice, again with %+v", again)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestFailures: retries after an error and after a panic (the task gets
// Retries+1 attempts, one with Retries 0), a Permanent error
// (not retried: the job is cancelled), timeouts (the job's context is
// cancelled; retried while attempts remain, then discarded), arguments
// that do not decode (cancelled), and Delay.
func TestFailures(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)

	var mu sync.Mutex
	attempts := map[string]int{}
	ctxErrs := map[string][]error{}
	attempt := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		attempts[name]++
		return attempts[name]
	}
	errFail := errors.New("failing on purpose")
	var delayedRan atomic.Int64 // UnixNano of the delayed task's run

	def := func(name string, spec taskloop.Spec, fn func(ctx context.Context, n int) error) taskloop.Definition {
		spec.Name = "durabletest." + name
		spec.Durable = true
		if spec.Backoff == 0 {
			spec.Backoff = 10 * time.Millisecond
		}
		return taskloop.Definition{Spec: spec, RunJSON: func(ctx context.Context, data []byte) error {
			var a struct {
				N int `json:"n"`
			}
			if err := taskloop.DecodeArgs(data, &a); err != nil {
				return err
			}
			return fn(ctx, attempt(name))
		}}
	}
	defs := []taskloop.Definition{
		def("error", taskloop.Spec{Retries: 3}, func(ctx context.Context, n int) error {
			if n < 3 {
				return errFail
			}
			return nil
		}),
		def("panic", taskloop.Spec{Retries: 3}, func(ctx context.Context, n int) error {
			if n < 2 {
				panic("panicking on purpose")
			}
			return nil
		}),
		def("exhausted", taskloop.Spec{Retries: 2}, func(ctx context.Context, n int) error {
			return errFail
		}),
		def("once", taskloop.Spec{}, func(ctx context.Context, n int) error {
			return errFail
		}),
		def("paniconce", taskloop.Spec{}, func(ctx context.Context, n int) error {
			panic("panicking on purpose")
		}),
		def("permanent", taskloop.Spec{Retries: 3}, func(ctx context.Context, n int) error {
			return taskloop.Permanent(errFail)
		}),
		def("baddata", taskloop.Spec{Retries: 3}, func(ctx context.Context, n int) error {
			return nil
		}),
		def("timeout", taskloop.Spec{Retries: 1, Timeout: 100 * time.Millisecond}, func(ctx context.Context, n int) error {
			<-ctx.Done()
			mu.Lock()
			ctxErrs["timeout"] = append(ctxErrs["timeout"], ctx.Err())
			mu.Unlock()
			return ctx.Err()
		}),
		def("slowthenfast", taskloop.Spec{Retries: 2, Timeout: 100 * time.Millisecond}, func(ctx context.Context, n int) error {
			if n == 1 {
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}),
		def("delayed", taskloop.Spec{Delay: time.Second}, func(ctx context.Context, n int) error {
			delayedRan.Store(time.Now().UnixNano())
			return nil
		}),
	}
	w := startWorker(t, db, durable.Options{}, defs...)

	enqueue := func(name string, args any) int64 {
		t.Helper()
		var spec taskloop.Spec
		for _, d := range defs {
			if d.Spec.Name == "durabletest."+name {
				spec = d.Spec
			}
		}
		r, err := await(t, taskloop.AsyncDurable(w.Ctx(), spec, args, func(context.Context) error { return nil }))
		if err != nil {
			t.Fatalf("enqueueing %s: %v", name, err)
		}
		return r.JobID
	}
	args := map[string]int{"n": 1}
	ids := map[string]int64{}
	for _, name := range []string{"error", "panic", "exhausted", "once", "paniconce", "permanent", "timeout", "slowthenfast"} {
		ids[name] = enqueue(name, args)
	}
	ids["baddata"] = enqueue("baddata", map[string]string{"n": "not a number"})
	delayedAt := time.Now()
	ids["delayed"] = enqueue("delayed", args)

	for _, c := range []struct {
		name     string
		state    rivertype.JobState
		attempts int // attempts River counted and the task saw
		errs     string
	}{
		{"error", rivertype.JobStateCompleted, 3, errFail.Error()},
		{"panic", rivertype.JobStateCompleted, 2, "panicking on purpose"},
		{"exhausted", rivertype.JobStateDiscarded, 3, errFail.Error()},
		{"once", rivertype.JobStateDiscarded, 1, errFail.Error()},
		{"paniconce", rivertype.JobStateDiscarded, 1, "panicking on purpose"},
		{"permanent", rivertype.JobStateCancelled, 1, errFail.Error()},
		{"baddata", rivertype.JobStateCancelled, 1, "decoding task arguments"},
		{"timeout", rivertype.JobStateDiscarded, 2, "deadline exceeded"},
		{"slowthenfast", rivertype.JobStateCompleted, 2, "deadline exceeded"},
	} {
		row := w.waitJob(t, ids[c.name], c.state)
		if row.Attempt != c.attempts {
			t.Errorf("%s: %d attempts, want %d", c.name, row.Attempt, c.attempts)
		}
		mu.Lock()
		seen := attempts[c.name]
		mu.Unlock()
		if c.name == "baddata" {
			if seen != 0 {
				t.Errorf("%s: the task ran %d times with arguments that do not decode", c.name, seen)
			}
		} else if seen != c.attempts {
			t.Errorf("%s: the task ran %d times, want %d", c.name, seen, c.attempts)
		}
		wantErrs := c.attempts - 1
		if c.state != rivertype.JobStateCompleted {
			wantErrs = c.attempts
		}
		if len(row.Errors) != wantErrs {
			t.Errorf("%s: %d errors recorded, want %d: %+v", c.name, len(row.Errors), wantErrs, row.Errors)
		}
		for _, e := range row.Errors {
			if !strings.Contains(e.Error, c.errs) {
				t.Errorf("%s: recorded error %q, want it to mention %q", c.name, e.Error, c.errs)
			}
		}
	}
	mu.Lock()
	for _, err := range ctxErrs["timeout"] {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timeout: the task's context ended with %v, want a deadline", err)
		}
	}
	mu.Unlock()

	row := w.waitJob(t, ids["delayed"], rivertype.JobStateCompleted)
	if ran := time.Unix(0, delayedRan.Load()); ran.Sub(delayedAt) < time.Second {
		t.Errorf("delayed: ran %v after the insert, want at least 1s", ran.Sub(delayedAt))
	}
	if row.ScheduledAt.Sub(delayedAt) < time.Second {
		t.Errorf("delayed: scheduled %v after the call, want at least 1s", row.ScheduledAt.Sub(delayedAt))
	}
}

// TestUnknownTaskName: a process does not fetch the jobs of tasks it has
// not registered (they stay available, with no attempt used), and a
// process that registered the task works them. (Two working processes with
// different tasks are what the package's documentation advises against,
// for River's leader; here no job gets stuck and no task is periodic.)
func TestUnknownTaskName(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var ranInA, ranInB atomic.Int64
	known := taskloop.Definition{
		Spec:    taskloop.Spec{Name: "durabletest.known", Durable: true},
		RunJSON: func(context.Context, []byte) error { ranInA.Add(1); return nil },
	}
	otherSpec := taskloop.Spec{Name: "durabletest.other", Durable: true}
	a := startWorker(t, db, durable.Options{}, known)

	// a inserts a job of a task it does not know: other processes will.
	other, err := await(t, taskloop.AsyncDurable(a.Ctx(), otherSpec, struct{}{}, func(context.Context) error { return nil }))
	if err != nil {
		t.Fatalf("inserting a job of an unknown task: %v", err)
	}
	// a works its own jobs meanwhile, fetching many times.
	for range 3 {
		r, err := await(t, taskloop.AsyncDurable(a.Ctx(), known.Spec, struct{}{}, func(context.Context) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		a.waitJob(t, r.JobID, rivertype.JobStateCompleted)
		time.Sleep(5 * poll)
	}
	if row := a.job(t, other.JobID); row.State != rivertype.JobStateAvailable || row.Attempt != 0 || len(row.Errors) != 0 {
		t.Fatalf("job of an unknown task: state %s attempt %d errors %v, want available, untouched", row.State, row.Attempt, row.Errors)
	}

	b := startWorker(t, db, durable.Options{}, taskloop.Definition{
		Spec:    otherSpec,
		RunJSON: func(context.Context, []byte) error { ranInB.Add(1); return nil },
	})
	row := b.waitJob(t, other.JobID, rivertype.JobStateCompleted)
	if row.Attempt != 1 || len(row.Errors) != 0 || ranInB.Load() != 1 || ranInA.Load() != 3 {
		t.Errorf("job: attempt %d errors %v; runs in a %d, in b %d; want 1, none, 3, 1", row.Attempt, row.Errors, ranInA.Load(), ranInB.Load())
	}
}

// TestPeriodic: a durable task with an interval, registered by two
// processes on one database, runs once per interval across both: River's
// elected leader alone inserts its jobs.
func TestPeriodic(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	const every = time.Second
	var runs [2]atomic.Int64
	def := func(i int) taskloop.Definition {
		spec := taskloop.Spec{Name: "durabletest.tick", Every: every, Durable: true}
		return taskloop.Definition{
			Spec:    spec,
			Run:     func(context.Context) error { runs[i].Add(1); return nil },
			RunJSON: func(context.Context, []byte) error { runs[i].Add(1); return nil },
		}
	}
	// Two clients on two pools: two processes, as far as River can tell.
	start := time.Now()
	startWorker(t, &pgtest.DB{URL: db.URL, Schema: db.Schema, Pool: db.NewPool(10)}, durable.Options{}, def(0))
	startWorker(t, db, durable.Options{}, def(1))
	total := func() int64 { return runs[0].Load() + runs[1].Load() }

	// The first run comes an interval after a leader is elected, which
	// takes its time; count the runs of the intervals after it.
	eventually(t, func() bool { return total() > 0 }, "the first run")
	first, firstAt := total(), time.Now()
	const intervals = 4
	time.Sleep(intervals * every)
	n := total() - first
	jobs := db.Int("SELECT count(*) FROM " + db.Table("river_job") + " WHERE kind = 'durabletest.tick'")
	t.Logf("first run %v after the start; then %d runs in %d intervals of %v (%d and %d in each process in all, %d jobs)",
		firstAt.Sub(start).Round(time.Millisecond), n, intervals, every, runs[0].Load(), runs[1].Load(), jobs)
	// About one per interval across both (a run in flight at either end
	// makes one more or less); both processes inserting would make twice
	// as many.
	if n < intervals-2 || n > intervals+1 {
		t.Errorf("%d runs in %d intervals, want about %d", n, intervals, intervals)
	}
	// No two runs of one interval: consecutive jobs are an interval apart.
	// Two schedules, whatever their offset, would put two jobs less than
	// half an interval apart.
	rows, err := db.Pool.Query(context.Background(),
		"SELECT created_at FROM "+db.Table("river_job")+" WHERE kind = 'durabletest.tick' ORDER BY created_at")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			t.Fatal(err)
		}
		if !prev.IsZero() && at.Sub(prev) < every*3/4 {
			t.Errorf("periodic jobs inserted %v apart, want about %v", at.Sub(prev), every)
		}
		prev = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestTransaction: AsyncDurable with durable.WithTx inserts in the
// transaction, at once in the caller: rolled back, there is no job and the
// task never runs; committed, there is exactly one job and it runs.
func TestTransaction(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	def, sendAsync, _, runs := recordingSend()
	w := startWorker(t, db, durable.Options{}, def)
	ctx := context.Background()

	for _, commit := range []bool{false, true} {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f := sendAsync(durable.WithTx(w.Ctx(), tx), Message{Subject: fmt.Sprint("commit=", commit)}, nil, nil)
		res, resolved := f.Peek()
		if !resolved {
			t.Fatalf("commit=%v: the future of an insert in a transaction is not resolved on return", commit)
		}
		if res.Err != nil || res.Value.JobID <= 0 {
			t.Fatalf("commit=%v: receipt %+v, error %v", commit, res.Value, res.Err)
		}
		if n := countJobs(t, db); n != 0 {
			t.Fatalf("commit=%v: %d jobs visible before the transaction ended", commit, n)
		}
		var inTx int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+db.Table("river_job")+" WHERE id = $1", res.Value.JobID).Scan(&inTx); err != nil || inTx != 1 {
			t.Fatalf("commit=%v: the job is not in the transaction (%d rows, %v)", commit, inTx, err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !commit {
			if n := countJobs(t, db); n != 0 {
				t.Fatalf("rolled back: %d jobs, want none", n)
			}
			continue
		}
		if n := countJobs(t, db); n != 1 {
			t.Fatalf("committed: %d jobs, want 1", n)
		}
		w.waitJob(t, res.Value.JobID, rivertype.JobStateCompleted)
		if got := receive(t, runs, "the committed task"); got.Msg.Subject != "commit=true" {
			t.Errorf("ran %+v, want the committed task", got)
		}
	}
	select {
	case got := <-runs:
		t.Errorf("a second run: %+v", got)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestTransactionError: an insert that fails in a transaction fails the
// future at once with its own error; it is not retried in the transaction,
// where PostgreSQL now refuses every statement, which would hide it.
func TestTransactionError(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	// River's tables are not in this schema: the insert fails in PostgreSQL.
	w := startWorker(t, db, durable.Options{Schema: pgtest.NewSchemaName(), InsertOnly: true})
	tx, err := db.Pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	spec := taskloop.Spec{Name: "durabletest.tx", Durable: true}
	f := taskloop.AsyncDurable(durable.WithTx(w.Ctx(), tx), spec, struct{}{}, func(context.Context) error { return nil })
	res, resolved := f.Peek()
	if !resolved {
		t.Fatal("the future of an insert in a transaction is not resolved on return")
	}
	var te *taskloop.TaskError
	if !errors.As(res.Err, &te) || te.Attempts != 1 || !strings.Contains(res.Err.Error(), "42P01") {
		t.Errorf("error %v, want the insert's own error (undefined table, 42P01) after 1 attempt", res.Err)
	}
}

// TestLaterDurable: inside a request scope, XxxLater inserts the job only
// once the scope closes (after the response), ignoring a transaction of
// the request, which has ended by then; awaiting it inside the request
// fails fast.
func TestLaterDurable(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	def, _, sendLater, runs := recordingSend()
	w := startWorker(t, db, durable.Options{}, def)

	t.Run("scope", func(t *testing.T) {
		tx, err := db.Pool.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, scope := taskloop.NewScope(durable.WithTx(w.Ctx(), tx))
		f := sendLater(ctx, Message{Subject: "later"}, nil, nil)
		quick, cancel := context.WithTimeout(ctx, safety)
		_, err = f.Await(quick)
		cancel()
		if !errors.Is(err, taskloop.ErrAwaitInScope) {
			t.Errorf("awaiting inside the scope: %v, want ErrAwaitInScope", err)
		}
		time.Sleep(100 * time.Millisecond)
		if n := countJobs(t, db); n != 0 || scope.Pending() != 1 {
			t.Fatalf("before Close: %d jobs and %d pending, want 0 and 1", n, scope.Pending())
		}
		// The request's transaction ends before the response is sent.
		if err := tx.Rollback(context.Background()); err != nil {
			t.Fatal(err)
		}
		scope.Close()
		r, err := await(t, f)
		if err != nil || r.JobID <= 0 {
			t.Fatalf("after Close: receipt %+v, error %v", r, err)
		}
		if n := countJobs(t, db); n != 1 {
			t.Fatalf("after Close: %d jobs, want 1", n)
		}
		w.waitJob(t, r.JobID, rivertype.JobStateCompleted)
		if got := receive(t, runs, "the task"); got.Msg.Subject != "later" {
			t.Errorf("ran %+v", got)
		}
	})

	t.Run("middleware", func(t *testing.T) {
		before := countJobs(t, db)
		var inHandler atomic.Int64
		futures := make(chan *future.Future[taskloop.Receipt], 1)
		h := taskloop.Middleware(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			futures <- sendLater(taskloop.WithLoop(r.Context(), w.Loop), Message{Subject: "middleware"}, nil, nil)
			inHandler.Store(countJobs(t, db) - before)
			fmt.Fprint(rw, "ok")
		}))
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r, err := await(t, <-futures)
		if err != nil || r.JobID <= 0 {
			t.Fatalf("receipt %+v, error %v", r, err)
		}
		if inHandler.Load() != 0 {
			t.Errorf("%d jobs inserted while the handler ran, want none", inHandler.Load())
		}
		if got := receive(t, runs, "the task"); got.Msg.Subject != "middleware" {
			t.Errorf("ran %+v", got)
		}
	})
}

// TestMigrateIdempotent: migrating a migrated schema changes nothing.
func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t) // migrated once
	versions := "SELECT count(*) FROM " + db.Table("river_migration")
	n := db.Int(versions)
	if n == 0 {
		t.Fatal("no migrations recorded")
	}
	for range 2 {
		if err := durable.Migrate(context.Background(), db.Pool, db.Schema); err != nil {
			t.Fatalf("migrating again: %v", err)
		}
	}
	if again := db.Int(versions); again != n {
		t.Errorf("%d migrations recorded after migrating again, want %d", again, n)
	}
}

// TestShutdown: the loop's Shutdown stops River gracefully: a running job
// finishes within the deadline; past the deadline, its context is cancelled,
// Shutdown reports it, and the job goes back to the queue for another
// process.
func TestShutdown(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)

	t.Run("graceful", func(t *testing.T) {
		started := make(chan struct{}, 1)
		var finished atomic.Bool
		spec := taskloop.Spec{Name: "durabletest.slow", Durable: true}
		w := startWorker(t, db, durable.Options{}, taskloop.Definition{Spec: spec, RunJSON: func(ctx context.Context, _ []byte) error {
			started <- struct{}{}
			select {
			case <-time.After(500 * time.Millisecond):
				finished.Store(true)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}})
		r, err := await(t, taskloop.AsyncDurable(w.Ctx(), spec, struct{}{}, func(context.Context) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		receive(t, started, "the job to start")
		ctx, cancel := context.WithTimeout(context.Background(), safety)
		defer cancel()
		if err := w.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if !finished.Load() {
			t.Error("Shutdown returned before the running job finished")
		}
		if row := w.job(t, r.JobID); row.State != rivertype.JobStateCompleted {
			t.Errorf("job %s, want completed", row.State)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		started := make(chan struct{}, 1)
		cancelled := make(chan error, 1)
		spec := taskloop.Spec{Name: "durabletest.stuck", Durable: true}
		w := startWorker(t, db, durable.Options{}, taskloop.Definition{Spec: spec, RunJSON: func(ctx context.Context, _ []byte) error {
			started <- struct{}{}
			<-ctx.Done()
			cancelled <- context.Cause(ctx)
			return ctx.Err()
		}})
		r, err := await(t, taskloop.AsyncDurable(w.Ctx(), spec, struct{}{}, func(context.Context) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		receive(t, started, "the job to start")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		begin := time.Now()
		err = w.Shutdown(ctx)
		took := time.Since(begin)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown past the deadline: %v, want an error wrapping context.DeadlineExceeded", err)
		}
		if took > 5*time.Second {
			t.Errorf("Shutdown took %v after a 200ms deadline", took)
		}
		select {
		case cause := <-cancelled:
			t.Logf("the job's context ended with %v; Shutdown: %v after %v", cause, err, took.Round(time.Millisecond))
		default:
			t.Error("Shutdown returned, the job's context not cancelled")
		}
		// Interrupted by the stop, the job is available again, its attempt
		// not counted, for whichever process works the queue next.
		if row := w.job(t, r.JobID); row.State != rivertype.JobStateAvailable || row.Attempt != 0 {
			t.Errorf("job %s attempt %d, want available again with attempt 0", row.State, row.Attempt)
		}
	})
}

// TestRegister: what Register refuses, without a database.
func TestRegister(t *testing.T) {
	b := durable.New(nil, durable.Options{})
	ok := taskloop.Definition{Spec: taskloop.Spec{Name: "durabletest.ok", Durable: true}, RunJSON: func(context.Context, []byte) error { return nil }}
	if err := b.Register(ok); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(ok); err == nil {
		t.Error("registering a name twice: no error")
	}
	if err := b.Register(taskloop.Definition{Spec: taskloop.Spec{Name: "durabletest.norun"}}); err == nil {
		t.Error("registering a definition without RunJSON: no error")
	}
	if _, err := b.Enqueue(context.Background(), ok.Spec, []byte(`{}`)); !errors.Is(err, durable.ErrNotStarted) {
		t.Errorf("Enqueue before Start: %v, want ErrNotStarted", err)
	}
	if b.Client() != nil {
		t.Error("Client before Start is not nil")
	}
}

// TestFollowUpFromJob: a durable task that starts another durable task
// (XxxAsync inside a job) inserts a job for it, also while Shutdown lets the
// running jobs finish.
//
// It skips while the job's context carries no loop (taskloop.From is nil in
// a job): then XxxAsync runs the other task at once, inline and not
// durably. Loop.Start must give the backend a context carrying the loop.
func TestFollowUpFromJob(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	specA := taskloop.Spec{Name: "durabletest.first", Durable: true}
	specB := taskloop.Spec{Name: "durabletest.second", Durable: true}
	started := make(chan struct{}, 1)
	type followUp struct {
		receipt taskloop.Receipt
		err     error
		hasLoop bool
	}
	followUps := make(chan followUp, 2)
	w := startWorker(t, db, durable.Options{},
		taskloop.Definition{Spec: specA, RunJSON: func(ctx context.Context, _ []byte) error {
			started <- struct{}{}
			time.Sleep(300 * time.Millisecond)
			r, err := taskloop.AsyncDurable(ctx, specB, struct{}{}, func(context.Context) error { return nil }).Await(ctx)
			followUps <- followUp{r, err, taskloop.From(ctx) != nil}
			return err
		}},
		taskloop.Definition{Spec: specB, RunJSON: func(context.Context, []byte) error { return nil }},
	)
	first, err := await(t, taskloop.AsyncDurable(w.Ctx(), specA, struct{}{}, func(context.Context) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	receive(t, started, "the first task")
	f := receive(t, followUps, "the follow-up")
	if !f.hasLoop || f.receipt.JobID == 0 {
		t.Skipf("taskloop: a job's context carries no loop (From: %v), so XxxAsync in a durable task ran the follow-up inline (receipt %+v, error %v) instead of inserting it; Loop.Start should hand the backend a context with WithLoop",
			f.hasLoop, f.receipt, f.err)
	}
	if f.err != nil {
		t.Fatalf("follow-up: %v", f.err)
	}
	w.waitJob(t, first.JobID, rivertype.JobStateCompleted)
	w.waitJob(t, f.receipt.JobID, rivertype.JobStateCompleted)

	// While Shutdown waits for the running job.
	if _, err := await(t, taskloop.AsyncDurable(w.Ctx(), specA, struct{}{}, func(context.Context) error { return nil })); err != nil {
		t.Fatal(err)
	}
	receive(t, started, "the first task")
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	if err := w.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	f = receive(t, followUps, "the follow-up during Shutdown")
	if f.err != nil || f.receipt.JobID == 0 {
		t.Errorf("follow-up during Shutdown: receipt %+v, error %v; want a job", f.receipt, f.err)
	}
}

type ctxKey struct{}

// TestStartContext: Start's context bounds the start, and jobs' contexts
// carry its values (which is how a loop can put itself in them).
func TestStartContext(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	seen := make(chan any, 1)
	spec := taskloop.Spec{Name: "durabletest.ctx", Durable: true}
	def := taskloop.Definition{Spec: spec, RunJSON: func(ctx context.Context, _ []byte) error {
		seen <- ctx.Value(ctxKey{})
		return nil
	}}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	b := durable.New(db.Pool, durable.Options{Schema: db.Schema, Logger: quiet})
	if err := b.Register(def); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(cancelled); err == nil {
		t.Error("Start with a cancelled context: no error")
		_ = b.Stop(context.Background())
	}

	b = durable.New(db.Pool, durable.Options{Schema: db.Schema, FetchPollInterval: poll, Logger: quiet})
	if err := b.Register(def); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "value"))
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel() // River stops with Stop, not with Start's context
	defer func() {
		if err := b.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	if _, err := b.Enqueue(context.Background(), spec, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if v := receive(t, seen, "the job"); v != "value" {
		t.Errorf("the job's context has %v, want Start's value", v)
	}
}
