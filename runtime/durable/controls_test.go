package durable_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/gofutures/futures/runtime/durable"
	"github.com/gofutures/futures/runtime/durable/internal/pgtest"
	"github.com/gofutures/futures/runtime/taskloop"
)

// The task options that map onto River's controls (unique, priority,
// cron, limit, queue), each with two worker processes where the option
// acts on workers, and arguments that no longer match their task.

// TestUniqueTwoInserters: two processes (two backends, as two web
// processes would be) insert the same unique jobs at the same time while
// two worker processes work them: each job is stored once, the duplicate's
// receipt says so and names the stored job, and each runs once.
func TestUniqueTwoInserters(t *testing.T) {
	t.Parallel()
	const jobs = 50
	db := pgtest.New(t)
	table := doneTable(db)
	w1 := startProcess(t, db, "w1")
	w2 := startProcess(t, db, "w2")
	spec := recordSpec(0)
	spec.Unique = &taskloop.Unique{ByArgs: true}
	var receipts [2][jobs]taskloop.Receipt
	var wg sync.WaitGroup
	for p := range 2 {
		ins := startWorker(t, db, durable.Options{InsertOnly: true})
		wg.Go(func() {
			for i := range jobs {
				r, err := await(t, taskloop.AsyncDurable(ins.Ctx(), spec, recordArgs{N: int64(i + 1)}, func(context.Context) error { return nil }))
				if err != nil {
					t.Errorf("insert %d by %d: %v", i, p, err)
				}
				receipts[p][i] = r
			}
		})
	}
	wg.Wait()
	if lost := settle(t, db, "the unique jobs"); lost > 0 {
		t.Errorf("%d jobs lost", lost)
	}
	w1.stop(t)
	w2.stop(t)
	for i := range jobs {
		a, b := receipts[0][i], receipts[1][i]
		if a.JobID != b.JobID || a.Duplicate == b.Duplicate {
			t.Errorf("job %d: receipts %+v and %+v; want one stored and one duplicate of the same job", i+1, a, b)
		}
	}
	stored := db.Int("SELECT count(*) FROM " + db.Table("river_job"))
	distinct, duplicates, byWorker := tally(t, db, table)
	t.Logf("%d jobs stored, %d ran, %d duplicate runs, by worker %v", stored, distinct, duplicates, byWorker)
	if stored != jobs || distinct != jobs || duplicates != 0 {
		t.Errorf("%d jobs stored, %d ran, %d duplicate runs; want %d, %d, 0", stored, distinct, duplicates, jobs, jobs)
	}
}

