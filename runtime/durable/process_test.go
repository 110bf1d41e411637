package durable_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/gofutures/futures/internal/testkit"
	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
	"github.com/gofutures/futures/runtime/taskloop"
)

// recordArgs are the arguments of internal/testworker's task,
// durabletest.record, as a River JobArgs: a process that only inserts can
// insert its jobs in bulk with River's InsertMany through Backend.Client.
type recordArgs struct {
	N       int64 `json:"n"`
	SleepMS int   `json:"sleep_ms"`
	Crash   bool  `json:"crash,omitempty"`
}

func (recordArgs) Kind() string { return "durabletest.record" }

// recordSpec is durabletest.record's Spec in internal/testworker started
// with -retries retries.
func recordSpec(retries int) taskloop.Spec {
	return taskloop.Spec{Name: "durabletest.record", Retries: retries, Durable: true}
}

// workerProcess is a running internal/testworker.
type workerProcess struct {
	name  string
	proc  *testkit.Process
	stdin io.WriteCloser
}

// startProcess starts a worker process on db's schema and waits until it
// works. It is stopped, if still running, when the test ends.
func startProcess(t *testing.T, db *pgtest.DB, name string, args ...string) *workerProcess {
	t.Helper()
	cmd := exec.Command(binary(t, "testworker"),
		append([]string{"-database-url", db.URL, "-schema", db.Schema, "-name", name}, args...)...)
	// The worker exits when its standard input ends: when the test stops
	// it, or dies.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	proc, _ := testkit.Start(t, cmd, safety, func(line string) bool { return line == "ready" })
	return &workerProcess{name: name, proc: proc, stdin: stdin}
}

// kill kills the worker (SIGKILL), waits for it to exit, and then for
// PostgreSQL to end its sessions: a transaction it had committing when it
// died (a fetch, a completion) has then landed, and the jobs it left
// running stay so until rescued.
func (p *workerProcess) kill(t *testing.T, db *pgtest.DB) {
	t.Helper()
	p.proc.Kill()
	p.sessionsGone(t, db)
}

// sessionsGone waits until PostgreSQL has ended the sessions of the dead
// worker.
func (p *workerProcess) sessionsGone(t *testing.T, db *pgtest.DB) {
	t.Helper()
	eventually(t, func() bool {
		return db.Int("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", "testworker "+db.Schema+" "+p.name) == 0
	}, "PostgreSQL to end the sessions of worker %s", p.name)
}

// stop stops the worker gracefully and waits for it to exit.
func (p *workerProcess) stop(t *testing.T) {
	t.Helper()
	_ = p.stdin.Close()
	select {
	case <-p.proc.Exited():
		if err := p.proc.Err(); err != nil {
			t.Errorf("worker %s: %v\n%s", p.name, err, p.proc.Stderr.String())
		}
	case <-time.After(safety):
		t.Errorf("worker %s did not stop", p.name)
	}
}

// insertRecords inserts n jobs of durabletest.record, numbered from 1, for
// workers started with -retries retries, with River's InsertMany through
// the Client of an insert-only backend and the options that Enqueue would
// give them.
func insertRecords(t *testing.T, db *pgtest.DB, n int, sleep time.Duration, retries int) {
	t.Helper()
	insertArgs(t, db, retries, func(yield func(recordArgs) bool) {
		for i := 1; i <= n; i++ {
			if !yield(recordArgs{N: int64(i), SleepMS: int(sleep / time.Millisecond)}) {
				return
			}
		}
	})
}

// insertArgs inserts a job of durabletest.record for each of args, as
// insertRecords does.
func insertArgs(t *testing.T, db *pgtest.DB, retries int, args iter.Seq[recordArgs]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), safety)
	defer cancel()
	b := durable.New(db.Pool, durable.Options{Schema: db.Schema, InsertOnly: true, Logger: quiet})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	opts := b.InsertOpts(recordSpec(retries))
	const batch = 2000
	params := make([]river.InsertManyParams, 0, batch)
	flush := func() {
		if len(params) == 0 {
			return
		}
		if _, err := b.Client().InsertManyFast(ctx, params); err != nil {
			t.Fatal(err)
		}
		params = params[:0]
	}
	for a := range args {
		params = append(params, river.InsertManyParams{Args: a, InsertOpts: opts})
		if len(params) == batch {
			flush()
		}
	}
	flush()
}

// settle waits until no job of the schema is waiting or running (each is
// completed, discarded or cancelled), and returns how many were not
// completed: jobs lost, logging River's record of some of them.
func settle(t *testing.T, db *pgtest.DB, what string) (lost int64) {
	t.Helper()
	jobs := db.Table("river_job")
	eventually(t, func() bool {
		return db.Int("SELECT count(*) FROM "+jobs+" WHERE state NOT IN ('completed', 'discarded', 'cancelled')") == 0
	}, "%s", what)
	lost = db.Int("SELECT count(*) FROM " + jobs + " WHERE state <> 'completed'")
	if lost == 0 {
		return 0
	}
	rows, err := db.Pool.Query(context.Background(), "SELECT id, state, attempt, max_attempts, errors::text FROM "+jobs+" WHERE state <> 'completed' ORDER BY id LIMIT 5")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state string
		var attempt, maxAttempts int
		var errs *string
		if err := rows.Scan(&id, &state, &attempt, &maxAttempts, &errs); err != nil {
			t.Fatal(err)
		}
		t.Logf("lost job %d: state %s, attempt %d of %d, errors %v", id, state, attempt, maxAttempts, deref(errs))
	}
	return lost
}

func deref(s *string) string {
	if s == nil {
		return "none"
	}
	return *s
}

// doneTable creates the table where workers record their runs.
func doneTable(db *pgtest.DB) string {
	table := db.Table("done")
	db.Exec("CREATE TABLE " + table + " (id bigserial, n bigint NOT NULL, worker text NOT NULL, running int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())")
	return table
}

// tally reports how many jobs ran at least once, how many runs beyond the
// first there were (at-least-once repeats), and the runs of each worker.
func tally(t *testing.T, db *pgtest.DB, table string) (distinct, duplicates int64, byWorker map[string]int64) {
	t.Helper()
	distinct = db.Int("SELECT count(DISTINCT n) FROM " + table)
	duplicates = db.Int("SELECT count(*) - count(DISTINCT n) FROM " + table)
	byWorker = map[string]int64{}
	rows, err := db.Pool.Query(context.Background(), "SELECT worker, count(*) FROM "+table+" GROUP BY worker")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var w string
		var n int64
		if err := rows.Scan(&w, &n); err != nil {
			t.Fatal(err)
		}
		byWorker[w] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return distinct, duplicates, byWorker
}

// unaccounted counts the jobs that ran more often than River counted
// attempts: a run beyond the first is accounted for only as another
// attempt (a retry, or a rescue after a crash).
func unaccounted(t *testing.T, db *pgtest.DB, table string) int64 {
	t.Helper()
	return db.Int(`SELECT count(*) FROM (SELECT n, count(*) AS runs FROM ` + table + ` GROUP BY n) d
		JOIN ` + db.Table("river_job") + ` j ON (j.args->>'n')::bigint = d.n WHERE d.runs > j.attempt`)
}