// TestUniquePeriodAndStates: with a period, a completed job keeps
// blocking its duplicates (River's default states); leaving completed out
// of the states lets the same arguments in again once the first has run.
func TestUniquePeriodAndStates(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ran := make(chan struct{}, 10)
	specs := map[string]taskloop.Spec{
		"durabletest.period": {Name: "durabletest.period", Durable: true, Unique: &taskloop.Unique{ByArgs: true, Period: 24 * time.Hour}},
		"durabletest.active": {Name: "durabletest.active", Durable: true, Unique: &taskloop.Unique{ByArgs: true, States: []string{"available", "pending", "running", "scheduled"}}},
	}
	var defs []taskloop.Definition
	for _, s := range specs {
		defs = append(defs, taskloop.Definition{Spec: s, RunJSON: func(context.Context, []byte) error { ran <- struct{}{}; return nil }})
	}
	w := startWorker(t, db, durable.Options{}, defs...)
	insert := func(spec taskloop.Spec) taskloop.Receipt {
		r, err := await(t, taskloop.AsyncDurable(w.Ctx(), spec, recordArgs{N: 1}, func(context.Context) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for name, spec := range specs {
		first := insert(spec)
		receive(t, ran, "the first job")
		w.waitJob(t, first.JobID, rivertype.JobStateCompleted)
		again := insert(spec)
		switch name {
		case "durabletest.period":
			if !again.Duplicate || again.JobID != first.JobID {
				t.Errorf("%s: again %+v after %+v completed; want a duplicate of it", name, again, first)
			}
		default:
			if again.Duplicate || again.JobID == first.JobID {
				t.Errorf("%s: again %+v after %+v completed; want a new job", name, again, first)
			}
			receive(t, ran, "the second job")
		}
	}
}

// TestPriority: jobs of priority 1 run before those of priority 4 stored
// earlier, on two worker processes that each work one job at a time.
func TestPriority(t *testing.T) {
	t.Parallel()
	const each = 10
	db := pgtest.New(t)
	table := doneTable(db)
	insertWithPriority := func(prio int, from int64) {
		spec := recordSpec(0)
		spec.Priority = prio
		ins := startWorker(t, db, durable.Options{InsertOnly: true})
		for i := range int64(each) {
			if _, err := await(t, taskloop.AsyncDurable(ins.Ctx(), spec, recordArgs{N: from + i}, func(context.Context) error { return nil })); err != nil {
				t.Fatal(err)
			}
		}
	}
	insertWithPriority(4, 100) // low priority, stored first
	insertWithPriority(1, 1)
	w1 := startProcess(t, db, "w1", "-max-workers", "1")
	w2 := startProcess(t, db, "w2", "-max-workers", "1")
	if lost := settle(t, db, "the jobs of both priorities"); lost > 0 {
		t.Errorf("%d jobs lost", lost)
	}
	w1.stop(t)
	w2.stop(t)
	// Each worker fetches the best job there is: every priority-1 job
	// starts before any priority-4 one, though one of them may finish
	// before the last priority-1 job has.
	firstLow := db.Int("SELECT min(id) FROM " + table + " WHERE n >= 100")
	highAfter := db.Int("SELECT count(*) FROM "+table+" WHERE n < 100 AND id > $1", firstLow)
	if highAfter > 1 {
		t.Errorf("%d priority-1 jobs ran after the first priority-4 job; want at most the one in flight", highAfter)
	}
}

// TestCronTwoWorkers: a task on a cron schedule, registered by two worker
// processes, runs once per tick across both (River's leader inserts the
// periodic jobs), never once per process.
func TestCronTwoWorkers(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	table := doneTable(db)
	w1 := startProcess(t, db, "w1", "-cron", "@every 1s")
	w2 := startProcess(t, db, "w2", "-cron", "@every 1s")
	jobs := db.Table("river_job")
	ticks := "SELECT count(*) FROM " + jobs + " WHERE kind = 'durabletest.tick' AND state = 'completed'"
	eventually(t, func() bool { return db.Int(ticks) >= 4 }, "four ticks to run")
	w1.stop(t)
	w2.stop(t)
	settle(t, db, "the last tick")
	n := db.Int("SELECT count(*) FROM " + jobs + " WHERE kind = 'durabletest.tick'")
	distinct := db.Int("SELECT count(DISTINCT date_trunc('second', scheduled_at)) FROM " + jobs + " WHERE kind = 'durabletest.tick'")
	runs := db.Int("SELECT count(*) FROM " + table + " WHERE n = 0")
	t.Logf("%d tick jobs, in %d distinct seconds, %d runs", n, distinct, runs)
	if distinct != n {
		t.Errorf("%d tick jobs for %d ticks: a tick was inserted more than once", n, distinct)
	}
	if runs != n {
		t.Errorf("%d runs of %d tick jobs; want one each", runs, n)
	}
}

// TestLimitTwoWorkers: with limit=2, each of two worker processes (each
// with 10 workers) runs at most 2 of the task's jobs at once; so at most 4
// run at once across the cluster, which River's open-source version has no
// way to bound globally.
func TestLimitTwoWorkers(t *testing.T) {
	t.Parallel()
	const jobs = 30
	db := pgtest.New(t)
	table := doneTable(db)
	flags := []string{"-max-workers", "10", "-limit", "2"}
	w1 := startProcess(t, db, "w1", flags...)
	w2 := startProcess(t, db, "w2", flags...)
	insertRecords(t, db, jobs, 150*time.Millisecond, 0)
	if lost := settle(t, db, "the limited jobs"); lost > 0 {
		t.Errorf("%d jobs lost", lost)
	}
	w1.stop(t)
	w2.stop(t)
	distinct, duplicates, byWorker := tally(t, db, table)
	peak := db.Int("SELECT max(running) FROM " + table)
	snoozed := db.Int("SELECT count(*) FROM " + db.Table("river_job") + " WHERE metadata ? 'snoozes'")
	t.Logf("%d jobs ran (%d duplicates), by worker %v; at most %d at once in one process; %d jobs waited for the limit", distinct, duplicates, byWorker, peak, snoozed)
	if distinct != jobs {
		t.Errorf("%d jobs ran; want %d", distinct, jobs)
	}
	if peak > 2 {
		t.Errorf("a process ran %d jobs of the task at once; want at most 2", peak)
	}
	if snoozed == 0 {
		t.Errorf("no job waited for the limit: the test did not reach it")
	}
	// Waiting for the limit is not an attempt.
	if n := db.Int("SELECT count(*) FROM " + db.Table("river_job") + " WHERE attempt <> 1"); n > 0 {
		t.Errorf("%d jobs with more than one attempt: waiting for the limit counted as one", n)
	}
}

// TestQueues: a worker creates the queue of every task it registers, and
// works each queue with the number of workers Options.Queues gives it.
func TestQueues(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var running, peak atomic.Int32
	release := make(chan struct{})
	def := func(name, queue string) taskloop.Definition {
		return taskloop.Definition{
			Spec: taskloop.Spec{Name: name, Queue: queue, Durable: true},
			RunJSON: func(ctx context.Context, _ []byte) error {
				n := running.Add(1)
				defer running.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			},
		}
	}
	mail, other := def("durabletest.mail", "mail"), def("durabletest.other", "")
	w := startWorker(t, db, durable.Options{Queues: map[string]int{"mail": 1}}, mail, other)
	var ids []int64
	for _, spec := range []taskloop.Spec{mail.Spec, mail.Spec, mail.Spec, other.Spec} {
		r, err := await(t, taskloop.AsyncDurable(w.Ctx(), spec, struct{}{}, func(context.Context) error { return nil }))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.JobID)
	}
	// One mail job and the other queue's job run; the mail queue's other
	// two wait for its one worker.
	eventually(t, func() bool { return running.Load() == 2 }, "a job of each queue to run")
	if n := db.Int("SELECT count(*) FROM " + db.Table("river_job") + " WHERE queue = 'mail' AND state = 'available'"); n != 2 {
		t.Errorf("%d mail jobs available while one runs; want 2", n)
	}
	close(release)
	for _, id := range ids {
		w.waitJob(t, id, rivertype.JobStateCompleted)
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak of %d jobs at once; want 2 (one per queue)", p)
	}
	if q := db.Int("SELECT count(*) FROM " + db.Table("river_queue") + " WHERE name IN ('mail', 'default')"); q != 2 {
		t.Errorf("%d of the queues mail and default exist; want both", q)
	}
}

// TestArgsRenamed: a job stored before its task's parameter was renamed
// (userID, now customerID) fails without running the task, visibly
// (cancelled, with an error naming both keys), and is not retried, where
// it used to run with customerID zero.
func TestArgsRenamed(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	type args struct {
		CustomerID int64 `json:"customerID"`
	}
	var ran atomic.Int32
	spec := taskloop.Spec{Name: "durabletest.renamed", Retries: 3, Durable: true}
	w := startWorker(t, db, durable.Options{}, taskloop.Definition{
		Spec: spec,
		RunJSON: func(ctx context.Context, data []byte) error {
			var a args
			if err := taskloop.DecodeArgs(data, &a); err != nil {
				return err
			}
			ran.Add(1)
			return nil
		},
	})
	old := map[string]int64{"userID": 42} // as the code before the rename stored it
	r, err := await(t, taskloop.AsyncDurable(w.Ctx(), spec, old, func(context.Context) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	row := w.waitJob(t, r.JobID, rivertype.JobStateCancelled)
	if ran.Load() != 0 {
		t.Error("the task ran with arguments that do not match its parameters")
	}
	if row.Attempt != 1 || len(row.Errors) != 1 {
		t.Errorf("attempt %d, %d errors; want 1 and 1 (not retried)", row.Attempt, len(row.Errors))
	}
	if e := row.Errors[0].Error; !strings.Contains(e, `missing "customerID"`) || !strings.Contains(e, `unknown "userID"`) || !strings.Contains(e, taskloop.ErrArgs.Error()) {
		t.Errorf("the job's error does not say what is wrong: %s", e)
	}
}