// reportDuplicates logs the jobs that ran more than once, with River's
// record of each attempt, so that every repeat is accounted for.
func reportDuplicates(t *testing.T, db *pgtest.DB, table string) {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `
		SELECT d.n, string_agg(d.worker, ',' ORDER BY d.at), j.state, j.attempt, j.errors::text
		FROM `+table+` d JOIN `+db.Table("river_job")+` j ON (j.args->>'n')::bigint = d.n
		GROUP BY d.n, j.state, j.attempt, j.errors::text HAVING count(*) > 1 ORDER BY d.n LIMIT 20`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		var workers, state string
		var attempt int
		var errs *string
		if err := rows.Scan(&n, &workers, &state, &attempt, &errs); err != nil {
			t.Fatal(err)
		}
		e := "none"
		if errs != nil {
			e = *errs
		}
		t.Logf("job n=%d ran on %s: state %s, attempt %d, errors %s", n, workers, state, attempt, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestScaleOut: two worker processes drain 10,000 jobs between them; every
// job completes, and a job run twice would be an at-least-once repeat that
// River's record of the job explains.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	const jobs = 10_000
	db := pgtest.New(t)
	table := doneTable(db)
	w1 := startProcess(t, db, "w1", "-max-workers", "100")
	w2 := startProcess(t, db, "w2", "-max-workers", "100")

	start := time.Now()
	insertRecords(t, db, jobs, 0, 0)
	inserted := time.Since(start)
	eventually(t, func() bool {
		return db.Int("SELECT count(*) FROM "+db.Table("river_job")+" WHERE state <> 'completed'") == 0
	}, "%d jobs to complete", jobs)
	took := time.Since(start)
	w1.stop(t)
	w2.stop(t)

	distinct, duplicates, byWorker := tally(t, db, table)
	t.Logf("%d jobs inserted in %v and worked in %v (%.0f jobs/s): %d distinct, %d duplicate runs, by worker %v",
		jobs, inserted.Round(time.Millisecond), took.Round(time.Millisecond), jobs/took.Seconds(), distinct, duplicates, byWorker)
	if distinct != jobs {
		t.Errorf("%d jobs ran, want %d", distinct, jobs)
	}
	if duplicates > 0 {
		reportDuplicates(t, db, table)
	}
	if n := unaccounted(t, db, table); n > 0 {
		t.Errorf("%d jobs ran more often than River counted attempts", n)
	}
	if byWorker["w1"] == 0 || byWorker["w2"] == 0 {
		t.Errorf("runs by worker %v: want both to work", byWorker)
	}
}

// TestCrash: a worker process killed (SIGKILL) in the middle of jobs leaves
// them running in the database; another worker, with a short rescue
// window, rescues them, and every job completes at least once. The task
// has default options (no retries): a crash is not its failed attempt.
func TestCrash(t *testing.T) {
	t.Parallel()
	const jobs = 100
	db := pgtest.New(t)
	table := doneTable(db)
	w1 := startProcess(t, db, "w1", "-max-workers", "10")
	insertRecords(t, db, jobs, 300*time.Millisecond, 0)
	running := "SELECT count(*) FROM " + db.Table("river_job") + " WHERE state = 'running'"
	eventually(t, func() bool {
		return db.Int("SELECT count(*) FROM "+table) >= 20 && db.Int(running) > 0
	}, "w1 to be working")
	w1.kill(t, db)
	killedWhileRunning := db.Int(running)
	doneAtKill := db.Int("SELECT count(*) FROM " + table)
	t.Logf("killed w1 with %d jobs done and %d running", doneAtKill, killedWhileRunning)
	if killedWhileRunning == 0 {
		t.Fatal("no job was running when w1 died")
	}

	start := time.Now()
	w2 := startProcess(t, db, "w2", "-max-workers", "20", "-rescue-after", "2s")
	lost := settle(t, db, "every job to complete or be given up after the crash")
	t.Logf("w2 finished in %v", time.Since(start).Round(time.Millisecond))
	w2.stop(t)

	distinct, duplicates, byWorker := tally(t, db, table)
	rescued := db.Int("SELECT count(*) FROM " + db.Table("river_job") + " WHERE errors::text LIKE '%Stuck job rescued%'")
	t.Logf("%d jobs: %d ran, %d lost, %d duplicate runs, %d rescued, by worker %v", jobs, distinct, lost, duplicates, rescued, byWorker)
	if lost > 0 || distinct != jobs {
		t.Errorf("%d jobs ran and %d were lost (not completed), want %d and 0", distinct, lost, jobs)
	}
	if rescued != killedWhileRunning {
		t.Errorf("%d jobs rescued, want the %d running when w1 died", rescued, killedWhileRunning)
	}
	// A job runs twice only if w1 recorded it and died before River
	// marked it completed: a rescued job, which River counts as an attempt.
	if duplicates > rescued {
		t.Errorf("%d duplicate runs, more than the %d rescued jobs", duplicates, rescued)
	}
	if n := unaccounted(t, db, table); n > 0 {
		t.Errorf("%d jobs ran more often than River counted attempts", n)
	}
	if duplicates > 0 {
		reportDuplicates(t, db, table)
	}
}

// TestMigrateCommand: cmd/migrate applies River's migrations to the schema
// it is given, and running it again changes nothing.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db := pgtest.New(t) // for the pool and the cleanup of the main schema
	schema := pgtest.NewSchemaName()
	db.Exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	migrate := binary(t, "migrate")
	for i := range 2 {
		out, err := exec.Command(migrate, "-database-url", url, "-schema", schema).CombinedOutput()
		if err != nil {
			t.Fatalf("migrate (run %d): %v\n%s", i+1, err, out)
		}
		if !strings.Contains(string(out), "applied") {
			t.Errorf("migrate said %q", out)
		}
	}
	if db.Int("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'river_job'", schema) != 1 {
		t.Fatalf("no river_job in schema %s", schema)
	}
	// A backend on that schema works.
	ran := make(chan struct{}, 1)
	spec := taskloop.Spec{Name: "durabletest.migrated", Durable: true}
	w := startWorker(t, &pgtest.DB{URL: url, Schema: schema, Pool: db.Pool}, durable.Options{}, taskloop.Definition{
		Spec: spec, RunJSON: func(context.Context, []byte) error { ran <- struct{}{}; return nil },
	})
	r, err := await(t, taskloop.AsyncDurable(w.Ctx(), spec, struct{}{}, func(context.Context) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	receive(t, ran, "the task")
	w.waitJob(t, r.JobID, rivertype.JobStateCompleted)

	// Without a URL it says how to give one, with usage's exit status.
	cmd := exec.Command(migrate)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "-database-url") {
		t.Errorf("migrate without a URL: %v, %q; want exit status 2 and a hint", err, out)
	}
}

// TestCrashRepeatedly kills one worker after another with SIGKILL while
// their jobs run, as a flaky machine would, each once it runs jobs that a
// dead worker left behind; the last worker finishes. With the task's
// default options (no retries) and with retries, every job completes at
// least once, none is lost, some jobs crash several times, and every
// duplicate run is a job that River rescued.
func TestCrashRepeatedly(t *testing.T) {
	t.Parallel()
	for _, retries := range []int{0, 2} {
		t.Run(fmt.Sprintf("retries=%d", retries), func(t *testing.T) {
			t.Parallel()
			crashRepeatedly(t, retries)
		})
	}
}

func crashRepeatedly(t *testing.T, retries int) {
	const jobs, kills = 300, 4
	const rescueAfter = 2 * time.Second
	db := pgtest.New(t)
	table := doneTable(db)
	insertRecords(t, db, jobs, 500*time.Millisecond, retries)
	river := db.Table("river_job")
	t.Cleanup(func() { // before the schema goes
		if t.Failed() {
			t.Logf("at the failure: %d jobs completed, %d discarded, %d cancelled, %d waiting or running", db.Int("SELECT count(*) FROM "+river+" WHERE state = 'completed'"),
				db.Int("SELECT count(*) FROM "+river+" WHERE state = 'discarded'"), db.Int("SELECT count(*) FROM "+river+" WHERE state = 'cancelled'"),
				db.Int("SELECT count(*) FROM "+river+" WHERE state NOT IN ('completed', 'discarded', 'cancelled')"))
		}
	})
	running := "SELECT count(*) FROM " + river + " WHERE state = 'running'"
	// The task never fails: every recorded error is a rescue. Round i
	// kills its worker once a job that crashed i times runs again, so that
	// some job crashes on every kill, more often than the task's retries.
	rerunning := running + " AND coalesce(cardinality(errors), 0) >= $1"
	crashes := "SELECT coalesce(max(cardinality(errors)), 0) FROM " + river
	flags := []string{"-max-workers", "10", "-rescue-after", rescueAfter.String(), "-retries", fmt.Sprint(retries)}
	for i, n := 0, 1; i < kills; n++ {
		before := db.Int("SELECT count(*) FROM " + table)
		w := startProcess(t, db, fmt.Sprintf("w%d", n), flags...)
		eventually(t, func() bool {
			return db.Int("SELECT count(*) FROM "+table) >= before+10 && db.Int(running) > 0 && db.Int(rerunning, i) > 0
		}, "worker %d to make progress and run a job that crashed %d times", n, i)
		w.kill(t, db)
		t.Logf("killed worker %d with %d runs recorded, %d jobs running (%d of them run again), most crashes of a job so far %d",
			n, db.Int("SELECT count(*) FROM "+table), db.Int(running), db.Int(rerunning, 1), db.Int(crashes))
		// The dead worker's leadership would expire after River's TTL
		// (about 15s); ending it now lets the next worker lead and rescue
		// at once, once the jobs have been running for the rescue window.
		db.Exec("DELETE FROM " + db.Table("river_leader"))
		if db.Int(rerunning, i) == 0 {
			// The jobs it ran finished between the look and the kill (a
			// loaded machine): no job crashed this round; do it again.
			if n > kills+3 {
				t.Fatalf("%d workers killed with none of their jobs running", n-i)
			}
			continue
		}
		i++
		eventually(t, func() bool {
			return db.Int(running+" AND attempted_at > now() - $1::interval", rescueAfter.String()) == 0
		}, "the dead worker's jobs to be stuck for the rescue window")
	}
	last := startProcess(t, db, "last", flags...)
	lost := settle(t, db, "every job to complete or be given up after the crashes")
	last.stop(t)

	distinct, duplicates, byWorker := tally(t, db, table)
	rescued := db.Int("SELECT count(*) FROM " + river + " WHERE errors::text LIKE '%Stuck job rescued%'")
	most := db.Int(crashes)
	t.Logf("%d jobs, %d kills, retries %d: %d ran, %d lost, %d duplicate runs, %d rescued, at most %d crashes of one job, by worker %v",
		jobs, kills, retries, distinct, lost, duplicates, rescued, most, byWorker)
	if lost > 0 || distinct != jobs {
		t.Errorf("%d jobs ran and %d were lost (not completed), want %d and 0", distinct, lost, jobs)
	}
	if most < kills {
		t.Errorf("no job crashed more than %d times: the test did not kill workers running rescued jobs", most)
	}
	if duplicates > rescued*int64(most) {
		t.Errorf("%d duplicate runs, more than the %d rescued jobs could have made", duplicates, rescued)
	}
	if n := unaccounted(t, db, table); n > 0 {
		t.Errorf("%d jobs ran more often than River counted attempts", n)
	}
	if duplicates > 0 {
		reportDuplicates(t, db, table)
	}
}

// TestPoisonJob: a job that kills every worker that runs it is run again
// after each crash until its workers have died once more than MaxRescues
// allows; then the next worker gives it up (discarded, with an error that
// says why, logged at Error level) without running it, and goes on working.
func TestPoisonJob(t *testing.T) {
	t.Parallel()
	const maxRescues = 1
	db := pgtest.New(t)
	table := doneTable(db)
	jobs := db.Table("river_job")
	insertArgs(t, db, 0, slices.Values([]recordArgs{{N: 1, Crash: true}}))
	rescueAfter := time.Second
	flags := []string{"-max-workers", "5", "-rescue-after", rescueAfter.String(), "-max-rescues", fmt.Sprint(maxRescues)}
	givenUp := func() bool { return db.Int("SELECT count(*) FROM "+jobs+" WHERE state = 'discarded'") == 1 }
	var w *workerProcess
	for i := 1; ; i++ {
		if i > maxRescues+2 {
			t.Fatalf("%d workers started; the poison job is still not given up", i-1)
		}
		w = startProcess(t, db, fmt.Sprintf("w%d", i), flags...)
		died := false
		eventually(t, func() bool {
			select {
			case <-w.proc.Exited():
				died = true
			default:
			}
			return died || givenUp()
		}, "worker %d to die of the poison job or to give it up", i)
		if !died {
			break
		}
		t.Logf("worker %d died of the poison job", i)
		w.sessionsGone(t, db)
		// The dead worker's leadership, if it had it, would expire after
		// River's TTL (about 15s); ending it now lets the next worker lead
		// and rescue at once. The job is rescued once it has been running
		// for the rescue window.
		db.Exec("DELETE FROM " + db.Table("river_leader"))
		eventually(t, func() bool {
			return db.Int("SELECT count(*) FROM "+jobs+" WHERE state = 'running' AND attempted_at < now() - $1::interval", rescueAfter.String()) == 1
		}, "the poison job to be stuck for the rescue window")
	}
	runs := db.Int("SELECT count(*) FROM " + table)
	var errs string
	if err := db.Pool.QueryRow(context.Background(), "SELECT errors::text FROM "+jobs).Scan(&errs); err != nil {
		t.Fatal(err)
	}
	t.Logf("the poison job ran %d times and was given up; its errors: %s", runs, errs)
	if runs != maxRescues+1 {
		t.Errorf("the poison job ran %d times, want MaxRescues+1 = %d", runs, maxRescues+1)
	}
	if !strings.Contains(errs, "MaxRescues") {
		t.Errorf("the discarded job's errors do not say why: %s", errs)
	}
	if log := w.proc.Stderr.String(); !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "job given up") {
		t.Errorf("the worker that gave the job up did not log it at Error level:\n%s", log)
	}
	// The worker that gave up goes on working.
	insertArgs(t, db, 0, slices.Values([]recordArgs{{N: 101}, {N: 102}, {N: 103}}))
	if lost := settle(t, db, "the jobs after the poison"); lost != 1 {
		t.Errorf("%d jobs not completed, want only the poison job", lost)
	}
	w.stop(t)
}
